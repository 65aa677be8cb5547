from enum import StrEnum


class RefusalCode(StrEnum):
    DIMENSION_NOT_PERMITTED = "dimension_not_permitted"
    KIND_NOT_PERMITTED = "kind_not_permitted"
    METRIC_NOT_PERMITTED = "metric_not_permitted"
    NO_KPIS = "no_kpis"
    PII_NOT_PERMITTED = "pii_not_permitted"
    RECORD_LEVEL_NOT_PERMITTED = "record_level_not_permitted"
    SENSITIVITY_NOT_PERMITTED = "sensitivity_not_permitted"

    def __str__(self) -> str:
        return str(self.value)
