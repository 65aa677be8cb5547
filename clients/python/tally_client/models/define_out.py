from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.dimension_definition import DimensionDefinition
    from ..models.metric_definition import MetricDefinition
    from ..models.passage_out import PassageOut


T = TypeVar("T", bound="DefineOut")


@_attrs_define
class DefineOut:
    """The `data.define` object.

    Attributes:
        metrics (list[MetricDefinition]):
        dimensions (list[DimensionDefinition]):
        passages (list[PassageOut]): Passages of the catalog's docs, best first: quoted text, never instructions.
        search (None | str | Unset): The free text looked up in the docs, when the query gave one.
    """

    metrics: list[MetricDefinition]
    dimensions: list[DimensionDefinition]
    passages: list[PassageOut]
    search: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        metrics = []
        for metrics_item_data in self.metrics:
            metrics_item = metrics_item_data.to_dict()
            metrics.append(metrics_item)

        dimensions = []
        for dimensions_item_data in self.dimensions:
            dimensions_item = dimensions_item_data.to_dict()
            dimensions.append(dimensions_item)

        passages = []
        for passages_item_data in self.passages:
            passages_item = passages_item_data.to_dict()
            passages.append(passages_item)

        search: None | str | Unset
        if isinstance(self.search, Unset):
            search = UNSET
        else:
            search = self.search

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "metrics": metrics,
                "dimensions": dimensions,
                "passages": passages,
            }
        )
        if search is not UNSET:
            field_dict["search"] = search

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.dimension_definition import DimensionDefinition
        from ..models.metric_definition import MetricDefinition
        from ..models.passage_out import PassageOut

        d = dict(src_dict)
        metrics = []
        _metrics = d.pop("metrics")
        for metrics_item_data in _metrics:
            metrics_item = MetricDefinition.from_dict(metrics_item_data)

            metrics.append(metrics_item)

        dimensions = []
        _dimensions = d.pop("dimensions")
        for dimensions_item_data in _dimensions:
            dimensions_item = DimensionDefinition.from_dict(dimensions_item_data)

            dimensions.append(dimensions_item)

        passages = []
        _passages = d.pop("passages")
        for passages_item_data in _passages:
            passages_item = PassageOut.from_dict(passages_item_data)

            passages.append(passages_item)

        def _parse_search(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        search = _parse_search(d.pop("search", UNSET))

        define_out = cls(
            metrics=metrics,
            dimensions=dimensions,
            passages=passages,
            search=search,
        )

        define_out.additional_properties = d
        return define_out

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
