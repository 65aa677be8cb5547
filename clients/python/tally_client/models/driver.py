from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.driver_dimensions import DriverDimensions


T = TypeVar("T", bound="Driver")


@_attrs_define
class Driver:
    """One segment of the drivers and its part in the change.

    Attributes:
        dimensions (DriverDimensions):
        value (float | None):
        baseline (float | None):
        contribution (float | None): The segment's contribution to the total change (for ratios: mix + rate).
        share (float | None): Contribution over the total change.
        mix (float | None | Unset): Ratio metrics: the part due to the segment's weight changing.
        rate (float | None | Unset): Ratio metrics: the part due to the segment's own rate changing.
    """

    dimensions: DriverDimensions
    value: float | None
    baseline: float | None
    contribution: float | None
    share: float | None
    mix: float | None | Unset = UNSET
    rate: float | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        dimensions = self.dimensions.to_dict()

        value: float | None
        value = self.value

        baseline: float | None
        baseline = self.baseline

        contribution: float | None
        contribution = self.contribution

        share: float | None
        share = self.share

        mix: float | None | Unset
        if isinstance(self.mix, Unset):
            mix = UNSET
        else:
            mix = self.mix

        rate: float | None | Unset
        if isinstance(self.rate, Unset):
            rate = UNSET
        else:
            rate = self.rate

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "dimensions": dimensions,
                "value": value,
                "baseline": baseline,
                "contribution": contribution,
                "share": share,
            }
        )
        if mix is not UNSET:
            field_dict["mix"] = mix
        if rate is not UNSET:
            field_dict["rate"] = rate

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.driver_dimensions import DriverDimensions

        d = dict(src_dict)
        dimensions = DriverDimensions.from_dict(d.pop("dimensions"))

        def _parse_value(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        value = _parse_value(d.pop("value"))

        def _parse_baseline(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        baseline = _parse_baseline(d.pop("baseline"))

        def _parse_contribution(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        contribution = _parse_contribution(d.pop("contribution"))

        def _parse_share(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        share = _parse_share(d.pop("share"))

        def _parse_mix(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        mix = _parse_mix(d.pop("mix", UNSET))

        def _parse_rate(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        rate = _parse_rate(d.pop("rate", UNSET))

        driver = cls(
            dimensions=dimensions,
            value=value,
            baseline=baseline,
            contribution=contribution,
            share=share,
            mix=mix,
            rate=rate,
        )

        driver.additional_properties = d
        return driver

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
