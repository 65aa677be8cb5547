from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.anomalies_out import AnomaliesOut
    from ..models.breakdown_row import BreakdownRow
    from ..models.define_out import DefineOut
    from ..models.driver import Driver
    from ..models.explain_info import ExplainInfo
    from ..models.funnel_step import FunnelStep
    from ..models.period_out import PeriodOut
    from ..models.query_result_rows_item import QueryResultRowsItem
    from ..models.retention_out import RetentionOut
    from ..models.series_point import SeriesPoint
    from ..models.summary_row import SummaryRow
    from ..models.trend import Trend


T = TypeVar("T", bound="QueryResult")


@_attrs_define
class QueryResult:
    """The `data` object of a response.

    Attributes:
        summary (list[SummaryRow]):
        timeseries (list[SeriesPoint]):
        breakdown (list[BreakdownRow]):
        rows (list[QueryResultRowsItem]):
        suppressed_groups (int): Rows and points withheld because they cover fewer distinct entities (the table's
            `entity`: users, customers) than the role's `min_group_size`.
        truncated (bool): A statement hit the row cap: some numbers may be missing.
        period (None | PeriodOut | Unset):
        previous_period (None | PeriodOut | Unset):
        funnel (list[FunnelStep] | Unset): Funnel steps: the totals first, then each group's steps.
        drivers (list[Driver] | Unset): `explain`: the segments that carry the change, largest share first.
        explain (ExplainInfo | None | Unset): `explain`: the baseline and when the change started.
        retention (None | RetentionOut | Unset): `retention`: the cohorts and, per offset that has ended, who came back.
        anomalies (AnomaliesOut | None | Unset): `anomalies`: the days that fell outside their usual range, most severe
            first.
        define (DefineOut | None | Unset): `define`: the catalog entries asked about and the quoted passages of the
            docs.
        then (None | QueryResult | Unset): `define` with `then`: the data of the query asked with the definition.
        trend (None | Trend | Unset): A series' direction over its complete buckets (least squares), when it has enough.
        total_groups (int | None | Unset): Groups there were in all, before `top_n`.
    """

    summary: list[SummaryRow]
    timeseries: list[SeriesPoint]
    breakdown: list[BreakdownRow]
    rows: list[QueryResultRowsItem]
    suppressed_groups: int
    truncated: bool
    period: None | PeriodOut | Unset = UNSET
    previous_period: None | PeriodOut | Unset = UNSET
    funnel: list[FunnelStep] | Unset = UNSET
    drivers: list[Driver] | Unset = UNSET
    explain: ExplainInfo | None | Unset = UNSET
    retention: None | RetentionOut | Unset = UNSET
    anomalies: AnomaliesOut | None | Unset = UNSET
    define: DefineOut | None | Unset = UNSET
    then: None | QueryResult | Unset = UNSET
    trend: None | Trend | Unset = UNSET
    total_groups: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.anomalies_out import AnomaliesOut
        from ..models.define_out import DefineOut
        from ..models.explain_info import ExplainInfo
        from ..models.period_out import PeriodOut
        from ..models.retention_out import RetentionOut
        from ..models.trend import Trend

        summary = []
        for summary_item_data in self.summary:
            summary_item = summary_item_data.to_dict()
            summary.append(summary_item)

        timeseries = []
        for timeseries_item_data in self.timeseries:
            timeseries_item = timeseries_item_data.to_dict()
            timeseries.append(timeseries_item)

        breakdown = []
        for breakdown_item_data in self.breakdown:
            breakdown_item = breakdown_item_data.to_dict()
            breakdown.append(breakdown_item)

        rows = []
        for rows_item_data in self.rows:
            rows_item = rows_item_data.to_dict()
            rows.append(rows_item)

        suppressed_groups = self.suppressed_groups

        truncated = self.truncated

        period: dict[str, Any] | None | Unset
        if isinstance(self.period, Unset):
            period = UNSET
        elif isinstance(self.period, PeriodOut):
            period = self.period.to_dict()
        else:
            period = self.period

        previous_period: dict[str, Any] | None | Unset
        if isinstance(self.previous_period, Unset):
            previous_period = UNSET
        elif isinstance(self.previous_period, PeriodOut):
            previous_period = self.previous_period.to_dict()
        else:
            previous_period = self.previous_period

        funnel: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.funnel, Unset):
            funnel = []
            for funnel_item_data in self.funnel:
                funnel_item = funnel_item_data.to_dict()
                funnel.append(funnel_item)

        drivers: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.drivers, Unset):
            drivers = []
            for drivers_item_data in self.drivers:
                drivers_item = drivers_item_data.to_dict()
                drivers.append(drivers_item)

        explain: dict[str, Any] | None | Unset
        if isinstance(self.explain, Unset):
            explain = UNSET
        elif isinstance(self.explain, ExplainInfo):
            explain = self.explain.to_dict()
        else:
            explain = self.explain

        retention: dict[str, Any] | None | Unset
        if isinstance(self.retention, Unset):
            retention = UNSET
        elif isinstance(self.retention, RetentionOut):
            retention = self.retention.to_dict()
        else:
            retention = self.retention

        anomalies: dict[str, Any] | None | Unset
        if isinstance(self.anomalies, Unset):
            anomalies = UNSET
        elif isinstance(self.anomalies, AnomaliesOut):
            anomalies = self.anomalies.to_dict()
        else:
            anomalies = self.anomalies

        define: dict[str, Any] | None | Unset
        if isinstance(self.define, Unset):
            define = UNSET
        elif isinstance(self.define, DefineOut):
            define = self.define.to_dict()
        else:
            define = self.define

        then: dict[str, Any] | None | Unset
        if isinstance(self.then, Unset):
            then = UNSET
        elif isinstance(self.then, QueryResult):
            then = self.then.to_dict()
        else:
            then = self.then

        trend: dict[str, Any] | None | Unset
        if isinstance(self.trend, Unset):
            trend = UNSET
        elif isinstance(self.trend, Trend):
            trend = self.trend.to_dict()
        else:
            trend = self.trend

        total_groups: int | None | Unset
        if isinstance(self.total_groups, Unset):
            total_groups = UNSET
        else:
            total_groups = self.total_groups

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "summary": summary,
                "timeseries": timeseries,
                "breakdown": breakdown,
                "rows": rows,
                "suppressed_groups": suppressed_groups,
                "truncated": truncated,
            }
        )
        if period is not UNSET:
            field_dict["period"] = period
        if previous_period is not UNSET:
            field_dict["previous_period"] = previous_period
        if funnel is not UNSET:
            field_dict["funnel"] = funnel
        if drivers is not UNSET:
            field_dict["drivers"] = drivers
        if explain is not UNSET:
            field_dict["explain"] = explain
        if retention is not UNSET:
            field_dict["retention"] = retention
        if anomalies is not UNSET:
            field_dict["anomalies"] = anomalies
        if define is not UNSET:
            field_dict["define"] = define
        if then is not UNSET:
            field_dict["then"] = then
        if trend is not UNSET:
            field_dict["trend"] = trend
        if total_groups is not UNSET:
            field_dict["total_groups"] = total_groups

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.anomalies_out import AnomaliesOut
        from ..models.breakdown_row import BreakdownRow
        from ..models.define_out import DefineOut
        from ..models.driver import Driver
        from ..models.explain_info import ExplainInfo
        from ..models.funnel_step import FunnelStep
        from ..models.period_out import PeriodOut
        from ..models.query_result_rows_item import QueryResultRowsItem
        from ..models.retention_out import RetentionOut
        from ..models.series_point import SeriesPoint
        from ..models.summary_row import SummaryRow
        from ..models.trend import Trend

        d = dict(src_dict)
        summary = []
        _summary = d.pop("summary")
        for summary_item_data in _summary:
            summary_item = SummaryRow.from_dict(summary_item_data)

            summary.append(summary_item)

        timeseries = []
        _timeseries = d.pop("timeseries")
        for timeseries_item_data in _timeseries:
            timeseries_item = SeriesPoint.from_dict(timeseries_item_data)

            timeseries.append(timeseries_item)

        breakdown = []
        _breakdown = d.pop("breakdown")
        for breakdown_item_data in _breakdown:
            breakdown_item = BreakdownRow.from_dict(breakdown_item_data)

            breakdown.append(breakdown_item)

        rows = []
        _rows = d.pop("rows")
        for rows_item_data in _rows:
            rows_item = QueryResultRowsItem.from_dict(rows_item_data)

            rows.append(rows_item)

        suppressed_groups = d.pop("suppressed_groups")

        truncated = d.pop("truncated")

        def _parse_period(data: object) -> None | PeriodOut | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                period_type_0 = PeriodOut.from_dict(data)

                return period_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | PeriodOut | Unset, data)

        period = _parse_period(d.pop("period", UNSET))

        def _parse_previous_period(data: object) -> None | PeriodOut | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                previous_period_type_0 = PeriodOut.from_dict(data)

                return previous_period_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | PeriodOut | Unset, data)

        previous_period = _parse_previous_period(d.pop("previous_period", UNSET))

        _funnel = d.pop("funnel", UNSET)
        funnel: list[FunnelStep] | Unset = UNSET
        if _funnel is not UNSET:
            funnel = []
            for funnel_item_data in _funnel:
                funnel_item = FunnelStep.from_dict(funnel_item_data)

                funnel.append(funnel_item)

        _drivers = d.pop("drivers", UNSET)
        drivers: list[Driver] | Unset = UNSET
        if _drivers is not UNSET:
            drivers = []
            for drivers_item_data in _drivers:
                drivers_item = Driver.from_dict(drivers_item_data)

                drivers.append(drivers_item)

        def _parse_explain(data: object) -> ExplainInfo | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                explain_type_0 = ExplainInfo.from_dict(data)

                return explain_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ExplainInfo | None | Unset, data)

        explain = _parse_explain(d.pop("explain", UNSET))

        def _parse_retention(data: object) -> None | RetentionOut | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                retention_type_0 = RetentionOut.from_dict(data)

                return retention_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RetentionOut | Unset, data)

        retention = _parse_retention(d.pop("retention", UNSET))

        def _parse_anomalies(data: object) -> AnomaliesOut | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                anomalies_type_0 = AnomaliesOut.from_dict(data)

                return anomalies_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(AnomaliesOut | None | Unset, data)

        anomalies = _parse_anomalies(d.pop("anomalies", UNSET))

        def _parse_define(data: object) -> DefineOut | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                define_type_0 = DefineOut.from_dict(data)

                return define_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DefineOut | None | Unset, data)

        define = _parse_define(d.pop("define", UNSET))

        def _parse_then(data: object) -> None | QueryResult | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                then_type_0 = QueryResult.from_dict(data)

                return then_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | QueryResult | Unset, data)

        then = _parse_then(d.pop("then", UNSET))

        def _parse_trend(data: object) -> None | Trend | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                trend_type_0 = Trend.from_dict(data)

                return trend_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Trend | Unset, data)

        trend = _parse_trend(d.pop("trend", UNSET))

        def _parse_total_groups(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        total_groups = _parse_total_groups(d.pop("total_groups", UNSET))

        query_result = cls(
            summary=summary,
            timeseries=timeseries,
            breakdown=breakdown,
            rows=rows,
            suppressed_groups=suppressed_groups,
            truncated=truncated,
            period=period,
            previous_period=previous_period,
            funnel=funnel,
            drivers=drivers,
            explain=explain,
            retention=retention,
            anomalies=anomalies,
            define=define,
            then=then,
            trend=trend,
            total_groups=total_groups,
        )

        query_result.additional_properties = d
        return query_result

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
