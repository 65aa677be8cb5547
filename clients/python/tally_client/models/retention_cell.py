from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="RetentionCell")


@_attrs_define
class RetentionCell:
    """The entities of a cohort with activity in one later bucket.

    Attributes:
        offset (int): 0 for the cohort's own bucket.
        start (str): The first day of the offset's bucket.
        returning (float | None): Entities of the cohort with activity in the bucket (at or after their cohort time).
        rate (float | None): `returning` over the cohort's size.
        suppressed (bool | Unset): Withheld: fewer entities than the role's `min_group_size`.
    """

    offset: int
    start: str
    returning: float | None
    rate: float | None
    suppressed: bool | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        offset = self.offset

        start = self.start

        returning: float | None
        returning = self.returning

        rate: float | None
        rate = self.rate

        suppressed = self.suppressed

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "offset": offset,
                "start": start,
                "returning": returning,
                "rate": rate,
            }
        )
        if suppressed is not UNSET:
            field_dict["suppressed"] = suppressed

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        offset = d.pop("offset")

        start = d.pop("start")

        def _parse_returning(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        returning = _parse_returning(d.pop("returning"))

        def _parse_rate(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        rate = _parse_rate(d.pop("rate"))

        suppressed = d.pop("suppressed", UNSET)

        retention_cell = cls(
            offset=offset,
            start=start,
            returning=returning,
            rate=rate,
            suppressed=suppressed,
        )

        retention_cell.additional_properties = d
        return retention_cell

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
