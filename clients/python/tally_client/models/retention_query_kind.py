from enum import StrEnum


class RetentionQueryKind(StrEnum):
    RETENTION = "retention"

    def __str__(self) -> str:
        return str(self.value)
