//! Diagnostics: stable codes, JSON pointers, messages and hints; and the mapping from JSON Schema
//! errors to them.

use jsonschema::error::ValidationErrorKind;
use jsonschema::ValidationError;
use serde::Serialize;
use serde_json::Value;

use super::nearest;
use crate::catalog::{Catalog, Role};
use crate::dsl::schema::Names;

/// A diagnostic's stable code (`snake_case` on the wire and in `as_str`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    schemars::JsonSchema,
    strum::IntoStaticStr,
    strum::EnumIter,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum DiagnosticCode {
    MalformedJson,
    TooLarge,
    WrongType,
    MissingField,
    UnknownField,
    UnknownKind,
    UnsupportedKind,
    UnknownRole,
    UnknownMetric,
    UnknownDimension,
    UnknownEntity,
    UnknownEntityField,
    UnknownFunnel,
    UnknownValue,
    InvalidValue,
    InvalidDate,
    OutOfRange,
    WrongLength,
    InvalidPeriod,
    Duplicate,
    FilterArity,
    FilterType,
    DimensionNotApplicable,
    GranularityTooFine,
    TooManyPoints,
    // A string holds a control character (U+0000–U+001F, U+007F): refused the same way on
    // every engine, since engines disagree on what a NUL in a bound value means. (A plain
    // comment: a doc comment would turn the schema's enum into a `oneOf`.)
    ControlCharacter,
}

impl DiagnosticCode {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// One problem with a query document.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Diagnostic {
    pub code: DiagnosticCode,
    /// JSON pointer into the document ("" is the whole document).
    pub pointer: String,
    pub message: String,
    /// Allowed values, when the set is small enough to list (role-visible names for catalog names).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nearest: Option<String>,
}

impl Diagnostic {
    pub fn new(code: DiagnosticCode, pointer: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            pointer: pointer.to_string(),
            message: message.into(),
            allowed: Vec::new(),
            nearest: None,
        }
    }

    pub fn with_allowed(mut self, allowed: Vec<String>) -> Diagnostic {
        self.allowed = allowed;
        self
    }

    pub fn with_nearest(mut self, nearest: Option<String>) -> Diagnostic {
        self.nearest = nearest;
        self
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "{} at {at}: {}", self.code.as_str(), self.message)?;
        if let Some(n) = &self.nearest {
            write!(f, " (did you mean `{n}`?)")?;
        }
        if !self.allowed.is_empty() && self.allowed.len() <= 40 {
            write!(f, "; allowed: {}", self.allowed.join(", "))?;
        }
        Ok(())
    }
}

/// What a catalog-name position in the document holds.
#[derive(Clone, Copy, PartialEq)]
enum NameSlot {
    Metric,
    Dimension,
    Entity,
    Field,
    Funnel,
}

fn slot_of(pointer: &str) -> Option<NameSlot> {
    let parts: Vec<&str> = pointer.split('/').skip(1).collect();
    match parts.as_slice() {
        ["metrics", _] | ["metric"] => Some(NameSlot::Metric),
        ["group_by", _] | ["dimensions", _] | ["filters", _, "dimension"] => {
            Some(NameSlot::Dimension)
        }
        ["entity"] => Some(NameSlot::Entity),
        ["funnel"] => Some(NameSlot::Funnel),
        ["fields", _] | ["filters", _, "field"] | ["sort", "field"] | ["time_field"] => {
            Some(NameSlot::Field)
        }
        _ => None,
    }
}

pub(super) fn from_schema(
    validator: &jsonschema::Validator,
    value: &Value,
    catalog: &Catalog,
    role: &Role,
) -> Vec<Diagnostic> {
    // The common case is a valid document: validate cheaply first, explain only on failure.
    if validator.is_valid(value) {
        return Vec::new();
    }
    let names = Names::of_role(catalog, role);
    let mut out = Vec::new();
    for error in validator.iter_errors(value) {
        map_error(&error, value, catalog, &names, &mut out);
    }
    out.dedup();
    out
}

fn map_error(
    error: &ValidationError<'_>,
    value: &Value,
    catalog: &Catalog,
    names: &Names,
    out: &mut Vec<Diagnostic>,
) {
    let pointer = error.instance_path().as_str().to_string();
    let found = value.pointer(&pointer);
    let shown = found.map(short).unwrap_or_default();
    let d = match error.kind() {
        ValidationErrorKind::Required { property } => {
            let p = property.as_str().unwrap_or("?");
            Diagnostic::new(
                DiagnosticCode::MissingField,
                &format!("{pointer}/{p}"),
                format!("`{p}` is required"),
            )
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let allowed = allowed_properties(value, &pointer);
            for u in unexpected {
                let candidates: Vec<(&str, Vec<&str>)> =
                    allowed.iter().map(|a| (a.as_str(), vec![])).collect();
                out.push(
                    Diagnostic::new(
                        DiagnosticCode::UnknownField,
                        &format!("{pointer}/{u}"),
                        format!("unknown field `{u}`"),
                    )
                    .with_allowed(allowed.clone())
                    .with_nearest(nearest::nearest(u, &candidates).map(String::from)),
                );
            }
            return;
        }
        ValidationErrorKind::Enum { options } => {
            let options: Vec<String> = options
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            let input = found.and_then(Value::as_str).unwrap_or("");
            match slot_of(&pointer) {
                Some(slot) => name_diagnostic(slot, &pointer, input, catalog, names),
                None => {
                    let candidates: Vec<(&str, Vec<&str>)> =
                        options.iter().map(|o| (o.as_str(), vec![])).collect();
                    Diagnostic::new(
                        DiagnosticCode::InvalidValue,
                        &pointer,
                        format!("{shown} is not one of the allowed values"),
                    )
                    .with_nearest(nearest::nearest(input, &candidates).map(String::from))
                    .with_allowed(options)
                }
            }
        }
        ValidationErrorKind::Minimum { limit }
        | ValidationErrorKind::ExclusiveMinimum { limit } => Diagnostic::new(
            DiagnosticCode::OutOfRange,
            &pointer,
            format!("{shown} is below the minimum {limit}"),
        ),
        ValidationErrorKind::Maximum { limit }
        | ValidationErrorKind::ExclusiveMaximum { limit } => Diagnostic::new(
            DiagnosticCode::OutOfRange,
            &pointer,
            format!("{shown} is above the maximum {limit}"),
        ),
        ValidationErrorKind::MinItems { limit } => Diagnostic::new(
            DiagnosticCode::WrongLength,
            &pointer,
            format!("needs at least {limit} item(s)"),
        ),
        ValidationErrorKind::MaxItems { limit } => Diagnostic::new(
            DiagnosticCode::WrongLength,
            &pointer,
            format!("takes at most {limit} item(s)"),
        ),
        ValidationErrorKind::Format { format } if format == "date" => Diagnostic::new(
            DiagnosticCode::InvalidDate,
            &pointer,
            format!("{shown} is not a calendar date (YYYY-MM-DD)"),
        ),
        ValidationErrorKind::Type { kind } => Diagnostic::new(
            DiagnosticCode::WrongType,
            &pointer,
            format!(
                "{shown} has the wrong type: expected {}",
                describe_type(kind)
            ),
        ),
        ValidationErrorKind::AnyOf { context } => {
            // Pick the branch that got furthest: fewest errors at this very pointer, then fewest overall.
            let best = context.iter().min_by_key(|errs| {
                let shallow = errs
                    .iter()
                    .filter(|e| e.instance_path().as_str() == pointer)
                    .count();
                (shallow, errs.len())
            });
            let shallow_only = best.is_none_or(|errs| {
                errs.iter().all(|e| {
                    e.instance_path().as_str() == pointer
                        && matches!(e.kind(), ValidationErrorKind::Type { .. })
                })
            });
            match best {
                Some(errs) if !shallow_only => {
                    for e in errs {
                        map_error(e, value, catalog, names, out);
                    }
                    return;
                }
                _ => Diagnostic::new(
                    if pointer.ends_with("/period") || pointer == "/period" {
                        DiagnosticCode::InvalidPeriod
                    } else {
                        DiagnosticCode::WrongType
                    },
                    &pointer,
                    if pointer.ends_with("period") {
                        format!("{shown} is not a period: give exactly one of preset, last_n, between or date")
                    } else {
                        format!("{shown} does not have any of the accepted shapes")
                    },
                ),
            }
        }
        _ => Diagnostic::new(
            DiagnosticCode::InvalidValue,
            &pointer,
            format!("{shown}: {error}"),
        ),
    };
    out.push(d);
}

fn describe_type(kind: &jsonschema::error::TypeKind) -> String {
    match kind {
        jsonschema::error::TypeKind::Single(t) => format!("{t:?}").to_lowercase(),
        jsonschema::error::TypeKind::Multiple(ts) => {
            let v: Vec<String> = ts.iter().map(|t| format!("{t:?}").to_lowercase()).collect();
            v.join(" or ")
        }
    }
}

/// The property names allowed at `pointer` (the DSL's shapes, by position in the document).
fn allowed_properties(value: &Value, pointer: &str) -> Vec<String> {
    let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
    let parts: Vec<&str> = pointer.split('/').skip(1).collect();
    let names: &[&str] = match (kind, parts.as_slice()) {
        ("metric", []) => &[
            "kind",
            "version",
            "metrics",
            "period",
            "granularity",
            "compare",
            "group_by",
            "filters",
            "top_n",
            "order",
        ],
        ("overview", []) => &["kind", "version", "period", "compare"],
        ("list", []) => &[
            "kind",
            "version",
            "entity",
            "fields",
            "filters",
            "period",
            "time_field",
            "sort",
            "limit",
        ],
        (_, ["period"]) => &["preset", "last_n", "between", "date"],
        (_, ["period", "last_n"]) => &["count", "unit"],
        (_, ["period", "between"]) => &["start", "end"],
        ("list", ["filters", _]) => &["field", "op", "values"],
        (_, ["filters", _]) => &["dimension", "op", "values"],
        (_, ["sort"]) => &["field", "order"],
        _ => &[],
    };
    names.iter().map(|s| s.to_string()).collect()
}

fn name_diagnostic(
    slot: NameSlot,
    pointer: &str,
    input: &str,
    catalog: &Catalog,
    names: &Names,
) -> Diagnostic {
    let (code, what, allowed, candidates): (_, _, &Vec<String>, Vec<(&str, Vec<&str>)>) = match slot
    {
        NameSlot::Metric => (
            DiagnosticCode::UnknownMetric,
            "metric",
            &names.metrics,
            catalog
                .metrics
                .values()
                .map(|m| {
                    (
                        m.name.as_str(),
                        m.synonyms.iter().map(String::as_str).collect(),
                    )
                })
                .collect(),
        ),
        NameSlot::Dimension => (
            DiagnosticCode::UnknownDimension,
            "dimension",
            &names.dimensions,
            catalog
                .dimensions
                .values()
                .map(|d| {
                    (
                        d.name.as_str(),
                        d.synonyms.iter().map(String::as_str).collect(),
                    )
                })
                .collect(),
        ),
        NameSlot::Entity => (
            DiagnosticCode::UnknownEntity,
            "entity",
            &names.entities,
            catalog
                .entities
                .values()
                .map(|e| {
                    (
                        e.name.as_str(),
                        e.synonyms.iter().map(String::as_str).collect(),
                    )
                })
                .collect(),
        ),
        NameSlot::Field => (
            DiagnosticCode::UnknownEntityField,
            "field",
            &names.fields,
            catalog
                .entities
                .values()
                .flat_map(|e| e.fields.values())
                .map(|f| {
                    (
                        f.name.as_str(),
                        f.synonyms.iter().map(String::as_str).collect(),
                    )
                })
                .collect(),
        ),
        NameSlot::Funnel => (
            DiagnosticCode::UnknownFunnel,
            "funnel",
            &names.funnels,
            catalog
                .funnels
                .values()
                .map(|f| {
                    (
                        f.name.as_str(),
                        f.synonyms.iter().map(String::as_str).collect(),
                    )
                })
                .collect(),
        ),
    };
    Diagnostic::new(
        code,
        pointer,
        format!("unknown {what} `{}`", visible(input)),
    )
    .with_nearest(nearest::nearest(input, &candidates).map(String::from))
    .with_allowed(allowed.clone())
}

/// User text with invisible and control characters made visible (`dau\u{200b}`).
pub(super) fn visible(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}') {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A short rendering of a JSON value for messages (user strings are quoted, long ones cut).
pub(super) fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        let cut: String = s.chars().take(57).collect();
        format!("{cut}...")
    } else {
        s
    }
}
