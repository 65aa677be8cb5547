//! Checks that need the catalog's meaning, after the document has the DSL's shape: periods,
//! filter arity and types, reachability of dimensions, granularity against windows.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use super::diagnostics::{Diagnostic, DiagnosticCode};
use super::nearest;
use crate::catalog::{AggFunc, Catalog, ValueType, Window};
use crate::dsl::{
    AnomaliesQuery, Baseline, ExplainQuery, FieldFilter, Filter, FilterOp, FilterValue,
    FunnelQuery, Granularity, ListQuery, MetricQuery, Period, PeriodUnit, Preset, Query,
    RetentionQuery, MAX_ANOMALY_DAYS,
};

/// Dates outside this range are refused as periods: they are typos, not questions.
const EARLIEST: (i32, u32, u32) = (1970, 1, 1);
const LATEST: (i32, u32, u32) = (2199, 12, 31);
/// The longest `between` period, in days.
pub const MAX_PERIOD_DAYS: i64 = 3660;

pub(super) fn check(query: &Query, catalog: &Catalog) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    match query {
        Query::Metric(q) => metric(q, catalog, &mut out),
        Query::Overview(q) => period(&q.period, "/period", &mut out),
        Query::List(q) => list(q, catalog, &mut out),
        Query::Funnel(q) => funnel(q, catalog, &mut out),
        Query::Explain(q) => explain(q, catalog, &mut out),
        Query::Retention(q) => retention(q, catalog, &mut out),
        Query::Anomalies(q) => anomalies(q, catalog, &mut out),
        Query::Define(q) => define(q, &mut out),
    }
    out
}

/// A define query asks about something: a metric, a dimension or a search text; each name once.
fn define(q: &crate::dsl::DefineQuery, out: &mut Vec<Diagnostic>) {
    if q.metrics.is_empty() && q.dimensions.is_empty() && q.search.is_none() {
        out.push(Diagnostic::new(
            DiagnosticCode::MissingField,
            "",
            "a define query names a metric or a dimension, or gives `search` text",
        ));
    }
    if q.search.as_ref().is_some_and(|s| s.trim().is_empty()) {
        out.push(Diagnostic::new(
            DiagnosticCode::InvalidValue,
            "/search",
            "`search` is blank: give words to look up, or leave it out",
        ));
    }
    duplicates("/metrics", q.metrics.iter().map(|x| x.as_str()), out);
    duplicates("/dimensions", q.dimensions.iter().map(|x| x.as_str()), out);
}

/// An anomaly scan reads counts per day over at most `MAX_ANOMALY_DAYS` days.
fn anomalies(q: &AnomaliesQuery, catalog: &Catalog, out: &mut Vec<Diagnostic>) {
    if let Some(p) = &q.period {
        period(p, "/period", out);
        let max = i64::from(MAX_ANOMALY_DAYS);
        let long = match p {
            Period::Between(b) => (b.end - b.start).num_days() + 1 > max,
            Period::Date(_) => false,
            Period::LastN(n) => match n.unit {
                PeriodUnit::Day => i64::from(n.count) > max,
                PeriodUnit::Week => i64::from(n.count) * 7 > max,
                PeriodUnit::Month => n.count > 1,
            },
            Period::Preset(p) => matches!(
                p,
                Preset::ThisQuarter | Preset::LastQuarter | Preset::ThisYear | Preset::LastYear
            ),
        };
        if long {
            out.push(Diagnostic::new(
                DiagnosticCode::OutOfRange,
                "/period",
                format!("an anomaly scan covers at most {max} days: ask for a week or a month"),
            ));
        }
    }
    let mut seen = BTreeSet::new();
    for (i, m) in q.metrics.iter().enumerate() {
        let pointer = format!("/metrics/{i}");
        if !seen.insert(m.as_str()) {
            out.push(Diagnostic::new(
                DiagnosticCode::Duplicate,
                &pointer,
                format!("`{m}` is named twice"),
            ));
            continue;
        }
        let Some(metric) = catalog.metrics.get(m.as_str()) else {
            continue;
        };
        if !metric.counts_per_day() {
            out.push(
                Diagnostic::new(
                    DiagnosticCode::InvalidValue,
                    &pointer,
                    format!("`{m}` cannot be scanned: the anomaly scan tests counts per day (counts, distinct counts, daily active users)"),
                )
                .with_allowed(
                    catalog
                        .metrics
                        .values()
                        .filter(|m| m.counts_per_day())
                        .map(|m| m.name.clone())
                        .collect(),
                ),
            );
        }
    }
}

/// Retention groups and filters read the cohort's table (the entity's row when it started).
fn retention(q: &RetentionQuery, catalog: &Catalog, out: &mut Vec<Diagnostic>) {
    period(&q.period, "/period", out);
    let Some(r) = catalog.retention.get(q.retention.as_str()) else {
        return;
    };
    let table = r.cohort.table.as_str();
    let from = format!("the cohort's table `{table}`");
    reachable_from(table, &from, &q.group_by, &q.filters, catalog, out);
}

fn explain(q: &ExplainQuery, catalog: &Catalog, out: &mut Vec<Diagnostic>) {
    period(&q.period, "/period", out);
    let metric = q.metric.as_str();
    if !catalog.metrics.contains_key(metric) {
        return;
    }
    if !catalog.explainable(metric) {
        out.push(
            Diagnostic::new(
                DiagnosticCode::InvalidValue,
                "/metric",
                format!("`{metric}` cannot be explained: explain decomposes counts, distinct counts and sums dated by a column, and ratios of them"),
            )
            .with_allowed(
                catalog
                    .metrics
                    .keys()
                    .filter(|m| catalog.explainable(m) && !catalog.drivers_for_metric(m).is_empty())
                    .cloned()
                    .collect(),
            ),
        );
        return;
    }
    if catalog.drivers_for_metric(metric).is_empty() {
        out.push(Diagnostic::new(
            DiagnosticCode::InvalidValue,
            "/metric",
            format!("no driver dimension of the catalog reaches `{metric}`"),
        ));
    }
    if q.baseline == Some(Baseline::SameWeekdayAvg4w) {
        let long = match &q.period {
            Period::Between(b) => (b.end - b.start).num_days() >= 7,
            Period::Date(_) => false,
            Period::Preset(p) => !matches!(
                p,
                Preset::Today | Preset::Yesterday | Preset::ThisWeek | Preset::LastWeek
            ),
            Period::LastN(n) => match n.unit {
                PeriodUnit::Day => n.count > 7,
                PeriodUnit::Week => n.count > 1,
                PeriodUnit::Month => true,
            },
        };
        if long {
            out.push(
                Diagnostic::new(
                    DiagnosticCode::InvalidValue,
                    "/baseline",
                    "same_weekday_avg_4w compares a period of at most 7 days with the same days of the 4 weeks before; use previous_period for longer periods",
                )
                .with_allowed(vec!["previous_period".into()]),
            );
        }
    }
    let allowed: Vec<String> = catalog
        .dimensions_for_metric(metric)
        .into_iter()
        .map(String::from)
        .collect();
    for (i, f) in q.filters.iter().enumerate() {
        dimension_filter(f, &format!("/filters/{i}"), catalog, out);
        let d = f.dimension.as_str();
        if catalog.dimensions.contains_key(d) && !allowed.iter().any(|a| a == d) {
            out.push(
                Diagnostic::new(
                    DiagnosticCode::DimensionNotApplicable,
                    &format!("/filters/{i}/dimension"),
                    format!("`{d}` is not reachable from the data behind `{metric}`"),
                )
                .with_allowed(allowed.clone()),
            );
        }
    }
}

/// The table a funnel query reads its events from, if it has one.
pub(crate) fn funnel_table<'a>(q: &FunnelQuery, catalog: &'a Catalog) -> Option<&'a str> {
    match &q.funnel {
        Some(f) => catalog.funnels.get(f.as_str()).map(|f| f.table.as_str()),
        None => catalog.event_table().map(|t| t.name.as_str()),
    }
}

fn funnel(q: &FunnelQuery, catalog: &Catalog, out: &mut Vec<Diagnostic>) {
    period(&q.period, "/period", out);
    match (&q.funnel, q.steps.is_empty()) {
        (Some(_), false) => out.push(Diagnostic::new(
            DiagnosticCode::InvalidValue,
            "/steps",
            "give a named `funnel` or `steps`, not both",
        )),
        (None, true) => out.push(
            Diagnostic::new(
                DiagnosticCode::MissingField,
                "/funnel",
                "name a `funnel` from the catalog, or give two to six `steps`",
            )
            .with_allowed(catalog.funnels.keys().cloned().collect()),
        ),
        (None, false) => {
            if q.steps.len() < 2 {
                out.push(Diagnostic::new(
                    DiagnosticCode::WrongLength,
                    "/steps",
                    "a funnel has two to six steps",
                ));
            }
            duplicates("/steps", q.steps.iter().map(|x| x.as_str()), out);
            if catalog.event_table().is_none() {
                out.push(Diagnostic::new(
                    DiagnosticCode::InvalidValue,
                    "/steps",
                    "this catalog has no event table to read funnel steps from",
                ));
            }
        }
        (Some(_), true) => {}
    }
    let Some(table) = funnel_table(q, catalog) else {
        return;
    };
    reachable_from(
        table,
        "the funnel's events",
        &q.group_by,
        &q.filters,
        catalog,
        out,
    );
}

/// Group-bys and filters of a query read from one table (a funnel's events, a cohort's table):
/// each dimension must be reachable from it, and each filter well formed.
fn reachable_from(
    table: &str,
    from: &str,
    group_by: &[crate::dsl::DimensionName],
    filters: &[Filter],
    catalog: &Catalog,
    out: &mut Vec<Diagnostic>,
) {
    let reachable = |d: &str| catalog.reach(table, d).is_some();
    let applicable = |d: &str, pointer: String, out: &mut Vec<Diagnostic>| {
        if catalog.dimensions.contains_key(d) && !reachable(d) {
            out.push(
                Diagnostic::new(
                    DiagnosticCode::DimensionNotApplicable,
                    &pointer,
                    format!("`{d}` is not reachable from {from}"),
                )
                .with_allowed(
                    catalog
                        .dimensions
                        .keys()
                        .filter(|d| reachable(d))
                        .cloned()
                        .collect(),
                ),
            );
        }
    };
    for (i, d) in group_by.iter().enumerate() {
        applicable(d.as_str(), format!("/group_by/{i}"), out);
    }
    for (i, f) in filters.iter().enumerate() {
        dimension_filter(f, &format!("/filters/{i}"), catalog, out);
        applicable(f.dimension.as_str(), format!("/filters/{i}/dimension"), out);
    }
}

fn period(p: &Period, pointer: &str, out: &mut Vec<Diagnostic>) {
    let earliest = NaiveDate::from_ymd_opt(EARLIEST.0, EARLIEST.1, EARLIEST.2).expect("date");
    let latest = NaiveDate::from_ymd_opt(LATEST.0, LATEST.1, LATEST.2).expect("date");
    let in_range = |d: NaiveDate, at: &str, out: &mut Vec<Diagnostic>| {
        if d < earliest || d > latest {
            out.push(Diagnostic::new(
                DiagnosticCode::InvalidPeriod,
                at,
                format!("{d} is outside the supported range {earliest} to {latest}"),
            ));
        }
    };
    match p {
        Period::Between(b) => {
            in_range(b.start, &format!("{pointer}/between/start"), out);
            in_range(b.end, &format!("{pointer}/between/end"), out);
            if b.end < b.start {
                out.push(Diagnostic::new(
                    DiagnosticCode::InvalidPeriod,
                    &format!("{pointer}/between/end"),
                    format!("the end {} is before the start {}", b.end, b.start),
                ));
            } else if (b.end - b.start).num_days() + 1 > MAX_PERIOD_DAYS {
                out.push(Diagnostic::new(
                    DiagnosticCode::InvalidPeriod,
                    &format!("{pointer}/between"),
                    format!("a period spans at most {MAX_PERIOD_DAYS} days"),
                ));
            }
        }
        Period::Date(d) => in_range(*d, &format!("{pointer}/date"), out),
        Period::Preset(_) | Period::LastN(_) => {}
    }
}

fn value_type_of(v: &FilterValue) -> &'static str {
    match v {
        FilterValue::Text(_) => "string",
        FilterValue::Number(_) => "number",
    }
}

/// Arity, operator and value types of one filter on a column of type `ty`.
fn filter_shape(
    pointer: &str,
    op: FilterOp,
    values: &[FilterValue],
    ty: ValueType,
    out: &mut Vec<Diagnostic>,
) {
    if !op.takes_many() && values.len() != 1 {
        out.push(Diagnostic::new(
            DiagnosticCode::FilterArity,
            &format!("{pointer}/values"),
            format!(
                "`{}` takes exactly one value; use `in` for several",
                op.as_str()
            ),
        ));
    }
    let op_ok = match ty {
        ValueType::String => !op.is_ordering(),
        ValueType::Number | ValueType::Date => op != FilterOp::Contains,
    };
    if !op_ok {
        out.push(Diagnostic::new(
            DiagnosticCode::FilterType,
            &format!("{pointer}/op"),
            format!(
                "`{}` does not apply to a {} value",
                op.as_str(),
                ty.as_str()
            ),
        ));
    }
    for (j, v) in values.iter().enumerate() {
        let ok = match (ty, v) {
            (ValueType::Number, FilterValue::Number(n)) => n.is_finite(),
            (ValueType::String, FilterValue::Text(_)) => true,
            (ValueType::Date, FilterValue::Text(t)) => t.parse::<NaiveDate>().is_ok(),
            _ => false,
        };
        if !ok {
            out.push(Diagnostic::new(
                DiagnosticCode::FilterType,
                &format!("{pointer}/values/{j}"),
                format!(
                    "expected a {} value, got a {}",
                    ty.as_str(),
                    value_type_of(v)
                ),
            ));
        }
        if let FilterValue::Text(t) = v {
            if t.chars().count() > 200 {
                out.push(Diagnostic::new(
                    DiagnosticCode::OutOfRange,
                    &format!("{pointer}/values/{j}"),
                    "filter values are at most 200 characters",
                ));
            }
        }
    }
}

/// A `duplicate` diagnostic at `{list}/{i}` for each name that repeats an earlier one.
fn duplicates<'a>(list: &str, names: impl Iterator<Item = &'a str>, out: &mut Vec<Diagnostic>) {
    let mut seen = BTreeSet::new();
    for (i, name) in names.enumerate() {
        if !seen.insert(name) {
            out.push(Diagnostic::new(
                DiagnosticCode::Duplicate,
                &format!("{list}/{i}"),
                format!("`{name}` is listed twice"),
            ));
        }
    }
}

fn metric(q: &MetricQuery, catalog: &Catalog, out: &mut Vec<Diagnostic>) {
    period(&q.period, "/period", out);
    duplicates("/metrics", q.metrics.iter().map(|x| x.as_str()), out);
    let mut seen = BTreeSet::new();
    for (i, d) in q.group_by.iter().enumerate() {
        if !seen.insert(d.as_str()) {
            out.push(Diagnostic::new(
                DiagnosticCode::Duplicate,
                &format!("/group_by/{i}"),
                format!("`{d}` is listed twice"),
            ));
        }
        applicable(q, d.as_str(), &format!("/group_by/{i}"), catalog, out);
    }
    for (i, f) in q.filters.iter().enumerate() {
        dimension_filter(f, &format!("/filters/{i}"), catalog, out);
        applicable(
            q,
            f.dimension.as_str(),
            &format!("/filters/{i}/dimension"),
            catalog,
            out,
        );
    }
    if let Some(g) = q.granularity {
        for (i, m) in q.metrics.iter().enumerate() {
            for (_, agg) in catalog.aggregates_of(m.as_str()) {
                if let AggFunc::ActiveUsers { window, .. } = agg.func {
                    let finer = matches!(
                        (g, window),
                        (Granularity::Day, Window::Week | Window::Month)
                            | (Granularity::Week, Window::Month)
                    );
                    if finer {
                        out.push(Diagnostic::new(
                            DiagnosticCode::GranularityTooFine,
                            &format!("/metrics/{i}"),
                            format!(
                                "`{m}` counts users per {}; a {} series of it is not meaningful: use granularity {} or coarser",
                                window.as_str(),
                                g.as_str(),
                                window.as_str()
                            ),
                        ));
                    }
                }
            }
        }
    }
}

fn dimension_filter(f: &Filter, pointer: &str, catalog: &Catalog, out: &mut Vec<Diagnostic>) {
    let Some(dim) = catalog.dimensions.get(f.dimension.as_str()) else {
        return;
    };
    filter_shape(pointer, f.op, &f.values, dim.ty, out);
    if dim.values.is_empty() || !dim.values_complete || f.op == FilterOp::Contains {
        return;
    }
    for (j, v) in f.values.iter().enumerate() {
        if let FilterValue::Text(t) = v {
            if !dim.values.iter().any(|k| k == t) {
                let candidates: Vec<(&str, Vec<&str>)> = dim
                    .values
                    .iter()
                    .map(|k| {
                        (
                            k.as_str(),
                            dim.value_synonyms
                                .get(k)
                                .map(|s| s.iter().map(String::as_str).collect())
                                .unwrap_or_default(),
                        )
                    })
                    .collect();
                out.push(
                    Diagnostic::new(
                        DiagnosticCode::UnknownValue,
                        &format!("{pointer}/values/{j}"),
                        format!(
                            "`{}` is not a known value of `{}`",
                            super::diagnostics::visible(t),
                            dim.name
                        ),
                    )
                    .with_nearest(nearest::nearest(t, &candidates).map(String::from))
                    .with_allowed(dim.values.clone()),
                );
            }
        }
    }
}

/// A dimension must be reachable from the table of every aggregate behind every metric.
fn applicable(
    q: &MetricQuery,
    dimension: &str,
    pointer: &str,
    catalog: &Catalog,
    out: &mut Vec<Diagnostic>,
) {
    if !catalog.dimensions.contains_key(dimension) {
        return;
    }
    let blocked: Vec<&str> = q
        .metrics
        .iter()
        .filter(|m| {
            catalog
                .aggregates_of(m.as_str())
                .iter()
                .any(|(_, a)| catalog.reach(&a.table, dimension).is_none())
        })
        .map(|m| m.as_str())
        .collect();
    if !blocked.is_empty() {
        let mut allowed: Option<BTreeSet<&str>> = None;
        for m in &q.metrics {
            let dims: BTreeSet<&str> = catalog
                .dimensions_for_metric(m.as_str())
                .into_iter()
                .collect();
            allowed = Some(match allowed {
                None => dims,
                Some(a) => a.intersection(&dims).copied().collect(),
            });
        }
        out.push(
            Diagnostic::new(
                DiagnosticCode::DimensionNotApplicable,
                pointer,
                format!(
                    "`{dimension}` cannot break down {}: it is not reachable from the data behind it",
                    blocked.iter().map(|b| format!("`{b}`")).collect::<Vec<_>>().join(", ")
                ),
            )
            .with_allowed(
                allowed
                    .unwrap_or_default()
                    .into_iter()
                    .map(String::from)
                    .collect(),
            ),
        );
    }
}

fn list(q: &ListQuery, catalog: &Catalog, out: &mut Vec<Diagnostic>) {
    let Some(entity) = catalog.entities.get(q.entity.as_str()) else {
        return;
    };
    let field_names: Vec<String> = entity.fields.keys().cloned().collect();
    let check_field = |pointer: String, name: &str, out: &mut Vec<Diagnostic>| {
        if !entity.fields.contains_key(name) {
            out.push(
                Diagnostic::new(
                    DiagnosticCode::UnknownEntityField,
                    &pointer,
                    format!("`{name}` is not a field of `{}`", entity.name),
                )
                .with_allowed(field_names.clone()),
            );
        }
    };
    let mut seen = BTreeSet::new();
    for (i, f) in q.fields.iter().enumerate() {
        check_field(format!("/fields/{i}"), f.as_str(), out);
        if !seen.insert(f.as_str()) {
            out.push(Diagnostic::new(
                DiagnosticCode::Duplicate,
                &format!("/fields/{i}"),
                format!("`{f}` is listed twice"),
            ));
        }
    }
    if let Some(s) = &q.sort {
        check_field("/sort/field".into(), s.field.as_str(), out);
    }
    for (i, f) in q.filters.iter().enumerate() {
        field_filter(f, &format!("/filters/{i}"), entity, out);
    }
    if let Some(p) = &q.period {
        period(p, "/period", out);
        let time_field = q
            .time_field
            .as_ref()
            .map(|f| f.as_str().to_string())
            .or_else(|| entity.default_time.clone());
        match time_field {
            None => out.push(Diagnostic::new(
                DiagnosticCode::MissingField,
                "/time_field",
                format!(
                    "`{}` has no default date field: name one in `time_field`",
                    entity.name
                ),
            )),
            Some(t) => match entity.fields.get(&t) {
                Some(f) if f.ty == ValueType::Date => {}
                _ => out.push(
                    Diagnostic::new(
                        DiagnosticCode::InvalidValue,
                        "/time_field",
                        format!("`{t}` is not a date field of `{}`", entity.name),
                    )
                    .with_allowed(
                        entity
                            .fields
                            .values()
                            .filter(|f| f.ty == ValueType::Date)
                            .map(|f| f.name.clone())
                            .collect(),
                    ),
                ),
            },
        }
    } else if q.time_field.is_some() {
        out.push(Diagnostic::new(
            DiagnosticCode::InvalidValue,
            "/time_field",
            "`time_field` needs a `period`",
        ));
    }
}

fn field_filter(
    f: &FieldFilter,
    pointer: &str,
    entity: &crate::catalog::Entity,
    out: &mut Vec<Diagnostic>,
) {
    match entity.fields.get(f.field.as_str()) {
        None => out.push(
            Diagnostic::new(
                DiagnosticCode::UnknownEntityField,
                &format!("{pointer}/field"),
                format!("`{}` is not a field of `{}`", f.field, entity.name),
            )
            .with_allowed(entity.fields.keys().cloned().collect()),
        ),
        Some(field) => filter_shape(pointer, f.op, &f.values, field.ty, out),
    }
}
