from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="DatePeriod")


@_attrs_define
class DatePeriod:
    """One calendar day.

    Attributes:
        date (datetime.date):
    """

    date: datetime.date

    def to_dict(self) -> dict[str, Any]:
        date = self.date.isoformat()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "date": date,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        date = datetime.date.fromisoformat(d.pop("date"))

        date_period = cls(
            date=date,
        )

        return date_period
