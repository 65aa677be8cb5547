from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.error_body_reason import ErrorBodyReason
from ..models.error_code import ErrorCode
from ..types import UNSET, Unset

T = TypeVar("T", bound="ErrorBody")


@_attrs_define
class ErrorBody:
    """The body of every error except `invalid_query`.

    Attributes:
        code (ErrorCode): Every stable code an error body carries, listed as an enum in the OpenAPI document. One
            failure has one code on every surface: the CLI prints the same (`error[execution_failed]`).
        message (str): A sentence for people; server-side failures say only what the caller can act on.
        reason (ErrorBodyReason | Unset): For `unauthorized` (and `auth_unavailable`): the check the token failed.
    """

    code: ErrorCode
    message: str
    reason: ErrorBodyReason | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        code = self.code.value

        message = self.message

        reason: str | Unset = UNSET
        if not isinstance(self.reason, Unset):
            reason = self.reason.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "code": code,
                "message": message,
            }
        )
        if reason is not UNSET:
            field_dict["reason"] = reason

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        code = ErrorCode(d.pop("code"))

        message = d.pop("message")

        _reason = d.pop("reason", UNSET)
        reason: ErrorBodyReason | Unset
        if isinstance(_reason, Unset):
            reason = UNSET
        else:
            reason = ErrorBodyReason(_reason)

        error_body = cls(
            code=code,
            message=message,
            reason=reason,
        )

        error_body.additional_properties = d
        return error_body

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
