from enum import StrEnum


class ErrorBodyReason(StrEnum):
    ALGORITHM_NOT_ALLOWED = "algorithm_not_allowed"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    INVALID_CLAIMS = "invalid_claims"
    KEYS_UNAVAILABLE = "keys_unavailable"
    LIFETIME_TOO_LONG = "lifetime_too_long"
    MALFORMED_TOKEN = "malformed_token"
    MISSING_CLAIM = "missing_claim"
    MISSING_KID = "missing_kid"
    MISSING_TOKEN = "missing_token"
    NOT_BEARER = "not_bearer"
    NOT_YET_VALID = "not_yet_valid"
    REVOKED = "revoked"
    TOKEN_TOO_LARGE = "token_too_large"
    UNKNOWN_KEY = "unknown_key"
    UNSUPPORTED_CRIT = "unsupported_crit"
    WRONG_AUDIENCE = "wrong_audience"
    WRONG_ISSUER = "wrong_issuer"

    def __str__(self) -> str:
        return str(self.value)
