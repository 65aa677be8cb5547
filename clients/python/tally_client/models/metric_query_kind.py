from enum import StrEnum


class MetricQueryKind(StrEnum):
    METRIC = "metric"

    def __str__(self) -> str:
        return str(self.value)
