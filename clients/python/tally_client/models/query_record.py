from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="QueryRecord")


@_attrs_define
class QueryRecord:
    """A past query as recorded.

    Attributes:
        query_id (str):
        asked_at (str): When it was asked (RFC 3339, UTC).
        workspace (None | str):
        role (None | str): The role it ran under.
        question (None | str):
        conversation_id (None | str):
        translator (None | str):
        dsl (Any): The DSL that ran (or, for an invalid document, the DSL as sent).
        outcome (None | str):
        code (None | str): The refusal or error code, if any.
        row_count (int | None):
        latency_ms (float | None):
        source (None | str): What answered it (`warehouse`, `rollup:NAME`, `metrics_api:NAME`, `catalog`, …); null
            when nothing ran, or for a row recorded before sources were.
        source_note (None | str): Why a Metrics API asked first did not answer, when one did not.
        audit_seq (int): The audit row that holds it.
    """

    query_id: str
    asked_at: str
    workspace: None | str
    role: None | str
    question: None | str
    conversation_id: None | str
    translator: None | str
    dsl: Any
    outcome: None | str
    code: None | str
    row_count: int | None
    latency_ms: float | None
    source: None | str
    source_note: None | str
    audit_seq: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        query_id = self.query_id

        asked_at = self.asked_at

        workspace: None | str
        workspace = self.workspace

        role: None | str
        role = self.role

        question: None | str
        question = self.question

        conversation_id: None | str
        conversation_id = self.conversation_id

        translator: None | str
        translator = self.translator

        dsl = self.dsl

        outcome: None | str
        outcome = self.outcome

        code: None | str
        code = self.code

        row_count: int | None
        row_count = self.row_count

        latency_ms: float | None
        latency_ms = self.latency_ms

        source: None | str
        source = self.source

        source_note: None | str
        source_note = self.source_note

        audit_seq = self.audit_seq

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "query_id": query_id,
                "asked_at": asked_at,
                "workspace": workspace,
                "role": role,
                "question": question,
                "conversation_id": conversation_id,
                "translator": translator,
                "dsl": dsl,
                "outcome": outcome,
                "code": code,
                "row_count": row_count,
                "latency_ms": latency_ms,
                "source": source,
                "source_note": source_note,
                "audit_seq": audit_seq,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        query_id = d.pop("query_id")

        asked_at = d.pop("asked_at")

        def _parse_workspace(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        workspace = _parse_workspace(d.pop("workspace"))

        def _parse_role(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        role = _parse_role(d.pop("role"))

        def _parse_question(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        question = _parse_question(d.pop("question"))

        def _parse_conversation_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        conversation_id = _parse_conversation_id(d.pop("conversation_id"))

        def _parse_translator(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        translator = _parse_translator(d.pop("translator"))

        dsl = d.pop("dsl")

        def _parse_outcome(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        outcome = _parse_outcome(d.pop("outcome"))

        def _parse_code(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        code = _parse_code(d.pop("code"))

        def _parse_row_count(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        row_count = _parse_row_count(d.pop("row_count"))

        def _parse_latency_ms(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        latency_ms = _parse_latency_ms(d.pop("latency_ms"))

        def _parse_source(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        source = _parse_source(d.pop("source"))

        def _parse_source_note(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        source_note = _parse_source_note(d.pop("source_note"))

        audit_seq = d.pop("audit_seq")

        query_record = cls(
            query_id=query_id,
            asked_at=asked_at,
            workspace=workspace,
            role=role,
            question=question,
            conversation_id=conversation_id,
            translator=translator,
            dsl=dsl,
            outcome=outcome,
            code=code,
            row_count=row_count,
            latency_ms=latency_ms,
            source=source,
            source_note=source_note,
            audit_seq=audit_seq,
        )

        query_record.additional_properties = d
        return query_record

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
