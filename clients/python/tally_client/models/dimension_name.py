from enum import StrEnum


class DimensionName(StrEnum):
    ACQUISITION_CHANNEL = "acquisition_channel"
    CATEGORY = "category"
    COMPANY_NAME = "company_name"
    COUNTRY = "country"
    DEVICE = "device"
    EVENT_NAME = "event_name"
    PLAN_TIER = "plan_tier"
    PRIORITY = "priority"

    def __str__(self) -> str:
        return str(self.value)
