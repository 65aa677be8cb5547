from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.segment_change_dimensions import SegmentChangeDimensions


T = TypeVar("T", bound="SegmentChange")


@_attrs_define
class SegmentChange:
    """One segment whose count moved beyond its own usual variation.

    Attributes:
        dimensions (SegmentChangeDimensions):
        value (float): The count on the period.
        baseline (float): The mean over the baseline ranges.
        delta_pct (float | None): (value − baseline) / baseline; null when the baseline is 0.
        p_value (float): Two-sided p-value of the exact test that the period and the baseline ranges share one
            Poisson rate (given their sum, the period's count is Binomial(n, 1 / (ranges + 1))).
        p_adjusted (float): `p_value` after Holm's correction over the `tested` segments.
        usual_range (list[float] | None | Unset): The lowest and highest count over the baseline ranges (several ranges
            only).
    """

    dimensions: SegmentChangeDimensions
    value: float
    baseline: float
    delta_pct: float | None
    p_value: float
    p_adjusted: float
    usual_range: list[float] | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        dimensions = self.dimensions.to_dict()

        value = self.value

        baseline = self.baseline

        delta_pct: float | None
        delta_pct = self.delta_pct

        p_value = self.p_value

        p_adjusted = self.p_adjusted

        usual_range: list[float] | None | Unset
        if isinstance(self.usual_range, Unset):
            usual_range = UNSET
        elif isinstance(self.usual_range, list):
            usual_range = []
            for usual_range_type_0_item_data in self.usual_range:
                usual_range_type_0_item: float
                usual_range_type_0_item = usual_range_type_0_item_data
                usual_range.append(usual_range_type_0_item)

        else:
            usual_range = self.usual_range

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "dimensions": dimensions,
                "value": value,
                "baseline": baseline,
                "delta_pct": delta_pct,
                "p_value": p_value,
                "p_adjusted": p_adjusted,
            }
        )
        if usual_range is not UNSET:
            field_dict["usual_range"] = usual_range

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.segment_change_dimensions import SegmentChangeDimensions

        d = dict(src_dict)
        dimensions = SegmentChangeDimensions.from_dict(d.pop("dimensions"))

        value = d.pop("value")

        baseline = d.pop("baseline")

        def _parse_delta_pct(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        delta_pct = _parse_delta_pct(d.pop("delta_pct"))

        p_value = d.pop("p_value")

        p_adjusted = d.pop("p_adjusted")

        def _parse_usual_range(data: object) -> list[float] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                usual_range_type_0 = []
                _usual_range_type_0 = data
                for usual_range_type_0_item_data in _usual_range_type_0:

                    def _parse_usual_range_type_0_item(data: object) -> float:
                        return cast(float, data)

                    usual_range_type_0_item = _parse_usual_range_type_0_item(
                        usual_range_type_0_item_data
                    )

                    usual_range_type_0.append(usual_range_type_0_item)

                return usual_range_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[float] | None | Unset, data)

        usual_range = _parse_usual_range(d.pop("usual_range", UNSET))

        segment_change = cls(
            dimensions=dimensions,
            value=value,
            baseline=baseline,
            delta_pct=delta_pct,
            p_value=p_value,
            p_adjusted=p_adjusted,
            usual_range=usual_range,
        )

        segment_change.additional_properties = d
        return segment_change

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
