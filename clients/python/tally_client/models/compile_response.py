from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.compile_response_sql import CompileResponseSql


T = TypeVar("T", bound="CompileResponse")


@_attrs_define
class CompileResponse:
    """
    Attributes:
        outcome (str):
        sql (CompileResponseSql): Dialect → the statements as text with their parameters.
    """

    outcome: str
    sql: CompileResponseSql
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        outcome = self.outcome

        sql = self.sql.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "outcome": outcome,
                "sql": sql,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.compile_response_sql import CompileResponseSql

        d = dict(src_dict)
        outcome = d.pop("outcome")

        sql = CompileResponseSql.from_dict(d.pop("sql"))

        compile_response = cls(
            outcome=outcome,
            sql=sql,
        )

        compile_response.additional_properties = d
        return compile_response

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
