from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.define_query_kind import DefineQueryKind
from ..models.dimension_name import DimensionName
from ..models.metric_name import MetricName
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.define_query_then_type_0 import DefineQueryThenType0


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
        then (DefineQueryThenType0 | None | Unset): A query of another kind asked in the same question, checked and run
            as if sent alone; its data is `data.then`.
    """

    kind: DefineQueryKind
    version: int | None | Unset = UNSET
    metrics: list[MetricName] | Unset = UNSET
    dimensions: list[DimensionName] | Unset = UNSET
    search: None | str | Unset = UNSET
    then: DefineQueryThenType0 | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.define_query_then_type_0 import DefineQueryThenType0

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

        then: dict[str, Any] | None | Unset
        if isinstance(self.then, Unset):
            then = UNSET
        elif isinstance(self.then, DefineQueryThenType0):
            then = self.then.to_dict()
        else:
            then = self.then

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
        if then is not UNSET:
            field_dict["then"] = then

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.define_query_then_type_0 import DefineQueryThenType0

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

        def _parse_then(data: object) -> DefineQueryThenType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                then_type_0 = DefineQueryThenType0.from_dict(data)

                return then_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DefineQueryThenType0 | None | Unset, data)

        then = _parse_then(d.pop("then", UNSET))

        define_query = cls(
            kind=kind,
            version=version,
            metrics=metrics,
            dimensions=dimensions,
            search=search,
            then=then,
        )

        return define_query
