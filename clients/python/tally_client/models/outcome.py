from enum import StrEnum


class Outcome(StrEnum):
    ANSWERED = "answered"
    INVALID = "invalid"
    NEEDS_CLARIFICATION = "needs_clarification"
    REFUSED = "refused"

    def __str__(self) -> str:
        return str(self.value)
