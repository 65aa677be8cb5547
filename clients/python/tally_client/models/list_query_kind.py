from enum import StrEnum


class ListQueryKind(StrEnum):
    LIST = "list"

    def __str__(self) -> str:
        return str(self.value)
