from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.timings import Timings


T = TypeVar("T", bound="RerunReport")


@_attrs_define
class RerunReport:
    """What an admin learns from a rerun: how it ended and whether it matches the original run,
    never the values or the SQL (the admin role has no data access of its own).

        Attributes:
            query_id (str): The rerun's own query id (its audit row).
            rerun_of (str): The recorded query that was run again.
            role (str): The role and workspace it ran under (the original caller's).
            workspace (str):
            outcome (str): `answered`, `refused`, `needs_clarification` or `invalid`.
            code (None | str): The refusal or diagnostic code, if any.
            original_outcome (None | str): The original run's outcome, for comparison.
            row_count (int | None):
            timings_ms (Timings):
            result_hash (None | str): SHA-256 of the rerun's result data, and of the original's when it was recorded.
            original_result_hash (None | str):
            matches_original (bool | None): Whether the result equals the original's (`null` when either has no recorded
                hash).
    """

    query_id: str
    rerun_of: str
    role: str
    workspace: str
    outcome: str
    code: None | str
    original_outcome: None | str
    row_count: int | None
    timings_ms: Timings
    result_hash: None | str
    original_result_hash: None | str
    matches_original: bool | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        query_id = self.query_id

        rerun_of = self.rerun_of

        role = self.role

        workspace = self.workspace

        outcome = self.outcome

        code: None | str
        code = self.code

        original_outcome: None | str
        original_outcome = self.original_outcome

        row_count: int | None
        row_count = self.row_count

        timings_ms = self.timings_ms.to_dict()

        result_hash: None | str
        result_hash = self.result_hash

        original_result_hash: None | str
        original_result_hash = self.original_result_hash

        matches_original: bool | None
        matches_original = self.matches_original

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "query_id": query_id,
                "rerun_of": rerun_of,
                "role": role,
                "workspace": workspace,
                "outcome": outcome,
                "code": code,
                "original_outcome": original_outcome,
                "row_count": row_count,
                "timings_ms": timings_ms,
                "result_hash": result_hash,
                "original_result_hash": original_result_hash,
                "matches_original": matches_original,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.timings import Timings

        d = dict(src_dict)
        query_id = d.pop("query_id")

        rerun_of = d.pop("rerun_of")

        role = d.pop("role")

        workspace = d.pop("workspace")

        outcome = d.pop("outcome")

        def _parse_code(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        code = _parse_code(d.pop("code"))

        def _parse_original_outcome(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        original_outcome = _parse_original_outcome(d.pop("original_outcome"))

        def _parse_row_count(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        row_count = _parse_row_count(d.pop("row_count"))

        timings_ms = Timings.from_dict(d.pop("timings_ms"))

        def _parse_result_hash(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        result_hash = _parse_result_hash(d.pop("result_hash"))

        def _parse_original_result_hash(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        original_result_hash = _parse_original_result_hash(
            d.pop("original_result_hash")
        )

        def _parse_matches_original(data: object) -> bool | None:
            if data is None:
                return data
            return cast(bool | None, data)

        matches_original = _parse_matches_original(d.pop("matches_original"))

        rerun_report = cls(
            query_id=query_id,
            rerun_of=rerun_of,
            role=role,
            workspace=workspace,
            outcome=outcome,
            code=code,
            original_outcome=original_outcome,
            row_count=row_count,
            timings_ms=timings_ms,
            result_hash=result_hash,
            original_result_hash=original_result_hash,
            matches_original=matches_original,
        )

        rerun_report.additional_properties = d
        return rerun_report

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
