//! (`Plan`, `QueryResult`) → answer text, chart spec and sources. Templates only.
//!
//! Invariants: deterministic, no IO, no LLM. Every number in the text is a number of the result,
//! formatted in its metric's format. No data is said as such; nothing is estimated.

pub mod format;
mod refusal;

use serde::Serialize;
use serde_json::{json, Value};

use crate::catalog::{AggFunc, Catalog, Format, MetricDef, TimeBasis};
use crate::dsl::{Compare, Filter, FilterOp, Period, PeriodUnit};
use crate::plan::{
    CalendarUnit, ExplainPlan, FunnelPlan, ListPlan, MetricPlan, Plan, PlanBody, ResolvedPeriod,
};
use crate::result::{FunnelStep, Num, QueryResult};

pub use refusal::{invalid_text, refused_text};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Answer {
    pub text: String,
    pub chart: Option<Value>,
    pub sources: Vec<Source>,
}

#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct Source {
    pub metric: String,
    pub label: String,
    pub definition: String,
}

/// Renders the answer for a plan (its catalog, periods and wording are the plan's).
pub fn answer(plan: &Plan, result: &QueryResult) -> Answer {
    let catalog = &plan.catalog;
    match &plan.body {
        PlanBody::Metric(m) => metric_answer(m, result, catalog, plan.min_group_size),
        PlanBody::List(l) => list_answer(l, result, catalog),
        PlanBody::Funnel(f) => funnel_answer(f, result, catalog, plan.min_group_size),
        PlanBody::Explain(e) => explain_answer(e, result, catalog, plan.min_group_size),
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

fn verb(catalog: &Catalog, metric: &str) -> &'static str {
    match catalog.metrics.get(metric).map(|m| &m.def) {
        Some(MetricDef::Aggregate(a)) => match (&a.func, &a.time) {
            (AggFunc::ActiveUsers { .. } | AggFunc::Avg(_), _) => "averaged",
            (_, TimeBasis::Snapshot { .. }) => "stood at",
            _ => "was",
        },
        _ => "was",
    }
}

/// A value and its comparison, formatted so that two different numbers never read the same:
/// "245.6, down 0.3% from 246.3" rather than "246, down 0.3% from 246". Up to two more
/// decimals than the metric's format are used; beyond that the two really are equal for
/// any reader.
fn fmt_pair(
    catalog: &Catalog,
    metric: &str,
    value: Option<Num>,
    previous: Option<Num>,
) -> (String, String) {
    let plain = (
        fmt_value(catalog, metric, value),
        fmt_value(catalog, metric, previous),
    );
    let format = catalog
        .metrics
        .get(metric)
        .map_or(Format::Decimal, |m| m.format);
    match (value, previous) {
        (Some(Num(v)), Some(Num(p))) if plain.0 == plain.1 && v != p => (1..=2)
            .map(|extra| {
                (
                    format::finer(v, format, extra),
                    format::finer(p, format, extra),
                )
            })
            .find(|(a, b)| a != b)
            .unwrap_or(plain),
        _ => plain,
    }
}

fn fmt_value(catalog: &Catalog, metric: &str, v: Option<Num>) -> String {
    let format = catalog
        .metrics
        .get(metric)
        .map_or(Format::Decimal, |m| m.format);
    match v {
        Some(Num(x)) => format::value(x, format),
        None => "not defined (no denominator)".to_string(),
    }
}

fn change(
    catalog: &Catalog,
    metric: &str,
    value: Option<Num>,
    previous: Option<Num>,
    pct: Option<Num>,
) -> String {
    let format = catalog
        .metrics
        .get(metric)
        .map_or(Format::Decimal, |m| m.format);
    match (value, previous) {
        (Some(Num(v)), Some(Num(p))) => {
            if format == Format::Percent {
                let points = (v - p) * 100.0;
                let Some(shown) = format::nonzero(points.abs(), 1..=3) else {
                    return "unchanged from".to_string();
                };
                let dir = if points > 0.0 { "up" } else { "down" };
                return format!("{dir} {shown} points from");
            }
            match pct {
                Some(Num(f)) => match format::nonzero(f.abs() * 100.0, 1..=3) {
                    None => "unchanged from".to_string(),
                    Some(shown) => {
                        let dir = if f > 0.0 { "up" } else { "down" };
                        format!("{dir} {shown}% from")
                    }
                },
                None => "compared with".to_string(),
            }
        }
        _ => "compared with".to_string(),
    }
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
            metric: m.name.clone(),
            label: m.label.clone(),
            definition: m.description.clone(),
        })
        .collect()
}

/// Says how many rows were withheld for covering too few entities, when any were.
fn withheld_sentence(result: &QueryResult, min_group_size: u32, sentences: &mut Vec<String>) {
    let n = result.suppressed_groups;
    if n > 0 {
        sentences.push(format!(
            "{n} {} withheld because {} fewer than {min_group_size} distinct entities (this role's minimum group size).",
            if n == 1 { "row is" } else { "rows are" },
            if n == 1 { "it covers" } else { "each covers" },
        ));
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
    let values: Vec<String> = f.values.iter().map(|v| v.to_string()).collect();
    let (dimension, any) = (f.dimension.as_str(), values.join(" or "));
    match f.op {
        FilterOp::Eq | FilterOp::In => format!("{dimension} {any}"),
        FilterOp::Neq | FilterOp::NotIn => format!("{dimension} not {any}"),
        FilterOp::Gt => format!("{dimension} > {any}"),
        FilterOp::Gte => format!("{dimension} ≥ {any}"),
        FilterOp::Lt => format!("{dimension} < {any}"),
        FilterOp::Lte => format!("{dimension} ≤ {any}"),
        FilterOp::Contains => format!("{dimension} containing “{any}”"),
    }
}

/// With no filter, what the number covers, said outright: "all countries, devices and
/// acquisition channels" (the catalog's driver dimensions that reach every metric and are not
/// broken down), so a reader sees that nothing was narrowed, and would see it if a word of the
/// question had been meant as a filter.
fn whole_scope(plan: &MetricPlan, catalog: &Catalog) -> Option<String> {
    if plan.overview || !plan.filters.is_empty() {
        return None;
    }
    let dims: Vec<String> = catalog
        .dimensions
        .values()
        .filter(|d| d.driver && !plan.group_by.contains(&d.name))
        .filter(|d| {
            plan.metrics
                .iter()
                .all(|m| catalog.dimensions_for_metric(m).contains(&d.name.as_str()))
        })
        .map(|d| format::plural(&d.name.replace('_', " ")))
        .collect();
    (!dims.is_empty()).then(|| format!("all {}", join_and(&dims)))
}

fn metric_answer(
    plan: &MetricPlan,
    result: &QueryResult,
    catalog: &Catalog,
    min_group_size: u32,
) -> Answer {
    let when = scoped(&plan.filters, period_text(&plan.period));
    // The whole scope is said once, in the first sentence.
    let scope_when = match whole_scope(plan, catalog) {
        Some(all) => format!("({all}) {when}"),
        None => when.clone(),
    };
    let mut sentences = Vec::new();
    if result.empty {
        let names: Vec<String> = plan.metrics.iter().map(|m| label(catalog, m)).collect();
        sentences.push(format!(
            "There is no data for {} {scope_when}; nothing is estimated.",
            names.join(", ")
        ));
    } else if plan.overview {
        let parts: Vec<String> = result
            .summary
            .iter()
            .map(|row| {
                let (value, previous) = fmt_pair(catalog, &row.metric, row.value, row.previous);
                let mut s = format!("{} {value}", label(catalog, &row.metric));
                if plan.compare.is_some() {
                    s.push_str(&format!(
                        " ({} {previous})",
                        change(catalog, &row.metric, row.value, row.previous, row.delta_pct),
                    ));
                }
                s
            })
            .collect();
        let vs = compare_phrase(&plan.period, plan.compare)
            .map(|c| format!(", compared with {c}"))
            .unwrap_or_default();
        sentences.push(format!("Overview {when}{vs}: {}.", parts.join("; ")));
    } else {
        for (i, row) in result.summary.iter().enumerate() {
            let when = if i == 0 { &scope_when } else { &when };
            if row.suppressed {
                sentences.push(format!(
                    "{} {when} is withheld: it covers fewer than {} distinct entities (this role's minimum group size).",
                    label(catalog, &row.metric),
                    min_group_size
                ));
                continue;
            }
            let (value, previous) = fmt_pair(catalog, &row.metric, row.value, row.previous);
            let mut s = format!(
                "{} {when} {} {value}",
                label(catalog, &row.metric),
                verb(catalog, &row.metric),
            );
            if let Some(c) = compare_phrase(&plan.period, plan.compare) {
                s.push_str(&format!(
                    ", {} {previous} {c}",
                    change(catalog, &row.metric, row.value, row.previous, row.delta_pct),
                ));
            }
            s.push('.');
            sentences.push(s);
        }
        if !result.breakdown.is_empty() {
            let first = &plan.metrics[0];
            let rows: Vec<_> = result
                .breakdown
                .iter()
                .filter(|r| &r.metric == first)
                .collect();
            let named: Vec<String> = rows
                .iter()
                .take(3)
                .map(|r| {
                    let key: Vec<String> = plan
                        .group_by
                        .iter()
                        .map(|d| r.dimensions[d].clone().unwrap_or_else(|| "(none)".into()))
                        .collect();
                    format!(
                        "{} ({})",
                        key.join(" · "),
                        fmt_value(catalog, first, r.value)
                    )
                })
                .collect();
            let by = plan.group_by.join(" and ");
            let lead = if plan.order == crate::dsl::Order::Asc {
                "lowest"
            } else {
                "highest"
            };
            let total = result.total_groups.unwrap_or(rows.len());
            sentences.push(format!(
                "{} by {by}, {lead} first: {}{}.",
                label(catalog, first),
                join_and(&named),
                if total > rows.len() {
                    format!(" (top {} of {total} shown)", rows.len())
                } else {
                    String::new()
                }
            ));
        }
        // A peak among withheld points would describe only what is left: say nothing then.
        let any_withheld = result.timeseries.iter().any(|p| p.suppressed);
        if let (Some(g), true, false) = (plan.granularity, plan.group_by.is_empty(), any_withheld) {
            let first = &plan.metrics[0];
            let points: Vec<_> = result
                .timeseries
                .iter()
                .filter(|p| &p.metric == first && p.value.is_some())
                .collect();
            let max =
                points
                    .iter()
                    .fold(None::<&&crate::result::SeriesPoint>, |best, p| match best {
                        Some(b) if b.value >= p.value => Some(b),
                        _ => Some(p),
                    });
            let min =
                points
                    .iter()
                    .fold(None::<&&crate::result::SeriesPoint>, |best, p| match best {
                        Some(b) if b.value <= p.value => Some(b),
                        _ => Some(p),
                    });
            if let (Some(hi), Some(lo)) = (max, min) {
                let at = |date: &str| {
                    let d: chrono::NaiveDate = date.parse().expect("iso date");
                    match g {
                        crate::dsl::Granularity::Day => format!("on {}", format::day(d)),
                        crate::dsl::Granularity::Week => {
                            format!("in the week of {}", format::day(d))
                        }
                        crate::dsl::Granularity::Month => {
                            use chrono::Datelike;
                            let month = format::MONTH_NAMES[d.month0() as usize];
                            format!("in {month} {}", d.year())
                        }
                    }
                };
                sentences.push(format!(
                    "Per {}, {} peaked at {} ({}) and was lowest at {} ({}).",
                    g.as_str(),
                    label(catalog, first),
                    fmt_value(catalog, first, hi.value),
                    at(&hi.date),
                    fmt_value(catalog, first, lo.value),
                    at(&lo.date),
                ));
            }
        }
        withheld_sentence(result, min_group_size, &mut sentences);
        if result.truncated {
            sentences.push(
                "Some rows were cut at the row limit, so these numbers may be incomplete.".into(),
            );
        }
    }
    Answer {
        text: sentences.join(" "),
        chart: chart(plan, result, catalog),
        sources: sources(catalog, &plan.metrics),
    }
}

fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn chart(plan: &MetricPlan, result: &QueryResult, catalog: &Catalog) -> Option<Value> {
    let schema = "https://vega.github.io/schema/vega-lite/v5.json";
    if !result.timeseries.is_empty() {
        let values: Vec<Value> = result
            .timeseries
            .iter()
            .map(|p| {
                let series = match &p.dimensions {
                    Some(d) => {
                        let parts: Vec<String> = plan
                            .group_by
                            .iter()
                            .map(|g| d[g].clone().unwrap_or_else(|| "(none)".into()))
                            .collect();
                        format!("{} · {}", label(catalog, &p.metric), parts.join(" · "))
                    }
                    None => label(catalog, &p.metric),
                };
                json!({"date": p.date, "series": series, "value": p.value})
            })
            .collect();
        return Some(json!({
            "$schema": schema,
            "data": {"values": values},
            "mark": {"type": "line", "point": true},
            "encoding": {
                // Dates are calendar days: a UTC scale keeps a browser west of UTC from
                // labelling each point with the day before.
                "x": {"field": "date", "type": "temporal", "title": null, "scale": {"type": "utc"}},
                "y": {"field": "value", "type": "quantitative", "title": null},
                "color": {"field": "series", "type": "nominal", "title": null}
            }
        }));
    }
    if !result.breakdown.is_empty() {
        let first = &plan.metrics[0];
        let values: Vec<Value> = result
            .breakdown
            .iter()
            .filter(|r| &r.metric == first)
            .map(|r| {
                let parts: Vec<String> = plan
                    .group_by
                    .iter()
                    .map(|g| r.dimensions[g].clone().unwrap_or_else(|| "(none)".into()))
                    .collect();
                json!({"group": parts.join(" · "), "value": r.value})
            })
            .collect();
        return Some(json!({
            "$schema": schema,
            "data": {"values": values},
            "mark": "bar",
            "encoding": {
                "y": {"field": "group", "type": "nominal", "sort": null, "title": plan.group_by.join(" · ")},
                "x": {"field": "value", "type": "quantitative", "title": label(catalog, first)}
            }
        }));
    }
    compare_chart(plan, result, catalog, schema)
}

/// A single metric against its comparison period: two horizontal bars (the period labels
/// read across), the earlier period first. Only
/// numbers that are in the result, and none for a withheld row.
fn compare_chart(
    plan: &MetricPlan,
    result: &QueryResult,
    catalog: &Catalog,
    schema: &str,
) -> Option<Value> {
    let (_, previous_range) = plan.compare.as_ref()?;
    if plan.overview || plan.metrics.len() != 1 {
        return None;
    }
    let row = result
        .summary
        .iter()
        .find(|r| r.metric == plan.metrics[0] && !r.suppressed)?;
    let (value, previous) = (row.value?, row.previous?);
    let values = json!([
        {"period": format::range(previous_range), "value": previous},
        {"period": format::range(&plan.period.range), "value": value},
    ]);
    Some(json!({
        "$schema": schema,
        "data": {"values": values},
        "mark": "bar",
        "encoding": {
            "y": {"field": "period", "type": "nominal", "sort": null, "title": null},
            "x": {"field": "value", "type": "quantitative", "title": label(catalog, &row.metric)}
        }
    }))
}

fn list_answer(plan: &ListPlan, result: &QueryResult, catalog: &Catalog) -> Answer {
    let entity = &catalog.entities[&plan.entity];
    let noun = entity
        .synonyms
        .first()
        .cloned()
        .unwrap_or_else(|| plan.entity.clone());
    let when = match &plan.period {
        Some((p, field)) => {
            let dates = format::range(&p.range);
            match period_words(&p.asked) {
                PeriodWords::Named(w) => format!(
                    " whose {field} falls in {} ({dates})",
                    w.strip_prefix("in ").unwrap_or(&w)
                ),
                PeriodWords::OnDay => format!(" whose {field} is on {dates}"),
                PeriodWords::Dates => format!(" whose {field} falls from {dates}"),
            }
        }
        None => String::new(),
    };
    let n = result.rows.len();
    let mut text = if n == 0 {
        format!("No {noun} match{when}.")
    } else {
        format!("{n} {noun}{when}")
    };
    if n > 0 {
        if let Some((field, order)) = &plan.sort {
            let dir = match order {
                crate::dsl::Order::Asc => "ascending",
                crate::dsl::Order::Desc => "descending",
            };
            text.push_str(&format!(", sorted by {field} {dir}"));
        }
        if n == plan.limit {
            text.push_str(&format!(" (the first {n}; there may be more)"));
        }
        text.push('.');
    }
    Answer {
        text,
        chart: None,
        sources: vec![Source {
            metric: plan.entity.clone(),
            label: noun,
            definition: entity.description.clone(),
        }],
    }
}

fn hours(n: u32) -> String {
    if n == 1 {
        "1 hour".to_string()
    } else {
        format!("{n} hours")
    }
}

fn percent(v: Option<Num>) -> String {
    match v {
        Some(Num(x)) => format::value(x, Format::Percent),
        None => "not defined (no users at the step before)".to_string(),
    }
}

fn users(v: Option<Num>) -> String {
    match v {
        Some(Num(x)) => format::value(x, Format::Integer),
        None => "a suppressed number of".to_string(),
    }
}

/// What a funnel counts, for its source line.
fn funnel_definition(plan: &FunnelPlan, catalog: &Catalog) -> String {
    let described = plan
        .funnel
        .as_ref()
        .and_then(|f| catalog.funnels.get(f))
        .map(|f| f.description.clone())
        .filter(|d| !d.is_empty());
    described.unwrap_or_else(|| {
        format!(
            "Users who did {} in that order, each step within {} of the first; the first step falls in the period",
            plan.steps.join(", then "),
            hours(plan.window_hours)
        )
    })
}

fn funnel_answer(
    plan: &FunnelPlan,
    result: &QueryResult,
    catalog: &Catalog,
    min_group_size: u32,
) -> Answer {
    let when = scoped(&plan.filters, period_text(&plan.period));
    let name = format!("The {} funnel", plan.label);
    let totals: Vec<&FunnelStep> = result
        .funnel
        .iter()
        .filter(|s| s.dimensions.is_none())
        .collect();
    let mut sentences = Vec::new();
    if result.empty || totals.is_empty() {
        sentences.push(format!(
            "There is no data for the {} funnel {when}: no user did {}; nothing is estimated.",
            plan.label, plan.steps[0]
        ));
    } else if totals[0].suppressed {
        sentences.push(format!(
            "The {} funnel {when} is withheld: fewer than {min_group_size} distinct entities did {} (this role's minimum group size).",
            plan.label, plan.steps[0]
        ));
    } else {
        let mut parts = vec![format!(
            "{} users did {}",
            users(totals[0].value),
            totals[0].event
        )];
        for s in &totals[1..] {
            parts.push(format!(
                "{} went on to {} ({} of the step before)",
                users(s.value),
                s.event,
                percent(s.step_conversion)
            ));
        }
        sentences.push(format!(
            "{name} {when}, each step within {} of the first: {}.",
            hours(plan.window_hours),
            parts.join("; ")
        ));
        let last = totals[totals.len() - 1];
        let mut overall = format!(
            "Overall conversion was {}",
            percent(last.overall_conversion)
        );
        if let Some(c) = compare_phrase(&plan.period, plan.compare) {
            let change = match (last.overall_conversion, last.previous_overall_conversion) {
                (Some(Num(v)), Some(Num(p))) => {
                    let points = (v - p) * 100.0;
                    if format::fixed(points.abs(), 1) == "0.0" {
                        "unchanged from".to_string()
                    } else {
                        let dir = if points > 0.0 { "up" } else { "down" };
                        format!("{dir} {} points from", format::fixed(points.abs(), 1))
                    }
                }
                _ => "compared with".to_string(),
            };
            overall.push_str(&format!(
                ", {change} {} {c} (when {} users did {})",
                percent(last.previous_overall_conversion),
                users(totals[0].previous),
                totals[0].event
            ));
        }
        overall.push('.');
        sentences.push(overall);
        let any_group = result.funnel.iter().any(|s| s.dimensions.is_some());
        if let (Some(dimension), true) = (&plan.group_by, any_group) {
            let n = plan.steps.len();
            let grouped: Vec<&FunnelStep> = result
                .funnel
                .iter()
                .filter(|s| s.dimensions.is_some())
                .collect();
            let groups: Vec<&[&FunnelStep]> = grouped.chunks(n).collect();
            let named: Vec<String> = groups
                .iter()
                .take(5)
                .map(|g| {
                    let key = g[0]
                        .dimensions
                        .as_ref()
                        .and_then(|d| d.get(dimension).cloned().flatten())
                        .unwrap_or_else(|| "(none)".into());
                    format!(
                        "{key} {} of {}",
                        percent(g[n - 1].overall_conversion),
                        users(g[0].value)
                    )
                })
                .collect();
            let total = result.total_groups.unwrap_or(groups.len());
            sentences.push(format!(
                "By {dimension} (most first-step users first), overall conversion: {}{}.",
                join_and(&named),
                if total > named.len() {
                    format!(" ({} of {total} groups named)", named.len())
                } else {
                    String::new()
                }
            ));
        }
        withheld_sentence(result, min_group_size, &mut sentences);
        if result.truncated {
            sentences.push(
                "Some rows were cut at the row limit, so these numbers may be incomplete.".into(),
            );
        }
    }
    Answer {
        text: sentences.join(" "),
        chart: funnel_chart(plan, result),
        sources: vec![Source {
            metric: plan.funnel.clone().unwrap_or_else(|| "funnel".into()),
            label: format!("{} funnel", plan.label),
            definition: funnel_definition(plan, catalog),
        }],
    }
}

/// Users per step as bars: one colour per group, or this period against the previous one.
fn funnel_chart(plan: &FunnelPlan, result: &QueryResult) -> Option<Value> {
    if result.empty || result.funnel.is_empty() {
        return None;
    }
    let step_label = |s: &FunnelStep| format!("{}. {}", s.step, s.event);
    let mut values = Vec::new();
    match &plan.group_by {
        Some(dimension) => {
            for s in result.funnel.iter().filter(|s| s.dimensions.is_some()) {
                let group = s
                    .dimensions
                    .as_ref()
                    .and_then(|d| d.get(dimension).cloned().flatten())
                    .unwrap_or_else(|| "(none)".into());
                values.push(json!({"step": step_label(s), "series": group, "users": s.value}));
            }
        }
        None => {
            for s in &result.funnel {
                values.push(
                    json!({"step": step_label(s), "series": "this period", "users": s.value}),
                );
                if plan.compare.is_some() {
                    values.push(json!({"step": step_label(s), "series": "previous period", "users": s.previous}));
                }
            }
        }
    }
    Some(json!({
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "data": {"values": values},
        "mark": "bar",
        "encoding": {
            "x": {"field": "step", "type": "nominal", "sort": null, "title": null},
            "xOffset": {"field": "series", "type": "nominal", "sort": null},
            "y": {"field": "users", "type": "quantitative", "title": "Users"},
            "color": {"field": "series", "type": "nominal", "sort": null, "title": plan.group_by.clone()}
        }
    }))
}

/// A baseline value: integer metrics averaged over weeks keep one decimal ("20.5").
fn fmt_baseline(catalog: &Catalog, metric: &str, v: Option<Num>) -> String {
    let integer = catalog
        .metrics
        .get(metric)
        .is_some_and(|m| m.format == Format::Integer);
    match v {
        Some(Num(x)) if integer && x.fract() != 0.0 => format::fixed(x, 1),
        _ => fmt_value(catalog, metric, v),
    }
}

fn explain_answer(
    plan: &ExplainPlan,
    result: &QueryResult,
    catalog: &Catalog,
    min_group_size: u32,
) -> Answer {
    let when = scoped(&plan.filters, period_text(&plan.period));
    let metric = &plan.metric;
    let name = label(catalog, metric);
    let first = plan.baseline_ranges.last().map(|r| r.start);
    let last = plan.baseline_ranges.first().map(|r| r.end);
    let baseline = match (plan.baseline, first, last) {
        (crate::dsl::Baseline::SameWeekdayAvg4w, Some(a), Some(b)) => {
            let what = if plan.period.range.days() == 1 {
                "the same weekday"
            } else {
                "the same days"
            };
            format!(
                "the average of {what} in the 4 weeks before ({})",
                format::range(&crate::plan::DateRange::new(a, b))
            )
        }
        _ => format!(
            "the previous period ({})",
            plan.baseline_ranges
                .first()
                .map(format::range)
                .unwrap_or_default()
        ),
    };
    let mut sentences = Vec::new();
    let row = result.summary.first();
    if result.empty || row.is_none() {
        sentences.push(format!(
            "There is no data for {name} {when} or its baseline; nothing is estimated."
        ));
    } else if let Some(row) = row {
        sentences.push(format!(
            "{name} {when} was {}, {} {}, {baseline}.",
            fmt_value(catalog, metric, row.value),
            change(catalog, metric, row.value, row.previous, row.delta_pct),
            fmt_baseline(catalog, metric, row.previous),
        ));
        let direction = match row.delta {
            Some(Num(d)) if d < 0.0 => Some("drop"),
            Some(Num(d)) if d > 0.0 => Some("rise"),
            _ => None,
        };
        let usual = result.explain.as_ref().filter(|e| e.within_usual_range);
        match (direction, usual) {
            (None, _) => sentences.push("There is no change to explain.".into()),
            (Some(_), Some(e)) => {
                let mut why = Vec::new();
                if let Some((lo, hi)) = e.usual_range {
                    why.push(format!(
                        "those weeks ranged from {} to {}",
                        fmt_baseline(catalog, metric, Some(lo)),
                        fmt_baseline(catalog, metric, Some(hi))
                    ));
                }
                let percent = catalog
                    .metrics
                    .get(metric)
                    .is_some_and(|m| m.format == Format::Percent);
                if let Some(c) = e.chance_variation {
                    why.push(if percent {
                        format!(
                            "a rate of this size over this many moves by up to {} points by chance alone",
                            format::fixed(c.0 * 100.0, 1)
                        )
                    } else {
                        format!(
                            "a count of this size moves by up to {} by chance alone",
                            format::fixed(c.0, 1)
                        )
                    });
                }
                sentences.push(format!(
                    "That is within the usual variation ({}), so no segment is singled out.",
                    why.join("; ")
                ));
            }
            (Some(word), None) => {
                let parts: Vec<String> = result
                    .drivers
                    .iter()
                    .enumerate()
                    .map(|(i, d)| {
                        let dims: Vec<&str> = d.dimensions.keys().map(String::as_str).collect();
                        let values: Vec<String> = d
                            .dimensions
                            .values()
                            .map(|v| v.clone().unwrap_or_else(|| "(none)".into()))
                            .collect();
                        let share = d.share.map_or_else(|| "?".into(), |s| format::pct(s.0));
                        let mut text = format!("{} ({})", values.join(" · "), dims.join(" · "));
                        if i == 0 {
                            text.push_str(&format!(" accounts for {share} of the {word}"));
                        } else {
                            text.push_str(&format!(" for {share}"));
                        }
                        match (d.mix, d.rate, row.delta) {
                            (Some(Num(mix)), Some(Num(rate)), Some(Num(total))) if total != 0.0 => {
                                text.push_str(&format!(
                                    " (mix {}{}, rate {}{})",
                                    if mix / total < 0.0 { "−" } else { "" },
                                    format::pct(mix / total),
                                    if rate / total < 0.0 { "−" } else { "" },
                                    format::pct(rate / total)
                                ));
                            }
                            _ => text.push_str(&format!(
                                " ({} against {} usually)",
                                fmt_value(catalog, metric, d.value),
                                fmt_baseline(catalog, metric, d.baseline)
                            )),
                        }
                        text
                    })
                    .collect();
                if parts.is_empty() {
                    sentences.push(format!(
                        "No segment of {} moved in the direction of the {word}.",
                        plan.drivers.join(", ")
                    ));
                } else {
                    sentences.push(format!(
                        "By {} and their pairs: {}.",
                        join_and(&plan.drivers),
                        parts.join("; ")
                    ));
                }
                let started = result
                    .explain
                    .as_ref()
                    .and_then(|e| e.change_started.as_ref())
                    .and_then(|d| d.parse::<chrono::NaiveDate>().ok());
                sentences.push(match started {
                    Some(d) => format!(
                        "The change started on {}: the days before it were within half of it against their own usual level.",
                        format::day(d)
                    ),
                    None => "No day of the period moved by half the change against its own usual level, so no start date is named.".into(),
                });
                sentences.push(
                    "These segments carry the change in the data; they do not say why it happened."
                        .into(),
                );
            }
        }
    }
    withheld_sentence(result, min_group_size, &mut sentences);
    if result.truncated {
        sentences.push(
            "Some rows were cut at the row limit, so these numbers may be incomplete.".into(),
        );
    }
    let chart = (!result.drivers.is_empty()).then(|| {
        let values: Vec<Value> = result
            .drivers
            .iter()
            .map(|d| {
                let key: Vec<String> = d
                    .dimensions
                    .values()
                    .map(|v| v.clone().unwrap_or_else(|| "(none)".into()))
                    .collect();
                json!({"segment": key.join(" · "), "share": d.share})
            })
            .collect();
        json!({
            "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
            "data": {"values": values},
            "mark": "bar",
            "encoding": {
                "y": {"field": "segment", "type": "nominal", "sort": null, "title": null},
                "x": {"field": "share", "type": "quantitative", "title": "Share of the change", "axis": {"format": "%"}}
            }
        })
    });
    Answer {
        text: sentences.join(" "),
        chart,
        sources: sources(catalog, std::slice::from_ref(metric)),
    }
}
