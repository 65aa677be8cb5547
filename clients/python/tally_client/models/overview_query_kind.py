from enum import StrEnum


class OverviewQueryKind(StrEnum):
    OVERVIEW = "overview"

    def __str__(self) -> str:
        return str(self.value)
