from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="PassageOut")


@_attrs_define
class PassageOut:
    """A quoted passage of the catalog's docs.

    Attributes:
        file (str): The file, relative to the catalog's docs folder.
        heading (str):
        text (str): The passage's text, verbatim (cut at a word after 600 characters).
        score (float): Its BM25 score for `found_for`, to three decimals.
        found_for (str): The text it was retrieved for: the search text or a metric's label.
    """

    file: str
    heading: str
    text: str
    score: float
    found_for: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        file = self.file

        heading = self.heading

        text = self.text

        score = self.score

        found_for = self.found_for

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "file": file,
                "heading": heading,
                "text": text,
                "score": score,
                "found_for": found_for,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        file = d.pop("file")

        heading = d.pop("heading")

        text = d.pop("text")

        score = d.pop("score")

        found_for = d.pop("found_for")

        passage_out = cls(
            file=file,
            heading=heading,
            text=text,
            score=score,
            found_for=found_for,
        )

        passage_out.additional_properties = d
        return passage_out

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
