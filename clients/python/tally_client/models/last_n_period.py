from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.last_n import LastN


T = TypeVar("T", bound="LastNPeriod")


@_attrs_define
class LastNPeriod:
    """The n complete days ending yesterday, or the n complete weeks/months before the current one.

    Attributes:
        last_n (LastN):
    """

    last_n: LastN

    def to_dict(self) -> dict[str, Any]:
        last_n = self.last_n.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "last_n": last_n,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.last_n import LastN

        d = dict(src_dict)
        last_n = LastN.from_dict(d.pop("last_n"))

        last_n_period = cls(
            last_n=last_n,
        )

        return last_n_period
