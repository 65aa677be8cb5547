//! The anomaly scan: every complete day of the period, per metric and segment (the total, each
//! driver, each pair), against the same weekday of the `BASELINE_WEEKS` weeks before.
//!
//! The method, stated in `data.anomalies.method`: a day is flagged when its count lies outside
//! its *expected range*, the values that pass at least one of three guards around the median m
//! of the four same-weekday counts — (1) an exact test that the day and four days at m share
//! one Poisson rate (given the sum n = x + 4m, x is Binomial(n, 1/5): `significance.rs`) has a
//! two-sided p-value above `ANOMALY_ALPHA` over the number of tests (Bonferroni over every
//! metric, segment and day tested, so the chance that a scan of unchanged data flags anything is
//! at most 1%); (2) the count is within `SEGMENT_MIN_CHANGE` of m or `SEGMENT_MIN_COUNT`
//! counted things; (3) it lies within `MAD_BAND` scaled median absolute deviations of m (the
//! four days' own spread, robust to one odd week). The median keeps one odd week in the
//! baseline (last week's anomaly) from moving the range. A segment-day is tested only when its
//! day and its four baseline days are all there (not before the data starts) and none is
//! withheld for `min_group_size`. A single driver's segment gives way to a flagged pair inside
//! it carrying at least `CONCENTRATED` of its change, as in `explain`. Deterministic: ranked by
//! p-value, then by the size of the change, then metric, segment and day.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::explain::{CONCENTRATED, SEGMENT_MIN_CHANGE, SEGMENT_MIN_COUNT};
use super::significance::binomial_two_sided;
use super::{too_few, Key, Num, PeriodOut, QueryResult};
use crate::exec::Rows;
use crate::plan::{AnomaliesPlan, UnitKey, BASELINE_WEEKS};

/// The family-wise level of a scan: the chance that it flags anything in unchanged data.
pub const ANOMALY_ALPHA: f64 = 0.01;
/// Guard (3): how many scaled median absolute deviations (1.4826 × MAD, the normal's σ) of the
/// four baseline days a value may lie from their median unflagged.
pub const MAD_BAND: f64 = 3.0;
/// The most anomalies a response lists (most severe first); `flagged` counts them all.
pub const MAX_ANOMALIES: usize = 20;

/// The `data.anomalies` object.
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct AnomaliesOut {
    /// The days tested: the period's complete days (null when it has none yet).
    pub days: Option<PeriodOut>,
    /// The metrics scanned.
    pub metrics: Vec<String>,
    /// Each day is compared with the same weekday this many weeks before it.
    pub baseline_weeks: u64,
    /// The test, in words.
    pub method: String,
    /// Segment-days tested: the family the Bonferroni correction is over.
    pub tested: usize,
    /// The family-wise level.
    pub alpha: Num,
    /// The least relative change (of the median) a flagged day has.
    pub min_change: Num,
    /// The least absolute change a flagged day has.
    pub min_count: Num,
    /// Segment-days not tested because the day or a baseline day covers fewer distinct
    /// entities than the role's `min_group_size`.
    pub withheld: usize,
    /// Anomalies found (after a single driver's segment gives way to its pair), before the cut
    /// to `MAX_ANOMALIES`.
    pub flagged: usize,
    /// The anomalies, most severe first.
    pub anomalies: Vec<Anomaly>,
}

/// One metric's value on one day, in one segment, outside its expected range.
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct Anomaly {
    pub metric: String,
    /// The segment (empty: the metric's total).
    pub dimensions: BTreeMap<String, Option<String>>,
    pub day: String,
    pub value: Num,
    /// The same weekday 1, 2, 3 and 4 weeks before.
    pub same_weekday: Vec<Num>,
    /// Their median.
    pub baseline: Num,
    /// The lowest and highest value that would not have been flagged.
    pub expected: (Num, Num),
    /// (value − baseline) / baseline; null when the baseline is 0.
    pub delta_pct: Option<Num>,
    /// `up` or `down`.
    pub direction: String,
    /// Two-sided p-value of the Poisson test against four days at the baseline.
    pub p_value: Num,
}

/// The method as `data.anomalies.method` states it.
fn method(tested: usize) -> String {
    format!(
        "Each day against the same weekday of the {BASELINE_WEEKS} weeks before (their median): \
         flagged when an exact Poisson test gives a two-sided p-value of at most {ANOMALY_ALPHA} \
         / {tested} (Bonferroni over the {tested} segment-days tested), the value differs from \
         the median by at least {:.0}% and at least {SEGMENT_MIN_COUNT}, and it lies more than \
         {MAD_BAND} scaled median absolute deviations from the median.",
        SEGMENT_MIN_CHANGE * 100.0
    )
}

/// One unit's daily values: segment key → day → (value, distinct entities).
type Daily = BTreeMap<Key, BTreeMap<NaiveDate, f64>>;

fn daily(rows: &Rows, groups: usize) -> Daily {
    let mut out = Daily::new();
    for row in &rows.rows {
        let Some(day) = row[0].as_text().and_then(|t| t.get(..10)?.parse().ok()) else {
            continue;
        };
        let key: Key = row[1..1 + groups]
            .iter()
            .map(|c| c.as_text().map(String::from))
            .collect();
        let v = row[1 + groups].as_f64().unwrap_or(0.0);
        out.entry(key).or_default().insert(day, v);
    }
    out
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// The p-value of `x` against `weeks` days at `m` each (their sum rounded to a count).
fn p_value(x: u64, m: f64, weeks: u64) -> f64 {
    let y = (m * weeks as f64).round() as u64;
    binomial_two_sided(x + y, x, 1.0 / (weeks as f64 + 1.0))
}

/// The counts around `m` that pass the Poisson test at `level`: [lo, hi].
fn poisson_range(m: f64, level: f64) -> (u64, u64) {
    let passes = |x: u64| p_value(x, m, BASELINE_WEEKS) > level;
    let centre = m.round() as u64;
    // lo: the least x ≤ centre that passes (p rises towards the centre).
    let (mut a, mut b) = (0u64, centre);
    if passes(0) {
        b = 0;
    }
    while a + 1 < b {
        let mid = (a + b) / 2;
        if passes(mid) {
            b = mid;
        } else {
            a = mid;
        }
    }
    let lo = b;
    // hi: the greatest x ≥ centre that passes (p falls away from the centre).
    let mut top = centre.max(1) * 2 + 16;
    while passes(top) {
        top *= 2;
    }
    let (mut a, mut b) = (centre, top);
    while a + 1 < b {
        let mid = (a + b) / 2;
        if passes(mid) {
            a = mid;
        } else {
            b = mid;
        }
    }
    (lo, a)
}

/// The values that pass guard (2) or (3), the ones needing no test: within the minimum change
/// of m, or within the MAD band. Every value here is unflagged whatever the Poisson test says.
fn guard_range(m: f64, same: &[f64]) -> (f64, f64) {
    let margin = (SEGMENT_MIN_CHANGE * m).max(SEGMENT_MIN_COUNT);
    let deviations: Vec<f64> = same.iter().map(|v| (v - m).abs()).collect();
    let spread = MAD_BAND * 1.4826 * median(&deviations);
    // Counts are whole: the least whole count above m − margin, the greatest below m + margin;
    // the spread's band is closed.
    let lo = ((m - margin).floor() + 1.0).min((m - spread).ceil());
    let hi = ((m + margin).ceil() - 1.0).max((m + spread).floor());
    (lo, hi)
}

/// The values that would not be flagged: any passing one of the three guards.
fn expected_range(m: f64, same: &[f64], level: f64) -> (f64, f64) {
    let (plo, phi) = poisson_range(m, level);
    let (glo, ghi) = guard_range(m, same);
    ((plo as f64).min(glo).max(0.0), (phi as f64).max(ghi))
}

/// A segment-day to test.
struct Candidate {
    metric: usize,
    grouping: usize,
    key: Key,
    day: NaiveDate,
    value: f64,
    same: Vec<f64>,
}

pub(super) fn anomalies(plan: &AnomaliesPlan, rows: &[Rows], min_group_size: u32) -> QueryResult {
    let mut candidates = Vec::new();
    let mut withheld = 0usize;
    let mut any_rows = false;
    for (mi, m) in plan.metrics.iter().enumerate() {
        for (gi, g) in m.groupings.iter().enumerate() {
            let Some(vi) = plan.unit_index(&UnitKey::value(&m.name), g) else {
                continue;
            };
            let values = daily(&rows[vi], g.len());
            let entities = plan
                .unit_index(&UnitKey::entities(&m.name), g)
                .map(|i| daily(&rows[i], g.len()));
            any_rows |= !values.is_empty();
            for (key, series) in &values {
                let small = |d: NaiveDate| {
                    entities.as_ref().is_some_and(|e| {
                        let n = e.get(key).and_then(|s| s.get(&d)).copied().unwrap_or(0.0);
                        too_few(n, min_group_size)
                    })
                };
                for &day in &plan.days {
                    let baseline = AnomaliesPlan::baseline_days(day);
                    if baseline.iter().any(|d| *d < plan.series.start) {
                        continue;
                    }
                    let at = |d: NaiveDate| series.get(&d).copied().unwrap_or(0.0);
                    let value = at(day);
                    let same: Vec<f64> = baseline.iter().map(|d| at(*d)).collect();
                    if value == 0.0 && same.iter().all(|v| *v == 0.0) {
                        continue;
                    }
                    if small(day) || baseline.iter().any(|d| small(*d)) {
                        withheld += 1;
                        continue;
                    }
                    candidates.push(Candidate {
                        metric: mi,
                        grouping: gi,
                        key: key.clone(),
                        day,
                        value,
                        same,
                    });
                }
            }
        }
    }
    let tested = candidates.len();
    let level = ANOMALY_ALPHA / tested.max(1) as f64;
    let mut flagged: Vec<(Candidate, Anomaly)> = Vec::new();
    for c in candidates {
        let m = median(&c.same);
        // Most segment-days pass the cheap guards: the Poisson range's searches are spent only
        // on the rest (the expected range is the same either way).
        let (glo, ghi) = guard_range(m, &c.same);
        if c.value >= glo && c.value <= ghi {
            continue;
        }
        let (lo, hi) = expected_range(m, &c.same, level);
        if c.value >= lo && c.value <= hi {
            continue;
        }
        let metric = &plan.metrics[c.metric];
        let grouping = &metric.groupings[c.grouping];
        let anomaly = Anomaly {
            metric: metric.name.clone(),
            dimensions: grouping
                .iter()
                .cloned()
                .zip(c.key.iter().cloned())
                .collect(),
            day: c.day.to_string(),
            value: Num(c.value),
            same_weekday: c.same.iter().map(|v| Num(*v)).collect(),
            baseline: Num(m),
            expected: (Num(lo), Num(hi)),
            delta_pct: (m != 0.0).then(|| Num((c.value - m) / m)),
            direction: if c.value > m { "up" } else { "down" }.into(),
            p_value: Num(p_value(c.value.round() as u64, m, BASELINE_WEEKS)),
        };
        flagged.push((c, anomaly));
    }
    // A single driver's segment gives way to a flagged pair inside it that carries most of its
    // change (the same day, metric and direction).
    let gives_way = |single: &(Candidate, Anomaly)| {
        let (c, a) = single;
        a.dimensions.len() == 1
            && flagged.iter().any(|(pc, pa)| {
                pa.dimensions.len() == 2
                    && pc.metric == c.metric
                    && pc.day == c.day
                    && pa.direction == a.direction
                    && a.dimensions
                        .iter()
                        .all(|(d, v)| pa.dimensions.get(d) == Some(v))
                    && (pc.value - pa.baseline.0) / (c.value - a.baseline.0) >= CONCENTRATED
            })
    };
    let keep: Vec<bool> = flagged.iter().map(|f| !gives_way(f)).collect();
    let mut kept: Vec<(Candidate, Anomaly)> = flagged
        .into_iter()
        .zip(keep)
        .filter_map(|(f, k)| k.then_some(f))
        .collect();
    kept.sort_by(|(ca, a), (cb, b)| {
        a.p_value
            .0
            .total_cmp(&b.p_value.0)
            .then_with(|| {
                let size = |x: &Anomaly| x.delta_pct.map_or(f64::INFINITY, |d| d.0.abs());
                size(b).total_cmp(&size(a))
            })
            .then(ca.metric.cmp(&cb.metric))
            .then(ca.grouping.cmp(&cb.grouping))
            .then(ca.key.cmp(&cb.key))
            .then(ca.day.cmp(&cb.day))
    });
    let count = kept.len();
    let anomalies: Vec<Anomaly> = kept
        .into_iter()
        .take(MAX_ANOMALIES)
        .map(|(_, a)| a)
        .collect();
    let days = match (plan.days.first(), plan.days.last()) {
        (Some(a), Some(b)) => Some(PeriodOut {
            start: a.to_string(),
            end: b.to_string(),
        }),
        _ => None,
    };
    QueryResult {
        period: Some(plan.period.range.into()),
        anomalies: Some(AnomaliesOut {
            days,
            metrics: plan.metrics.iter().map(|m| m.name.clone()).collect(),
            baseline_weeks: BASELINE_WEEKS,
            method: method(tested),
            tested,
            alpha: Num(ANOMALY_ALPHA),
            min_change: Num(SEGMENT_MIN_CHANGE),
            min_count: Num(SEGMENT_MIN_COUNT),
            withheld,
            flagged: count,
            anomalies,
        }),
        suppressed_groups: withheld,
        truncated: rows.iter().any(|r| r.truncated),
        empty: !any_rows,
        ..QueryResult::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_four_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&[28.0, 5.0, 30.0, 27.0]), 27.5);
        assert_eq!(median(&[3.0]), 3.0);
    }

    #[test]
    fn the_expected_range_holds_the_median_and_the_baseline_days() {
        let level = ANOMALY_ALPHA / 500.0;
        let same = [27.0, 28.0, 29.0, 30.0];
        let (lo, hi) = expected_range(28.5, &same, level);
        assert!(lo <= 27.0 && hi >= 30.0, "{lo}..{hi}");
        // The planted drop: 5 signups against 27–30 is far outside.
        assert!(5.0 < lo, "{lo}");
        // A value just inside passes the Poisson test; just outside does not.
        let (plo, phi) = poisson_range(28.5, level);
        assert!(p_value(plo, 28.5, 4) > level && p_value(plo - 1, 28.5, 4) <= level);
        assert!(p_value(phi, 28.5, 4) > level && p_value(phi + 1, 28.5, 4) <= level);
        // Small counts: the absolute minimum keeps 0 against 2, 3, 3, 4 unflagged.
        let (lo, _) = expected_range(3.0, &[2.0, 3.0, 3.0, 4.0], level);
        assert_eq!(lo, 0.0);
        // An odd baseline week (last week's drop) barely moves the range: a second drop to 5
        // is flagged again.
        let odd = [5.0, 28.0, 29.0, 30.0];
        let (lo_odd, hi_odd) = expected_range(median(&odd), &odd, level);
        assert!(lo_odd > 5.0 && lo_odd >= lo, "{lo_odd}..{hi_odd} vs {lo}");
        // A segment that swings widely week to week keeps a wide range.
        let wide = [10.0, 30.0, 12.0, 28.0];
        let (lo_w, hi_w) = expected_range(median(&wide), &wide, level);
        assert!(lo_w == 0.0 && hi_w >= 60.0, "{lo_w}..{hi_w}");
    }
}
