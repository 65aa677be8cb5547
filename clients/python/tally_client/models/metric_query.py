from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.compare import Compare
from ..models.dimension_name import DimensionName
from ..models.granularity import Granularity
from ..models.metric_name import MetricName
from ..models.metric_query_kind import MetricQueryKind
from ..models.order import Order
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.between_period import BetweenPeriod
    from ..models.date_period import DatePeriod
    from ..models.filter_ import Filter
    from ..models.last_n_period import LastNPeriod
    from ..models.preset_period import PresetPeriod


T = TypeVar("T", bound="MetricQuery")


@_attrs_define
class MetricQuery:
    """One to four metrics over a period, optionally as a time series, broken down and filtered.

    Attributes:
        kind (MetricQueryKind):
        metrics (list[MetricName]): One to four metric names.
        period (BetweenPeriod | DatePeriod | LastNPeriod | PresetPeriod): Exactly one of `preset`, `last_n`, `between`
            or `date`.
        version (int | None | Unset): DSL version; 1 when given.
        granularity (Granularity | None | Unset): Adds a time series with one point per day, week or month of the
            period.
        compare (Compare | None | Unset): Adds previous values and deltas to every summary and breakdown row.
        group_by (list[DimensionName] | Unset): Zero to two dimensions to break the metrics down by.
        filters (list[Filter] | Unset):
        top_n (int | None | Unset): How many breakdown rows to keep (1-50, default 10).
        order (None | Order | Unset): Order of breakdown rows by the first metric (default desc).
    """

    kind: MetricQueryKind
    metrics: list[MetricName]
    period: BetweenPeriod | DatePeriod | LastNPeriod | PresetPeriod
    version: int | None | Unset = UNSET
    granularity: Granularity | None | Unset = UNSET
    compare: Compare | None | Unset = UNSET
    group_by: list[DimensionName] | Unset = UNSET
    filters: list[Filter] | Unset = UNSET
    top_n: int | None | Unset = UNSET
    order: None | Order | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.between_period import BetweenPeriod
        from ..models.last_n_period import LastNPeriod
        from ..models.preset_period import PresetPeriod

        kind = self.kind.value

        metrics = []
        for metrics_item_data in self.metrics:
            metrics_item = metrics_item_data.value
            metrics.append(metrics_item)

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

        granularity: None | str | Unset
        if isinstance(self.granularity, Unset):
            granularity = UNSET
        elif isinstance(self.granularity, Granularity):
            granularity = self.granularity.value
        else:
            granularity = self.granularity

        compare: None | str | Unset
        if isinstance(self.compare, Unset):
            compare = UNSET
        elif isinstance(self.compare, Compare):
            compare = self.compare.value
        else:
            compare = self.compare

        group_by: list[str] | Unset = UNSET
        if not isinstance(self.group_by, Unset):
            group_by = []
            for group_by_item_data in self.group_by:
                group_by_item = group_by_item_data.value
                group_by.append(group_by_item)

        filters: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.filters, Unset):
            filters = []
            for filters_item_data in self.filters:
                filters_item = filters_item_data.to_dict()
                filters.append(filters_item)

        top_n: int | None | Unset
        if isinstance(self.top_n, Unset):
            top_n = UNSET
        else:
            top_n = self.top_n

        order: None | str | Unset
        if isinstance(self.order, Unset):
            order = UNSET
        elif isinstance(self.order, Order):
            order = self.order.value
        else:
            order = self.order

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "kind": kind,
                "metrics": metrics,
                "period": period,
            }
        )
        if version is not UNSET:
            field_dict["version"] = version
        if granularity is not UNSET:
            field_dict["granularity"] = granularity
        if compare is not UNSET:
            field_dict["compare"] = compare
        if group_by is not UNSET:
            field_dict["group_by"] = group_by
        if filters is not UNSET:
            field_dict["filters"] = filters
        if top_n is not UNSET:
            field_dict["top_n"] = top_n
        if order is not UNSET:
            field_dict["order"] = order

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.between_period import BetweenPeriod
        from ..models.date_period import DatePeriod
        from ..models.filter_ import Filter
        from ..models.last_n_period import LastNPeriod
        from ..models.preset_period import PresetPeriod

        d = dict(src_dict)
        kind = MetricQueryKind(d.pop("kind"))

        metrics = []
        _metrics = d.pop("metrics")
        for metrics_item_data in _metrics:
            metrics_item = MetricName(metrics_item_data)

            metrics.append(metrics_item)

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

        def _parse_granularity(data: object) -> Granularity | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                granularity_type_0 = Granularity(data)

                return granularity_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Granularity | None | Unset, data)

        granularity = _parse_granularity(d.pop("granularity", UNSET))

        def _parse_compare(data: object) -> Compare | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                compare_type_0 = Compare(data)

                return compare_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Compare | None | Unset, data)

        compare = _parse_compare(d.pop("compare", UNSET))

        _group_by = d.pop("group_by", UNSET)
        group_by: list[DimensionName] | Unset = UNSET
        if _group_by is not UNSET:
            group_by = []
            for group_by_item_data in _group_by:
                group_by_item = DimensionName(group_by_item_data)

                group_by.append(group_by_item)

        _filters = d.pop("filters", UNSET)
        filters: list[Filter] | Unset = UNSET
        if _filters is not UNSET:
            filters = []
            for filters_item_data in _filters:
                filters_item = Filter.from_dict(filters_item_data)

                filters.append(filters_item)

        def _parse_top_n(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        top_n = _parse_top_n(d.pop("top_n", UNSET))

        def _parse_order(data: object) -> None | Order | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                order_type_0 = Order(data)

                return order_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Order | Unset, data)

        order = _parse_order(d.pop("order", UNSET))

        metric_query = cls(
            kind=kind,
            metrics=metrics,
            period=period,
            version=version,
            granularity=granularity,
            compare=compare,
            group_by=group_by,
            filters=filters,
            top_n=top_n,
            order=order,
        )

        return metric_query
