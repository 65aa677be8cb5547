from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.period_out import PeriodOut
    from ..models.segment_tests import SegmentTests


T = TypeVar("T", bound="ExplainInfo")


@_attrs_define
class ExplainInfo:
    """The baseline and the dating of the change.

    Attributes:
        baseline (str):
        baseline_periods (list[PeriodOut]): The ranges whose mean is the baseline.
        drivers (list[str]): The driver dimensions decomposed (and their pairs).
        change_started (None | str): The first day of the run of days, ending in the period, that moved like the period
            did
            (at least half its relative change, in its direction, against each day's same-weekday
            mean of the 4 weeks before); null when no day of the period did.
        segments (int): Segments (singles and pairs) with a change, before ranking and the cut to the top ones.
        within_usual_range (bool): The value lies within `usual_range` or within `chance_variation` of the baseline: the
            total's change is no larger than the usual variation, so it is not decomposed (no
            `drivers`); `segment_tests` may still name a segment that moved beyond its own.
        segment_tests (None | SegmentTests): Each segment (single and pair) tested against its own baseline. Null when
            the metric is
            not a count (ratios, sums, averages): their segments are not tested one by one.
        usual_range (list[float] | None | Unset): The lowest and highest value over the baseline's weeks
            (same_weekday_avg_4w).
        chance_variation (float | None | Unset): Counts: twice the square root of the baseline; proportions (a ratio of
            counts between 0
            and 1): twice its binomial standard error over the period's denominator. A change this
            size comes from chance alone about one time in twenty.
    """

    baseline: str
    baseline_periods: list[PeriodOut]
    drivers: list[str]
    change_started: None | str
    segments: int
    within_usual_range: bool
    segment_tests: None | SegmentTests
    usual_range: list[float] | None | Unset = UNSET
    chance_variation: float | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.segment_tests import SegmentTests

        baseline = self.baseline

        baseline_periods = []
        for baseline_periods_item_data in self.baseline_periods:
            baseline_periods_item = baseline_periods_item_data.to_dict()
            baseline_periods.append(baseline_periods_item)

        drivers = self.drivers

        change_started: None | str
        change_started = self.change_started

        segments = self.segments

        within_usual_range = self.within_usual_range

        segment_tests: dict[str, Any] | None
        if isinstance(self.segment_tests, SegmentTests):
            segment_tests = self.segment_tests.to_dict()
        else:
            segment_tests = self.segment_tests

        usual_range: list[float] | None | Unset
        if isinstance(self.usual_range, Unset):
            usual_range = UNSET
        elif isinstance(self.usual_range, list):
            usual_range = []
            for usual_range_type_0_item_data in self.usual_range:
                usual_range_type_0_item: float
                usual_range_type_0_item = usual_range_type_0_item_data
                usual_range.append(usual_range_type_0_item)

        else:
            usual_range = self.usual_range

        chance_variation: float | None | Unset
        if isinstance(self.chance_variation, Unset):
            chance_variation = UNSET
        else:
            chance_variation = self.chance_variation

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "baseline": baseline,
                "baseline_periods": baseline_periods,
                "drivers": drivers,
                "change_started": change_started,
                "segments": segments,
                "within_usual_range": within_usual_range,
                "segment_tests": segment_tests,
            }
        )
        if usual_range is not UNSET:
            field_dict["usual_range"] = usual_range
        if chance_variation is not UNSET:
            field_dict["chance_variation"] = chance_variation

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.period_out import PeriodOut
        from ..models.segment_tests import SegmentTests

        d = dict(src_dict)
        baseline = d.pop("baseline")

        baseline_periods = []
        _baseline_periods = d.pop("baseline_periods")
        for baseline_periods_item_data in _baseline_periods:
            baseline_periods_item = PeriodOut.from_dict(baseline_periods_item_data)

            baseline_periods.append(baseline_periods_item)

        drivers = cast(list[str], d.pop("drivers"))

        def _parse_change_started(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        change_started = _parse_change_started(d.pop("change_started"))

        segments = d.pop("segments")

        within_usual_range = d.pop("within_usual_range")

        def _parse_segment_tests(data: object) -> None | SegmentTests:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                segment_tests_type_0 = SegmentTests.from_dict(data)

                return segment_tests_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | SegmentTests, data)

        segment_tests = _parse_segment_tests(d.pop("segment_tests"))

        def _parse_usual_range(data: object) -> list[float] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                usual_range_type_0 = []
                _usual_range_type_0 = data
                for usual_range_type_0_item_data in _usual_range_type_0:

                    def _parse_usual_range_type_0_item(data: object) -> float:
                        return cast(float, data)

                    usual_range_type_0_item = _parse_usual_range_type_0_item(
                        usual_range_type_0_item_data
                    )

                    usual_range_type_0.append(usual_range_type_0_item)

                return usual_range_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[float] | None | Unset, data)

        usual_range = _parse_usual_range(d.pop("usual_range", UNSET))

        def _parse_chance_variation(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        chance_variation = _parse_chance_variation(d.pop("chance_variation", UNSET))

        explain_info = cls(
            baseline=baseline,
            baseline_periods=baseline_periods,
            drivers=drivers,
            change_started=change_started,
            segments=segments,
            within_usual_range=within_usual_range,
            segment_tests=segment_tests,
            usual_range=usual_range,
            chance_variation=chance_variation,
        )

        explain_info.additional_properties = d
        return explain_info

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
