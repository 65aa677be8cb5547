from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.catalog_info import CatalogInfo
    from ..models.dimension_info import DimensionInfo
    from ..models.entity_info import EntityInfo
    from ..models.metric_info import MetricInfo
    from ..models.role_info import RoleInfo


T = TypeVar("T", bound="CatalogView")


@_attrs_define
class CatalogView:
    """
    Attributes:
        catalog (CatalogInfo):
        role (RoleInfo):
        metrics (list[MetricInfo]):
        dimensions (list[DimensionInfo]):
        entities (list[EntityInfo]):
    """

    catalog: CatalogInfo
    role: RoleInfo
    metrics: list[MetricInfo]
    dimensions: list[DimensionInfo]
    entities: list[EntityInfo]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        catalog = self.catalog.to_dict()

        role = self.role.to_dict()

        metrics = []
        for metrics_item_data in self.metrics:
            metrics_item = metrics_item_data.to_dict()
            metrics.append(metrics_item)

        dimensions = []
        for dimensions_item_data in self.dimensions:
            dimensions_item = dimensions_item_data.to_dict()
            dimensions.append(dimensions_item)

        entities = []
        for entities_item_data in self.entities:
            entities_item = entities_item_data.to_dict()
            entities.append(entities_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "catalog": catalog,
                "role": role,
                "metrics": metrics,
                "dimensions": dimensions,
                "entities": entities,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.catalog_info import CatalogInfo
        from ..models.dimension_info import DimensionInfo
        from ..models.entity_info import EntityInfo
        from ..models.metric_info import MetricInfo
        from ..models.role_info import RoleInfo

        d = dict(src_dict)
        catalog = CatalogInfo.from_dict(d.pop("catalog"))

        role = RoleInfo.from_dict(d.pop("role"))

        metrics = []
        _metrics = d.pop("metrics")
        for metrics_item_data in _metrics:
            metrics_item = MetricInfo.from_dict(metrics_item_data)

            metrics.append(metrics_item)

        dimensions = []
        _dimensions = d.pop("dimensions")
        for dimensions_item_data in _dimensions:
            dimensions_item = DimensionInfo.from_dict(dimensions_item_data)

            dimensions.append(dimensions_item)

        entities = []
        _entities = d.pop("entities")
        for entities_item_data in _entities:
            entities_item = EntityInfo.from_dict(entities_item_data)

            entities.append(entities_item)

        catalog_view = cls(
            catalog=catalog,
            role=role,
            metrics=metrics,
            dimensions=dimensions,
            entities=entities,
        )

        catalog_view.additional_properties = d
        return catalog_view

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
