from enum import StrEnum


class ExplainQueryKind(StrEnum):
    EXPLAIN = "explain"

    def __str__(self) -> str:
        return str(self.value)
