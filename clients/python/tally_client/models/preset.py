from enum import StrEnum


class Preset(StrEnum):
    LAST_MONTH = "last_month"
    LAST_QUARTER = "last_quarter"
    LAST_WEEK = "last_week"
    LAST_YEAR = "last_year"
    THIS_MONTH = "this_month"
    THIS_QUARTER = "this_quarter"
    THIS_WEEK = "this_week"
    THIS_YEAR = "this_year"
    TODAY = "today"
    YESTERDAY = "yesterday"

    def __str__(self) -> str:
        return str(self.value)
