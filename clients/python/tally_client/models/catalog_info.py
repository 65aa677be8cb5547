from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="CatalogInfo")


@_attrs_define
class CatalogInfo:
    """
    Attributes:
        name (str):
        version (str):
        description (str):
        example_questions (list[str]): Questions this catalog answers well (the page offers them as examples).
        data_access_contact (None | str): Who to ask for personal data, which Tally never returns (null: the catalog
            names none).
    """

    name: str
    version: str
    description: str
    example_questions: list[str]
    data_access_contact: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        version = self.version

        description = self.description

        example_questions = self.example_questions

        data_access_contact: None | str
        data_access_contact = self.data_access_contact

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "version": version,
                "description": description,
                "example_questions": example_questions,
                "data_access_contact": data_access_contact,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        name = d.pop("name")

        version = d.pop("version")

        description = d.pop("description")

        example_questions = cast(list[str], d.pop("example_questions"))

        def _parse_data_access_contact(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        data_access_contact = _parse_data_access_contact(d.pop("data_access_contact"))

        catalog_info = cls(
            name=name,
            version=version,
            description=description,
            example_questions=example_questions,
            data_access_contact=data_access_contact,
        )

        catalog_info.additional_properties = d
        return catalog_info

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
