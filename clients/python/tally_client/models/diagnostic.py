from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.diagnostic_code import DiagnosticCode
from ..types import UNSET, Unset

T = TypeVar("T", bound="Diagnostic")


@_attrs_define
class Diagnostic:
    """One problem with a query document.

    Attributes:
        code (DiagnosticCode): A diagnostic's stable code (`snake_case` on the wire and in `as_str`).
        pointer (str): JSON pointer into the document ("" is the whole document).
        message (str):
        allowed (list[str] | Unset): Allowed values, when the set is small enough to list (role-visible names for
            catalog names).
        nearest (None | str | Unset):
    """

    code: DiagnosticCode
    pointer: str
    message: str
    allowed: list[str] | Unset = UNSET
    nearest: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        code = self.code.value

        pointer = self.pointer

        message = self.message

        allowed: list[str] | Unset = UNSET
        if not isinstance(self.allowed, Unset):
            allowed = self.allowed

        nearest: None | str | Unset
        if isinstance(self.nearest, Unset):
            nearest = UNSET
        else:
            nearest = self.nearest

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "code": code,
                "pointer": pointer,
                "message": message,
            }
        )
        if allowed is not UNSET:
            field_dict["allowed"] = allowed
        if nearest is not UNSET:
            field_dict["nearest"] = nearest

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        code = DiagnosticCode(d.pop("code"))

        pointer = d.pop("pointer")

        message = d.pop("message")

        allowed = cast(list[str], d.pop("allowed", UNSET))

        def _parse_nearest(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        nearest = _parse_nearest(d.pop("nearest", UNSET))

        diagnostic = cls(
            code=code,
            pointer=pointer,
            message=message,
            allowed=allowed,
            nearest=nearest,
        )

        diagnostic.additional_properties = d
        return diagnostic

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
