from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.outcome import Outcome
from ..models.translator import Translator
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.anomalies_query import AnomaliesQuery
    from ..models.clarification import Clarification
    from ..models.define_query import DefineQuery
    from ..models.diagnostic import Diagnostic
    from ..models.explain_query import ExplainQuery
    from ..models.funnel_query import FunnelQuery
    from ..models.list_query import ListQuery
    from ..models.metric_query import MetricQuery
    from ..models.overview_query import OverviewQuery
    from ..models.query_result import QueryResult
    from ..models.refusal import Refusal
    from ..models.repair import Repair
    from ..models.retention_query import RetentionQuery
    from ..models.source import Source
    from ..models.timings import Timings


T = TypeVar("T", bound="ChatResponse")


@_attrs_define
class ChatResponse:
    """The response contract plus the conversation it belongs to (`POST /v1/chat`).

    Attributes:
        query_id (str):
        outcome (Outcome):
        answer (str):
        translator (Translator): `none`: The caller sent DSL.
        executed_dsl (AnomaliesQuery | DefineQuery | ExplainQuery | FunnelQuery | ListQuery | MetricQuery | None |
            OverviewQuery | RetentionQuery):
        data (None | QueryResult):
        chart (Any):
        refusal (None | Refusal):
        sources (list[Source]):
        catalog_version (str):
        cached (bool): Every statement's rows came from the result cache (no warehouse time; at most the
            cache's time to live old).
        timings_ms (Timings):
        conversation_id (str):
        sql (None | str | Unset): Only for roles that may see SQL.
        clarification (Clarification | None | Unset): Only for `needs_clarification`: what could not be mapped and what
            to ask instead.
        diagnostics (list[Diagnostic] | Unset): Only for `invalid`.
        repairs (list[Repair] | Unset): Deterministic repairs applied to the DSL (synonyms, case).
        note (None | str | Unset): Why the translator is not the configured one (an LLM over budget or unavailable).
        source (None | str | Unset): What the numbers were read from: `warehouse`, `rollup:NAME`, or both joined by `+`,
            or
            `metrics_api:NAME`; `catalog` for a definition (only for answered queries).
        source_note (None | str | Unset): Why a query a metrics API would have answered was answered from the warehouse
            ("the
            metrics API `kpi` timed out after 300 ms; answered from the warehouse").
    """

    query_id: str
    outcome: Outcome
    answer: str
    translator: Translator
    executed_dsl: (
        AnomaliesQuery
        | DefineQuery
        | ExplainQuery
        | FunnelQuery
        | ListQuery
        | MetricQuery
        | None
        | OverviewQuery
        | RetentionQuery
    )
    data: None | QueryResult
    chart: Any
    refusal: None | Refusal
    sources: list[Source]
    catalog_version: str
    cached: bool
    timings_ms: Timings
    conversation_id: str
    sql: None | str | Unset = UNSET
    clarification: Clarification | None | Unset = UNSET
    diagnostics: list[Diagnostic] | Unset = UNSET
    repairs: list[Repair] | Unset = UNSET
    note: None | str | Unset = UNSET
    source: None | str | Unset = UNSET
    source_note: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.anomalies_query import AnomaliesQuery
        from ..models.clarification import Clarification
        from ..models.define_query import DefineQuery
        from ..models.explain_query import ExplainQuery
        from ..models.funnel_query import FunnelQuery
        from ..models.list_query import ListQuery
        from ..models.metric_query import MetricQuery
        from ..models.overview_query import OverviewQuery
        from ..models.query_result import QueryResult
        from ..models.refusal import Refusal
        from ..models.retention_query import RetentionQuery

        query_id = self.query_id

        outcome = self.outcome.value

        answer = self.answer

        translator = self.translator.value

        executed_dsl: dict[str, Any] | None
        if (
            isinstance(self.executed_dsl, MetricQuery)
            or isinstance(self.executed_dsl, OverviewQuery)
            or isinstance(self.executed_dsl, ListQuery)
            or isinstance(self.executed_dsl, FunnelQuery)
            or isinstance(self.executed_dsl, ExplainQuery)
            or isinstance(self.executed_dsl, RetentionQuery)
            or isinstance(self.executed_dsl, AnomaliesQuery)
            or isinstance(self.executed_dsl, DefineQuery)
        ):
            executed_dsl = self.executed_dsl.to_dict()
        else:
            executed_dsl = self.executed_dsl

        data: dict[str, Any] | None
        if isinstance(self.data, QueryResult):
            data = self.data.to_dict()
        else:
            data = self.data

        chart = self.chart

        refusal: dict[str, Any] | None
        if isinstance(self.refusal, Refusal):
            refusal = self.refusal.to_dict()
        else:
            refusal = self.refusal

        sources = []
        for sources_item_data in self.sources:
            sources_item = sources_item_data.to_dict()
            sources.append(sources_item)

        catalog_version = self.catalog_version

        cached = self.cached

        timings_ms = self.timings_ms.to_dict()

        conversation_id = self.conversation_id

        sql: None | str | Unset
        if isinstance(self.sql, Unset):
            sql = UNSET
        else:
            sql = self.sql

        clarification: dict[str, Any] | None | Unset
        if isinstance(self.clarification, Unset):
            clarification = UNSET
        elif isinstance(self.clarification, Clarification):
            clarification = self.clarification.to_dict()
        else:
            clarification = self.clarification

        diagnostics: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.diagnostics, Unset):
            diagnostics = []
            for diagnostics_item_data in self.diagnostics:
                diagnostics_item = diagnostics_item_data.to_dict()
                diagnostics.append(diagnostics_item)

        repairs: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.repairs, Unset):
            repairs = []
            for repairs_item_data in self.repairs:
                repairs_item = repairs_item_data.to_dict()
                repairs.append(repairs_item)

        note: None | str | Unset
        if isinstance(self.note, Unset):
            note = UNSET
        else:
            note = self.note

        source: None | str | Unset
        if isinstance(self.source, Unset):
            source = UNSET
        else:
            source = self.source

        source_note: None | str | Unset
        if isinstance(self.source_note, Unset):
            source_note = UNSET
        else:
            source_note = self.source_note

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "query_id": query_id,
                "outcome": outcome,
                "answer": answer,
                "translator": translator,
                "executed_dsl": executed_dsl,
                "data": data,
                "chart": chart,
                "refusal": refusal,
                "sources": sources,
                "catalog_version": catalog_version,
                "cached": cached,
                "timings_ms": timings_ms,
                "conversation_id": conversation_id,
            }
        )
        if sql is not UNSET:
            field_dict["sql"] = sql
        if clarification is not UNSET:
            field_dict["clarification"] = clarification
        if diagnostics is not UNSET:
            field_dict["diagnostics"] = diagnostics
        if repairs is not UNSET:
            field_dict["repairs"] = repairs
        if note is not UNSET:
            field_dict["note"] = note
        if source is not UNSET:
            field_dict["source"] = source
        if source_note is not UNSET:
            field_dict["source_note"] = source_note

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.anomalies_query import AnomaliesQuery
        from ..models.clarification import Clarification
        from ..models.define_query import DefineQuery
        from ..models.diagnostic import Diagnostic
        from ..models.explain_query import ExplainQuery
        from ..models.funnel_query import FunnelQuery
        from ..models.list_query import ListQuery
        from ..models.metric_query import MetricQuery
        from ..models.overview_query import OverviewQuery
        from ..models.query_result import QueryResult
        from ..models.refusal import Refusal
        from ..models.repair import Repair
        from ..models.retention_query import RetentionQuery
        from ..models.source import Source
        from ..models.timings import Timings

        d = dict(src_dict)
        query_id = d.pop("query_id")

        outcome = Outcome(d.pop("outcome"))

        answer = d.pop("answer")

        translator = Translator(d.pop("translator"))

        def _parse_executed_dsl(
            data: object,
        ) -> (
            AnomaliesQuery
            | DefineQuery
            | ExplainQuery
            | FunnelQuery
            | ListQuery
            | MetricQuery
            | None
            | OverviewQuery
            | RetentionQuery
        ):
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_dsl_query_type_0 = MetricQuery.from_dict(data)

                return componentsschemas_dsl_query_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_dsl_query_type_1 = OverviewQuery.from_dict(data)

                return componentsschemas_dsl_query_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_dsl_query_type_2 = ListQuery.from_dict(data)

                return componentsschemas_dsl_query_type_2
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_dsl_query_type_3 = FunnelQuery.from_dict(data)

                return componentsschemas_dsl_query_type_3
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_dsl_query_type_4 = ExplainQuery.from_dict(data)

                return componentsschemas_dsl_query_type_4
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_dsl_query_type_5 = RetentionQuery.from_dict(data)

                return componentsschemas_dsl_query_type_5
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_dsl_query_type_6 = AnomaliesQuery.from_dict(data)

                return componentsschemas_dsl_query_type_6
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_dsl_query_type_7 = DefineQuery.from_dict(data)

                return componentsschemas_dsl_query_type_7
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(
                AnomaliesQuery
                | DefineQuery
                | ExplainQuery
                | FunnelQuery
                | ListQuery
                | MetricQuery
                | None
                | OverviewQuery
                | RetentionQuery,
                data,
            )

        executed_dsl = _parse_executed_dsl(d.pop("executed_dsl"))

        def _parse_data(data: object) -> None | QueryResult:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                data_type_0 = QueryResult.from_dict(data)

                return data_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | QueryResult, data)

        data = _parse_data(d.pop("data"))

        chart = d.pop("chart")

        def _parse_refusal(data: object) -> None | Refusal:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                refusal_type_0 = Refusal.from_dict(data)

                return refusal_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Refusal, data)

        refusal = _parse_refusal(d.pop("refusal"))

        sources = []
        _sources = d.pop("sources")
        for sources_item_data in _sources:
            sources_item = Source.from_dict(sources_item_data)

            sources.append(sources_item)

        catalog_version = d.pop("catalog_version")

        cached = d.pop("cached")

        timings_ms = Timings.from_dict(d.pop("timings_ms"))

        conversation_id = d.pop("conversation_id")

        def _parse_sql(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        sql = _parse_sql(d.pop("sql", UNSET))

        def _parse_clarification(data: object) -> Clarification | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                clarification_type_0 = Clarification.from_dict(data)

                return clarification_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Clarification | None | Unset, data)

        clarification = _parse_clarification(d.pop("clarification", UNSET))

        _diagnostics = d.pop("diagnostics", UNSET)
        diagnostics: list[Diagnostic] | Unset = UNSET
        if _diagnostics is not UNSET:
            diagnostics = []
            for diagnostics_item_data in _diagnostics:
                diagnostics_item = Diagnostic.from_dict(diagnostics_item_data)

                diagnostics.append(diagnostics_item)

        _repairs = d.pop("repairs", UNSET)
        repairs: list[Repair] | Unset = UNSET
        if _repairs is not UNSET:
            repairs = []
            for repairs_item_data in _repairs:
                repairs_item = Repair.from_dict(repairs_item_data)

                repairs.append(repairs_item)

        def _parse_note(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        note = _parse_note(d.pop("note", UNSET))

        def _parse_source(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        source = _parse_source(d.pop("source", UNSET))

        def _parse_source_note(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        source_note = _parse_source_note(d.pop("source_note", UNSET))

        chat_response = cls(
            query_id=query_id,
            outcome=outcome,
            answer=answer,
            translator=translator,
            executed_dsl=executed_dsl,
            data=data,
            chart=chart,
            refusal=refusal,
            sources=sources,
            catalog_version=catalog_version,
            cached=cached,
            timings_ms=timings_ms,
            conversation_id=conversation_id,
            sql=sql,
            clarification=clarification,
            diagnostics=diagnostics,
            repairs=repairs,
            note=note,
            source=source,
            source_note=source_note,
        )

        chat_response.additional_properties = d
        return chat_response

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
