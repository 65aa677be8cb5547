from enum import StrEnum


class StepName(StrEnum):
    CHECKOUT_STARTED = "checkout_started"
    FEATURE_USED = "feature_used"
    ORDER_COMPLETED = "order_completed"
    PAGE_VIEW = "page_view"
    PAYMENT_SUBMITTED = "payment_submitted"
    SEARCH = "search"

    def __str__(self) -> str:
        return str(self.value)
