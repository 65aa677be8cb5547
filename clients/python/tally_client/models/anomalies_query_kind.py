from enum import StrEnum


class AnomaliesQueryKind(StrEnum):
    ANOMALIES = "anomalies"

    def __str__(self) -> str:
        return str(self.value)
