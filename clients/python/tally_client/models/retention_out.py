from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.cohort import Cohort


T = TypeVar("T", bound="RetentionOut")


@_attrs_define
class RetentionOut:
    """The `data.retention` object.

    Attributes:
        retention (str): The catalog's retention definition.
        granularity (str): The cohort bucket and offset unit: day, week or month.
        periods (int): Offsets followed after offset 0.
        cohorts (list[Cohort]): The cohorts of the total, oldest first, then each group's (largest group first).
    """

    retention: str
    granularity: str
    periods: int
    cohorts: list[Cohort]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        retention = self.retention

        granularity = self.granularity

        periods = self.periods

        cohorts = []
        for cohorts_item_data in self.cohorts:
            cohorts_item = cohorts_item_data.to_dict()
            cohorts.append(cohorts_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "retention": retention,
                "granularity": granularity,
                "periods": periods,
                "cohorts": cohorts,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.cohort import Cohort

        d = dict(src_dict)
        retention = d.pop("retention")

        granularity = d.pop("granularity")

        periods = d.pop("periods")

        cohorts = []
        _cohorts = d.pop("cohorts")
        for cohorts_item_data in _cohorts:
            cohorts_item = Cohort.from_dict(cohorts_item_data)

            cohorts.append(cohorts_item)

        retention_out = cls(
            retention=retention,
            granularity=granularity,
            periods=periods,
            cohorts=cohorts,
        )

        retention_out.additional_properties = d
        return retention_out

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
