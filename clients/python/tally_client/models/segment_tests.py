from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.segment_change import SegmentChange


T = TypeVar("T", bound="SegmentTests")


@_attrs_define
class SegmentTests:
    """How the segments were tested one by one, and those that moved beyond chance.

    Attributes:
        tested (int): Segments tested (shown, with a count on the period or the baseline): the family Holm's
            correction is over.
        alpha (float): The family-wise level: a segment is significant when its Holm-adjusted p-value is at
            most this.
        min_change (float): The least relative change (of the baseline mean) a named segment has.
        min_count (float): The least absolute change a named segment has.
        significant (list[SegmentChange]): Segments significant, with at least the minimum change and (over several
            baseline
            weeks) outside their own range; a single dimension's segment gives way to a pair in it
            that is named too and carries at least 80% of its change. Smallest adjusted p-value
            first, at most 5.
    """

    tested: int
    alpha: float
    min_change: float
    min_count: float
    significant: list[SegmentChange]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        tested = self.tested

        alpha = self.alpha

        min_change = self.min_change

        min_count = self.min_count

        significant = []
        for significant_item_data in self.significant:
            significant_item = significant_item_data.to_dict()
            significant.append(significant_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "tested": tested,
                "alpha": alpha,
                "min_change": min_change,
                "min_count": min_count,
                "significant": significant,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.segment_change import SegmentChange

        d = dict(src_dict)
        tested = d.pop("tested")

        alpha = d.pop("alpha")

        min_change = d.pop("min_change")

        min_count = d.pop("min_count")

        significant = []
        _significant = d.pop("significant")
        for significant_item_data in _significant:
            significant_item = SegmentChange.from_dict(significant_item_data)

            significant.append(significant_item)

        segment_tests = cls(
            tested=tested,
            alpha=alpha,
            min_change=min_change,
            min_count=min_count,
            significant=significant,
        )

        segment_tests.additional_properties = d
        return segment_tests

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
