from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..models.field_name import FieldName
from ..models.order import Order

T = TypeVar("T", bound="Sort")


@_attrs_define
class Sort:
    """
    Attributes:
        field (FieldName): A field of a `list` entity.
        order (Order):
    """

    field: FieldName
    order: Order

    def to_dict(self) -> dict[str, Any]:
        field = self.field.value

        order = self.order.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "field": field,
                "order": order,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        field = FieldName(d.pop("field"))

        order = Order(d.pop("order"))

        sort = cls(
            field=field,
            order=order,
        )

        return sort
