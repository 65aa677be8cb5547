from enum import StrEnum


class FieldName(StrEnum):
    CHURNED_AT = "churned_at"
    COMPANY_NAME = "company_name"
    CONTACT_EMAIL = "contact_email"
    CREATED_AT = "created_at"
    MRR = "mrr"
    PLAN_TIER = "plan_tier"

    def __str__(self) -> str:
        return str(self.value)
