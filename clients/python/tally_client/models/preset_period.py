from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..models.preset import Preset

T = TypeVar("T", bound="PresetPeriod")


@_attrs_define
class PresetPeriod:
    """A named calendar period relative to today.

    Attributes:
        preset (Preset):
    """

    preset: Preset

    def to_dict(self) -> dict[str, Any]:
        preset = self.preset.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "preset": preset,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        preset = Preset(d.pop("preset"))

        preset_period = cls(
            preset=preset,
        )

        return preset_period
