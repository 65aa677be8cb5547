from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="RevokeSubject")


@_attrs_define
class RevokeSubject:
    """Revoke, in your workspaces, every token of this subject issued up to now.

    Attributes:
        subject (str):
    """

    subject: str

    def to_dict(self) -> dict[str, Any]:
        subject = self.subject

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "subject": subject,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        subject = d.pop("subject")

        revoke_subject = cls(
            subject=subject,
        )

        return revoke_subject
