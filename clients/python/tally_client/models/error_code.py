from enum import StrEnum


class ErrorCode(StrEnum):
    ADMIN_REQUIRED = "admin_required"
    AUTH_UNAVAILABLE = "auth_unavailable"
    BODY_TOO_LARGE = "body_too_large"
    COMPILE_FAILED = "compile_failed"
    CONVERSATION_NOT_FOUND = "conversation_not_found"
    EXECUTION_FAILED = "execution_failed"
    INTERNAL = "internal"
    INVALID_QUERY = "invalid_query"
    INVALID_REQUEST = "invalid_request"
    MALFORMED_JSON = "malformed_json"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_FOUND = "not_found"
    NOT_READY = "not_ready"
    NOT_RERUNNABLE = "not_rerunnable"
    QUERY_NOT_FOUND = "query_not_found"
    RATE_LIMITED = "rate_limited"
    SQL_NOT_PERMITTED = "sql_not_permitted"
    STORE_UNAVAILABLE = "store_unavailable"
    TIMEOUT = "timeout"
    TOKEN_NOT_FOUND = "token_not_found"
    UNAUTHORIZED = "unauthorized"
    UNKNOWN_ROLE = "unknown_role"
    UNREADABLE_BODY = "unreadable_body"
    UNSUPPORTED_WAREHOUSE = "unsupported_warehouse"
    WAREHOUSE_UNAVAILABLE = "warehouse_unavailable"
    WORKSPACE_FORBIDDEN = "workspace_forbidden"
    WORKSPACE_REQUIRED = "workspace_required"

    def __str__(self) -> str:
        return str(self.value)
