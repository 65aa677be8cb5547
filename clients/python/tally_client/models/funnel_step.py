from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.funnel_step_dimensions_type_0 import FunnelStepDimensionsType0


T = TypeVar("T", bound="FunnelStep")


@_attrs_define
class FunnelStep:
    """Users reaching one step of a funnel, in total or for one group.

    Attributes:
        step (int): 1 for the first step.
        event (str): The event name the step matches.
        value (float | None): Users who reached this step.
        step_conversion (float | None): Share of the previous step's users (null on the first step and when it had
            none).
        overall_conversion (float | None): Share of the first step's users.
        dimensions (FunnelStepDimensionsType0 | None | Unset): The group (absent on the total rows).
        suppressed (bool | Unset): Withheld: fewer first-step entities than the role's `min_group_size`.
        previous (float | None | Unset):
        delta (float | None | Unset):
        delta_pct (float | None | Unset):
        previous_step_conversion (float | None | Unset):
        previous_overall_conversion (float | None | Unset):
    """

    step: int
    event: str
    value: float | None
    step_conversion: float | None
    overall_conversion: float | None
    dimensions: FunnelStepDimensionsType0 | None | Unset = UNSET
    suppressed: bool | Unset = UNSET
    previous: float | None | Unset = UNSET
    delta: float | None | Unset = UNSET
    delta_pct: float | None | Unset = UNSET
    previous_step_conversion: float | None | Unset = UNSET
    previous_overall_conversion: float | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.funnel_step_dimensions_type_0 import FunnelStepDimensionsType0

        step = self.step

        event = self.event

        value: float | None
        value = self.value

        step_conversion: float | None
        step_conversion = self.step_conversion

        overall_conversion: float | None
        overall_conversion = self.overall_conversion

        dimensions: dict[str, Any] | None | Unset
        if isinstance(self.dimensions, Unset):
            dimensions = UNSET
        elif isinstance(self.dimensions, FunnelStepDimensionsType0):
            dimensions = self.dimensions.to_dict()
        else:
            dimensions = self.dimensions

        suppressed = self.suppressed

        previous: float | None | Unset
        if isinstance(self.previous, Unset):
            previous = UNSET
        else:
            previous = self.previous

        delta: float | None | Unset
        if isinstance(self.delta, Unset):
            delta = UNSET
        else:
            delta = self.delta

        delta_pct: float | None | Unset
        if isinstance(self.delta_pct, Unset):
            delta_pct = UNSET
        else:
            delta_pct = self.delta_pct

        previous_step_conversion: float | None | Unset
        if isinstance(self.previous_step_conversion, Unset):
            previous_step_conversion = UNSET
        else:
            previous_step_conversion = self.previous_step_conversion

        previous_overall_conversion: float | None | Unset
        if isinstance(self.previous_overall_conversion, Unset):
            previous_overall_conversion = UNSET
        else:
            previous_overall_conversion = self.previous_overall_conversion

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "step": step,
                "event": event,
                "value": value,
                "step_conversion": step_conversion,
                "overall_conversion": overall_conversion,
            }
        )
        if dimensions is not UNSET:
            field_dict["dimensions"] = dimensions
        if suppressed is not UNSET:
            field_dict["suppressed"] = suppressed
        if previous is not UNSET:
            field_dict["previous"] = previous
        if delta is not UNSET:
            field_dict["delta"] = delta
        if delta_pct is not UNSET:
            field_dict["delta_pct"] = delta_pct
        if previous_step_conversion is not UNSET:
            field_dict["previous_step_conversion"] = previous_step_conversion
        if previous_overall_conversion is not UNSET:
            field_dict["previous_overall_conversion"] = previous_overall_conversion

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.funnel_step_dimensions_type_0 import FunnelStepDimensionsType0

        d = dict(src_dict)
        step = d.pop("step")

        event = d.pop("event")

        def _parse_value(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        value = _parse_value(d.pop("value"))

        def _parse_step_conversion(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        step_conversion = _parse_step_conversion(d.pop("step_conversion"))

        def _parse_overall_conversion(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        overall_conversion = _parse_overall_conversion(d.pop("overall_conversion"))

        def _parse_dimensions(data: object) -> FunnelStepDimensionsType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                dimensions_type_0 = FunnelStepDimensionsType0.from_dict(data)

                return dimensions_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(FunnelStepDimensionsType0 | None | Unset, data)

        dimensions = _parse_dimensions(d.pop("dimensions", UNSET))

        suppressed = d.pop("suppressed", UNSET)

        def _parse_previous(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        previous = _parse_previous(d.pop("previous", UNSET))

        def _parse_delta(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        delta = _parse_delta(d.pop("delta", UNSET))

        def _parse_delta_pct(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        delta_pct = _parse_delta_pct(d.pop("delta_pct", UNSET))

        def _parse_previous_step_conversion(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        previous_step_conversion = _parse_previous_step_conversion(
            d.pop("previous_step_conversion", UNSET)
        )

        def _parse_previous_overall_conversion(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        previous_overall_conversion = _parse_previous_overall_conversion(
            d.pop("previous_overall_conversion", UNSET)
        )

        funnel_step = cls(
            step=step,
            event=event,
            value=value,
            step_conversion=step_conversion,
            overall_conversion=overall_conversion,
            dimensions=dimensions,
            suppressed=suppressed,
            previous=previous,
            delta=delta,
            delta_pct=delta_pct,
            previous_step_conversion=previous_step_conversion,
            previous_overall_conversion=previous_overall_conversion,
        )

        funnel_step.additional_properties = d
        return funnel_step

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
