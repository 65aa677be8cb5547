from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.anomaly_dimensions import AnomalyDimensions


T = TypeVar("T", bound="Anomaly")


@_attrs_define
class Anomaly:
    """One metric's value on one day, in one segment, outside its expected range.

    Attributes:
        metric (str):
        dimensions (AnomalyDimensions): The segment (empty: the metric's total).
        day (str):
        value (float):
        same_weekday (list[float]): The same weekday 1, 2, 3 and 4 weeks before.
        baseline (float): Their median.
        expected (list[float]): The lowest and highest value that would not have been flagged.
        delta_pct (float | None): (value − baseline) / baseline; null when the baseline is 0.
        direction (str): `up` or `down`.
        p_value (float): Two-sided p-value of the Poisson test against four days at the baseline.
    """

    metric: str
    dimensions: AnomalyDimensions
    day: str
    value: float
    same_weekday: list[float]
    baseline: float
    expected: list[float]
    delta_pct: float | None
    direction: str
    p_value: float
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        metric = self.metric

        dimensions = self.dimensions.to_dict()

        day = self.day

        value = self.value

        same_weekday = self.same_weekday

        baseline = self.baseline

        expected = []
        for expected_item_data in self.expected:
            expected_item: float
            expected_item = expected_item_data
            expected.append(expected_item)

        delta_pct: float | None
        delta_pct = self.delta_pct

        direction = self.direction

        p_value = self.p_value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "metric": metric,
                "dimensions": dimensions,
                "day": day,
                "value": value,
                "same_weekday": same_weekday,
                "baseline": baseline,
                "expected": expected,
                "delta_pct": delta_pct,
                "direction": direction,
                "p_value": p_value,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.anomaly_dimensions import AnomalyDimensions

        d = dict(src_dict)
        metric = d.pop("metric")

        dimensions = AnomalyDimensions.from_dict(d.pop("dimensions"))

        day = d.pop("day")

        value = d.pop("value")

        same_weekday = cast(list[float], d.pop("same_weekday"))

        baseline = d.pop("baseline")

        expected = []
        _expected = d.pop("expected")
        for expected_item_data in _expected:

            def _parse_expected_item(data: object) -> float:
                return cast(float, data)

            expected_item = _parse_expected_item(expected_item_data)

            expected.append(expected_item)

        def _parse_delta_pct(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        delta_pct = _parse_delta_pct(d.pop("delta_pct"))

        direction = d.pop("direction")

        p_value = d.pop("p_value")

        anomaly = cls(
            metric=metric,
            dimensions=dimensions,
            day=day,
            value=value,
            same_weekday=same_weekday,
            baseline=baseline,
            expected=expected,
            delta_pct=delta_pct,
            direction=direction,
            p_value=p_value,
        )

        anomaly.additional_properties = d
        return anomaly

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
