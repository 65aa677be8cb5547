from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.between import Between


T = TypeVar("T", bound="BetweenPeriod")


@_attrs_define
class BetweenPeriod:
    """Inclusive ISO dates.

    Attributes:
        between (Between):
    """

    between: Between

    def to_dict(self) -> dict[str, Any]:
        between = self.between.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "between": between,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.between import Between

        d = dict(src_dict)
        between = Between.from_dict(d.pop("between"))

        between_period = cls(
            between=between,
        )

        return between_period
