from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Clarification")


@_attrs_define
class Clarification:
    """
    Attributes:
        message (str):
        unmapped (list[str]): Words of the question that mean nothing to the catalog.
        suggestions (list[str]): Nearest metric names and example phrasings.
    """

    message: str
    unmapped: list[str]
    suggestions: list[str]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        message = self.message

        unmapped = self.unmapped

        suggestions = self.suggestions

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "message": message,
                "unmapped": unmapped,
                "suggestions": suggestions,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        message = d.pop("message")

        unmapped = cast(list[str], d.pop("unmapped"))

        suggestions = cast(list[str], d.pop("suggestions"))

        clarification = cls(
            message=message,
            unmapped=unmapped,
            suggestions=suggestions,
        )

        clarification.additional_properties = d
        return clarification

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
