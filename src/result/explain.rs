//! `explain`: the change of a metric against its baseline, decomposed over driver segments.
//!
//! Additive metrics (counts, distinct counts, sums): a segment's contribution is its own change,
//! and its share is that over the total change. Ratio metrics N/D: with segment weights
//! w = D_s/D and rates r = N_s/D_s, the change splits exactly into a mix effect
//! (w1 − w0)·(r0 − R0) and a rate effect w1·(r1 − r0) per segment (they add up to R1 − R0 over
//! the segments of one dimension). Segments are ranked by share of the change, in its direction;
//! a single-dimension segment gives way to one of its pairs when that pair carries at least
//! `CONCENTRATED` of its change (the more specific segment says more). Ties break on the number
//! of dimensions, then the key, so the same data gives the same ranking.
//!
//! Counts are also tested segment by segment against their own baseline (`SegmentTests`), so a
//! segment that moved far beyond its usual variation is named even when the total did not:
//! an exact two-sided test that the period and the baseline ranges share one Poisson rate
//! (`significance.rs`), Holm's correction over every segment tested at a family-wise level of
//! `SEGMENT_ALPHA`, and a minimum effect (`SEGMENT_MIN_CHANGE` relative and
//! `SEGMENT_MIN_COUNT` absolute, outside the segment's own range over the baseline's weeks) so
//! that a large segment's ordinary wobble is never singled out.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::significance::{binomial_two_sided, holm};
use super::{num, too_few, Num, PeriodOut, QueryResult, SummaryRow};
use crate::catalog::{Catalog, MetricDef};
use crate::exec::Rows;
use crate::plan::{DateRange, ExplainPlan, Over, UnitKey};

/// A pair carrying this share of its parent's change replaces the parent in the ranking.
pub const CONCENTRATED: f64 = 0.8;
/// The most driver segments returned.
pub const MAX_DRIVERS: usize = 5;
/// The family-wise level of the segment tests: the chance that any segment of an unchanged
/// metric is named is at most 1%.
pub const SEGMENT_ALPHA: f64 = 0.01;
/// A named segment moved by at least this share of its baseline…
pub const SEGMENT_MIN_CHANGE: f64 = 0.3;
/// …and by at least this many (counted things: signups, events, users).
pub const SEGMENT_MIN_COUNT: f64 = 5.0;

/// One segment of the drivers and its part in the change.
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct Driver {
    pub dimensions: BTreeMap<String, Option<String>>,
    pub value: Option<Num>,
    pub baseline: Option<Num>,
    /// The segment's contribution to the total change (for ratios: mix + rate).
    pub contribution: Option<Num>,
    /// Contribution over the total change.
    pub share: Option<Num>,
    /// Ratio metrics: the part due to the segment's weight changing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mix: Option<Num>,
    /// Ratio metrics: the part due to the segment's own rate changing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<Num>,
}

/// The baseline and the dating of the change.
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct ExplainInfo {
    pub baseline: String,
    /// The ranges whose mean is the baseline.
    pub baseline_periods: Vec<PeriodOut>,
    /// The driver dimensions decomposed (and their pairs).
    pub drivers: Vec<String>,
    /// The first day of the run of days, ending in the period, that moved like the period did
    /// (at least half its relative change, in its direction, against each day's same-weekday
    /// mean of the 4 weeks before); null when no day of the period did.
    pub change_started: Option<String>,
    /// Segments (singles and pairs) with a change, before ranking and the cut to the top ones.
    pub segments: usize,
    /// The lowest and highest value over the baseline's weeks (same_weekday_avg_4w).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usual_range: Option<(Num, Num)>,
    /// Counts: twice the square root of the baseline; proportions (a ratio of counts between 0
    /// and 1): twice its binomial standard error over the period's denominator. A change this
    /// size comes from chance alone about one time in twenty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chance_variation: Option<Num>,
    /// The value lies within `usual_range` or within `chance_variation` of the baseline: the
    /// total's change is no larger than the usual variation, so it is not decomposed (no
    /// `drivers`); `segment_tests` may still name a segment that moved beyond its own.
    pub within_usual_range: bool,
    /// Each segment (single and pair) tested against its own baseline. Null when the metric is
    /// not a count (ratios, sums, averages): their segments are not tested one by one.
    pub segment_tests: Option<SegmentTests>,
}

/// How the segments were tested one by one, and those that moved beyond chance.
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct SegmentTests {
    /// Segments tested (shown, with a count on the period or the baseline): the family Holm's
    /// correction is over.
    pub tested: usize,
    /// The family-wise level: a segment is significant when its Holm-adjusted p-value is at
    /// most this.
    pub alpha: Num,
    /// The least relative change (of the baseline mean) a named segment has.
    pub min_change: Num,
    /// The least absolute change a named segment has.
    pub min_count: Num,
    /// Segments significant, with at least the minimum change and (over several baseline
    /// weeks) outside their own range; a single dimension's segment gives way to a pair in it
    /// that is named too and carries at least 80% of its change. Smallest adjusted p-value
    /// first, at most 5.
    pub significant: Vec<SegmentChange>,
}

/// One segment whose count moved beyond its own usual variation.
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct SegmentChange {
    pub dimensions: BTreeMap<String, Option<String>>,
    /// The count on the period.
    pub value: Num,
    /// The mean over the baseline ranges.
    pub baseline: Num,
    /// The lowest and highest count over the baseline ranges (several ranges only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usual_range: Option<(Num, Num)>,
    /// (value − baseline) / baseline; null when the baseline is 0.
    pub delta_pct: Option<Num>,
    /// Two-sided p-value of the exact test that the period and the baseline ranges share one
    /// Poisson rate (given their sum, the period's count is Binomial(n, 1 / (ranges + 1))).
    pub p_value: Num,
    /// `p_value` after Holm's correction over the `tested` segments.
    pub p_adjusted: Num,
}

type Key = Vec<Option<String>>;

/// One aggregate's values per grouping and range: key → value.
struct Values<'a> {
    plan: &'a ExplainPlan,
    rows: &'a [Rows],
}

impl Values<'_> {
    fn get(&self, key: &UnitKey, range: &DateRange, grouping: &[String]) -> BTreeMap<Key, f64> {
        let Some(i) = self.plan.unit_index(key, range, grouping, Over::Range) else {
            return BTreeMap::new();
        };
        let n = grouping.len();
        self.rows[i]
            .rows
            .iter()
            .map(|row| {
                let key: Key = row[..n]
                    .iter()
                    .map(|c| c.as_text().map(String::from))
                    .collect();
                (key, row[n].as_f64().unwrap_or(0.0))
            })
            .collect()
    }

    /// The mean over the baseline ranges.
    fn baseline(&self, key: &UnitKey, grouping: &[String]) -> BTreeMap<Key, f64> {
        let mut sum: BTreeMap<Key, f64> = BTreeMap::new();
        for r in &self.plan.baseline_ranges {
            for (k, v) in self.get(key, r, grouping) {
                *sum.entry(k).or_default() += v;
            }
        }
        let n = self.plan.baseline_ranges.len() as f64;
        sum.into_iter().map(|(k, v)| (k, v / n)).collect()
    }

    fn daily(&self, key: &UnitKey) -> BTreeMap<String, f64> {
        let Some(i) = self
            .plan
            .unit_index(key, &self.plan.series, &[], Over::Days)
        else {
            return BTreeMap::new();
        };
        self.rows[i]
            .rows
            .iter()
            .filter_map(|row| {
                Some((
                    row[0].as_text()?.to_string(),
                    row[1].as_f64().unwrap_or(0.0),
                ))
            })
            .collect()
    }
}

/// The metric as (numerator, denominator) aggregates: a plain metric is its own numerator.
fn parts(catalog: &Catalog, metric: &str) -> (String, Option<String>) {
    match catalog.metrics.get(metric).map(|m| &m.def) {
        Some(MetricDef::Ratio {
            numerator,
            denominator,
        }) => (numerator.clone(), Some(denominator.clone())),
        _ => (metric.to_string(), None),
    }
}

fn ratio(n: f64, d: f64) -> Option<f64> {
    (d != 0.0).then(|| n / d)
}

pub(super) fn explain(
    plan: &ExplainPlan,
    rows: &[Rows],
    catalog: &Catalog,
    min_group_size: u32,
) -> QueryResult {
    let values = Values { plan, rows };
    let (num_agg, den_agg) = parts(catalog, &plan.metric);
    let num_key = UnitKey::value(&num_agg);
    let den_key = den_agg.as_deref().map(UnitKey::value);
    let current = plan.period.range;
    let total = |m: &BTreeMap<Key, f64>| m.get(&Vec::new()).copied().unwrap_or(0.0);

    // The totals: value, baseline, change.
    let (n1, n0) = (
        total(&values.get(&num_key, &current, &[])),
        total(&values.baseline(&num_key, &[])),
    );
    let (d1, d0) = match &den_key {
        Some(d) => (
            total(&values.get(d, &current, &[])),
            total(&values.baseline(d, &[])),
        ),
        None => (1.0, 1.0),
    };
    let (v1, v0) = (ratio(n1, d1), ratio(n0, d0));
    let change = match (v1, v0) {
        (Some(a), Some(b)) => Some(a - b),
        _ => None,
    };
    let delta_pct = match (v1, v0) {
        (Some(a), Some(b)) if b != 0.0 => Some((a - b) / b),
        _ => None,
    };

    // The spread of the baseline's own weeks: a value inside it is no change to explain.
    let usual_range = (plan.baseline_ranges.len() > 1)
        .then(|| {
            let per_range: Vec<f64> = plan
                .baseline_ranges
                .iter()
                .filter_map(|r| {
                    let n = total(&values.get(&num_key, r, &[]));
                    match &den_key {
                        Some(d) => ratio(n, total(&values.get(d, r, &[]))),
                        None => Some(n),
                    }
                })
                .collect();
            let lo = per_range.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = per_range.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (lo.is_finite() && hi.is_finite()).then_some((lo, hi))
        })
        .flatten();
    let counts = den_agg.is_none()
        && matches!(
            catalog.metrics.get(&num_agg).map(|m| &m.def),
            Some(MetricDef::Aggregate(a))
                if matches!(a.func, crate::catalog::AggFunc::Count | crate::catalog::AggFunc::CountDistinct(_))
        );
    let counted = |name: &str| {
        matches!(
            catalog.metrics.get(name).map(|m| &m.def),
            Some(MetricDef::Aggregate(a))
                if matches!(a.func, crate::catalog::AggFunc::Count | crate::catalog::AggFunc::CountDistinct(_))
        )
    };
    let proportion = den_agg
        .as_deref()
        .is_some_and(|d| counted(&num_agg) && counted(d))
        && v0.is_some_and(|r| (0.0..=1.0).contains(&r))
        && d1 > 0.0;
    let chance = if proportion {
        v0.map(|r| 2.0 * (r * (1.0 - r) / d1).sqrt())
    } else {
        v0.filter(|b| counts && *b > 0.0).map(|b| 2.0 * b.sqrt())
    };
    let within_usual_range = match v1 {
        Some(v) => {
            matches!(usual_range, Some((lo, hi)) if v >= lo && v <= hi)
                || matches!((chance, v0), (Some(c), Some(b)) if (v - b).abs() <= c)
        }
        None => false,
    };

    // Every segment of every grouping, with its contribution.
    let mut suppressed = 0;
    let mut segments: Vec<(Vec<String>, Key, Driver, f64)> = Vec::new();
    let mut tested: Vec<Tested> = Vec::new();
    for grouping in &plan.groupings {
        let now_n = values.get(&num_key, &current, grouping);
        let base_n = values.baseline(&num_key, grouping);
        let (now_d, base_d) = match &den_key {
            Some(d) => (
                values.get(d, &current, grouping),
                values.baseline(d, grouping),
            ),
            None => (BTreeMap::new(), BTreeMap::new()),
        };
        // Counts are tested segment by segment: each baseline range's count.
        let weeks_n: Vec<BTreeMap<Key, f64>> = if counts {
            plan.baseline_ranges
                .iter()
                .map(|r| values.get(&num_key, r, grouping))
                .collect()
        } else {
            Vec::new()
        };
        let coverage_now = values.get(&UnitKey::entities(&num_agg), &current, grouping);
        let coverage_base = values.baseline(&UnitKey::entities(&num_agg), grouping);
        let keys: BTreeSet<Key> = now_n
            .keys()
            .chain(base_n.keys())
            .chain(now_d.keys())
            .chain(base_d.keys())
            .cloned()
            .collect();
        for key in keys {
            if min_group_size > 0 {
                let now_entities = coverage_now.get(&key).copied().unwrap_or(0.0);
                let base_entities = coverage_base.get(&key).copied().unwrap_or(0.0);
                if too_few(now_entities, min_group_size) || too_few(base_entities, min_group_size) {
                    suppressed += 1;
                    continue;
                }
            }
            let get = |m: &BTreeMap<Key, f64>| m.get(&key).copied().unwrap_or(0.0);
            let (sn1, sn0) = (get(&now_n), get(&base_n));
            if counts {
                tested.push(Tested {
                    grouping: grouping.clone(),
                    key: key.clone(),
                    value: sn1,
                    weeks: weeks_n.iter().map(get).collect(),
                });
            }
            let driver = if den_agg.is_some() {
                let (sd1, sd0) = (get(&now_d), get(&base_d));
                let (r1_all, r0_all) = (v1.unwrap_or(0.0), v0.unwrap_or(0.0));
                let (w1, w0) = (ratio(sd1, d1).unwrap_or(0.0), ratio(sd0, d0).unwrap_or(0.0));
                let r1 = ratio(sn1, sd1).unwrap_or(r1_all);
                let r0 = ratio(sn0, sd0).unwrap_or(r0_all);
                let mix = (w1 - w0) * (r0 - r0_all);
                let rate = w1 * (r1 - r0);
                Driver {
                    dimensions: BTreeMap::new(),
                    value: num(ratio(sn1, sd1)),
                    baseline: num(ratio(sn0, sd0)),
                    contribution: num(Some(mix + rate)),
                    share: None,
                    mix: num(Some(mix)),
                    rate: num(Some(rate)),
                }
            } else {
                Driver {
                    dimensions: BTreeMap::new(),
                    value: num(Some(sn1)),
                    baseline: num(Some(sn0)),
                    contribution: num(Some(sn1 - sn0)),
                    share: None,
                    mix: None,
                    rate: None,
                }
            };
            let contribution = driver.contribution.map_or(0.0, |c| c.0);
            let mut driver = driver;
            driver.dimensions = grouping.iter().cloned().zip(key.iter().cloned()).collect();
            segments.push((grouping.clone(), key, driver, contribution));
        }
    }
    let with_change = segments.iter().filter(|s| s.3 != 0.0).count();

    // Rank by share of the change, in its direction; specific pairs replace concentrated parents.
    let mut drivers = Vec::new();
    if let Some(total_change) = change.filter(|c| *c != 0.0 && !within_usual_range) {
        for s in &mut segments {
            s.2.share = num(Some(s.3 / total_change));
        }
        let share = |s: &(Vec<String>, Key, Driver, f64)| s.3 / total_change;
        let contains = |parent: &(Vec<String>, Key, Driver, f64),
                        child: &(Vec<String>, Key, Driver, f64)| {
            child.0.len() == 2
                && parent.0.len() == 1
                && child
                    .0
                    .iter()
                    .zip(&child.1)
                    .any(|(d, v)| d == &parent.0[0] && v == &parent.1[0])
        };
        let mut ranked: Vec<&(Vec<String>, Key, Driver, f64)> = segments
            .iter()
            .filter(|s| share(s) > 0.0)
            .filter(|parent| {
                !segments.iter().any(|child| {
                    contains(parent, child) && parent.3 != 0.0 && child.3 / parent.3 >= CONCENTRATED
                })
            })
            .collect();
        ranked.sort_by(|a, b| {
            share(b)
                .partial_cmp(&share(a))
                .unwrap_or(Ordering::Equal)
                .then_with(|| a.0.len().cmp(&b.0.len()))
                .then_with(|| a.0.cmp(&b.0))
                .then_with(|| a.1.cmp(&b.1))
        });
        drivers = ranked
            .into_iter()
            .take(MAX_DRIVERS)
            .map(|s| s.2.clone())
            .collect();
    }

    let started = if within_usual_range {
        None
    } else {
        change_started(plan, &values, &num_agg, den_agg.as_deref(), v1, v0)
    };
    let baseline_periods = plan.baseline_ranges.iter().map(|r| (*r).into()).collect();
    QueryResult {
        period: Some(current.into()),
        summary: vec![SummaryRow {
            metric: plan.metric.clone(),
            value: num(v1),
            suppressed: false,
            previous: num(v0),
            delta: num(change),
            delta_pct: num(delta_pct),
        }],
        drivers,
        explain: Some(ExplainInfo {
            baseline: plan.baseline.as_str().to_string(),
            baseline_periods,
            drivers: plan.drivers.clone(),
            change_started: started.map(|d| d.to_string()),
            segments: with_change,
            usual_range: usual_range.map(|(lo, hi)| (Num(lo), Num(hi))),
            chance_variation: num(chance),
            within_usual_range,
            segment_tests: counts.then(|| test_segments(&tested)),
        }),
        suppressed_groups: suppressed,
        truncated: rows.iter().any(|r| r.truncated),
        empty: n1 == 0.0 && n0 == 0.0,
        ..QueryResult::default()
    }
}

/// One shown segment of a count metric: its count on the period and on each baseline range.
struct Tested {
    grouping: Vec<String>,
    key: Key,
    value: f64,
    weeks: Vec<f64>,
}

impl Tested {
    fn baseline(&self) -> f64 {
        self.weeks.iter().sum::<f64>() / self.weeks.len().max(1) as f64
    }

    fn change(&self) -> f64 {
        self.value - self.baseline()
    }

    /// Whether `self` is a pair holding `parent`'s single segment.
    fn holds(&self, parent: &Tested) -> bool {
        self.grouping.len() == 2
            && parent.grouping.len() == 1
            && self
                .grouping
                .iter()
                .zip(&self.key)
                .any(|(d, v)| d == &parent.grouping[0] && v == &parent.key[0])
    }
}

/// Every shown segment with a count tested against its own baseline ranges (module docs): the
/// family is every segment with a count on the period or the baseline.
fn test_segments(segments: &[Tested]) -> SegmentTests {
    let family: Vec<&Tested> = segments
        .iter()
        .filter(|s| s.value > 0.0 || s.weeks.iter().any(|w| *w > 0.0))
        .collect();
    let p_values: Vec<f64> = family
        .iter()
        .map(|s| {
            let x = s.value.round() as u64;
            let y: u64 = s.weeks.iter().map(|w| w.round() as u64).sum();
            binomial_two_sided(x + y, x, 1.0 / (s.weeks.len() as f64 + 1.0))
        })
        .collect();
    let adjusted = holm(&p_values);
    let named: Vec<usize> = (0..family.len())
        .filter(|&i| {
            let s = family[i];
            let (base, change) = (s.baseline(), s.change());
            let lo = s.weeks.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = s.weeks.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            adjusted[i] <= SEGMENT_ALPHA
                && change.abs() >= SEGMENT_MIN_COUNT
                && (base == 0.0 || change.abs() / base >= SEGMENT_MIN_CHANGE)
                && (s.weeks.len() < 2 || s.value < lo || s.value > hi)
        })
        .collect();
    // A single segment gives way to a named pair in it that carries most of its change.
    let mut kept: Vec<usize> = named
        .iter()
        .copied()
        .filter(|&i| {
            let parent = family[i];
            !named.iter().any(|&j| {
                let child = family[j];
                child.holds(parent)
                    && parent.change() != 0.0
                    && child.change() / parent.change() >= CONCENTRATED
            })
        })
        .collect();
    kept.sort_by(|&a, &b| {
        adjusted[a]
            .total_cmp(&adjusted[b])
            .then(p_values[a].total_cmp(&p_values[b]))
            .then_with(|| family[a].grouping.len().cmp(&family[b].grouping.len()))
            .then_with(|| family[a].grouping.cmp(&family[b].grouping))
            .then_with(|| family[a].key.cmp(&family[b].key))
    });
    let significant = kept
        .into_iter()
        .take(MAX_DRIVERS)
        .map(|i| {
            let s = family[i];
            let base = s.baseline();
            let lo = s.weeks.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = s.weeks.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            SegmentChange {
                dimensions: s
                    .grouping
                    .iter()
                    .cloned()
                    .zip(s.key.iter().cloned())
                    .collect(),
                value: Num(s.value),
                baseline: Num(base),
                usual_range: (s.weeks.len() > 1).then_some((Num(lo), Num(hi))),
                delta_pct: num(ratio(s.change(), base)),
                p_value: Num(p_values[i]),
                p_adjusted: Num(adjusted[i]),
            }
        })
        .collect();
    SegmentTests {
        tested: family.len(),
        alpha: Num(SEGMENT_ALPHA),
        min_change: Num(SEGMENT_MIN_CHANGE),
        min_count: Num(SEGMENT_MIN_COUNT),
        significant,
    }
}

/// The first day of the run of days, ending at the last day of the period that moved like the
/// period (same direction, at least half its relative change against the same weekday's mean
/// over the 4 weeks before), reaching back at most 6 days before the period.
fn change_started(
    plan: &ExplainPlan,
    values: &Values,
    num_agg: &str,
    den_agg: Option<&str>,
    v1: Option<f64>,
    v0: Option<f64>,
) -> Option<chrono::NaiveDate> {
    use chrono::Days;
    let overall = (v1? - v0?) / v0.filter(|b| *b != 0.0)?;
    if overall == 0.0 {
        return None;
    }
    let numerators = values.daily(&UnitKey::value(num_agg));
    let denominators = den_agg.map(|d| values.daily(&UnitKey::value(d)));
    let at = |m: &BTreeMap<String, f64>, d: chrono::NaiveDate| {
        m.get(&d.to_string()).copied().unwrap_or(0.0)
    };
    let level = |d: chrono::NaiveDate| -> Option<f64> {
        match &denominators {
            Some(den) => ratio(at(&numerators, d), at(den, d)),
            None => Some(at(&numerators, d)),
        }
    };
    let usual = |d: chrono::NaiveDate| -> Option<f64> {
        let weeks: Vec<chrono::NaiveDate> = (1..=4u64).map(|k| d - Days::new(7 * k)).collect();
        let n: f64 = weeks.iter().map(|w| at(&numerators, *w)).sum::<f64>() / 4.0;
        match &denominators {
            Some(den) => ratio(n, weeks.iter().map(|w| at(den, *w)).sum::<f64>() / 4.0),
            None => Some(n),
        }
    };
    let moved = |d: chrono::NaiveDate| -> bool {
        match (level(d), usual(d)) {
            (Some(v), Some(b)) if b != 0.0 => {
                let rel = (v - b) / b;
                rel.signum() == overall.signum() && rel.abs() >= overall.abs() / 2.0
            }
            _ => false,
        }
    };
    let range = plan.period.range;
    let earliest = range.start - Days::new(6);
    let mut day = range.end;
    while day >= range.start && !moved(day) {
        day = day - Days::new(1);
    }
    if day < range.start {
        return None;
    }
    while day > earliest && moved(day - Days::new(1)) {
        day = day - Days::new(1);
    }
    Some(day)
}
