from enum import StrEnum


class DiagnosticCode(StrEnum):
    CONTROL_CHARACTER = "control_character"
    DIMENSION_NOT_APPLICABLE = "dimension_not_applicable"
    DUPLICATE = "duplicate"
    FILTER_ARITY = "filter_arity"
    FILTER_TYPE = "filter_type"
    GRANULARITY_TOO_FINE = "granularity_too_fine"
    INVALID_DATE = "invalid_date"
    INVALID_PERIOD = "invalid_period"
    INVALID_VALUE = "invalid_value"
    MALFORMED_JSON = "malformed_json"
    MISSING_FIELD = "missing_field"
    OUT_OF_RANGE = "out_of_range"
    TOO_LARGE = "too_large"
    TOO_MANY_POINTS = "too_many_points"
    UNKNOWN_DIMENSION = "unknown_dimension"
    UNKNOWN_ENTITY = "unknown_entity"
    UNKNOWN_ENTITY_FIELD = "unknown_entity_field"
    UNKNOWN_FIELD = "unknown_field"
    UNKNOWN_FUNNEL = "unknown_funnel"
    UNKNOWN_KIND = "unknown_kind"
    UNKNOWN_METRIC = "unknown_metric"
    UNKNOWN_ROLE = "unknown_role"
    UNKNOWN_VALUE = "unknown_value"
    UNSUPPORTED_KIND = "unsupported_kind"
    WRONG_LENGTH = "wrong_length"
    WRONG_TYPE = "wrong_type"

    def __str__(self) -> str:
        return str(self.value)
