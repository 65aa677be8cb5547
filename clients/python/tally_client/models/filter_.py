from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.dimension_name import DimensionName
from ..models.filter_op import FilterOp

T = TypeVar("T", bound="Filter")


@_attrs_define
class Filter:
    """A filter on a dimension.

    Attributes:
        dimension (DimensionName): A dimension name from the catalog.
        op (FilterOp):
        values (list[float | str]): One value for eq/neq/gt/gte/lt/lte/contains; one or more for in/not_in.
    """

    dimension: DimensionName
    op: FilterOp
    values: list[float | str]

    def to_dict(self) -> dict[str, Any]:
        dimension = self.dimension.value

        op = self.op.value

        values = []
        for values_item_data in self.values:
            values_item: float | str
            values_item = values_item_data
            values.append(values_item)

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "dimension": dimension,
                "op": op,
                "values": values,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        dimension = DimensionName(d.pop("dimension"))

        op = FilterOp(d.pop("op"))

        values = []
        _values = d.pop("values")
        for values_item_data in _values:

            def _parse_values_item(data: object) -> float | str:
                return cast(float | str, data)

            values_item = _parse_values_item(values_item_data)

            values.append(values_item)

        filter_ = cls(
            dimension=dimension,
            op=op,
            values=values,
        )

        return filter_
