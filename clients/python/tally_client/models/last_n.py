from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..models.period_unit import PeriodUnit

T = TypeVar("T", bound="LastN")


@_attrs_define
class LastN:
    """
    Attributes:
        count (int):
        unit (PeriodUnit):
    """

    count: int
    unit: PeriodUnit

    def to_dict(self) -> dict[str, Any]:
        count = self.count

        unit = self.unit.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "count": count,
                "unit": unit,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        count = d.pop("count")

        unit = PeriodUnit(d.pop("unit"))

        last_n = cls(
            count=count,
            unit=unit,
        )

        return last_n
