//! (`Plan`, `QueryResult`) → answer text, chart spec and sources. Templates only, one module
//! per kind of answer (`metric`, `overview`, `list`, `funnel`, `explain`); this file holds the
//! entry point and the wording they share (periods, filters, labels, sources).
//!
//! Invariants: deterministic, no IO, no LLM. Every number in the text is a number of the result,
//! formatted in its metric's format. No data is said as such; nothing is estimated.

mod anomalies;
mod change;
mod clarification;
mod define;
mod explain;
pub mod format;
mod funnel;
mod list;
mod metric;
mod overview;
mod refusal;
mod retention;

use serde::Serialize;
use serde_json::Value;

use crate::catalog::{Catalog, Format};
use crate::dsl::{Compare, Filter, FilterOp, Period, PeriodUnit};
use crate::plan::{Asked, CalendarUnit, Plan, PlanBody, ResolvedPeriod};
use crate::result::{Num, QueryResult};

pub use clarification::{clarification_text, translation_invalid_text};
pub use refusal::{invalid_text, refused_text};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Answer {
    pub text: String,
    pub chart: Option<Value>,
    pub sources: Vec<Source>,
}

/// What an answer rests on: a catalog entry's definition (`metric` names it: a metric, the
/// entity of a list, a funnel or retention definition, a dimension a definition describes) or a quoted passage of the catalog's
/// docs (`file` and `heading`; `definition` holds the passage's text, verbatim).
#[derive(Debug, Clone, Default, Serialize, PartialEq, schemars::JsonSchema)]
pub struct Source {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    pub label: String,
    pub definition: String,
    /// A docs passage's file, relative to the catalog's docs folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// A docs passage's heading.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heading: Option<String>,
}

/// Renders the answer for a plan (its catalog, periods and wording are the plan's).
pub fn answer(plan: &Plan, result: &QueryResult) -> Answer {
    let catalog = &plan.catalog;
    match &plan.body {
        PlanBody::Metric(m) if m.asked == Asked::Overview => overview::answer(m, result, catalog),
        PlanBody::Metric(m) => metric::answer(m, result, catalog, plan.min_group_size, plan.today),
        PlanBody::List(l) => list::answer(l, result, catalog),
        PlanBody::Funnel(f) => funnel::answer(f, result, catalog, plan.min_group_size),
        PlanBody::Explain(e) => explain::answer(e, result, catalog, plan.min_group_size),
        PlanBody::Retention(r) => retention::answer(r, result, plan.min_group_size),
        PlanBody::Anomalies(a) => anomalies::answer(a, result, catalog, plan.min_group_size),
        PlanBody::Define(d) => {
            let mut a = define::answer(result, catalog, d.withheld);
            // The query asked with the definition: its answer after it, its chart and sources.
            if let (Some(plan), Some(data)) = (&d.then, &result.then) {
                let then = answer(plan, data);
                a.text = format!("{}\n\n{}", a.text, then.text);
                a.chart = then.chart;
                a.sources.extend(then.sources);
            }
            a
        }
    }
}

/// How a period is said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeriodWords {
    /// By name: "last week", "in the last 30 days".
    Named(String),
    /// One day, said by its date: "on 17 Nov 2026".
    OnDay,
    /// Only by its dates (a `between` period).
    Dates,
}

impl PeriodWords {
    /// The name, when the period has one.
    pub fn name(&self) -> Option<&str> {
        match self {
            PeriodWords::Named(n) => Some(n),
            PeriodWords::OnDay | PeriodWords::Dates => None,
        }
    }
}

/// How `period` is said: "last week", "the last 30 days", "on 17 Nov 2026".
pub fn period_words(period: &Period) -> PeriodWords {
    match period {
        Period::Preset(p) => PeriodWords::Named(p.words().to_string()),
        Period::LastN(n) => {
            let unit = match n.unit {
                PeriodUnit::Day => "day",
                PeriodUnit::Week => "week",
                PeriodUnit::Month => "month",
            };
            PeriodWords::Named(if n.count == 1 {
                format!("in the last complete {unit}")
            } else {
                format!("in the last {} {unit}s", n.count)
            })
        }
        Period::Between(_) => PeriodWords::Dates,
        Period::Date(_) => PeriodWords::OnDay,
    }
}

fn period_text(resolved: &ResolvedPeriod) -> String {
    let dates = format::range(&resolved.range);
    match period_words(&resolved.asked) {
        PeriodWords::Named(p) => format!("{p} ({dates})"),
        PeriodWords::OnDay => format!("on {dates}"),
        PeriodWords::Dates => format!("from {dates}"),
    }
}

fn compare_phrase(
    resolved: &ResolvedPeriod,
    compare: Option<(Compare, crate::plan::DateRange)>,
) -> Option<String> {
    let (compare, range) = compare?;
    let dates = format::range(&range);
    Some(match compare {
        Compare::PreviousYear => format!("the same period a year earlier ({dates})"),
        Compare::PreviousPeriod => match (resolved.unit, resolved.to_date) {
            (Some(u), false) if resolved.range.days() <= 366 && unit_count(resolved) == 1 => {
                let word = match u {
                    CalendarUnit::Day => "day",
                    CalendarUnit::Week => "week",
                    CalendarUnit::Month => "month",
                    CalendarUnit::Quarter => "quarter",
                    CalendarUnit::Year => "year",
                };
                format!("the {word} before")
            }
            _ => format!("the previous period ({dates})"),
        },
    })
}

/// How many calendar units the period spans (last_n weeks: n).
fn unit_count(resolved: &ResolvedPeriod) -> usize {
    match resolved.unit {
        Some(CalendarUnit::Week) => (resolved.range.days() / 7) as usize,
        Some(CalendarUnit::Month) => {
            crate::plan::time::windows(&resolved.range, crate::catalog::Window::Month).len()
        }
        _ => 1,
    }
}

fn fmt_value(catalog: &Catalog, metric: &str, v: Option<Num>) -> String {
    match v {
        Some(Num(x)) => format::value(x, metric_format(catalog, metric)),
        None => "not defined (no denominator)".to_string(),
    }
}

/// A metric's value against its previous one, in the metric's format.
fn metric_change(
    catalog: &Catalog,
    metric: &str,
    value: Option<Num>,
    previous: Option<Num>,
) -> change::Change {
    change::change(
        value,
        previous,
        metric_format(catalog, metric),
        (
            fmt_value(catalog, metric, value),
            fmt_value(catalog, metric, previous),
        ),
    )
}

fn metric_format(catalog: &Catalog, metric: &str) -> Format {
    catalog
        .metrics
        .get(metric)
        .map_or(Format::Decimal, |m| m.format)
}

fn label(catalog: &Catalog, metric: &str) -> String {
    catalog
        .metrics
        .get(metric)
        .map_or_else(|| metric.to_string(), |m| m.label.clone())
}

fn sources(catalog: &Catalog, metrics: &[String]) -> Vec<Source> {
    metrics
        .iter()
        .filter_map(|m| catalog.metrics.get(m))
        .map(|m| Source {
            metric: Some(m.name.clone()),
            label: m.label.clone(),
            definition: m.description.clone(),
            ..Source::default()
        })
        .collect()
}

/// What the numbers leave out, when they leave anything out: rows withheld for covering too
/// few entities, and rows cut at the row limit.
fn caveats(result: &QueryResult, min_group_size: u32, sentences: &mut Vec<String>) {
    let n = result.suppressed_groups;
    if n > 0 {
        sentences.push(format!(
            "{n} {} withheld because {} fewer than {min_group_size} distinct entities (this role's minimum group size).",
            if n == 1 { "row is" } else { "rows are" },
            if n == 1 { "it covers" } else { "each covers" },
        ));
    }
    if result.truncated {
        sentences.push(
            "Some rows were cut at the row limit, so these numbers may be incomplete.".into(),
        );
    }
}

/// The period phrase with the query's filters in front, so an answer never reads as if it
/// covered everything: "(provider google, status active) this month (Sun 1 – Fri 20 Nov 2026)".
fn scoped(filters: &[Filter], when: String) -> String {
    if filters.is_empty() {
        return when;
    }
    let parts: Vec<String> = filters.iter().map(filter_text).collect();
    format!("({}) {when}", parts.join(", "))
}

fn filter_text(f: &Filter) -> String {
    condition_text(f.dimension.as_str(), f.op, &f.values)
}

/// A filter in words: "plan tier pro or enterprise", "mrr > 1000", "country not US".
fn condition_text(name: &str, op: FilterOp, values: &[crate::dsl::FilterValue]) -> String {
    let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    let (dimension, any) = (name.replace('_', " "), values.join(" or "));
    match op {
        FilterOp::Eq | FilterOp::In => format!("{dimension} {any}"),
        FilterOp::Neq | FilterOp::NotIn => format!("{dimension} not {any}"),
        FilterOp::Gt => format!("{dimension} > {any}"),
        FilterOp::Gte => format!("{dimension} ≥ {any}"),
        FilterOp::Lt => format!("{dimension} < {any}"),
        FilterOp::Lte => format!("{dimension} ≤ {any}"),
        FilterOp::Contains => format!("{dimension} containing “{any}”"),
    }
}

/// How often a granularity's buckets come: "daily", "weekly", "monthly".
fn every(g: crate::dsl::Granularity) -> &'static str {
    match g {
        crate::dsl::Granularity::Day => "daily",
        crate::dsl::Granularity::Week => "weekly",
        crate::dsl::Granularity::Month => "monthly",
    }
}

fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
