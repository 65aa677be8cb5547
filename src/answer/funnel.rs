//! A funnel answer: users at each step, step and overall conversion, the change of overall
//! conversion against the comparison period, and conversion per group.

use serde_json::{json, Value};

use super::change::change;
use super::format;
use super::{caveats, compare_phrase, join_and, period_text, scoped, Answer, Source};
use crate::catalog::{Catalog, Format};
use crate::plan::FunnelPlan;
use crate::result::{FunnelStep, Num, QueryResult};

/// A funnel answer: users per step, overall conversion and its change, and the groups.
pub(super) fn answer(
    plan: &FunnelPlan,
    result: &QueryResult,
    catalog: &Catalog,
    min_group_size: u32,
) -> Answer {
    let when = scoped(&plan.filters, period_text(&plan.period));
    // A catalog funnel by its label; ad-hoc steps by their events in words.
    let label = match plan.funnel {
        Some(_) => plan.label.clone(),
        None => plan
            .steps
            .iter()
            .map(|e| e.replace('_', " "))
            .collect::<Vec<_>>()
            .join(" → "),
    };
    let name = format!("The {label} funnel");
    let totals: Vec<&FunnelStep> = result
        .funnel
        .iter()
        .filter(|s| s.dimensions.is_none())
        .collect();
    let mut sentences = Vec::new();
    if result.empty || totals.is_empty() {
        sentences.push(format!(
            "There is no data for the {} funnel {when}: no user did {}; nothing is estimated.",
            label,
            step(&plan.steps[0])
        ));
    } else if totals[0].suppressed {
        sentences.push(format!(
            "The {} funnel {when} is withheld: fewer than {min_group_size} distinct entities did {} (this role's minimum group size).",
            label,
            step(&plan.steps[0])
        ));
    } else {
        let mut parts = vec![format!(
            "{} users did {}",
            users(totals[0].value),
            step(&totals[0].event)
        )];
        for s in &totals[1..] {
            parts.push(format!(
                "{} went on to {} ({} of the step before)",
                users(s.value),
                step(&s.event),
                percent(s.step_conversion)
            ));
        }
        sentences.push(format!(
            "{name} {when}, each step within {} of the first: {}.",
            hours(plan.window_hours),
            parts.join("; ")
        ));
        let last = totals[totals.len() - 1];
        let change = change(
            last.overall_conversion,
            last.previous_overall_conversion,
            Format::Percent,
            (
                percent(last.overall_conversion),
                percent(last.previous_overall_conversion),
            ),
        );
        let mut overall = format!("Overall conversion was {}", change.value);
        if let Some(c) = compare_phrase(&plan.period, plan.compare) {
            overall.push_str(&format!(
                ", {} {} {c} (when {} users did {})",
                change.words(),
                change.previous,
                users(totals[0].previous),
                step(&totals[0].event)
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
        caveats(result, min_group_size, &mut sentences);
    }
    Answer {
        text: sentences.join(" "),
        chart: chart(plan, result),
        sources: vec![Source {
            metric: Some(plan.funnel.clone().unwrap_or_else(|| "funnel".into())),
            label: format!("{} funnel", plan.label),
            definition: definition(plan, catalog),
            ..Source::default()
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

/// A step as the answer says it: its event name in words, quoted ("“checkout started”").
fn step(event: &str) -> String {
    format!("“{}”", event.replace('_', " "))
}

/// What a funnel counts, for its source line.
fn definition(plan: &FunnelPlan, catalog: &Catalog) -> String {
    let described = plan
        .funnel
        .as_ref()
        .and_then(|f| catalog.funnels.get(f))
        .map(|f| f.description.clone())
        .filter(|d| !d.is_empty());
    described.unwrap_or_else(|| {
        format!(
            "Users who did {} in that order, each step within {} of the first; the first step falls in the period",
            plan.steps.iter().map(|e| step(e)).collect::<Vec<_>>().join(", then "),
            hours(plan.window_hours)
        )
    })
}

/// Users per step as bars: one colour per group, or this period against the previous one.
fn chart(plan: &FunnelPlan, result: &QueryResult) -> Option<Value> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsl::{Compare, Period, Preset};
    use crate::plan::time;

    fn step(step: usize, event: &str, now: (f64, f64), before: (f64, f64)) -> FunnelStep {
        FunnelStep {
            step,
            event: event.into(),
            dimensions: None,
            value: Some(Num(now.0)),
            suppressed: false,
            step_conversion: None,
            overall_conversion: Some(Num(now.0 / now.1)),
            previous: Some(Num(before.0)),
            delta: Some(Num(now.0 - before.0)),
            delta_pct: Some(Num((now.0 - before.0) / before.0)),
            previous_step_conversion: None,
            previous_overall_conversion: Some(Num(before.0 / before.1)),
        }
    }

    #[test]
    fn a_conversion_move_below_a_tenth_of_a_point_is_said_not_called_unchanged() {
        let today = "2026-11-23".parse().unwrap();
        let period = time::resolve(&Period::Preset(Preset::LastMonth), today);
        let plan = FunnelPlan {
            funnel: None,
            label: "Two-step".into(),
            steps: vec!["step_one".into(), "step_two".into()],
            window_hours: 24,
            table: "events".into(),
            period,
            compare: Some((
                Compare::PreviousPeriod,
                time::compare_range(&period, Compare::PreviousPeriod),
            )),
            group_by: None,
            filters: vec![],
            units: vec![],
        };
        // 22 of 45 (48.89%) against 23 of 47 (48.94%): 0.05 points down, both "48.9%".
        let result = QueryResult {
            funnel: vec![
                step(1, "step_one", (45.0, 45.0), (47.0, 47.0)),
                step(2, "step_two", (22.0, 45.0), (23.0, 47.0)),
            ],
            ..QueryResult::default()
        };
        let catalog = Catalog::embedded_default();
        let text = answer(&plan, &result, &catalog, 0).text;
        assert!(
            text.contains(
                "Overall conversion was 48.89%, down 0.05 points from 48.94% the month before"
            ),
            "{text}"
        );
    }
}
