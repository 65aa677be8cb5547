from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.define_query_kind import DefineQueryKind
from ..models.dimension_name import DimensionName
from ..models.metric_name import MetricName
from ..types import UNSET, Unset

T = TypeVar("T", bound="DefineQuery")


@_attrs_define
class DefineQuery:
    """What metrics and dimensions mean, answered from the catalog and its docs: no numbers.

    Attributes:
        kind (DefineQueryKind):
        version (int | None | Unset):
        metrics (list[MetricName] | Unset): Up to four metrics to describe.
        dimensions (list[DimensionName] | Unset): Up to four dimensions to describe.
        search (None | str | Unset): Free text looked up in the catalog's docs (words that name no catalog entry, such
            as
            "active customer"); at most 200 characters.
    """

    kind: DefineQueryKind
    version: int | None | Unset = UNSET
    metrics: list[MetricName] | Unset = UNSET
    dimensions: list[DimensionName] | Unset = UNSET
    search: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        kind = self.kind.value

        version: int | None | Unset
        if isinstance(self.version, Unset):
            version = UNSET
        else:
            version = self.version

        metrics: list[str] | Unset = UNSET
        if not isinstance(self.metrics, Unset):
            metrics = []
            for metrics_item_data in self.metrics:
                metrics_item = metrics_item_data.value
                metrics.append(metrics_item)

        dimensions: list[str] | Unset = UNSET
        if not isinstance(self.dimensions, Unset):
            dimensions = []
            for dimensions_item_data in self.dimensions:
                dimensions_item = dimensions_item_data.value
                dimensions.append(dimensions_item)

        search: None | str | Unset
        if isinstance(self.search, Unset):
            search = UNSET
        else:
            search = self.search

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "kind": kind,
            }
        )
        if version is not UNSET:
            field_dict["version"] = version
        if metrics is not UNSET:
            field_dict["metrics"] = metrics
        if dimensions is not UNSET:
            field_dict["dimensions"] = dimensions
        if search is not UNSET:
            field_dict["search"] = search

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        kind = DefineQueryKind(d.pop("kind"))

        def _parse_version(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        version = _parse_version(d.pop("version", UNSET))

        _metrics = d.pop("metrics", UNSET)
        metrics: list[MetricName] | Unset = UNSET
        if _metrics is not UNSET:
            metrics = []
            for metrics_item_data in _metrics:
                metrics_item = MetricName(metrics_item_data)

                metrics.append(metrics_item)

        _dimensions = d.pop("dimensions", UNSET)
        dimensions: list[DimensionName] | Unset = UNSET
        if _dimensions is not UNSET:
            dimensions = []
            for dimensions_item_data in _dimensions:
                dimensions_item = DimensionName(dimensions_item_data)

                dimensions.append(dimensions_item)

        def _parse_search(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        search = _parse_search(d.pop("search", UNSET))

        define_query = cls(
            kind=kind,
            version=version,
            metrics=metrics,
            dimensions=dimensions,
            search=search,
        )

        return define_query
