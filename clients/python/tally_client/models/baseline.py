from enum import StrEnum


class Baseline(StrEnum):
    PREVIOUS_PERIOD = "previous_period"
    SAME_WEEKDAY_AVG_4W = "same_weekday_avg_4w"

    def __str__(self) -> str:
        return str(self.value)
