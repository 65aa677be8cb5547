from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.duration_out import DurationOut
    from ..models.metric_definition_conditions import MetricDefinitionConditions
    from ..models.snapshot_out import SnapshotOut


T = TypeVar("T", bound="MetricDefinition")


@_attrs_define
class MetricDefinition:
    """A metric as the catalog defines it.

    Attributes:
        name (str):
        label (str):
        description (str):
        type_ (str): `count`, `count_distinct`, `sum`, `avg`, `median`, `active_users`, `ratio` or `derived`.
        format_ (str): `integer`, `decimal`, `percent`, `currency`, `duration_minutes` or `duration_hours`.
        lower_is_better (bool):
        sensitivity (str):
        synonyms (list[str]):
        table (None | str | Unset): The table an aggregate reads.
        time (None | str | Unset): The column that dates an aggregate's rows (absent for a snapshot).
        snapshot (None | SnapshotOut | Unset): A snapshot's validity columns and when it is taken (`start` or `end` of
            the period).
        column (None | str | Unset): The column counted, summed or averaged (a distinct count's, an active-users'
            entity).
        duration (DurationOut | None | Unset): A duration measured between two columns, in `unit`s.
        window (None | str | Unset): An active-users metric's window: `day`, `week` or `month`.
        conditions (MetricDefinitionConditions | Unset): Column = value conditions on the rows.
        numerator (None | str | Unset): A ratio's numerator and denominator metrics.
        denominator (None | str | Unset):
        expression (None | str | Unset): A derived metric's expression over other metrics.
    """

    name: str
    label: str
    description: str
    type_: str
    format_: str
    lower_is_better: bool
    sensitivity: str
    synonyms: list[str]
    table: None | str | Unset = UNSET
    time: None | str | Unset = UNSET
    snapshot: None | SnapshotOut | Unset = UNSET
    column: None | str | Unset = UNSET
    duration: DurationOut | None | Unset = UNSET
    window: None | str | Unset = UNSET
    conditions: MetricDefinitionConditions | Unset = UNSET
    numerator: None | str | Unset = UNSET
    denominator: None | str | Unset = UNSET
    expression: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.duration_out import DurationOut
        from ..models.snapshot_out import SnapshotOut

        name = self.name

        label = self.label

        description = self.description

        type_ = self.type_

        format_ = self.format_

        lower_is_better = self.lower_is_better

        sensitivity = self.sensitivity

        synonyms = self.synonyms

        table: None | str | Unset
        if isinstance(self.table, Unset):
            table = UNSET
        else:
            table = self.table

        time: None | str | Unset
        if isinstance(self.time, Unset):
            time = UNSET
        else:
            time = self.time

        snapshot: dict[str, Any] | None | Unset
        if isinstance(self.snapshot, Unset):
            snapshot = UNSET
        elif isinstance(self.snapshot, SnapshotOut):
            snapshot = self.snapshot.to_dict()
        else:
            snapshot = self.snapshot

        column: None | str | Unset
        if isinstance(self.column, Unset):
            column = UNSET
        else:
            column = self.column

        duration: dict[str, Any] | None | Unset
        if isinstance(self.duration, Unset):
            duration = UNSET
        elif isinstance(self.duration, DurationOut):
            duration = self.duration.to_dict()
        else:
            duration = self.duration

        window: None | str | Unset
        if isinstance(self.window, Unset):
            window = UNSET
        else:
            window = self.window

        conditions: dict[str, Any] | Unset = UNSET
        if not isinstance(self.conditions, Unset):
            conditions = self.conditions.to_dict()

        numerator: None | str | Unset
        if isinstance(self.numerator, Unset):
            numerator = UNSET
        else:
            numerator = self.numerator

        denominator: None | str | Unset
        if isinstance(self.denominator, Unset):
            denominator = UNSET
        else:
            denominator = self.denominator

        expression: None | str | Unset
        if isinstance(self.expression, Unset):
            expression = UNSET
        else:
            expression = self.expression

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "label": label,
                "description": description,
                "type": type_,
                "format": format_,
                "lower_is_better": lower_is_better,
                "sensitivity": sensitivity,
                "synonyms": synonyms,
            }
        )
        if table is not UNSET:
            field_dict["table"] = table
        if time is not UNSET:
            field_dict["time"] = time
        if snapshot is not UNSET:
            field_dict["snapshot"] = snapshot
        if column is not UNSET:
            field_dict["column"] = column
        if duration is not UNSET:
            field_dict["duration"] = duration
        if window is not UNSET:
            field_dict["window"] = window
        if conditions is not UNSET:
            field_dict["conditions"] = conditions
        if numerator is not UNSET:
            field_dict["numerator"] = numerator
        if denominator is not UNSET:
            field_dict["denominator"] = denominator
        if expression is not UNSET:
            field_dict["expression"] = expression

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.duration_out import DurationOut
        from ..models.metric_definition_conditions import MetricDefinitionConditions
        from ..models.snapshot_out import SnapshotOut

        d = dict(src_dict)
        name = d.pop("name")

        label = d.pop("label")

        description = d.pop("description")

        type_ = d.pop("type")

        format_ = d.pop("format")

        lower_is_better = d.pop("lower_is_better")

        sensitivity = d.pop("sensitivity")

        synonyms = cast(list[str], d.pop("synonyms"))

        def _parse_table(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        table = _parse_table(d.pop("table", UNSET))

        def _parse_time(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        time = _parse_time(d.pop("time", UNSET))

        def _parse_snapshot(data: object) -> None | SnapshotOut | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                snapshot_type_0 = SnapshotOut.from_dict(data)

                return snapshot_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | SnapshotOut | Unset, data)

        snapshot = _parse_snapshot(d.pop("snapshot", UNSET))

        def _parse_column(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        column = _parse_column(d.pop("column", UNSET))

        def _parse_duration(data: object) -> DurationOut | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                duration_type_0 = DurationOut.from_dict(data)

                return duration_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DurationOut | None | Unset, data)

        duration = _parse_duration(d.pop("duration", UNSET))

        def _parse_window(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        window = _parse_window(d.pop("window", UNSET))

        _conditions = d.pop("conditions", UNSET)
        conditions: MetricDefinitionConditions | Unset
        if isinstance(_conditions, Unset):
            conditions = UNSET
        else:
            conditions = MetricDefinitionConditions.from_dict(_conditions)

        def _parse_numerator(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        numerator = _parse_numerator(d.pop("numerator", UNSET))

        def _parse_denominator(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        denominator = _parse_denominator(d.pop("denominator", UNSET))

        def _parse_expression(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        expression = _parse_expression(d.pop("expression", UNSET))

        metric_definition = cls(
            name=name,
            label=label,
            description=description,
            type_=type_,
            format_=format_,
            lower_is_better=lower_is_better,
            sensitivity=sensitivity,
            synonyms=synonyms,
            table=table,
            time=time,
            snapshot=snapshot,
            column=column,
            duration=duration,
            window=window,
            conditions=conditions,
            numerator=numerator,
            denominator=denominator,
            expression=expression,
        )

        metric_definition.additional_properties = d
        return metric_definition

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
