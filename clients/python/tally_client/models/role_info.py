from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="RoleInfo")


@_attrs_define
class RoleInfo:
    """
    Attributes:
        name (str):
        description (str):
        kinds (list[str]):
        record_level (bool):
        see_sql (bool):
        overview (list[str]):
    """

    name: str
    description: str
    kinds: list[str]
    record_level: bool
    see_sql: bool
    overview: list[str]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        description = self.description

        kinds = self.kinds

        record_level = self.record_level

        see_sql = self.see_sql

        overview = self.overview

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "description": description,
                "kinds": kinds,
                "record_level": record_level,
                "see_sql": see_sql,
                "overview": overview,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        name = d.pop("name")

        description = d.pop("description")

        kinds = cast(list[str], d.pop("kinds"))

        record_level = d.pop("record_level")

        see_sql = d.pop("see_sql")

        overview = cast(list[str], d.pop("overview"))

        role_info = cls(
            name=name,
            description=description,
            kinds=kinds,
            record_level=record_level,
            see_sql=see_sql,
            overview=overview,
        )

        role_info.additional_properties = d
        return role_info

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
