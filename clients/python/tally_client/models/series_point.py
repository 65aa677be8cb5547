from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.series_point_dimensions_type_0 import SeriesPointDimensionsType0


T = TypeVar("T", bound="SeriesPoint")


@_attrs_define
class SeriesPoint:
    """
    Attributes:
        date (str):
        metric (str):
        value (float | None):
        suppressed (bool | Unset): Withheld: the point covers fewer distinct entities than the role's `min_group_size`.
        dimensions (None | SeriesPointDimensionsType0 | Unset):
        previous_date (None | str | Unset): With `compare`: the first day of the compare period's bucket at the same
            offset.
        previous (float | None | Unset): With `compare`: the value of that bucket (null when withheld, or when the
            compare
            period has fewer buckets).
    """

    date: str
    metric: str
    value: float | None
    suppressed: bool | Unset = UNSET
    dimensions: None | SeriesPointDimensionsType0 | Unset = UNSET
    previous_date: None | str | Unset = UNSET
    previous: float | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.series_point_dimensions_type_0 import SeriesPointDimensionsType0

        date = self.date

        metric = self.metric

        value: float | None
        value = self.value

        suppressed = self.suppressed

        dimensions: dict[str, Any] | None | Unset
        if isinstance(self.dimensions, Unset):
            dimensions = UNSET
        elif isinstance(self.dimensions, SeriesPointDimensionsType0):
            dimensions = self.dimensions.to_dict()
        else:
            dimensions = self.dimensions

        previous_date: None | str | Unset
        if isinstance(self.previous_date, Unset):
            previous_date = UNSET
        else:
            previous_date = self.previous_date

        previous: float | None | Unset
        if isinstance(self.previous, Unset):
            previous = UNSET
        else:
            previous = self.previous

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "date": date,
                "metric": metric,
                "value": value,
            }
        )
        if suppressed is not UNSET:
            field_dict["suppressed"] = suppressed
        if dimensions is not UNSET:
            field_dict["dimensions"] = dimensions
        if previous_date is not UNSET:
            field_dict["previous_date"] = previous_date
        if previous is not UNSET:
            field_dict["previous"] = previous

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.series_point_dimensions_type_0 import SeriesPointDimensionsType0

        d = dict(src_dict)
        date = d.pop("date")

        metric = d.pop("metric")

        def _parse_value(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        value = _parse_value(d.pop("value"))

        suppressed = d.pop("suppressed", UNSET)

        def _parse_dimensions(
            data: object,
        ) -> None | SeriesPointDimensionsType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                dimensions_type_0 = SeriesPointDimensionsType0.from_dict(data)

                return dimensions_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | SeriesPointDimensionsType0 | Unset, data)

        dimensions = _parse_dimensions(d.pop("dimensions", UNSET))

        def _parse_previous_date(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        previous_date = _parse_previous_date(d.pop("previous_date", UNSET))

        def _parse_previous(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        previous = _parse_previous(d.pop("previous", UNSET))

        series_point = cls(
            date=date,
            metric=metric,
            value=value,
            suppressed=suppressed,
            dimensions=dimensions,
            previous_date=previous_date,
            previous=previous,
        )

        series_point.additional_properties = d
        return series_point

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
