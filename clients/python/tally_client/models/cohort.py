from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.cohort_dimensions_type_0 import CohortDimensionsType0
    from ..models.period_out import PeriodOut
    from ..models.retention_cell import RetentionCell


T = TypeVar("T", bound="Cohort")


@_attrs_define
class Cohort:
    """One cohort: the entities whose cohort time falls in one bucket (clipped to the period).

    Attributes:
        cohort (str): The bucket's first day (unclipped), the cohort's name.
        period (PeriodOut):
        size (float | None): Entities in the cohort.
        cells (list[RetentionCell]): One per offset that has ended (offset 0 first).
        dimensions (CohortDimensionsType0 | None | Unset): The group (absent on the total's cohorts).
        suppressed (bool | Unset): Withheld: fewer entities than the role's `min_group_size`.
    """

    cohort: str
    period: PeriodOut
    size: float | None
    cells: list[RetentionCell]
    dimensions: CohortDimensionsType0 | None | Unset = UNSET
    suppressed: bool | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.cohort_dimensions_type_0 import CohortDimensionsType0

        cohort = self.cohort

        period = self.period.to_dict()

        size: float | None
        size = self.size

        cells = []
        for cells_item_data in self.cells:
            cells_item = cells_item_data.to_dict()
            cells.append(cells_item)

        dimensions: dict[str, Any] | None | Unset
        if isinstance(self.dimensions, Unset):
            dimensions = UNSET
        elif isinstance(self.dimensions, CohortDimensionsType0):
            dimensions = self.dimensions.to_dict()
        else:
            dimensions = self.dimensions

        suppressed = self.suppressed

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "cohort": cohort,
                "period": period,
                "size": size,
                "cells": cells,
            }
        )
        if dimensions is not UNSET:
            field_dict["dimensions"] = dimensions
        if suppressed is not UNSET:
            field_dict["suppressed"] = suppressed

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.cohort_dimensions_type_0 import CohortDimensionsType0
        from ..models.period_out import PeriodOut
        from ..models.retention_cell import RetentionCell

        d = dict(src_dict)
        cohort = d.pop("cohort")

        period = PeriodOut.from_dict(d.pop("period"))

        def _parse_size(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        size = _parse_size(d.pop("size"))

        cells = []
        _cells = d.pop("cells")
        for cells_item_data in _cells:
            cells_item = RetentionCell.from_dict(cells_item_data)

            cells.append(cells_item)

        def _parse_dimensions(data: object) -> CohortDimensionsType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                dimensions_type_0 = CohortDimensionsType0.from_dict(data)

                return dimensions_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CohortDimensionsType0 | None | Unset, data)

        dimensions = _parse_dimensions(d.pop("dimensions", UNSET))

        suppressed = d.pop("suppressed", UNSET)

        cohort = cls(
            cohort=cohort,
            period=period,
            size=size,
            cells=cells,
            dimensions=dimensions,
            suppressed=suppressed,
        )

        cohort.additional_properties = d
        return cohort

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
