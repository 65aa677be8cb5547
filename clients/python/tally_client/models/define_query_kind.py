from enum import StrEnum


class DefineQueryKind(StrEnum):
    DEFINE = "define"

    def __str__(self) -> str:
        return str(self.value)
