from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.compare import Compare
from ..models.overview_query_kind import OverviewQueryKind
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.between_period import BetweenPeriod
    from ..models.date_period import DatePeriod
    from ..models.last_n_period import LastNPeriod
    from ..models.preset_period import PresetPeriod


T = TypeVar("T", bound="OverviewQuery")


@_attrs_define
class OverviewQuery:
    """The caller's role KPI set over a period.

    Attributes:
        kind (OverviewQueryKind):
        period (BetweenPeriod | DatePeriod | LastNPeriod | PresetPeriod): Exactly one of `preset`, `last_n`, `between`
            or `date`.
        version (int | None | Unset):
        compare (Compare | None | Unset):
    """

    kind: OverviewQueryKind
    period: BetweenPeriod | DatePeriod | LastNPeriod | PresetPeriod
    version: int | None | Unset = UNSET
    compare: Compare | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.between_period import BetweenPeriod
        from ..models.last_n_period import LastNPeriod
        from ..models.preset_period import PresetPeriod

        kind = self.kind.value

        period: dict[str, Any]
        if (
            isinstance(self.period, PresetPeriod)
            or isinstance(self.period, LastNPeriod)
            or isinstance(self.period, BetweenPeriod)
        ):
            period = self.period.to_dict()
        else:
            period = self.period.to_dict()

        version: int | None | Unset
        if isinstance(self.version, Unset):
            version = UNSET
        else:
            version = self.version

        compare: None | str | Unset
        if isinstance(self.compare, Unset):
            compare = UNSET
        elif isinstance(self.compare, Compare):
            compare = self.compare.value
        else:
            compare = self.compare

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "kind": kind,
                "period": period,
            }
        )
        if version is not UNSET:
            field_dict["version"] = version
        if compare is not UNSET:
            field_dict["compare"] = compare

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.between_period import BetweenPeriod
        from ..models.date_period import DatePeriod
        from ..models.last_n_period import LastNPeriod
        from ..models.preset_period import PresetPeriod

        d = dict(src_dict)
        kind = OverviewQueryKind(d.pop("kind"))

        def _parse_period(
            data: object,
        ) -> BetweenPeriod | DatePeriod | LastNPeriod | PresetPeriod:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_period_type_0 = PresetPeriod.from_dict(data)

                return componentsschemas_period_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_period_type_1 = LastNPeriod.from_dict(data)

                return componentsschemas_period_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_period_type_2 = BetweenPeriod.from_dict(data)

                return componentsschemas_period_type_2
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            componentsschemas_period_type_3 = DatePeriod.from_dict(data)

            return componentsschemas_period_type_3

        period = _parse_period(d.pop("period"))

        def _parse_version(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        version = _parse_version(d.pop("version", UNSET))

        def _parse_compare(data: object) -> Compare | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                compare_type_0 = Compare(data)

                return compare_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Compare | None | Unset, data)

        compare = _parse_compare(d.pop("compare", UNSET))

        overview_query = cls(
            kind=kind,
            period=period,
            version=version,
            compare=compare,
        )

        return overview_query
