from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.compare import Compare
from ..models.dimension_name import DimensionName
from ..models.funnel_name import FunnelName
from ..models.funnel_query_kind import FunnelQueryKind
from ..models.step_name import StepName
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.between_period import BetweenPeriod
    from ..models.date_period import DatePeriod
    from ..models.filter_ import Filter
    from ..models.last_n_period import LastNPeriod
    from ..models.preset_period import PresetPeriod


T = TypeVar("T", bound="FunnelQuery")


@_attrs_define
class FunnelQuery:
    """Users through ordered steps, each within the conversion window of the first.

    Attributes:
        kind (FunnelQueryKind):
        period (BetweenPeriod | DatePeriod | LastNPeriod | PresetPeriod): Exactly one of `preset`, `last_n`, `between`
            or `date`.
        version (int | None | Unset):
        funnel (FunnelName | None | Unset): A funnel from the catalog; give this or `steps`.
        steps (list[StepName] | Unset): Two to six event names in order, instead of a named funnel.
        window_hours (int | None | Unset): Hours from the first step within which every later step must happen (1-720;
            default: the
            named funnel's window, or 24).
        compare (Compare | None | Unset): Adds previous values and deltas to every step.
        group_by (list[DimensionName] | Unset): Zero or one dimension, read on the first step's event.
        filters (list[Filter] | Unset): Filters on the first step's event.
    """

    kind: FunnelQueryKind
    period: BetweenPeriod | DatePeriod | LastNPeriod | PresetPeriod
    version: int | None | Unset = UNSET
    funnel: FunnelName | None | Unset = UNSET
    steps: list[StepName] | Unset = UNSET
    window_hours: int | None | Unset = UNSET
    compare: Compare | None | Unset = UNSET
    group_by: list[DimensionName] | Unset = UNSET
    filters: list[Filter] | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.between_period import BetweenPeriod
        from ..models.last_n_period import LastNPeriod
        from ..models.preset_period import PresetPeriod

        kind = self.kind.value

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

        funnel: None | str | Unset
        if isinstance(self.funnel, Unset):
            funnel = UNSET
        elif isinstance(self.funnel, FunnelName):
            funnel = self.funnel.value
        else:
            funnel = self.funnel

        steps: list[str] | Unset = UNSET
        if not isinstance(self.steps, Unset):
            steps = []
            for steps_item_data in self.steps:
                steps_item = steps_item_data.value
                steps.append(steps_item)

        window_hours: int | None | Unset
        if isinstance(self.window_hours, Unset):
            window_hours = UNSET
        else:
            window_hours = self.window_hours

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

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "kind": kind,
                "period": period,
            }
        )
        if version is not UNSET:
            field_dict["version"] = version
        if funnel is not UNSET:
            field_dict["funnel"] = funnel
        if steps is not UNSET:
            field_dict["steps"] = steps
        if window_hours is not UNSET:
            field_dict["window_hours"] = window_hours
        if compare is not UNSET:
            field_dict["compare"] = compare
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
        kind = FunnelQueryKind(d.pop("kind"))

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

        def _parse_funnel(data: object) -> FunnelName | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                funnel_type_0 = FunnelName(data)

                return funnel_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(FunnelName | None | Unset, data)

        funnel = _parse_funnel(d.pop("funnel", UNSET))

        _steps = d.pop("steps", UNSET)
        steps: list[StepName] | Unset = UNSET
        if _steps is not UNSET:
            steps = []
            for steps_item_data in _steps:
                steps_item = StepName(steps_item_data)

                steps.append(steps_item)

        def _parse_window_hours(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        window_hours = _parse_window_hours(d.pop("window_hours", UNSET))

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

        funnel_query = cls(
            kind=kind,
            period=period,
            version=version,
            funnel=funnel,
            steps=steps,
            window_hours=window_hours,
            compare=compare,
            group_by=group_by,
            filters=filters,
        )

        return funnel_query
