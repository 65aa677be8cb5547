//! Untrusted JSON → `CheckedQuery`, or every diagnostic, or a refusal.
//!
//! Invariants: no IO. This is the only constructor of `CheckedQuery`, and a `CheckedQuery` exists
//! only if the query is well formed against the catalog *and* the role may run it. Refusals come
//! from here and nowhere else (never from a translator). All problems are reported, not the first.

mod diagnostics;
pub mod nearest;
mod repair;
mod role;
mod semantic;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::catalog::{Catalog, Role};
use crate::dsl::schema::{self, Form, Names};
use crate::dsl::{Granularity, Order, Query, DSL_VERSION};

pub use diagnostics::{Diagnostic, DiagnosticCode};
pub use repair::Repair;
pub use role::{Refusal, RefusalCode};

/// Raw DSL documents larger than this are rejected before parsing.
pub const MAX_DSL_BYTES: usize = 64 * 1024;

/// A query that is well formed against `catalog` and that `role` (one of its roles) may run.
/// Only `check` makes one; later stages read the catalog and role from here, so they cannot be
/// handed a catalog the query was not checked against.
#[derive(Debug, Clone)]
pub struct CheckedQuery {
    query: Query,
    catalog: Arc<Catalog>,
    role: Arc<Role>,
    repairs: Vec<Repair>,
}

impl CheckedQuery {
    /// The canonical query: names repaired, defaults filled, version set. This is `executed_dsl`.
    pub fn query(&self) -> &Query {
        &self.query
    }
    /// The catalog the query was checked against.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }
    /// The role the query was checked as.
    pub fn role(&self) -> &Arc<Role> {
        &self.role
    }
    /// Deterministic repairs applied before validation (synonyms, case).
    pub fn repairs(&self) -> &[Repair] {
        &self.repairs
    }
}

/// Why a query was not checked.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Rejection {
    /// The document is not a valid query for this catalog (HTTP 400, CLI exit 2).
    Invalid { diagnostics: Vec<Diagnostic> },
    /// A valid query the role may not run (HTTP 200, outcome `refused`).
    Refused {
        refusal: Box<Refusal>,
        /// The canonical form of what was asked, for the audit trail.
        #[serde(skip)]
        query: Box<Query>,
    },
}

impl Rejection {
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Invalid { diagnostics } => diagnostics
                .first()
                .map(|d| d.code.as_str())
                .unwrap_or("invalid"),
            Rejection::Refused { refusal, .. } => refusal.code.as_str(),
        }
    }
}

/// Validators for one catalog, compiled once and shared.
pub struct Checker {
    catalog: Arc<Catalog>,
    validators: BTreeMap<String, jsonschema::Validator>,
}

impl std::fmt::Debug for Checker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checker")
            .field("catalog", &self.catalog.name)
            .finish()
    }
}

impl Checker {
    pub fn new(catalog: Arc<Catalog>) -> Checker {
        let full = schema::schema(&Names::of_catalog(&catalog), Form::Validation);
        let mut validators = BTreeMap::new();
        for kind in crate::dsl::Kind::all_supported() {
            let kind = kind.as_str();
            let sub = schema::kind_schema(&full, kind).expect("every supported kind has a branch");
            let validator = jsonschema::options()
                .should_validate_formats(true)
                .build(&sub)
                .expect("the generated schema is valid JSON Schema");
            validators.insert(kind.to_string(), validator);
        }
        Checker {
            catalog,
            validators,
        }
    }

    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// Checks raw bytes (a file, a request body) as `role`.
    pub fn check_bytes(&self, raw: &[u8], role: &str) -> Result<CheckedQuery, Rejection> {
        if raw.len() > MAX_DSL_BYTES {
            return Err(invalid(Diagnostic::new(
                DiagnosticCode::TooLarge,
                "",
                format!("the query document is larger than the limit of {MAX_DSL_BYTES} bytes"),
            )));
        }
        let value: Value = serde_json::from_slice(raw).map_err(|e| {
            invalid(Diagnostic::new(
                DiagnosticCode::MalformedJson,
                "",
                format!("not valid JSON: {e}"),
            ))
        })?;
        self.check_value(value, role)
    }

    /// Checks a parsed JSON value as `role`.
    pub fn check_value(
        &self,
        mut value: Value,
        role_name: &str,
    ) -> Result<CheckedQuery, Rejection> {
        let catalog = &*self.catalog;
        let controls = control_characters(&value);
        if !controls.is_empty() {
            return Err(Rejection::Invalid {
                diagnostics: controls,
            });
        }
        let Some(role) = catalog.role(role_name) else {
            return Err(invalid(
                Diagnostic::new(
                    DiagnosticCode::UnknownRole,
                    "",
                    format!("unknown role `{role_name}`"),
                )
                .with_allowed(catalog.roles.keys().cloned().collect()),
            ));
        };
        let Some(obj) = value.as_object() else {
            return Err(invalid(Diagnostic::new(
                DiagnosticCode::WrongType,
                "",
                "a query is a JSON object with a `kind`",
            )));
        };
        let kind = match obj.get("kind") {
            None => {
                return Err(invalid(
                    Diagnostic::new(
                        DiagnosticCode::MissingField,
                        "/kind",
                        "every query needs a `kind`",
                    )
                    .with_allowed(kinds()),
                ))
            }
            Some(Value::String(k)) => k.trim().to_lowercase(),
            Some(_) => {
                return Err(invalid(Diagnostic::new(
                    DiagnosticCode::WrongType,
                    "/kind",
                    "`kind` is a string",
                )))
            }
        };
        let Some(validator) = self.validators.get(&kind) else {
            let mut d = Diagnostic::new(
                DiagnosticCode::UnknownKind,
                "/kind",
                format!("unknown kind `{kind}`"),
            )
            .with_allowed(kinds());
            d.nearest = nearest::nearest(
                &kind,
                &kinds()
                    .iter()
                    .map(|k| (k.as_str(), vec![]))
                    .collect::<Vec<_>>(),
            )
            .map(String::from);
            return Err(invalid(d));
        };
        value["kind"] = Value::String(kind.clone());

        // A define's `then` is a query of its own: checked first, exactly as if sent alone.
        let mut then: Option<CheckedQuery> = None;
        if kind == "define" {
            let nested = value
                .as_object_mut()
                .and_then(|o| o.remove("then"))
                .filter(|t| !t.is_null());
            if let Some(nested) = nested {
                if nested.get("kind").and_then(Value::as_str).map(str::trim) == Some("define") {
                    return Err(invalid(Diagnostic::new(
                        DiagnosticCode::InvalidValue,
                        "/then/kind",
                        "a define's `then` is a query of another kind",
                    )));
                }
                match self.check_value(nested, role_name) {
                    Ok(c) => then = Some(c),
                    Err(Rejection::Invalid { mut diagnostics }) => {
                        for d in &mut diagnostics {
                            d.pointer = format!("/then{}", d.pointer);
                        }
                        return Err(Rejection::Invalid { diagnostics });
                    }
                    Err(refused) => return Err(refused),
                }
            }
        }

        let mut repairs = repair::repair(&mut value, catalog);
        let mut diagnostics = diagnostics::from_schema(validator, &value, catalog, role);
        if !diagnostics.is_empty() {
            diagnostics.sort_by(|a, b| a.pointer.cmp(&b.pointer));
            return Err(Rejection::Invalid { diagnostics });
        }
        let query: Query = serde_json::from_value(value).map_err(|e| {
            invalid(Diagnostic::new(
                DiagnosticCode::InvalidValue,
                "",
                format!("the query does not match the DSL: {e}"),
            ))
        })?;
        let mut query = canonical(query, catalog, role);
        if let (Query::Define(q), Some(t)) = (&mut query, then) {
            q.then = Some(Box::new(t.query));
            repairs.extend(t.repairs.into_iter().map(|mut r| {
                r.pointer = format!("/then{}", r.pointer);
                r
            }));
        }
        let diagnostics = semantic::check(&query, catalog);
        if !diagnostics.is_empty() {
            return Err(Rejection::Invalid { diagnostics });
        }
        if let Some(refusal) = role::check(&query, catalog, role) {
            return Err(Rejection::Refused {
                refusal: Box::new(refusal),
                query: Box::new(query),
            });
        }
        Ok(CheckedQuery {
            query,
            catalog: self.catalog.clone(),
            role: role.clone(),
            repairs,
        })
    }
}

fn kinds() -> Vec<String> {
    crate::dsl::Kind::all_supported()
        .into_iter()
        .map(|k| k.as_str().to_string())
        .collect()
}

fn invalid(d: Diagnostic) -> Rejection {
    Rejection::Invalid {
        diagnostics: vec![d],
    }
}

/// Fills defaults so `executed_dsl` says exactly what ran.
fn canonical(query: Query, catalog: &Catalog, role: &crate::catalog::Role) -> Query {
    match query {
        Query::Metric(mut q) => {
            q.version = Some(DSL_VERSION);
            if !q.group_by.is_empty() {
                q.top_n.get_or_insert(10);
                q.order.get_or_insert(Order::Desc);
            }
            Query::Metric(q)
        }
        Query::Overview(mut q) => {
            q.version = Some(DSL_VERSION);
            Query::Overview(q)
        }
        Query::List(mut q) => {
            q.version = Some(DSL_VERSION);
            q.limit.get_or_insert(20);
            if q.period.is_some() && q.time_field.is_none() {
                q.time_field = catalog
                    .entities
                    .get(q.entity.as_str())
                    .and_then(|e| e.default_time.clone())
                    .map(crate::dsl::FieldName);
            }
            Query::List(q)
        }
        Query::Funnel(mut q) => {
            q.version = Some(DSL_VERSION);
            if q.window_hours.is_none() {
                let named = q
                    .funnel
                    .as_ref()
                    .and_then(|f| catalog.funnels.get(f.as_str()))
                    .map(|f| f.window_hours);
                q.window_hours = Some(named.unwrap_or(crate::dsl::DEFAULT_FUNNEL_WINDOW_HOURS));
            }
            Query::Funnel(q)
        }
        Query::Explain(mut q) => {
            q.version = Some(DSL_VERSION);
            if q.baseline.is_none() {
                let short = match &q.period {
                    crate::dsl::Period::Date(_) => true,
                    crate::dsl::Period::Between(b) => (b.end - b.start).num_days() < 7,
                    crate::dsl::Period::Preset(p) => matches!(
                        p,
                        crate::dsl::Preset::Today
                            | crate::dsl::Preset::Yesterday
                            | crate::dsl::Preset::ThisWeek
                            | crate::dsl::Preset::LastWeek
                    ),
                    crate::dsl::Period::LastN(n) => {
                        (n.unit == crate::dsl::PeriodUnit::Day && n.count <= 7)
                            || (n.unit == crate::dsl::PeriodUnit::Week && n.count == 1)
                    }
                };
                q.baseline = Some(if short {
                    crate::dsl::Baseline::SameWeekdayAvg4w
                } else {
                    crate::dsl::Baseline::PreviousPeriod
                });
            }
            Query::Explain(q)
        }
        Query::Retention(mut q) => {
            q.version = Some(DSL_VERSION);
            q.granularity.get_or_insert(Granularity::Week);
            q.periods
                .get_or_insert(crate::dsl::DEFAULT_RETENTION_PERIODS);
            Query::Retention(q)
        }
        Query::Anomalies(mut q) => {
            q.version = Some(DSL_VERSION);
            q.period
                .get_or_insert(crate::dsl::Period::LastN(crate::dsl::LastN {
                    count: 7,
                    unit: crate::dsl::PeriodUnit::Day,
                }));
            if q.metrics.is_empty() {
                q.metrics = anomaly_defaults(catalog, role);
            }
            Query::Anomalies(q)
        }
        Query::Define(mut q) => {
            q.version = Some(DSL_VERSION);
            // Spacing around and inside the search text is not part of it (blank text is
            // `invalid_value`).
            q.search = q
                .search
                .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "));
            Query::Define(q)
        }
    }
}

/// The metrics an anomaly scan covers when it names none: the catalog's `watch = true`
/// metrics the role may see, else the role's KPI set; counts per day only (the scan's test),
/// at most 10.
fn anomaly_defaults(catalog: &Catalog, role: &crate::catalog::Role) -> Vec<crate::dsl::MetricName> {
    let visible = |m: &&crate::catalog::Metric| {
        role::metric_refusal(catalog, role, &m.name).is_none() && m.counts_per_day()
    };
    let watched: Vec<&crate::catalog::Metric> = catalog
        .metrics
        .values()
        .filter(|m| m.watch)
        .filter(visible)
        .collect();
    let chosen: Vec<&crate::catalog::Metric> = if watched.is_empty() {
        role.overview
            .iter()
            .filter_map(|n| catalog.metrics.get(n))
            .filter(visible)
            .collect()
    } else {
        watched
    };
    chosen
        .into_iter()
        .take(10)
        .map(|m| crate::dsl::MetricName(m.name.clone()))
        .collect()
}

#[cfg(test)]
mod tests;

/// Whether `c` is a C0 control character or DEL.
pub fn is_control(c: char) -> bool {
    c <= '\u{1f}' || c == '\u{7f}'
}

/// A diagnostic for every string (object keys included) holding a control character: a NUL
/// bound as a filter value matches every row on one engine, none on another and fails on a
/// third, so no such string gets past `check`.
fn control_characters(value: &Value) -> Vec<Diagnostic> {
    fn walk(value: &Value, pointer: &mut String, out: &mut Vec<Diagnostic>) {
        let flag = |text: &str, pointer: &str, out: &mut Vec<Diagnostic>| {
            if let Some(c) = text.chars().find(|c| is_control(*c)) {
                out.push(Diagnostic::new(
                    DiagnosticCode::ControlCharacter,
                    pointer,
                    format!(
                        "the string holds the control character U+{:04X}; remove it",
                        c as u32
                    ),
                ));
            }
        };
        match value {
            Value::String(s) => flag(s, pointer, out),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = pointer.len();
                    pointer.push_str(&format!("/{i}"));
                    walk(item, pointer, out);
                    pointer.truncate(len);
                }
            }
            Value::Object(fields) => {
                for (key, item) in fields {
                    let len = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                    flag(key, pointer, out);
                    walk(item, pointer, out);
                    pointer.truncate(len);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, &mut String::new(), &mut out);
    out
}
