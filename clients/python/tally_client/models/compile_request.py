from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.dialect import Dialect
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.anomalies_query import AnomaliesQuery
    from ..models.define_query import DefineQuery
    from ..models.explain_query import ExplainQuery
    from ..models.funnel_query import FunnelQuery
    from ..models.list_query import ListQuery
    from ..models.metric_query import MetricQuery
    from ..models.overview_query import OverviewQuery
    from ..models.retention_query import RetentionQuery


T = TypeVar("T", bound="CompileRequest")


@_attrs_define
class CompileRequest:
    """
    Attributes:
        dsl (AnomaliesQuery | DefineQuery | ExplainQuery | FunnelQuery | ListQuery | MetricQuery | OverviewQuery |
            RetentionQuery): A DSL v1 document: one query kind (`kind`) with its fields. Names are the catalog's; `GET
            /v1/schema` narrows them to the caller's role.
        dialect (Dialect | None | Unset): One dialect; default: all three.
        workspace (None | str | Unset):
    """

    dsl: (
        AnomaliesQuery
        | DefineQuery
        | ExplainQuery
        | FunnelQuery
        | ListQuery
        | MetricQuery
        | OverviewQuery
        | RetentionQuery
    )
    dialect: Dialect | None | Unset = UNSET
    workspace: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.anomalies_query import AnomaliesQuery
        from ..models.explain_query import ExplainQuery
        from ..models.funnel_query import FunnelQuery
        from ..models.list_query import ListQuery
        from ..models.metric_query import MetricQuery
        from ..models.overview_query import OverviewQuery
        from ..models.retention_query import RetentionQuery

        dsl: dict[str, Any]
        if (
            isinstance(self.dsl, MetricQuery)
            or isinstance(self.dsl, OverviewQuery)
            or isinstance(self.dsl, ListQuery)
            or isinstance(self.dsl, FunnelQuery)
            or isinstance(self.dsl, ExplainQuery)
            or isinstance(self.dsl, RetentionQuery)
            or isinstance(self.dsl, AnomaliesQuery)
        ):
            dsl = self.dsl.to_dict()
        else:
            dsl = self.dsl.to_dict()

        dialect: None | str | Unset
        if isinstance(self.dialect, Unset):
            dialect = UNSET
        elif isinstance(self.dialect, Dialect):
            dialect = self.dialect.value
        else:
            dialect = self.dialect

        workspace: None | str | Unset
        if isinstance(self.workspace, Unset):
            workspace = UNSET
        else:
            workspace = self.workspace

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "dsl": dsl,
            }
        )
        if dialect is not UNSET:
            field_dict["dialect"] = dialect
        if workspace is not UNSET:
            field_dict["workspace"] = workspace

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
        from ..models.retention_query import RetentionQuery

        d = dict(src_dict)

        def _parse_dsl(
            data: object,
        ) -> (
            AnomaliesQuery
            | DefineQuery
            | ExplainQuery
            | FunnelQuery
            | ListQuery
            | MetricQuery
            | OverviewQuery
            | RetentionQuery
        ):
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
            if not isinstance(data, dict):
                raise TypeError()
            componentsschemas_dsl_query_type_7 = DefineQuery.from_dict(data)

            return componentsschemas_dsl_query_type_7

        dsl = _parse_dsl(d.pop("dsl"))

        def _parse_dialect(data: object) -> Dialect | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                dialect_type_0 = Dialect(data)

                return dialect_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Dialect | None | Unset, data)

        dialect = _parse_dialect(d.pop("dialect", UNSET))

        def _parse_workspace(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        workspace = _parse_workspace(d.pop("workspace", UNSET))

        compile_request = cls(
            dsl=dsl,
            dialect=dialect,
            workspace=workspace,
        )

        return compile_request
