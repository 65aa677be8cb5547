from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Trend")


@_attrs_define
class Trend:
    """`data.trend`: how the first metric's series moved over the period.

    Attributes:
        metric (str):
        method (str): `least_squares`: the line minimising the squared distances to the complete buckets'
            values, equally spaced.
        points (int): Complete buckets the line goes through.
        left_out (int): Partial buckets left out (clipped by the period's edges, or holding today).
        rise (float): The line's change from the first complete bucket to the last (negative: down).
        mean (float): The mean of the values.
        share (float | None): `rise / mean`; null when the mean is 0.
        direction (str): `up`, `down`, or `flat` when |share| is below `flat_below`.
        flat_below (float):
    """

    metric: str
    method: str
    points: int
    left_out: int
    rise: float
    mean: float
    share: float | None
    direction: str
    flat_below: float
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        metric = self.metric

        method = self.method

        points = self.points

        left_out = self.left_out

        rise = self.rise

        mean = self.mean

        share: float | None
        share = self.share

        direction = self.direction

        flat_below = self.flat_below

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "metric": metric,
                "method": method,
                "points": points,
                "left_out": left_out,
                "rise": rise,
                "mean": mean,
                "share": share,
                "direction": direction,
                "flat_below": flat_below,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        metric = d.pop("metric")

        method = d.pop("method")

        points = d.pop("points")

        left_out = d.pop("left_out")

        rise = d.pop("rise")

        mean = d.pop("mean")

        def _parse_share(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        share = _parse_share(d.pop("share"))

        direction = d.pop("direction")

        flat_below = d.pop("flat_below")

        trend = cls(
            metric=metric,
            method=method,
            points=points,
            left_out=left_out,
            rise=rise,
            mean=mean,
            share=share,
            direction=direction,
            flat_below=flat_below,
        )

        trend.additional_properties = d
        return trend

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
