from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.refusal_code import RefusalCode

if TYPE_CHECKING:
    from ..models.anomalies_query import AnomaliesQuery
    from ..models.define_query import DefineQuery
    from ..models.explain_query import ExplainQuery
    from ..models.funnel_query import FunnelQuery
    from ..models.list_query import ListQuery
    from ..models.metric_query import MetricQuery
    from ..models.overview_query import OverviewQuery
    from ..models.reason import Reason
    from ..models.retention_query import RetentionQuery


T = TypeVar("T", bound="Refusal")


@_attrs_define
class Refusal:
    """A policy refusal: the first (most important) reason, every reason, and an offer when one exists.

    Attributes:
        code (RefusalCode):
        message (str):
        reasons (list[Reason]): Every reason, most important first.
        suggestion (AnomaliesQuery | DefineQuery | ExplainQuery | FunnelQuery | ListQuery | MetricQuery | None |
            OverviewQuery | RetentionQuery): A query this role may run instead, when one keeps the spirit of the question.
    """

    code: RefusalCode
    message: str
    reasons: list[Reason]
    suggestion: (
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
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.anomalies_query import AnomaliesQuery
        from ..models.define_query import DefineQuery
        from ..models.explain_query import ExplainQuery
        from ..models.funnel_query import FunnelQuery
        from ..models.list_query import ListQuery
        from ..models.metric_query import MetricQuery
        from ..models.overview_query import OverviewQuery
        from ..models.retention_query import RetentionQuery

        code = self.code.value

        message = self.message

        reasons = []
        for reasons_item_data in self.reasons:
            reasons_item = reasons_item_data.to_dict()
            reasons.append(reasons_item)

        suggestion: dict[str, Any] | None
        if (
            isinstance(self.suggestion, MetricQuery)
            or isinstance(self.suggestion, OverviewQuery)
            or isinstance(self.suggestion, ListQuery)
            or isinstance(self.suggestion, FunnelQuery)
            or isinstance(self.suggestion, ExplainQuery)
            or isinstance(self.suggestion, RetentionQuery)
            or isinstance(self.suggestion, AnomaliesQuery)
            or isinstance(self.suggestion, DefineQuery)
        ):
            suggestion = self.suggestion.to_dict()
        else:
            suggestion = self.suggestion

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "code": code,
                "message": message,
                "reasons": reasons,
                "suggestion": suggestion,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.anomalies_query import AnomaliesQuery
        from ..models.define_query import DefineQuery
        from ..models.explain_query import ExplainQuery
        from ..models.funnel_query import FunnelQuery
        from ..models.list_query import ListQuery
        from ..models.metric_query import MetricQuery
        from ..models.overview_query import OverviewQuery
        from ..models.reason import Reason
        from ..models.retention_query import RetentionQuery

        d = dict(src_dict)
        code = RefusalCode(d.pop("code"))

        message = d.pop("message")

        reasons = []
        _reasons = d.pop("reasons")
        for reasons_item_data in _reasons:
            reasons_item = Reason.from_dict(reasons_item_data)

            reasons.append(reasons_item)

        def _parse_suggestion(
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

        suggestion = _parse_suggestion(d.pop("suggestion"))

        refusal = cls(
            code=code,
            message=message,
            reasons=reasons,
            suggestion=suggestion,
        )

        refusal.additional_properties = d
        return refusal

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
