//! An anomaly-scan answer: how many segment-days were tested and how, the most severe
//! anomalies by name with their expected range, and a bar chart of their changes. Nothing
//! flagged is said as such, with the size of the scan, so "nothing unusual" is never a guess.

use serde_json::{json, Value};

use super::change::change;
use super::explain::{fmt_baseline, p_text, percent, segment_name};
use super::{caveats, fmt_value, format, join_and, label, metric_format, period_text, sources};
use super::{Answer, Catalog};
use crate::catalog::capitalise;
use crate::plan::AnomaliesPlan;
use crate::result::{AnomaliesOut, Anomaly, QueryResult};

/// The anomalies the text names one by one (the rest are in `data.anomalies`).
const NAMED: usize = 3;

pub(super) fn answer(
    plan: &AnomaliesPlan,
    result: &QueryResult,
    catalog: &Catalog,
    min_group_size: u32,
) -> Answer {
    let when = period_text(&plan.period);
    let labels: Vec<String> = plan
        .metrics
        .iter()
        .map(|m| label(catalog, &m.name))
        .collect();
    let metrics = join_and(&labels);
    let mut sentences = Vec::new();
    let scan = result.anomalies.as_ref();
    match scan {
        _ if plan.days.is_empty() => sentences.push(format!(
            "{when} holds no complete day yet, so there is nothing to scan; nothing is estimated.",
            when = capitalise(&when)
        )),
        _ if result.empty => sentences.push(format!(
            "There is no data for {metrics} {when}, or in the 4 weeks before it: nothing to scan."
        )),
        None => {}
        Some(s) if s.anomalies.is_empty() => sentences.push(format!(
            "Nothing unusual {when}: {} of {metrics} (each day in total and per driver segment) were tested against the same weekday of the {} weeks before, and none fell outside its expected range.",
            segment_days(s.tested),
            s.baseline_weeks
        )),
        Some(s) => {
            sentences.push(format!(
                "{} {when}, of {} of {metrics} tested against the same weekday of the {} weeks before.",
                found(s.flagged),
                segment_days(s.tested),
                s.baseline_weeks
            ));
            for a in s.anomalies.iter().take(NAMED) {
                sentences.push(anomaly_sentence(catalog, a));
            }
            let rest = s.flagged.saturating_sub(NAMED);
            if rest > 0 {
                sentences.push(format!(
                    "{rest} more {} listed in data.anomalies{}.",
                    if rest == 1 { "is" } else { "are" },
                    if s.flagged > s.anomalies.len() {
                        format!(" (the {} most severe)", s.anomalies.len())
                    } else {
                        String::new()
                    }
                ));
            }
            sentences.push(method_sentence(s));
            sentences.push(
                "These are changes in the data; they do not say why they happened.".into(),
            );
        }
    }
    if let Some(s) = scan.filter(|s| s.withheld > 0) {
        sentences.push(format!(
            "{} not tested because the day or one of its baseline days covers fewer than {min_group_size} distinct entities (this role's minimum group size).",
            match s.withheld {
                1 => "1 segment-day was".to_string(),
                n => format!("{n} segment-days were"),
            }
        ));
    }
    let rest = QueryResult {
        suppressed_groups: 0,
        ..result.clone()
    };
    caveats(&rest, min_group_size, &mut sentences);
    let names: Vec<String> = plan.metrics.iter().map(|m| m.name.clone()).collect();
    Answer {
        text: sentences.join(" "),
        chart: scan.and_then(chart),
        sources: sources(catalog, &names),
    }
}

fn segment_days(n: usize) -> String {
    if n == 1 {
        "1 segment-day".into()
    } else {
        format!("{n} segment-days")
    }
}

fn found(n: usize) -> String {
    if n == 1 {
        "1 anomaly".into()
    } else {
        format!("{n} anomalies")
    }
}

/// "Signups for android · paid_social (device · acquisition_channel) on Tue 17 Nov 2026 were
/// 5, down 82.5% from 28.5 (the median of the same weekday in the 4 weeks before; expected 17
/// to 40; p < 0.001)."
fn anomaly_sentence(catalog: &Catalog, a: &Anomaly) -> String {
    let m = &a.metric;
    let moved = change(
        Some(a.value),
        Some(a.baseline),
        metric_format(catalog, m),
        (
            fmt_value(catalog, m, Some(a.value)),
            fmt_baseline(catalog, m, Some(a.baseline)),
        ),
    );
    let segment = if a.dimensions.is_empty() {
        String::new()
    } else {
        format!(" for {}", segment_name(&a.dimensions))
    };
    let day = a
        .day
        .parse()
        .map(format::day)
        .unwrap_or_else(|_| a.day.clone());
    format!(
        "{}{segment} on {day} was {}, {} {} (the median of the same weekday in the {} weeks before; expected {} to {}; {}).",
        label(catalog, m),
        moved.value,
        moved.words(),
        moved.previous,
        a.same_weekday.len(),
        fmt_value(catalog, m, Some(a.expected.0)),
        fmt_value(catalog, m, Some(a.expected.1)),
        p_text(a.p_value.0),
    )
}

fn method_sentence(s: &AnomaliesOut) -> String {
    format!(
        "A day is flagged when it is outside its expected range: an exact Poisson test against the median, Bonferroni-corrected over all {} at {}, a change of at least {} and at least {}, and more than 3 scaled median absolute deviations from the median.",
        segment_days(s.tested),
        percent(s.alpha.0),
        percent(s.min_change.0),
        format::fixed(s.min_count.0, 0),
    )
}

/// The anomalies by their relative change, most severe first.
fn chart(s: &AnomaliesOut) -> Option<Value> {
    if s.anomalies.is_empty() {
        return None;
    }
    let values: Vec<Value> = s
        .anomalies
        .iter()
        .map(|a| {
            let mut name = vec![a.metric.clone()];
            name.extend(
                a.dimensions
                    .values()
                    .map(|v| v.clone().unwrap_or_else(|| "(none)".into())),
            );
            name.push(a.day.clone());
            json!({"anomaly": name.join(" · "), "change": a.delta_pct, "direction": a.direction})
        })
        .collect();
    Some(json!({
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "data": {"values": values},
        "mark": "bar",
        "encoding": {
            "y": {"field": "anomaly", "type": "nominal", "sort": null, "title": null},
            "x": {"field": "change", "type": "quantitative", "title": "Change against the same weekday's median", "axis": {"format": "%"}},
            "color": {"field": "direction", "type": "nominal", "title": null}
        }
    }))
}
