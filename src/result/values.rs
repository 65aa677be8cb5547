//! A metric plan's result from values read elsewhere (a Metrics API): the same summary rows,
//! series points and trend as `assemble` makes from rows, for an ungrouped, unfiltered plan.

use std::collections::BTreeMap;

use super::{delta, num, trend, QueryResult, SeriesPoint, SummaryRow};
use crate::plan::{DateRange, Plan, PlanBody};

/// The result of `plan` (a metric plan without group-by) whose value of each metric over each
/// range it needs — the period, the compare period, each series bucket — is `values[(metric,
/// range)]` (`None`: undefined). `None` when `plan` is not such a plan.
pub fn from_values(
    plan: &Plan,
    values: &BTreeMap<(String, DateRange), Option<f64>>,
) -> Option<QueryResult> {
    let PlanBody::Metric(m) = &plan.body else {
        return None;
    };
    if !m.group_by.is_empty() {
        return None;
    }
    let value = |metric: &str, range: DateRange| {
        values.get(&(metric.to_string(), range)).copied().flatten()
    };
    let previous = m.compare.map(|(_, r)| r);
    let summary = m
        .metrics
        .iter()
        .map(|metric| {
            let v = value(metric, m.period.range);
            let p = previous.and_then(|r| value(metric, r));
            let (d, pct) = delta(v, p);
            SummaryRow {
                metric: metric.clone(),
                value: num(v),
                suppressed: false,
                previous: if previous.is_some() { num(p) } else { None },
                delta: d,
                delta_pct: pct,
            }
        })
        .collect();
    let mut timeseries = Vec::new();
    if m.granularity.is_some() {
        for (i, b) in m.buckets.iter().enumerate() {
            let before = m.previous_buckets.get(i);
            for metric in &m.metrics {
                timeseries.push(SeriesPoint {
                    date: b.start.to_string(),
                    metric: metric.clone(),
                    value: num(value(metric, *b)),
                    suppressed: false,
                    dimensions: None,
                    previous_date: before.map(|p| p.start.to_string()),
                    previous: before.and_then(|p| num(value(metric, *p))),
                });
            }
        }
    }
    let mut r = QueryResult {
        period: Some(m.period.range.into()),
        previous_period: previous.map(Into::into),
        summary,
        timeseries,
        empty: values.values().all(|v| v.is_none_or(|v| v == 0.0)),
        ..QueryResult::default()
    };
    if m.asked == crate::plan::Asked::Metrics {
        r.trend = trend::trend(m, &r.timeseries, plan.today);
    }
    Some(r)
}
