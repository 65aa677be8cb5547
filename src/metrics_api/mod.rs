//! Metrics APIs (`[sources.NAME] kind = "metrics_api"`): which queries one can answer exactly,
//! the calls that answer them, the values those calls give, and the client that makes them
//! (timeout, circuit breaker, counters) — protocol in dsl-spec/metrics-api.md.
//!
//! A metric or overview plan is routed (`route`) only when every value the result holds —
//! each metric's period value, its compare value, each series point — is a point the API
//! serves or follows exactly from such points: no group-by, no filters, no small-group
//! suppression (the API cannot say how many entities a value covers), every series bucket a
//! whole bucket of a served grain, and each period value one whole bucket, or for a count or a
//! sum the sum of whole buckets, for active users of a window the mean of that window's
//! buckets, for a snapshot the bucket ending (or starting) with the period. Active users of a
//! window coarser than a day are served in series only at their own grain (Tally clips each
//! window to the query's period, not to the bucket). Anything else reads the warehouse.
//!
//! Invariants: `route` and `values` are pure; only `client.rs` does IO, and only to the
//! source's URL; a call's answer is used only after `protocol::validate` accepted it (every
//! expected date once, finite numbers, non-negative counts, the metric and grain asked for).

mod breaker;
mod client;
pub mod protocol;

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};

pub use breaker::{Breaker, BreakerState};
pub use client::{compare, Answered, Attempt, CheckGuard, Fallback, MetricsApis, Mismatch};
pub use protocol::{Grain, MetricSeries, Point};

use crate::catalog::{
    AggFunc, Catalog, MetricDef, MetricsApiSource, SnapshotAt, TimeBasis, Window,
};
use crate::plan::time::{granularity_window, window_key, windows};
use crate::plan::{DateRange, MetricPlan, Plan, PlanBody, MAX_POINTS};

/// One call of the protocol: a metric's points at a grain over whole buckets.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Call {
    pub metric: String,
    pub range: DateRange,
    pub grain: Window,
}

impl Call {
    /// The bucket starts the answer must hold, each exactly once.
    pub fn dates(&self) -> Vec<NaiveDate> {
        windows(&self.range, self.grain)
            .iter()
            .map(|b| b.start)
            .collect()
    }
}

/// How one value of the result follows from the calls' points.
#[derive(Debug, Clone, PartialEq)]
enum From {
    /// The point of call `0` dated `1`.
    Point(usize, NaiveDate),
    /// The sum of call `0`'s points (counts, sums).
    Sum(usize),
    /// The mean of call `0`'s points (active users over their own window).
    Mean(usize),
}

/// The calls that answer a plan and how each value of its result follows from them.
#[derive(Debug, Clone, PartialEq)]
pub struct Routed {
    pub source: String,
    pub calls: Vec<Call>,
    values: Vec<((String, DateRange), From)>,
}

/// Why a plan is not sent to a source (no note: the warehouse is simply the one that can).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotRouted {
    NotMetric,
    GroupedOrFiltered,
    Suppressed,
    NotServed(String),
    NotExact(String),
}

/// The first source (by name) that answers every value of `plan` exactly, and how.
pub fn route(plan: &Plan) -> Result<Routed, NotRouted> {
    let mut why = NotRouted::NotMetric;
    for source in plan.catalog.sources.values() {
        match route_to(plan, source) {
            Ok(r) => return Ok(r),
            Err(e) => why = e,
        }
    }
    Err(why)
}

/// Whether and how `source` answers every value of `plan` exactly.
pub fn route_to(plan: &Plan, source: &MetricsApiSource) -> Result<Routed, NotRouted> {
    let PlanBody::Metric(m) = &plan.body else {
        return Err(NotRouted::NotMetric);
    };
    if !m.group_by.is_empty() || !m.filters.is_empty() {
        return Err(NotRouted::GroupedOrFiltered);
    }
    if plan.min_group_size > 0 {
        return Err(NotRouted::Suppressed);
    }
    let catalog = &plan.catalog;
    let mut routed = Routed {
        source: source.name.clone(),
        calls: Vec::new(),
        values: Vec::new(),
    };
    for metric in &m.metrics {
        if !source.metrics.contains_key(metric) {
            return Err(NotRouted::NotServed(metric.clone()));
        }
        route_metric(catalog, source, m, metric, &mut routed)
            .ok_or_else(|| NotRouted::NotExact(metric.clone()))?;
    }
    Ok(routed)
}

impl Routed {
    fn call(&mut self, metric: &str, range: DateRange, grain: Window) -> usize {
        let call = Call {
            metric: metric.to_string(),
            range,
            grain,
        };
        match self.calls.iter().position(|c| *c == call) {
            Some(i) => i,
            None => {
                self.calls.push(call);
                self.calls.len() - 1
            }
        }
    }

    fn value(&mut self, metric: &str, range: DateRange, from: From) {
        let key = (metric.to_string(), range);
        if !self.values.iter().any(|(k, _)| *k == key) {
            self.values.push((key, from));
        }
    }

    /// Each value of the result, `(metric, range)` → value, from the calls' validated points
    /// (`points[i]` answers `calls[i]`, in its dates' order).
    pub fn values(
        &self,
        points: &[Vec<Option<f64>>],
    ) -> BTreeMap<(String, DateRange), Option<f64>> {
        let at = |call: usize, date: NaiveDate| {
            let i = self.calls[call].dates().iter().position(|d| *d == date)?;
            points[call][i]
        };
        self.values
            .iter()
            .map(|(key, from)| {
                let v = match from {
                    From::Point(c, d) => at(*c, *d),
                    From::Sum(c) => points[*c].iter().copied().sum::<Option<f64>>(),
                    From::Mean(c) => points[*c]
                        .iter()
                        .copied()
                        .sum::<Option<f64>>()
                        .map(|s| s / points[*c].len() as f64),
                };
                (key.clone(), v)
            })
            .collect()
    }
}

/// Whether `range` starts and ends on bucket boundaries of `grain`.
pub fn whole(range: &DateRange, grain: Window) -> bool {
    let after = range.end + Days::new(1);
    window_key(range.start, grain) == range.start && window_key(after, grain) == after
}

/// Whether a metric's value per bucket of `grain` in a series is the same number as the API's
/// value over that bucket: active users counted over a window coarser than a day are clipped
/// to the query's period in a series, so only at their own grain (or daily) are they the
/// bucket's.
fn series_exact(catalog: &Catalog, metric: &str, grain: Window) -> bool {
    catalog
        .aggregates_of(metric)
        .into_iter()
        .all(|(_, a)| match a.func {
            AggFunc::ActiveUsers { window, .. } => window == Window::Day || window == grain,
            _ => true,
        })
}

fn route_metric(
    catalog: &Catalog,
    source: &MetricsApiSource,
    m: &MetricPlan,
    metric: &str,
    routed: &mut Routed,
) -> Option<()> {
    let period = m.period.range;
    let compare = m.compare.map(|(_, r)| r);
    // The series: every bucket whole, at a grain served and exact for the metric.
    if let Some(g) = m.granularity {
        let grain = granularity_window(g);
        let serves = source.serves(metric, grain) && series_exact(catalog, metric, grain);
        let mut series = vec![(period, &m.buckets)];
        if let (Some(r), false) = (compare, m.previous_buckets.is_empty()) {
            series.push((r, &m.previous_buckets));
        }
        for (range, buckets) in series {
            if !serves || !whole(&range, grain) {
                return None;
            }
            let c = routed.call(metric, range, grain);
            for b in buckets {
                routed.value(metric, *b, From::Point(c, b.start));
            }
        }
    }
    for range in std::iter::once(period).chain(compare) {
        let from = period_value(catalog, source, metric, range, routed)?;
        routed.value(metric, range, from);
    }
    Some(())
}

/// How `metric`'s value over `range` follows from the API's points, if it does exactly.
fn period_value(
    catalog: &Catalog,
    source: &MetricsApiSource,
    metric: &str,
    range: DateRange,
    routed: &mut Routed,
) -> Option<From> {
    let grains = source.metrics.get(metric)?.clone();
    // One whole bucket of a served grain: its point is the value.
    for &g in &grains {
        if whole(&range, g) && windows(&range, g).len() == 1 {
            let c = routed.call(metric, range, g);
            return Some(From::Point(c, range.start));
        }
    }
    let MetricDef::Aggregate(agg) = &catalog.metrics.get(metric)?.def else {
        return None;
    };
    // The fewest whole buckets that tile the range, for what adds up or averages exactly (no
    // call asks for more points than a series may have).
    let fits = |g: Window| whole(&range, g) && windows(&range, g).len() <= MAX_POINTS;
    let tiling = grains.iter().rev().copied().find(|g| fits(*g));
    match (&agg.time, &agg.func) {
        (TimeBasis::Column(_), AggFunc::Count | AggFunc::Sum(_)) => {
            let g = tiling?;
            Some(From::Sum(routed.call(metric, range, g)))
        }
        (TimeBasis::Column(_), AggFunc::ActiveUsers { window, .. }) => {
            let g = grains.iter().copied().find(|g| g == window)?;
            fits(g).then(|| From::Mean(routed.call(metric, range, g)))
        }
        (TimeBasis::Snapshot { at, .. }, _) => {
            let g = tiling?;
            let c = routed.call(metric, range, g);
            let buckets = windows(&range, g);
            let bucket = match at {
                SnapshotAt::Start => buckets.first()?,
                SnapshotAt::End => buckets.last()?,
            };
            Some(From::Point(c, bucket.start))
        }
        _ => None,
    }
}

/// Whether `metric`'s values are counts (non-negative, never undefined).
pub fn counts(catalog: &Catalog, metric: &str) -> bool {
    match catalog.metrics.get(metric).map(|m| &m.def) {
        Some(MetricDef::Aggregate(a)) => matches!(
            a.func,
            AggFunc::Count | AggFunc::CountDistinct(_) | AggFunc::ActiveUsers { .. }
        ),
        _ => false,
    }
}

/// Whether `metric`'s value may be undefined (`null`: an average of nothing, a ratio over zero).
pub fn may_be_undefined(catalog: &Catalog, metric: &str) -> bool {
    match catalog.metrics.get(metric).map(|m| &m.def) {
        Some(MetricDef::Aggregate(a)) => matches!(a.func, AggFunc::Avg(_) | AggFunc::Median(_)),
        Some(MetricDef::Ratio { .. } | MetricDef::Derived { .. }) => true,
        None => false,
    }
}

#[cfg(test)]
mod tests;
