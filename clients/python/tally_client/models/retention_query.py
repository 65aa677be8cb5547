from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.dimension_name import DimensionName
from ..models.granularity import Granularity
from ..models.retention_name import RetentionName
from ..models.retention_query_kind import RetentionQueryKind
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.between_period import BetweenPeriod
    from ..models.date_period import DatePeriod
    from ..models.filter_ import Filter
    from ..models.last_n_period import LastNPeriod
    from ..models.preset_period import PresetPeriod


T = TypeVar("T", bound="RetentionQuery")


@_attrs_define
class RetentionQuery:
    """Cohorts of entities by when they started (a signup), and how many of each came back in
    each later day, week or month.

        Attributes:
            kind (RetentionQueryKind):
            retention (RetentionName): A retention definition from the catalog.
            period (BetweenPeriod | DatePeriod | LastNPeriod | PresetPeriod): Exactly one of `preset`, `last_n`, `between`
                or `date`.
            version (int | None | Unset):
            granularity (Granularity | None | Unset): The cohort bucket and the unit of the offsets (default week).
            periods (int | None | Unset): How many offsets after the cohort's own bucket (1-26, default 8): offset 0 is the
                cohort's bucket, offset k the k-th day, week or month after it.
            group_by (list[DimensionName] | Unset): Zero or one dimension of the cohort's table: one set of cohorts per
                value.
            filters (list[Filter] | Unset): Filters on the cohort's table.
    """

    kind: RetentionQueryKind
    retention: RetentionName
    period: BetweenPeriod | DatePeriod | LastNPeriod | PresetPeriod
    version: int | None | Unset = UNSET
    granularity: Granularity | None | Unset = UNSET
    periods: int | None | Unset = UNSET
    group_by: list[DimensionName] | Unset = UNSET
    filters: list[Filter] | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.between_period import BetweenPeriod
        from ..models.last_n_period import LastNPeriod
        from ..models.preset_period import PresetPeriod

        kind = self.kind.value

        retention = self.retention.value

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

        periods: int | None | Unset
        if isinstance(self.periods, Unset):
            periods = UNSET
        else:
            periods = self.periods

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

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "kind": kind,
                "retention": retention,
                "period": period,
            }
        )
        if version is not UNSET:
            field_dict["version"] = version
        if granularity is not UNSET:
            field_dict["granularity"] = granularity
        if periods is not UNSET:
            field_dict["periods"] = periods
        if group_by is not UNSET:
            field_dict["group_by"] = group_by
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
        kind = RetentionQueryKind(d.pop("kind"))

        retention = RetentionName(d.pop("retention"))

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

        def _parse_periods(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        periods = _parse_periods(d.pop("periods", UNSET))

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

        retention_query = cls(
            kind=kind,
            retention=retention,
            period=period,
            version=version,
            granularity=granularity,
            periods=periods,
            group_by=group_by,
            filters=filters,
        )

        return retention_query
