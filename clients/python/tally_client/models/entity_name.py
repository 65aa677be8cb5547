from enum import StrEnum


class EntityName(StrEnum):
    CUSTOMER = "customer"

    def __str__(self) -> str:
        return str(self.value)
