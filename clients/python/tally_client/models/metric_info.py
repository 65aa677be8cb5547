from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="MetricInfo")


@_attrs_define
class MetricInfo:
    """
    Attributes:
        name (str):
        label (str):
        description (str):
        format_ (str):
        lower_is_better (bool): A fall is good news (the catalog's `lower_is_better`): the page colours changes so.
        dimensions (list[str]): The dimensions this metric can be broken down or filtered by, for this role.
    """

    name: str
    label: str
    description: str
    format_: str
    lower_is_better: bool
    dimensions: list[str]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        label = self.label

        description = self.description

        format_ = self.format_

        lower_is_better = self.lower_is_better

        dimensions = self.dimensions

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "label": label,
                "description": description,
                "format": format_,
                "lower_is_better": lower_is_better,
                "dimensions": dimensions,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        name = d.pop("name")

        label = d.pop("label")

        description = d.pop("description")

        format_ = d.pop("format")

        lower_is_better = d.pop("lower_is_better")

        dimensions = cast(list[str], d.pop("dimensions"))

        metric_info = cls(
            name=name,
            label=label,
            description=description,
            format_=format_,
            lower_is_better=lower_is_better,
            dimensions=dimensions,
        )

        metric_info.additional_properties = d
        return metric_info

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
