from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.baseline import Baseline
from ..models.explain_query_kind import ExplainQueryKind
from ..models.metric_name import MetricName
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.between_period import BetweenPeriod
    from ..models.date_period import DatePeriod
    from ..models.filter_ import Filter
    from ..models.last_n_period import LastNPeriod
    from ..models.preset_period import PresetPeriod


T = TypeVar("T", bound="ExplainQuery")


@_attrs_define
class ExplainQuery:
    """Why a metric changed: the change against a baseline, decomposed across the catalog's
    driver dimensions and their pairs.

        Attributes:
            kind (ExplainQueryKind):
            metric (MetricName): A metric name from the catalog.
            period (BetweenPeriod | DatePeriod | LastNPeriod | PresetPeriod): Exactly one of `preset`, `last_n`, `between`
                or `date`.
            version (int | None | Unset):
            baseline (Baseline | None | Unset): What the value is compared with (default: same_weekday_avg_4w for a period
                of at most 7
                days, else previous_period).
            filters (list[Filter] | Unset): Restricts the rows explained.
    """

    kind: ExplainQueryKind
    metric: MetricName
    period: BetweenPeriod | DatePeriod | LastNPeriod | PresetPeriod
    version: int | None | Unset = UNSET
    baseline: Baseline | None | Unset = UNSET
    filters: list[Filter] | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.between_period import BetweenPeriod
        from ..models.last_n_period import LastNPeriod
        from ..models.preset_period import PresetPeriod

        kind = self.kind.value

        metric = self.metric.value

        period: dict[str, Any]
        if (
            isinstance(self.period, PresetPeriod)
            or isinstance(self.period, LastNPeriod)
            or isinstance(self.period, BetweenPeriod)
        ):
            period = self.period.to_dict()
        else:
            period = self.period.to_dict()

        version: int | None | Unset
        if isinstance(self.version, Unset):
            version = UNSET
        else:
            version = self.version

        baseline: None | str | Unset
        if isinstance(self.baseline, Unset):
            baseline = UNSET
        elif isinstance(self.baseline, Baseline):
            baseline = self.baseline.value
        else:
            baseline = self.baseline

        filters: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.filters, Unset):
            filters = []
            for filters_item_data in self.filters:
                filters_item = filters_item_data.to_dict()
                filters.append(filters_item)

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "kind": kind,
                "metric": metric,
                "period": period,
            }
        )
        if version is not UNSET:
            field_dict["version"] = version
        if baseline is not UNSET:
            field_dict["baseline"] = baseline
        if filters is not UNSET:
            field_dict["filters"] = filters

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.between_period import BetweenPeriod
        from ..models.date_period import DatePeriod
        from ..models.filter_ import Filter
        from ..models.last_n_period import LastNPeriod
        from ..models.preset_period import PresetPeriod

        d = dict(src_dict)
        kind = ExplainQueryKind(d.pop("kind"))

        metric = MetricName(d.pop("metric"))

        def _parse_period(
            data: object,
        ) -> BetweenPeriod | DatePeriod | LastNPeriod | PresetPeriod:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_period_type_0 = PresetPeriod.from_dict(data)

                return componentsschemas_period_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_period_type_1 = LastNPeriod.from_dict(data)

                return componentsschemas_period_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_period_type_2 = BetweenPeriod.from_dict(data)

                return componentsschemas_period_type_2
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            componentsschemas_period_type_3 = DatePeriod.from_dict(data)

            return componentsschemas_period_type_3

        period = _parse_period(d.pop("period"))

        def _parse_version(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        version = _parse_version(d.pop("version", UNSET))

        def _parse_baseline(data: object) -> Baseline | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                baseline_type_0 = Baseline(data)

                return baseline_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Baseline | None | Unset, data)

        baseline = _parse_baseline(d.pop("baseline", UNSET))

        _filters = d.pop("filters", UNSET)
        filters: list[Filter] | Unset = UNSET
        if _filters is not UNSET:
            filters = []
            for filters_item_data in _filters:
                filters_item = Filter.from_dict(filters_item_data)

                filters.append(filters_item)

        explain_query = cls(
            kind=kind,
            metric=metric,
            period=period,
            version=version,
            baseline=baseline,
            filters=filters,
        )

        return explain_query
