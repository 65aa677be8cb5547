from enum import StrEnum


class FunnelQueryKind(StrEnum):
    FUNNEL = "funnel"

    def __str__(self) -> str:
        return str(self.value)
