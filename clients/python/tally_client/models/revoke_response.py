from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="RevokeResponse")


@_attrs_define
class RevokeResponse:
    """
    Attributes:
        revoked (str): `token` or `subject`.
        id (str):
        workspaces (list[str]): The workspaces the revocation applies in (the admin's).
    """

    revoked: str
    id: str
    workspaces: list[str]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        revoked = self.revoked

        id = self.id

        workspaces = self.workspaces

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "revoked": revoked,
                "id": id,
                "workspaces": workspaces,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        revoked = d.pop("revoked")

        id = d.pop("id")

        workspaces = cast(list[str], d.pop("workspaces"))

        revoke_response = cls(
            revoked=revoked,
            id=id,
            workspaces=workspaces,
        )

        revoke_response.additional_properties = d
        return revoke_response

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
