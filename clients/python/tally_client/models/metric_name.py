from enum import StrEnum


class MetricName(StrEnum):
    ACTIVE_CUSTOMERS = "active_customers"
    ACTIVE_CUSTOMERS_AT_START = "active_customers_at_start"
    ACTIVE_USERS = "active_users"
    ARPA = "arpa"
    AVG_SESSION_MINUTES = "avg_session_minutes"
    CHECKOUTS_STARTED = "checkouts_started"
    CHECKOUT_CONVERSION = "checkout_conversion"
    CHECKOUT_USERS = "checkout_users"
    CHURNED_CUSTOMERS = "churned_customers"
    CHURN_RATE = "churn_rate"
    DAU = "dau"
    EVENTS = "events"
    EVENTS_PER_SESSION = "events_per_session"
    MAU = "mau"
    MEDIAN_RESOLUTION_HOURS = "median_resolution_hours"
    MRR = "mrr"
    NEW_CUSTOMERS = "new_customers"
    ORDERS = "orders"
    ORDER_USERS = "order_users"
    SESSIONS = "sessions"
    SIGNUPS = "signups"
    TICKETS_OPENED = "tickets_opened"
    TICKETS_RESOLVED = "tickets_resolved"
    WAU = "wau"

    def __str__(self) -> str:
        return str(self.value)
