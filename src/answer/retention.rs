//! A retention answer: how many entities the cohorts hold, the latest cohort whose first offset
//! has ended and its rate against the cohort before, per group when grouped, and a heatmap of
//! cohort × offset.

use serde_json::{json, Value};

use super::change::change;
use super::format;
use super::{caveats, every, join_and, period_text, scoped, Answer, Source};
use crate::catalog::{capitalise, Format};
use crate::plan::RetentionPlan;
use crate::result::{Cohort, Num, QueryResult};

pub(super) fn answer(plan: &RetentionPlan, result: &QueryResult, min_group_size: u32) -> Answer {
    let r = &plan.retention;
    let unit = plan.granularity.as_str();
    let when = scoped(&plan.filters, period_text(&plan.period));
    let cohorts: Vec<&Cohort> = result.retention.iter().flat_map(|o| &o.cohorts).collect();
    let totals: Vec<&Cohort> = cohorts
        .iter()
        .copied()
        .filter(|c| c.dimensions.is_none())
        .collect();
    let mut sentences = Vec::new();
    if result.empty {
        sentences.push(format!(
            "There is no data for {} {when}: no cohort has any {}; nothing is estimated.",
            r.label, r.entity
        ));
    } else {
        let size: f64 = totals.iter().filter_map(|c| c.size).map(|n| n.0).sum();
        let shown = totals
            .iter()
            .filter(|c| c.size.is_some_and(|n| n.0 > 0.0))
            .count();
        sentences.push(format!(
            "{} {when}: {} in {shown} {} {}.",
            r.label,
            count(size, &r.entity),
            every(plan.granularity),
            if shown == 1 { "cohort" } else { "cohorts" }
        ));
        match latest_pair(&totals) {
            Some((latest, before)) => {
                let (now, prev) = (first_rate(latest), before.and_then(first_rate));
                let c = change(now, prev, Format::Percent, (percent(now), percent(prev)));
                let mut s = format!(
                    "{} 1 retention of the latest cohort with a complete {unit} 1, {} ({} of {}), was {}",
                    capitalise(unit),
                    cohort_name(unit, &latest.cohort),
                    rate_count(latest),
                    integer(latest.size),
                    c.value
                );
                if let Some(b) = before {
                    s.push_str(&format!(
                        ", {} {} for {}",
                        c.words(),
                        c.previous,
                        cohort_name(unit, &b.cohort)
                    ));
                }
                s.push('.');
                sentences.push(s);
            }
            None => sentences.push(format!(
                "No cohort of the period has a complete {unit} 1 yet, so no retention is stated."
            )),
        }
        if let (Some(dimension), Some(out)) = (&plan.group_by, &result.retention) {
            let named: Vec<String> = groups(&out.cohorts)
                .into_iter()
                .take(5)
                .filter_map(|g| {
                    let (latest, _) = latest_pair(&g)?;
                    let key = latest
                        .dimensions
                        .as_ref()
                        .and_then(|d| d.get(dimension).cloned().flatten())
                        .unwrap_or_else(|| "(none)".into());
                    Some(match first_rate(latest) {
                        Some(rate) => {
                            format!("{key} {} of {}", percent(Some(rate)), integer(latest.size))
                        }
                        None => format!("{key} withheld ({} users)", integer(latest.size)),
                    })
                })
                .collect();
            if !named.is_empty() {
                sentences.push(format!(
                    "By {dimension} (largest first), {unit} 1 retention of that latest cohort: {}.",
                    join_and(&named)
                ));
            }
        }
        caveats(result, min_group_size, &mut sentences);
    }
    Answer {
        text: sentences.join(" "),
        chart: chart(plan, result),
        sources: vec![Source {
            metric: Some(r.name.clone()),
            label: r.label.clone(),
            definition: definition(plan),
            ..Source::default()
        }],
    }
}

/// The latest total cohort whose offset 1 has ended, and the cohort before it.
fn latest_pair<'a>(cohorts: &[&'a Cohort]) -> Option<(&'a Cohort, Option<&'a Cohort>)> {
    let complete: Vec<&Cohort> = cohorts
        .iter()
        .copied()
        .filter(|c| c.cells.len() > 1 && c.size.is_some_and(|n| n.0 > 0.0))
        .collect();
    let latest = complete.last()?;
    let before = complete.len().checked_sub(2).map(|i| complete[i]);
    Some((latest, before))
}

/// The grouped cohorts, one list per group, in the result's order.
fn groups(cohorts: &[Cohort]) -> Vec<Vec<&Cohort>> {
    let mut out: Vec<Vec<&Cohort>> = Vec::new();
    for c in cohorts.iter().filter(|c| c.dimensions.is_some()) {
        match out.last_mut() {
            Some(g) if g[0].dimensions == c.dimensions => g.push(c),
            _ => out.push(vec![c]),
        }
    }
    out
}

fn first_rate(c: &Cohort) -> Option<Num> {
    c.cells.get(1).and_then(|cell| cell.rate)
}

fn rate_count(c: &Cohort) -> String {
    integer(c.cells.get(1).and_then(|cell| cell.returning))
}

fn parse(d: &str) -> chrono::NaiveDate {
    d.parse().expect("cohort names are ISO dates")
}

/// A cohort as said: "the week of Mon 9 Nov 2026", "the cohort of Mon 9 Nov 2026" (a day),
/// "the September 2026 cohort".
fn cohort_name(unit: &str, cohort: &str) -> String {
    let d = parse(cohort);
    match unit {
        "day" => format!("the cohort of {}", format::day(d)),
        "month" => format!("the {} cohort", d.format("%B %Y")),
        _ => format!("the week of {}", format::day(d)),
    }
}

fn percent(v: Option<Num>) -> String {
    match v {
        Some(Num(x)) => format::value(x, Format::Percent),
        None => "withheld".to_string(),
    }
}

fn integer(v: Option<Num>) -> String {
    match v {
        Some(Num(x)) => format::value(x, Format::Integer),
        None => "a withheld number".to_string(),
    }
}

/// "1,234 users" from the entity column's name (`user_id` → users).
fn count(n: f64, entity: &str) -> String {
    let noun = entity.strip_suffix("_id").unwrap_or(entity);
    let noun = if n == 1.0 {
        noun.to_string()
    } else {
        format!("{noun}s")
    };
    format!("{} {noun}", format::value(n, Format::Integer))
}

fn definition(plan: &RetentionPlan) -> String {
    let r = &plan.retention;
    if !r.description.is_empty() {
        return r.description.clone();
    }
    format!(
        "Distinct {} by the {} of `{}` in `{}`; a {} returns in a later {} when `{}` has a row for it then, at or after its cohort time",
        r.entity,
        plan.granularity.as_str(),
        r.cohort.time,
        r.cohort.table,
        r.entity,
        plan.granularity.as_str(),
        r.activity.table
    )
}

/// Cohort × offset as a heatmap of the rate, the total's cohorts only.
fn chart(plan: &RetentionPlan, result: &QueryResult) -> Option<Value> {
    let out = result.retention.as_ref()?;
    if result.empty {
        return None;
    }
    let values: Vec<Value> = out
        .cohorts
        .iter()
        .filter(|c| c.dimensions.is_none())
        .flat_map(|c| {
            c.cells.iter().map(move |cell| {
                json!({"cohort": c.cohort, "offset": cell.offset, "rate": cell.rate, "returning": cell.returning, "size": c.size})
            })
        })
        .collect();
    let unit = plan.granularity.as_str();
    Some(json!({
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": format!("{} by {} cohort", plan.retention.label, every(plan.granularity)),
        "data": {"values": values},
        "mark": "rect",
        "encoding": {
            "x": {"field": "offset", "type": "ordinal", "title": format!("{} after joining", capitalise(unit))},
            "y": {"field": "cohort", "type": "ordinal", "title": "Cohort", "sort": "ascending"},
            "color": {"field": "rate", "type": "quantitative", "title": "Retained", "format": ".0%", "scale": {"domain": [0, 1]}},
            "tooltip": [
                {"field": "cohort", "type": "ordinal"},
                {"field": "offset", "type": "ordinal"},
                {"field": "returning", "type": "quantitative"},
                {"field": "size", "type": "quantitative"},
                {"field": "rate", "type": "quantitative", "format": ".1%"}
            ]
        }
    }))
}
