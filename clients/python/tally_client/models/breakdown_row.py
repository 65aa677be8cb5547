from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.breakdown_row_dimensions import BreakdownRowDimensions


T = TypeVar("T", bound="BreakdownRow")


@_attrs_define
class BreakdownRow:
    """
    Attributes:
        dimensions (BreakdownRowDimensions):
        metric (str):
        value (float | None):
        previous (float | None | Unset):
        delta (float | None | Unset):
        delta_pct (float | None | Unset):
    """

    dimensions: BreakdownRowDimensions
    metric: str
    value: float | None
    previous: float | None | Unset = UNSET
    delta: float | None | Unset = UNSET
    delta_pct: float | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        dimensions = self.dimensions.to_dict()

        metric = self.metric

        value: float | None
        value = self.value

        previous: float | None | Unset
        if isinstance(self.previous, Unset):
            previous = UNSET
        else:
            previous = self.previous

        delta: float | None | Unset
        if isinstance(self.delta, Unset):
            delta = UNSET
        else:
            delta = self.delta

        delta_pct: float | None | Unset
        if isinstance(self.delta_pct, Unset):
            delta_pct = UNSET
        else:
            delta_pct = self.delta_pct

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "dimensions": dimensions,
                "metric": metric,
                "value": value,
            }
        )
        if previous is not UNSET:
            field_dict["previous"] = previous
        if delta is not UNSET:
            field_dict["delta"] = delta
        if delta_pct is not UNSET:
            field_dict["delta_pct"] = delta_pct

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.breakdown_row_dimensions import BreakdownRowDimensions

        d = dict(src_dict)
        dimensions = BreakdownRowDimensions.from_dict(d.pop("dimensions"))

        metric = d.pop("metric")

        def _parse_value(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        value = _parse_value(d.pop("value"))

        def _parse_previous(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        previous = _parse_previous(d.pop("previous", UNSET))

        def _parse_delta(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        delta = _parse_delta(d.pop("delta", UNSET))

        def _parse_delta_pct(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        delta_pct = _parse_delta_pct(d.pop("delta_pct", UNSET))

        breakdown_row = cls(
            dimensions=dimensions,
            metric=metric,
            value=value,
            previous=previous,
            delta=delta,
            delta_pct=delta_pct,
        )

        breakdown_row.additional_properties = d
        return breakdown_row

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
