from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.anomalies_query_kind import AnomaliesQueryKind
from ..models.metric_name import MetricName
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.between_period import BetweenPeriod
    from ..models.date_period import DatePeriod
    from ..models.last_n_period import LastNPeriod
    from ..models.preset_period import PresetPeriod


T = TypeVar("T", bound="AnomaliesQuery")


@_attrs_define
class AnomaliesQuery:
    """Days that fell outside their usual range: each watched metric that counts something per
    day, in total and per driver segment, each day against the same weekday of the 4 weeks
    before.

        Attributes:
            kind (AnomaliesQueryKind):
            version (int | None | Unset):
            period (BetweenPeriod | DatePeriod | LastNPeriod | None | PresetPeriod | Unset): The days scanned (default: the
                last 7 complete days; at most 31 days).
            metrics (list[MetricName] | Unset): The metrics scanned (default: the catalog's `watch = true` metrics the role
                may see, else
                the role's KPI set), counts per day only: others are listed as skipped.
    """

    kind: AnomaliesQueryKind
    version: int | None | Unset = UNSET
    period: BetweenPeriod | DatePeriod | LastNPeriod | None | PresetPeriod | Unset = (
        UNSET
    )
    metrics: list[MetricName] | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.between_period import BetweenPeriod
        from ..models.date_period import DatePeriod
        from ..models.last_n_period import LastNPeriod
        from ..models.preset_period import PresetPeriod

        kind = self.kind.value

        version: int | None | Unset
        if isinstance(self.version, Unset):
            version = UNSET
        else:
            version = self.version

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

        metrics: list[str] | Unset = UNSET
        if not isinstance(self.metrics, Unset):
            metrics = []
            for metrics_item_data in self.metrics:
                metrics_item = metrics_item_data.value
                metrics.append(metrics_item)

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "kind": kind,
            }
        )
        if version is not UNSET:
            field_dict["version"] = version
        if period is not UNSET:
            field_dict["period"] = period
        if metrics is not UNSET:
            field_dict["metrics"] = metrics

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.between_period import BetweenPeriod
        from ..models.date_period import DatePeriod
        from ..models.last_n_period import LastNPeriod
        from ..models.preset_period import PresetPeriod

        d = dict(src_dict)
        kind = AnomaliesQueryKind(d.pop("kind"))

        def _parse_version(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        version = _parse_version(d.pop("version", UNSET))

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

        _metrics = d.pop("metrics", UNSET)
        metrics: list[MetricName] | Unset = UNSET
        if _metrics is not UNSET:
            metrics = []
            for metrics_item_data in _metrics:
                metrics_item = MetricName(metrics_item_data)

                metrics.append(metrics_item)

        anomalies_query = cls(
            kind=kind,
            version=version,
            period=period,
            metrics=metrics,
        )

        return anomalies_query
