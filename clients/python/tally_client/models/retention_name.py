from enum import StrEnum


class RetentionName(StrEnum):
    USERS = "users"

    def __str__(self) -> str:
        return str(self.value)
