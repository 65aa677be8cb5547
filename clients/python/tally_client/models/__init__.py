"""Contains all the data models used in inputs/outputs"""

from .anomalies_out import AnomaliesOut
from .anomalies_query import AnomaliesQuery
from .anomalies_query_kind import AnomaliesQueryKind
from .anomaly import Anomaly
from .anomaly_dimensions import AnomalyDimensions
from .audit_page import AuditPage
from .baseline import Baseline
from .between import Between
from .between_period import BetweenPeriod
from .breakdown_row import BreakdownRow
from .breakdown_row_dimensions import BreakdownRowDimensions
from .catalog_info import CatalogInfo
from .catalog_view import CatalogView
from .chat_answer_event import ChatAnswerEvent
from .chat_request import ChatRequest
from .chat_response import ChatResponse
from .chat_stage_event import ChatStageEvent
from .clarification import Clarification
from .cohort import Cohort
from .cohort_dimensions_type_0 import CohortDimensionsType0
from .compare import Compare
from .compile_request import CompileRequest
from .compile_response import CompileResponse
from .compile_response_sql import CompileResponseSql
from .date_period import DatePeriod
from .define_out import DefineOut
from .define_query import DefineQuery
from .define_query_kind import DefineQueryKind
from .define_query_then_type_0 import DefineQueryThenType0
from .diagnostic import Diagnostic
from .diagnostic_code import DiagnosticCode
from .dialect import Dialect
from .dimension_definition import DimensionDefinition
from .dimension_info import DimensionInfo
from .dimension_name import DimensionName
from .driver import Driver
from .driver_dimensions import DriverDimensions
from .duration_out import DurationOut
from .entity_info import EntityInfo
from .entity_name import EntityName
from .error_body import ErrorBody
from .error_body_reason import ErrorBodyReason
from .error_code import ErrorCode
from .explain_info import ExplainInfo
from .explain_query import ExplainQuery
from .explain_query_kind import ExplainQueryKind
from .field_filter import FieldFilter
from .field_info import FieldInfo
from .field_name import FieldName
from .filter_ import Filter
from .filter_op import FilterOp
from .funnel_name import FunnelName
from .funnel_query import FunnelQuery
from .funnel_query_kind import FunnelQueryKind
from .funnel_step import FunnelStep
from .funnel_step_dimensions_type_0 import FunnelStepDimensionsType0
from .granularity import Granularity
from .health_status import HealthStatus
from .invalid_query_body import InvalidQueryBody
from .last_n import LastN
from .last_n_period import LastNPeriod
from .list_query import ListQuery
from .list_query_kind import ListQueryKind
from .metric_definition import MetricDefinition
from .metric_definition_conditions import MetricDefinitionConditions
from .metric_info import MetricInfo
from .metric_name import MetricName
from .metric_query import MetricQuery
from .metric_query_kind import MetricQueryKind
from .open_api_document import OpenApiDocument
from .order import Order
from .outcome import Outcome
from .overview_query import OverviewQuery
from .overview_query_kind import OverviewQueryKind
from .passage_out import PassageOut
from .period_out import PeriodOut
from .period_unit import PeriodUnit
from .preset import Preset
from .preset_period import PresetPeriod
from .query_record import QueryRecord
from .query_request import QueryRequest
from .query_response import QueryResponse
from .query_result import QueryResult
from .query_result_rows_item import QueryResultRowsItem
from .ready_status import ReadyStatus
from .reason import Reason
from .refusal import Refusal
from .refusal_code import RefusalCode
from .repair import Repair
from .rerun_report import RerunReport
from .retention_cell import RetentionCell
from .retention_name import RetentionName
from .retention_out import RetentionOut
from .retention_query import RetentionQuery
from .retention_query_kind import RetentionQueryKind
from .revoke_response import RevokeResponse
from .revoke_subject import RevokeSubject
from .revoke_token import RevokeToken
from .role_dsl_schema import RoleDslSchema
from .role_info import RoleInfo
from .segment_change import SegmentChange
from .segment_change_dimensions import SegmentChangeDimensions
from .segment_tests import SegmentTests
from .series_point import SeriesPoint
from .series_point_dimensions_type_0 import SeriesPointDimensionsType0
from .snapshot_out import SnapshotOut
from .sort import Sort
from .source import Source
from .step_name import StepName
from .summary_row import SummaryRow
from .timings import Timings
from .translator import Translator
from .trend import Trend

__all__ = (
    "AnomaliesOut",
    "AnomaliesQuery",
    "AnomaliesQueryKind",
    "Anomaly",
    "AnomalyDimensions",
    "AuditPage",
    "Baseline",
    "Between",
    "BetweenPeriod",
    "BreakdownRow",
    "BreakdownRowDimensions",
    "CatalogInfo",
    "CatalogView",
    "ChatAnswerEvent",
    "ChatRequest",
    "ChatResponse",
    "ChatStageEvent",
    "Clarification",
    "Cohort",
    "CohortDimensionsType0",
    "Compare",
    "CompileRequest",
    "CompileResponse",
    "CompileResponseSql",
    "DatePeriod",
    "DefineOut",
    "DefineQuery",
    "DefineQueryKind",
    "DefineQueryThenType0",
    "Diagnostic",
    "DiagnosticCode",
    "Dialect",
    "DimensionDefinition",
    "DimensionInfo",
    "DimensionName",
    "Driver",
    "DriverDimensions",
    "DurationOut",
    "EntityInfo",
    "EntityName",
    "ErrorBody",
    "ErrorBodyReason",
    "ErrorCode",
    "ExplainInfo",
    "ExplainQuery",
    "ExplainQueryKind",
    "FieldFilter",
    "FieldInfo",
    "FieldName",
    "Filter",
    "FilterOp",
    "FunnelName",
    "FunnelQuery",
    "FunnelQueryKind",
    "FunnelStep",
    "FunnelStepDimensionsType0",
    "Granularity",
    "HealthStatus",
    "InvalidQueryBody",
    "LastN",
    "LastNPeriod",
    "ListQuery",
    "ListQueryKind",
    "MetricDefinition",
    "MetricDefinitionConditions",
    "MetricInfo",
    "MetricName",
    "MetricQuery",
    "MetricQueryKind",
    "OpenApiDocument",
    "Order",
    "Outcome",
    "OverviewQuery",
    "OverviewQueryKind",
    "PassageOut",
    "PeriodOut",
    "PeriodUnit",
    "Preset",
    "PresetPeriod",
    "QueryRecord",
    "QueryRequest",
    "QueryResponse",
    "QueryResult",
    "QueryResultRowsItem",
    "ReadyStatus",
    "Reason",
    "Refusal",
    "RefusalCode",
    "Repair",
    "RerunReport",
    "RetentionCell",
    "RetentionName",
    "RetentionOut",
    "RetentionQuery",
    "RetentionQueryKind",
    "RevokeResponse",
    "RevokeSubject",
    "RevokeToken",
    "RoleDslSchema",
    "RoleInfo",
    "SegmentChange",
    "SegmentChangeDimensions",
    "SegmentTests",
    "SeriesPoint",
    "SeriesPointDimensionsType0",
    "SnapshotOut",
    "Sort",
    "Source",
    "StepName",
    "SummaryRow",
    "Timings",
    "Translator",
    "Trend",
)
