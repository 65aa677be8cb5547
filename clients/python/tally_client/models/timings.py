from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Timings")


@_attrs_define
class Timings:
    """
    Attributes:
        translate (float):
        check (float):
        plan (float):
        compile_ (float):
        execute (float):
        answer (float):
        total (float):
    """

    translate: float
    check: float
    plan: float
    compile_: float
    execute: float
    answer: float
    total: float
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        translate = self.translate

        check = self.check

        plan = self.plan

        compile_ = self.compile_

        execute = self.execute

        answer = self.answer

        total = self.total

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "translate": translate,
                "check": check,
                "plan": plan,
                "compile": compile_,
                "execute": execute,
                "answer": answer,
                "total": total,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        translate = d.pop("translate")

        check = d.pop("check")

        plan = d.pop("plan")

        compile_ = d.pop("compile")

        execute = d.pop("execute")

        answer = d.pop("answer")

        total = d.pop("total")

        timings = cls(
            translate=translate,
            check=check,
            plan=plan,
            compile_=compile_,
            execute=execute,
            answer=answer,
            total=total,
        )

        timings.additional_properties = d
        return timings

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
