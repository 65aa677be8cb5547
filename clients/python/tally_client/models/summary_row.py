from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="SummaryRow")


@_attrs_define
class SummaryRow:
    """
    Attributes:
        metric (str):
        value (float | None):
        suppressed (bool | Unset): Withheld: the row covers fewer distinct entities than the role's `min_group_size`.
        previous (float | None | Unset):
        delta (float | None | Unset):
        delta_pct (float | None | Unset):
    """

    metric: str
    value: float | None
    suppressed: bool | Unset = UNSET
    previous: float | None | Unset = UNSET
    delta: float | None | Unset = UNSET
    delta_pct: float | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        metric = self.metric

        value: float | None
        value = self.value

        suppressed = self.suppressed

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
                "metric": metric,
                "value": value,
            }
        )
        if suppressed is not UNSET:
            field_dict["suppressed"] = suppressed
        if previous is not UNSET:
            field_dict["previous"] = previous
        if delta is not UNSET:
            field_dict["delta"] = delta
        if delta_pct is not UNSET:
            field_dict["delta_pct"] = delta_pct

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        metric = d.pop("metric")

        def _parse_value(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        value = _parse_value(d.pop("value"))

        suppressed = d.pop("suppressed", UNSET)

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

        summary_row = cls(
            metric=metric,
            value=value,
            suppressed=suppressed,
            previous=previous,
            delta=delta,
            delta_pct=delta_pct,
        )

        summary_row.additional_properties = d
        return summary_row

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
