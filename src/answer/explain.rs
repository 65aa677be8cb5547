//! An explain answer: the metric against its baseline, the segments that carry the change
//! (with mix and rate for ratios), the day it started, or that it is within usual variation —
//! and then any segment that moved beyond its own usual variation, with how that was tested.

use serde_json::{json, Value};

use super::change::{change, Direction};
use super::format;
use super::{
    caveats, fmt_value, join_and, label, metric_format, period_text, scoped, sources, Answer,
};
use crate::catalog::{Catalog, Format};
use crate::plan::ExplainPlan;
use crate::result::{Num, QueryResult, SegmentTests};

/// An explain answer: the change against the baseline, then the segments that carry it and
/// when it started, or why there is nothing to single out.
pub(super) fn answer(
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
        let change = change(
            row.value,
            row.previous,
            metric_format(catalog, metric),
            (
                fmt_value(catalog, metric, row.value),
                fmt_baseline(catalog, metric, row.previous),
            ),
        );
        sentences.push(format!(
            "{name} {when} was {}, {} {}, {baseline}.",
            change.value,
            change.words(),
            change.previous,
        ));
        // The change explained is the one just said: none when it reads as unchanged.
        let direction = match change.direction {
            Some(Direction::Down) => Some("drop"),
            Some(Direction::Up) => Some("rise"),
            Some(Direction::Unchanged) | None => None,
        };
        let usual = result.explain.as_ref().filter(|e| e.within_usual_range);
        let tests = result
            .explain
            .as_ref()
            .and_then(|e| e.segment_tests.as_ref());
        let moved = tests.filter(|t| !t.significant.is_empty());
        match (direction, usual) {
            (None, _) => match moved {
                Some(t) => {
                    sentences.push(format!(
                        "The total did not move, but {}",
                        segments_moved(catalog, metric, t)
                    ));
                    segment_method(t, &mut sentences);
                }
                None => sentences.push("There is no change to explain.".into()),
            },
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
                let why = why.join("; ");
                match (tests, moved) {
                    (_, Some(t)) => {
                        sentences.push(format!(
                            "The total is within its usual variation ({why}), but {}",
                            segments_moved(catalog, metric, t)
                        ));
                        segment_method(t, &mut sentences);
                    }
                    (Some(t), None) => sentences.push(format!(
                        "That is within the usual variation ({why}), and none of the {} segments tested moved beyond its own, so no segment is singled out.",
                        t.tested
                    )),
                    (None, None) => sentences.push(format!(
                        "That is within the usual variation ({why}), so no segment is singled out."
                    )),
                }
            }
            (Some(word), None) => {
                let parts: Vec<String> = result
                    .drivers
                    .iter()
                    .enumerate()
                    .map(|(i, d)| {
                        let share = d.share.map_or_else(|| "?".into(), |s| format::pct(s.0));
                        let mut text = segment_name(&d.dimensions);
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
    caveats(result, min_group_size, &mut sentences);
    let chart = if result.drivers.is_empty() {
        moved_chart(result)
    } else {
        drivers_chart(result)
    };
    Answer {
        text: sentences.join(" "),
        chart,
        sources: sources(catalog, std::slice::from_ref(metric)),
    }
}

/// A segment as the answer names it: "paid_social · android (acquisition_channel · device)".
pub(super) fn segment_name(
    dimensions: &std::collections::BTreeMap<String, Option<String>>,
) -> String {
    let dims: Vec<&str> = dimensions.keys().map(String::as_str).collect();
    let values: Vec<String> = dimensions
        .values()
        .map(|v| v.clone().unwrap_or_else(|| "(none)".into()))
        .collect();
    format!("{} ({})", values.join(" · "), dims.join(" · "))
}

/// The rest of a sentence naming the segments that moved beyond their own usual variation:
/// "paid_social · android (acquisition_channel · device) was 5, down 82.5% from 28.5 usually
/// (27 to 30 in those weeks; p < 0.001)."
fn segments_moved(catalog: &Catalog, metric: &str, tests: &SegmentTests) -> String {
    let parts: Vec<String> = tests
        .significant
        .iter()
        .map(|s| {
            let moved = change(
                Some(s.value),
                Some(s.baseline),
                metric_format(catalog, metric),
                (
                    fmt_value(catalog, metric, Some(s.value)),
                    fmt_baseline(catalog, metric, Some(s.baseline)),
                ),
            );
            let mut notes = Vec::new();
            if let Some((lo, hi)) = s.usual_range {
                notes.push(format!(
                    "{} to {} in those weeks",
                    fmt_baseline(catalog, metric, Some(lo)),
                    fmt_baseline(catalog, metric, Some(hi))
                ));
            }
            notes.push(p_text(s.p_adjusted.0));
            format!(
                "{} was {}, {} {} usually ({})",
                segment_name(&s.dimensions),
                moved.value,
                moved.words(),
                moved.previous,
                notes.join("; ")
            )
        })
        .collect();
    let lead = match parts.len() {
        1 => "one segment moved well beyond its own".to_string(),
        n => format!("{n} segments moved well beyond their own"),
    };
    format!("{lead}: {}.", parts.join("; "))
}

/// How the segments were tested, and the reminder that data does not give causes.
fn segment_method(tests: &SegmentTests, sentences: &mut Vec<String>) {
    sentences.push(format!(
        "Each of the {} segments was tested against its own baseline (an exact test of equal Poisson rates, Holm-corrected over all of them at {}); only a change of at least {} and at least {} is named.",
        tests.tested,
        percent(tests.alpha.0),
        percent(tests.min_change.0),
        format::fixed(tests.min_count.0, 0),
    ));
    sentences.push(
        if tests.significant.len() == 1 {
            "This segment carries a change in the data; it does not say why it happened."
        } else {
            "These segments carry a change in the data; they do not say why it happened."
        }
        .into(),
    );
}

/// A fixed fraction as a plain percentage: 0.01 → "1%", 0.3 → "30%".
pub(super) fn percent(fraction: f64) -> String {
    let shown = format::nonzero(fraction * 100.0, 0..=2).unwrap_or_else(|| "0".into());
    format!("{shown}%")
}

/// A p-value after correction, as said: "p < 0.001", "p = 0.004".
pub(super) fn p_text(p: f64) -> String {
    if p < 0.001 {
        "p < 0.001".into()
    } else {
        format!("p = {}", format::fixed(p, 3))
    }
}

/// The segments that moved beyond their own usual variation, by their relative change.
fn moved_chart(result: &QueryResult) -> Option<Value> {
    let tests = result.explain.as_ref()?.segment_tests.as_ref()?;
    if tests.significant.is_empty() {
        return None;
    }
    let values: Vec<Value> = tests
        .significant
        .iter()
        .map(|s| {
            let key: Vec<String> = s
                .dimensions
                .values()
                .map(|v| v.clone().unwrap_or_else(|| "(none)".into()))
                .collect();
            json!({"segment": key.join(" · "), "change": s.delta_pct})
        })
        .collect();
    Some(json!({
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "data": {"values": values},
        "mark": "bar",
        "encoding": {
            "y": {"field": "segment", "type": "nominal", "sort": null, "title": null},
            "x": {"field": "change", "type": "quantitative", "title": "Change against its own baseline", "axis": {"format": "%"}}
        }
    }))
}

/// The drivers by their share of the total change.
fn drivers_chart(result: &QueryResult) -> Option<Value> {
    (!result.drivers.is_empty()).then(|| {
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
    })
}

/// A baseline value: integer metrics averaged over weeks keep one decimal ("20.5").
pub(super) fn fmt_baseline(catalog: &Catalog, metric: &str, v: Option<Num>) -> String {
    let integer = catalog
        .metrics
        .get(metric)
        .is_some_and(|m| m.format == Format::Integer);
    match v {
        Some(Num(x)) if integer && x.fract() != 0.0 => format::fixed(x, 1),
        _ => fmt_value(catalog, metric, v),
    }
}
