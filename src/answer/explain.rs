//! An explain answer: the metric against its baseline, the segments that carry the change
//! (with mix and rate for ratios), the day it started, or that it is within usual variation.

use serde_json::{json, Value};

use super::change::{change, Direction};
use super::format;
use super::{
    fmt_value, join_and, label, metric_format, period_text, scoped, sources, withheld_sentence,
    Answer,
};
use crate::catalog::{Catalog, Format};
use crate::plan::ExplainPlan;
use crate::result::{Num, QueryResult};

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
