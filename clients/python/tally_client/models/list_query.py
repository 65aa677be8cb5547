from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.entity_name import EntityName
from ..models.field_name import FieldName
from ..models.list_query_kind import ListQueryKind
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.between_period import BetweenPeriod
    from ..models.date_period import DatePeriod
    from ..models.field_filter import FieldFilter
    from ..models.last_n_period import LastNPeriod
    from ..models.preset_period import PresetPeriod
    from ..models.sort import Sort


T = TypeVar("T", bound="ListQuery")


@_attrs_define
class ListQuery:
    """Record-level rows of one entity (for roles with record-level access).

    Attributes:
        kind (ListQueryKind):
        entity (EntityName): An entity that `list` can return.
        fields (list[FieldName]): One to ten fields of the entity, in output order.
        version (int | None | Unset):
        filters (list[FieldFilter] | Unset):
        period (BetweenPeriod | DatePeriod | LastNPeriod | None | PresetPeriod | Unset): Restricts rows to those whose
            `time_field` falls in the period.
        time_field (FieldName | None | Unset): The date field `period` applies to (default: the entity's default time
            field).
        sort (None | Sort | Unset):
        limit (int | None | Unset): Maximum rows (1-100, default 20).
    """

    kind: ListQueryKind
    entity: EntityName
    fields: list[FieldName]
    version: int | None | Unset = UNSET
    filters: list[FieldFilter] | Unset = UNSET
    period: BetweenPeriod | DatePeriod | LastNPeriod | None | PresetPeriod | Unset = (
        UNSET
    )
    time_field: FieldName | None | Unset = UNSET
    sort: None | Sort | Unset = UNSET
    limit: int | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.between_period import BetweenPeriod
        from ..models.date_period import DatePeriod
        from ..models.last_n_period import LastNPeriod
        from ..models.preset_period import PresetPeriod
        from ..models.sort import Sort

        kind = self.kind.value

        entity = self.entity.value

        fields = []
        for fields_item_data in self.fields:
            fields_item = fields_item_data.value
            fields.append(fields_item)

        version: int | None | Unset
        if isinstance(self.version, Unset):
            version = UNSET
        else:
            version = self.version

        filters: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.filters, Unset):
            filters = []
            for filters_item_data in self.filters:
                filters_item = filters_item_data.to_dict()
                filters.append(filters_item)

        period: dict[str, Any] | None | Unset
        if isinstance(self.period, Unset):
            period = UNSET
        elif (
            isinstance(self.period, PresetPeriod)
            or isinstance(self.period, LastNPeriod)
            or isinstance(self.period, BetweenPeriod)
            or isinstance(self.period, DatePeriod)
        ):
            period = self.period.to_dict()
        else:
            period = self.period

        time_field: None | str | Unset
        if isinstance(self.time_field, Unset):
            time_field = UNSET
        elif isinstance(self.time_field, FieldName):
            time_field = self.time_field.value
        else:
            time_field = self.time_field

        sort: dict[str, Any] | None | Unset
        if isinstance(self.sort, Unset):
            sort = UNSET
        elif isinstance(self.sort, Sort):
            sort = self.sort.to_dict()
        else:
            sort = self.sort

        limit: int | None | Unset
        if isinstance(self.limit, Unset):
            limit = UNSET
        else:
            limit = self.limit

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "kind": kind,
                "entity": entity,
                "fields": fields,
            }
        )
        if version is not UNSET:
            field_dict["version"] = version
        if filters is not UNSET:
            field_dict["filters"] = filters
        if period is not UNSET:
            field_dict["period"] = period
        if time_field is not UNSET:
            field_dict["time_field"] = time_field
        if sort is not UNSET:
            field_dict["sort"] = sort
        if limit is not UNSET:
            field_dict["limit"] = limit

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.between_period import BetweenPeriod
        from ..models.date_period import DatePeriod
        from ..models.field_filter import FieldFilter
        from ..models.last_n_period import LastNPeriod
        from ..models.preset_period import PresetPeriod
        from ..models.sort import Sort

        d = dict(src_dict)
        kind = ListQueryKind(d.pop("kind"))

        entity = EntityName(d.pop("entity"))

        fields = []
        _fields = d.pop("fields")
        for fields_item_data in _fields:
            fields_item = FieldName(fields_item_data)

            fields.append(fields_item)

        def _parse_version(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        version = _parse_version(d.pop("version", UNSET))

        _filters = d.pop("filters", UNSET)
        filters: list[FieldFilter] | Unset = UNSET
        if _filters is not UNSET:
            filters = []
            for filters_item_data in _filters:
                filters_item = FieldFilter.from_dict(filters_item_data)

                filters.append(filters_item)

        def _parse_period(
            data: object,
        ) -> BetweenPeriod | DatePeriod | LastNPeriod | None | PresetPeriod | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
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
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_period_type_3 = DatePeriod.from_dict(data)

                return componentsschemas_period_type_3
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(
                BetweenPeriod | DatePeriod | LastNPeriod | None | PresetPeriod | Unset,
                data,
            )

        period = _parse_period(d.pop("period", UNSET))

        def _parse_time_field(data: object) -> FieldName | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                time_field_type_0 = FieldName(data)

                return time_field_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(FieldName | None | Unset, data)

        time_field = _parse_time_field(d.pop("time_field", UNSET))

        def _parse_sort(data: object) -> None | Sort | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                sort_type_0 = Sort.from_dict(data)

                return sort_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Sort | Unset, data)

        sort = _parse_sort(d.pop("sort", UNSET))

        def _parse_limit(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        limit = _parse_limit(d.pop("limit", UNSET))

        list_query = cls(
            kind=kind,
            entity=entity,
            fields=fields,
            version=version,
            filters=filters,
            period=period,
            time_field=time_field,
            sort=sort,
            limit=limit,
        )

        return list_query
