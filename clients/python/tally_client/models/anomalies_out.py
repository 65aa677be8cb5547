from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.anomaly import Anomaly
    from ..models.period_out import PeriodOut


T = TypeVar("T", bound="AnomaliesOut")


@_attrs_define
class AnomaliesOut:
    """The `data.anomalies` object.

    Attributes:
        days (None | PeriodOut): The days tested: the period's complete days (null when it has none yet).
        metrics (list[str]): The metrics scanned.
        baseline_weeks (int): Each day is compared with the same weekday this many weeks before it.
        method (str): The test, in words.
        tested (int): Segment-days tested: the family the Bonferroni correction is over.
        alpha (float): The family-wise level.
        min_change (float): The least relative change (of the median) a flagged day has.
        min_count (float): The least absolute change a flagged day has.
        withheld (int): Segment-days not tested because the day or a baseline day covers fewer distinct
            entities than the role's `min_group_size`.
        flagged (int): Anomalies found (after a single driver's segment gives way to its pair), before the cut
            to `MAX_ANOMALIES`.
        anomalies (list[Anomaly]): The anomalies, most severe first.
    """

    days: None | PeriodOut
    metrics: list[str]
    baseline_weeks: int
    method: str
    tested: int
    alpha: float
    min_change: float
    min_count: float
    withheld: int
    flagged: int
    anomalies: list[Anomaly]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.period_out import PeriodOut

        days: dict[str, Any] | None
        if isinstance(self.days, PeriodOut):
            days = self.days.to_dict()
        else:
            days = self.days

        metrics = self.metrics

        baseline_weeks = self.baseline_weeks

        method = self.method

        tested = self.tested

        alpha = self.alpha

        min_change = self.min_change

        min_count = self.min_count

        withheld = self.withheld

        flagged = self.flagged

        anomalies = []
        for anomalies_item_data in self.anomalies:
            anomalies_item = anomalies_item_data.to_dict()
            anomalies.append(anomalies_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "days": days,
                "metrics": metrics,
                "baseline_weeks": baseline_weeks,
                "method": method,
                "tested": tested,
                "alpha": alpha,
                "min_change": min_change,
                "min_count": min_count,
                "withheld": withheld,
                "flagged": flagged,
                "anomalies": anomalies,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.anomaly import Anomaly
        from ..models.period_out import PeriodOut

        d = dict(src_dict)

        def _parse_days(data: object) -> None | PeriodOut:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                days_type_0 = PeriodOut.from_dict(data)

                return days_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | PeriodOut, data)

        days = _parse_days(d.pop("days"))

        metrics = cast(list[str], d.pop("metrics"))

        baseline_weeks = d.pop("baseline_weeks")

        method = d.pop("method")

        tested = d.pop("tested")

        alpha = d.pop("alpha")

        min_change = d.pop("min_change")

        min_count = d.pop("min_count")

        withheld = d.pop("withheld")

        flagged = d.pop("flagged")

        anomalies = []
        _anomalies = d.pop("anomalies")
        for anomalies_item_data in _anomalies:
            anomalies_item = Anomaly.from_dict(anomalies_item_data)

            anomalies.append(anomalies_item)

        anomalies_out = cls(
            days=days,
            metrics=metrics,
            baseline_weeks=baseline_weeks,
            method=method,
            tested=tested,
            alpha=alpha,
            min_change=min_change,
            min_count=min_count,
            withheld=withheld,
            flagged=flagged,
            anomalies=anomalies,
        )

        anomalies_out.additional_properties = d
        return anomalies_out

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
