from enum import StrEnum


class FunnelName(StrEnum):
    CHECKOUT = "checkout"

    def __str__(self) -> str:
        return str(self.value)
