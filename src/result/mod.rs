//! (`Plan`, rows) → `QueryResult`: the typed numbers (summary, time series, breakdown, list rows).
//!
//! Invariants: pure and deterministic. Ratios and derived metrics are computed here from the exact
//! aggregates SQL returned (counts and sums), so every engine yields the same numbers; a zero
//! denominator gives `null`, never an error or infinity. Averages over windows count windows with
//! no rows as zero. Ordering ties break on the group key, so the same data gives the same bytes.

mod anomalies;
mod define;
mod explain;
mod retention;
mod significance;
mod trend;
mod values;

pub use anomalies::{AnomaliesOut, Anomaly, ANOMALY_ALPHA, MAX_ANOMALIES};
pub use define::{DefineOut, DimensionDefinition, MetricDefinition, PassageOut};
pub use explain::{Driver, ExplainInfo, SegmentChange, SegmentTests};
pub use retention::{Cohort, RetentionCell, RetentionOut, MAX_RETENTION_GROUPS};
pub use trend::{complete as complete_bucket, Trend, FLAT_TREND};
pub use values::from_values;

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Serialize, Serializer};

use crate::catalog::{AggFunc, Aggregate, Catalog, MetricDef};
use crate::dsl::Order;
use crate::exec::{Cell, Rows};
use crate::plan::time::{window_key, windows};
use crate::plan::{
    coverage_aggregate, series_shape, snapshot_instant, total_shape, DateRange, FunnelPlan,
    ListPlan, MetricPlan, Plan, PlanBody, Split, UnitKey,
};
use crate::sql::{alias, Column, Statement};

/// A number as the result states it: whole values serialize as integers.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Num(pub f64);

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        if v.fract() == 0.0 && v.abs() < 9.007_199_254_740_992e15 {
            s.serialize_i64(v as i64)
        } else {
            s.serialize_f64(v)
        }
    }
}

impl schemars::JsonSchema for Num {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Num".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "number"})
    }
}

fn num(v: Option<f64>) -> Option<Num> {
    v.filter(|x| x.is_finite()).map(Num)
}

#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct PeriodOut {
    pub start: String,
    pub end: String,
}

impl From<DateRange> for PeriodOut {
    fn from(r: DateRange) -> Self {
        PeriodOut {
            start: r.start.to_string(),
            end: r.end.to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct SummaryRow {
    pub metric: String,
    pub value: Option<Num>,
    /// Withheld: the row covers fewer distinct entities than the role's `min_group_size`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suppressed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<Num>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delta: Option<Num>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delta_pct: Option<Num>,
}

#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct SeriesPoint {
    pub date: String,
    pub metric: String,
    pub value: Option<Num>,
    /// Withheld: the point covers fewer distinct entities than the role's `min_group_size`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suppressed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<BTreeMap<String, Option<String>>>,
    /// With `compare`: the first day of the compare period's bucket at the same offset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_date: Option<String>,
    /// With `compare`: the value of that bucket (null when withheld, or when the compare
    /// period has fewer buckets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<Num>,
}

#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct BreakdownRow {
    pub dimensions: BTreeMap<String, Option<String>>,
    pub metric: String,
    pub value: Option<Num>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<Num>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delta: Option<Num>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delta_pct: Option<Num>,
}

/// Users reaching one step of a funnel, in total or for one group.
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct FunnelStep {
    /// 1 for the first step.
    pub step: usize,
    /// The event name the step matches.
    pub event: String,
    /// The group (absent on the total rows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<BTreeMap<String, Option<String>>>,
    /// Users who reached this step.
    pub value: Option<Num>,
    /// Withheld: fewer first-step entities than the role's `min_group_size`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suppressed: bool,
    /// Share of the previous step's users (null on the first step and when it had none).
    pub step_conversion: Option<Num>,
    /// Share of the first step's users.
    pub overall_conversion: Option<Num>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<Num>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delta: Option<Num>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delta_pct: Option<Num>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_step_conversion: Option<Num>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_overall_conversion: Option<Num>,
}

/// The most groups a funnel breakdown shows (by first-step users, descending).
pub const MAX_FUNNEL_GROUPS: usize = 20;

/// The `data` object of a response.
#[derive(Debug, Clone, Serialize, PartialEq, Default, schemars::JsonSchema)]
pub struct QueryResult {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<PeriodOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_period: Option<PeriodOut>,
    pub summary: Vec<SummaryRow>,
    pub timeseries: Vec<SeriesPoint>,
    pub breakdown: Vec<BreakdownRow>,
    /// Funnel steps: the totals first, then each group's steps.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub funnel: Vec<FunnelStep>,
    /// `explain`: the segments that carry the change, largest share first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drivers: Vec<Driver>,
    /// `explain`: the baseline and when the change started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explain: Option<ExplainInfo>,
    /// `retention`: the cohorts and, per offset that has ended, who came back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionOut>,
    /// `anomalies`: the days that fell outside their usual range, most severe first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anomalies: Option<AnomaliesOut>,
    /// `define`: the catalog entries asked about and the quoted passages of the docs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub define: Option<DefineOut>,
    /// `define` with `then`: the data of the query asked with the definition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub then: Option<Box<QueryResult>>,
    /// A series' direction over its complete buckets (least squares), when it has enough.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trend: Option<Trend>,
    pub rows: Vec<BTreeMap<String, serde_json::Value>>,
    /// Groups there were in all, before `top_n`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_groups: Option<usize>,
    /// Rows and points withheld because they cover fewer distinct entities (the table's
    /// `entity`: users, customers) than the role's `min_group_size`.
    pub suppressed_groups: usize,
    /// A statement hit the row cap: some numbers may be missing.
    pub truncated: bool,
    /// No statement returned any row with a non-zero value: there is no data to speak of.
    #[serde(skip)]
    pub empty: bool,
}

/// A group: the values of the group-by dimensions, in order.
type Key = Vec<Option<String>>;

/// Each unit's rows, in the plan's unit order, from the rows of the statements that ran (in
/// `sql::compile`'s order): a merged statement's one row gives each of its units the columns of
/// its own instants (`sql::Merged`), as its own statement would have returned them. A statement
/// that is not merged answers the first unit no other statement claims.
pub fn unit_rows<'a>(statements: &[Statement], rows: &'a [Rows]) -> Cow<'a, [Rows]> {
    if statements.iter().all(|s| s.merged.is_none()) {
        return Cow::Borrowed(rows);
    }
    let claimed: BTreeSet<usize> = statements
        .iter()
        .filter_map(|s| s.merged.as_ref())
        .flat_map(|m| m.units.iter().copied())
        .collect();
    let total = claimed.len() + statements.iter().filter(|s| s.merged.is_none()).count();
    let mut alone = (0..total).filter(|i| !claimed.contains(i));
    let mut out: Vec<Option<Rows>> = vec![None; total];
    for (statement, got) in statements.iter().zip(rows) {
        let Some(merged) = &statement.merged else {
            out[alone.next().expect("a unit for every statement")] = Some(got.clone());
            continue;
        };
        for (unit, cols) in merged.units.iter().zip(&merged.columns) {
            out[*unit] = Some(Rows {
                columns: (0..cols.len())
                    .map(|i| Column {
                        name: alias::instant(i),
                        ..got.columns[cols[i]].clone()
                    })
                    .collect(),
                rows: got
                    .rows
                    .iter()
                    .map(|row| cols.iter().map(|&c| row[c].clone()).collect())
                    .collect(),
                truncated: got.truncated,
            });
        }
    }
    Cow::Owned(
        out.into_iter()
            .map(|r| r.expect("every unit answered"))
            .collect(),
    )
}

pub fn assemble(plan: &Plan, rows: &[Rows]) -> QueryResult {
    let catalog = &plan.catalog;
    match &plan.body {
        PlanBody::Metric(m) => {
            let mut r = metric(m, rows, catalog, plan.min_group_size);
            // An overview's series are its KPIs' sparklines; the trend is a metric question's.
            if m.asked == crate::plan::Asked::Metrics {
                r.trend = trend::trend(m, &r.timeseries, plan.today);
            }
            r
        }
        PlanBody::List(l) => list(l, &rows[0]),
        PlanBody::Funnel(f) => funnel(f, rows, plan.min_group_size),
        PlanBody::Explain(e) => explain::explain(e, rows, catalog, plan.min_group_size),
        PlanBody::Retention(r) => retention::retention(r, rows, plan.today, plan.min_group_size),
        PlanBody::Anomalies(a) => anomalies::anomalies(a, rows, plan.min_group_size),
        PlanBody::Define(d) => {
            let mut r = define::define(d, catalog);
            r.then = d.then.as_ref().map(|p| Box::new(assemble(p, rows)));
            r
        }
    }
}

/// Per unit of a funnel plan: group → users per step.
fn funnel_counts(plan: &FunnelPlan, rows: &Rows, split: Split) -> BTreeMap<Key, Vec<f64>> {
    let groups = usize::from(split == Split::Grouped);
    rows.rows
        .iter()
        .map(|row| {
            let key: Key = row[..groups]
                .iter()
                .map(|c| c.as_text().map(String::from))
                .collect();
            let counts = (0..plan.steps.len())
                .map(|k| row[groups + k].as_f64().unwrap_or(0.0))
                .collect();
            (key, counts)
        })
        .collect()
}

fn ratio(n: f64, d: f64) -> Option<Num> {
    (d != 0.0).then(|| Num(n / d))
}

/// One group's (or the total's) step rows from its counts now and, with `compare`, before.
fn funnel_steps(
    plan: &FunnelPlan,
    dimensions: Option<BTreeMap<String, Option<String>>>,
    now: &[f64],
    before: Option<&[f64]>,
) -> Vec<FunnelStep> {
    (0..plan.steps.len())
        .map(|k| {
            let conversions = |c: &[f64]| {
                (
                    if k == 0 { None } else { ratio(c[k], c[k - 1]) },
                    ratio(c[k], c[0]),
                )
            };
            let (step_conversion, overall_conversion) = conversions(now);
            let (d, pct) = delta(Some(now[k]), before.map(|b| b[k]));
            let (previous_step_conversion, previous_overall_conversion) =
                before.map(conversions).unwrap_or((None, None));
            FunnelStep {
                step: k + 1,
                event: plan.steps[k].clone(),
                dimensions: dimensions.clone(),
                value: Some(Num(now[k])),
                suppressed: false,
                step_conversion,
                overall_conversion,
                previous: before.map(|b| Num(b[k])),
                delta: d,
                delta_pct: pct,
                previous_step_conversion,
                previous_overall_conversion,
            }
        })
        .collect()
}

/// Withholds a funnel's rows: the users of its first step are the entities it covers.
fn withhold_steps(steps: &mut [FunnelStep]) {
    for s in steps {
        s.value = None;
        s.suppressed = true;
        s.step_conversion = None;
        s.overall_conversion = None;
        s.previous = None;
        s.delta = None;
        s.delta_pct = None;
        s.previous_step_conversion = None;
        s.previous_overall_conversion = None;
    }
}

/// Whether `count` distinct entities are too few to show (`0 < count < min`); nothing is
/// withheld for a row with no entities at all, which reveals no one.
fn too_few(count: f64, min_group_size: u32) -> bool {
    count > 0.0 && count < f64::from(min_group_size)
}

fn funnel(plan: &FunnelPlan, rows: &[Rows], min_group_size: u32) -> QueryResult {
    let zeros = vec![0.0; plan.steps.len()];
    let counts = |range: &DateRange, split: Split| {
        plan.unit_index(range, split)
            .map(|i| funnel_counts(plan, &rows[i], split))
            .unwrap_or_default()
    };
    let now_total = counts(&plan.period.range, Split::Total);
    let before_total = plan.compare.map(|(_, r)| counts(&r, Split::Total));
    let total_of =
        |m: &BTreeMap<Key, Vec<f64>>| m.get(&Vec::new()).cloned().unwrap_or(zeros.clone());
    let now = total_of(&now_total);
    let before = before_total.as_ref().map(total_of);
    let mut suppressed = 0;
    // A previous period too small to show is withheld as a whole: no previous values, no deltas.
    let shown_before = |b: Option<Vec<f64>>| b.filter(|b| !too_few(b[0], min_group_size));
    let mut steps = funnel_steps(plan, None, &now, shown_before(before.clone()).as_deref());
    if too_few(now[0], min_group_size) {
        withhold_steps(&mut steps);
        suppressed += 1;
    }

    let mut total_groups = None;
    if let Some(dimension) = &plan.group_by {
        let now_groups = counts(&plan.period.range, Split::Grouped);
        let before_groups = plan.compare.map(|(_, r)| counts(&r, Split::Grouped));
        let mut keyed: Vec<(&Key, &Vec<f64>)> = now_groups
            .iter()
            .filter(|(_, c)| !too_few(c[0], min_group_size))
            .collect();
        suppressed += now_groups.len() - keyed.len();
        total_groups = Some(keyed.len());
        keyed.sort_by(|(ka, a), (kb, b)| {
            b[0].partial_cmp(&a[0])
                .unwrap_or(Ordering::Equal)
                .then_with(|| ka.cmp(kb))
        });
        for (key, now) in keyed.into_iter().take(MAX_FUNNEL_GROUPS) {
            let before = shown_before(
                before_groups
                    .as_ref()
                    .map(|m| m.get(key).cloned().unwrap_or(zeros.clone())),
            );
            let dims: BTreeMap<String, Option<String>> =
                [(dimension.clone(), key[0].clone())].into_iter().collect();
            steps.extend(funnel_steps(plan, Some(dims), now, before.as_deref()));
        }
    }

    QueryResult {
        period: Some(plan.period.range.into()),
        previous_period: plan.compare.map(|(_, r)| r.into()),
        funnel: steps,
        total_groups,
        suppressed_groups: suppressed,
        truncated: rows.iter().any(|r| r.truncated),
        empty: now[0] == 0.0,
        ..QueryResult::default()
    }
}

/// Per unit: (bucket, group) → value cells.
/// One unit's rows: (bucket, group) → value cells.
type UnitRows = BTreeMap<(Option<String>, Key), Vec<Cell>>;

struct Index<'a> {
    plan: &'a MetricPlan,
    catalog: &'a Catalog,
    units: Vec<UnitRows>,
}

impl<'a> Index<'a> {
    fn new(plan: &'a MetricPlan, rows: &[Rows], catalog: &'a Catalog) -> Index<'a> {
        let units = plan
            .units
            .iter()
            .zip(rows)
            .map(|(u, r)| {
                let has_bucket = r.index(crate::sql::alias::BUCKET).is_some();
                let groups = u.group_by.len();
                let first_value = usize::from(has_bucket) + groups;
                r.rows
                    .iter()
                    .map(|row| {
                        let bucket = if has_bucket {
                            row[0].as_text().map(String::from)
                        } else {
                            None
                        };
                        let start = usize::from(has_bucket);
                        let key: Key = row[start..start + groups]
                            .iter()
                            .map(|c| c.as_text().map(String::from))
                            .collect();
                        ((bucket, key), row[first_value..].to_vec())
                    })
                    .collect()
            })
            .collect();
        Index {
            plan,
            catalog,
            units,
        }
    }

    /// One aggregate over `range` (whole period or a compare period) or one bucket of the series.
    fn aggregate(&self, unit: &UnitKey, agg: &Aggregate, target: Target, key: &Key) -> Option<f64> {
        let split = Split::of(key);
        let (range, shape, bucket) = match target {
            Target::Range(r) => (r, total_shape(agg, &r), None),
            Target::Bucket(b) => {
                let g = self.plan.granularity.expect("buckets imply granularity");
                (
                    self.plan.period.range,
                    series_shape(agg, g, &self.plan.buckets),
                    Some(b),
                )
            }
            Target::PreviousBucket(b) => {
                let g = self.plan.granularity.expect("buckets imply granularity");
                let (_, range) = self.plan.compare.expect("previous buckets imply compare");
                (
                    range,
                    series_shape(agg, g, &self.plan.previous_buckets),
                    Some(b),
                )
            }
        };
        let Some(unit) = self.plan.unit_index(unit, &range, &shape, split) else {
            // A count read from its series: the sum of the buckets (`total_from_series`).
            let series = match target {
                Target::Range(r) => self.plan.total_from_series(unit, agg, &r)?,
                Target::Bucket(_) | Target::PreviousBucket(_) => return None,
            };
            let total = self.units[series]
                .iter()
                .filter(|((_, k), _)| k == key)
                .filter_map(|(_, cells)| cells[0].as_f64())
                .sum();
            return Some(total);
        };
        let data = &self.units[unit];
        let cells = |bucket_key: Option<String>| data.get(&(bucket_key, key.clone()));
        let span = bucket.unwrap_or(range);
        match &agg.func {
            AggFunc::ActiveUsers { window, .. } => {
                let ws = windows(&span, *window);
                let total: f64 = ws
                    .iter()
                    .map(|w| {
                        cells(Some(window_key(w.start, *window).to_string()))
                            .and_then(|c| c[0].as_f64())
                            .unwrap_or(0.0)
                    })
                    .sum();
                Some(total / ws.len() as f64)
            }
            _ => {
                if let Some(instant) = snapshot_instant(agg, &span) {
                    let crate::plan::Shape::AtInstants(instants) = &self.plan.units[unit].shape
                    else {
                        unreachable!("snapshots use instants")
                    };
                    let i = instants.iter().position(|t| *t == instant)?;
                    return Some(cells(None).and_then(|c| c[i].as_f64()).unwrap_or(0.0));
                }
                let bucket_key = bucket.map(|b| {
                    let w = crate::plan::time::granularity_window(
                        self.plan.granularity.expect("granularity"),
                    );
                    window_key(b.start, w).to_string()
                });
                let c = cells(bucket_key);
                match &agg.func {
                    AggFunc::Count | AggFunc::CountDistinct(_) => {
                        Some(c.and_then(|c| c[0].as_f64()).unwrap_or(0.0))
                    }
                    AggFunc::Sum(_) => Some(c.and_then(|c| c[0].as_f64()).unwrap_or(0.0)),
                    AggFunc::Avg(m) | AggFunc::Median(m) => {
                        let c = c?;
                        let (s, n) = (c[0].as_f64()?, c[1].as_f64()?);
                        if n == 0.0 {
                            return None;
                        }
                        let unit = match m {
                            crate::catalog::Measure::Duration { unit, .. } => unit.seconds(),
                            crate::catalog::Measure::Column(_) => 1.0,
                        };
                        Some(s / n / unit)
                    }
                    AggFunc::ActiveUsers { .. } => unreachable!("handled above"),
                }
            }
        }
    }

    fn metric(&self, name: &str, target: Target, key: &Key) -> Option<f64> {
        let m = self.catalog.metrics.get(name)?;
        match &m.def {
            MetricDef::Aggregate(a) => self.aggregate(&UnitKey::value(name), a, target, key),
            MetricDef::Ratio {
                numerator,
                denominator,
            } => {
                let n = self.metric(numerator, target, key)?;
                let d = self.metric(denominator, target, key)?;
                (d != 0.0).then(|| n / d)
            }
            MetricDef::Derived { expr } => expr.eval(&|c| self.metric(c, target, key)),
        }
    }

    /// Distinct entities behind `metric`'s value for `target` and `key`: the fewest over its
    /// aggregates (1 when a table names no entity: unverifiable rows count as one entity).
    fn coverage(&self, metric: &str, target: Target, key: &Key) -> f64 {
        let mut least = f64::INFINITY;
        for (name, agg) in self.catalog.aggregates_of(metric) {
            let Some(cov) = coverage_aggregate(self.catalog, agg) else {
                return 1.0;
            };
            let n = self
                .aggregate(&UnitKey::entities(name), &cov, target, key)
                .unwrap_or(0.0);
            least = least.min(n);
        }
        if least.is_finite() {
            least
        } else {
            0.0
        }
    }

    /// Whether some filter of the query removes a small group (1 to `min_group_size - 1`
    /// entities) from `metric`'s rows for `target` and `key`: then the filtered value and the
    /// value without that filter would differ by exactly that group, so the value is withheld.
    fn complement_too_few(&self, metric: &str, target: Target, key: &Key, min: u32) -> bool {
        let filters = self.plan.filters.len();
        self.catalog
            .aggregates_of(metric)
            .into_iter()
            .filter_map(|(name, agg)| Some((name, coverage_aggregate(self.catalog, agg)?)))
            .any(|(name, cov)| {
                (0..filters).any(|i| {
                    let removed = self
                        .aggregate(&UnitKey::dropped_by(name, i), &cov, target, key)
                        .unwrap_or(0.0);
                    too_few(removed, min)
                })
            })
    }

    /// Every group key seen in the grouped units of the current period (not in complement
    /// units: their rows are the ones the query's filters drop).
    fn keys(&self) -> BTreeSet<Key> {
        let mut out = BTreeSet::new();
        for (u, data) in self.plan.units.iter().zip(&self.units) {
            if !u.group_by.is_empty()
                && u.range == self.plan.period.range
                && u.key.complement().is_none()
            {
                out.extend(data.keys().map(|(_, k)| k.clone()));
            }
        }
        out
    }
}

#[derive(Debug, Clone, Copy)]
enum Target {
    Range(DateRange),
    Bucket(DateRange),
    /// A bucket of the compare period's series.
    PreviousBucket(DateRange),
}

fn delta(value: Option<f64>, previous: Option<f64>) -> (Option<Num>, Option<Num>) {
    match (value, previous) {
        (Some(v), Some(p)) => (
            num(Some(v - p)),
            if p != 0.0 {
                num(Some((v - p) / p))
            } else {
                None
            },
        ),
        _ => (None, None),
    }
}

fn dims(plan: &MetricPlan, key: &Key) -> BTreeMap<String, Option<String>> {
    plan.group_by
        .iter()
        .cloned()
        .zip(key.iter().cloned())
        .collect()
}

fn metric(plan: &MetricPlan, rows: &[Rows], catalog: &Catalog, min_group_size: u32) -> QueryResult {
    let index = Index::new(plan, rows, catalog);
    let current = Target::Range(plan.period.range);
    let previous = plan.compare.map(|(_, r)| Target::Range(r));
    let empty_key: Key = Vec::new();
    // A value covering too few entities is withheld; so is one whose filter removes a small
    // group, unless it covers none (then the value without the filter covers only that small
    // group and is withheld itself).
    let hidden = |m: &str, target: Target, key: &Key| {
        if min_group_size == 0 {
            return false;
        }
        let covered = index.coverage(m, target, key);
        too_few(covered, min_group_size)
            || (covered > 0.0 && index.complement_too_few(m, target, key, min_group_size))
    };
    let mut suppressed = 0;
    // A value and its previous one, each withheld when it covers too few entities.
    let shown = |m: &str, target: Target, key: &Key| {
        if hidden(m, target, key) {
            None
        } else {
            index.metric(m, target, key)
        }
    };

    let summary = plan
        .metrics
        .iter()
        .map(|m| {
            let withheld = hidden(m, current, &empty_key);
            suppressed += usize::from(withheld);
            let value = shown(m, current, &empty_key);
            let prev = previous.and_then(|p| shown(m, p, &empty_key));
            let (d, pct) = delta(value, prev);
            SummaryRow {
                metric: m.clone(),
                value: num(value),
                suppressed: withheld,
                previous: if previous.is_some() { num(prev) } else { None },
                delta: d,
                delta_pct: pct,
            }
        })
        .collect();

    let mut breakdown = Vec::new();
    let mut top: Vec<Key> = Vec::new();
    let mut total_groups = None;
    if !plan.group_by.is_empty() {
        let first = &plan.metrics[0];
        let keys = index.keys();
        let all = keys.len();
        let mut keyed: Vec<(Key, Option<f64>)> = keys
            .into_iter()
            .filter(|k| !plan.metrics.iter().any(|m| hidden(m, current, k)))
            .map(|k| {
                let v = index.metric(first, current, &k);
                (k, v)
            })
            .collect();
        suppressed += all - keyed.len();
        total_groups = Some(keyed.len());
        keyed.sort_by(|(ka, a), (kb, b)| {
            let by_value = match (a, b) {
                (Some(x), Some(y)) => match plan.order {
                    Order::Desc => y.partial_cmp(x).unwrap_or(Ordering::Equal),
                    Order::Asc => x.partial_cmp(y).unwrap_or(Ordering::Equal),
                },
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            };
            by_value.then_with(|| ka.cmp(kb))
        });
        top = keyed.into_iter().take(plan.top_n).map(|(k, _)| k).collect();
        for k in &top {
            for m in &plan.metrics {
                let value = index.metric(m, current, k);
                let prev = previous.and_then(|p| shown(m, p, k));
                let (d, pct) = delta(value, prev);
                breakdown.push(BreakdownRow {
                    dimensions: dims(plan, k),
                    metric: m.clone(),
                    value: num(value),
                    previous: if previous.is_some() { num(prev) } else { None },
                    delta: d,
                    delta_pct: pct,
                });
            }
        }
    }

    let mut timeseries = Vec::new();
    if plan.granularity.is_some() {
        let keys: Vec<Key> = if plan.group_by.is_empty() {
            vec![empty_key.clone()]
        } else {
            top.clone()
        };
        for (i, b) in plan.buckets.iter().enumerate() {
            // Aligned by offset: the k-th bucket of the compare period.
            let before = plan.previous_buckets.get(i);
            for k in &keys {
                for m in &plan.metrics {
                    let withheld = hidden(m, Target::Bucket(*b), k);
                    suppressed += usize::from(withheld);
                    timeseries.push(SeriesPoint {
                        date: b.start.to_string(),
                        metric: m.clone(),
                        value: num(shown(m, Target::Bucket(*b), k)),
                        suppressed: withheld,
                        dimensions: (!k.is_empty()).then(|| dims(plan, k)),
                        previous_date: before.map(|p| p.start.to_string()),
                        previous: before.and_then(|p| num(shown(m, Target::PreviousBucket(*p), k))),
                    });
                }
            }
        }
    }

    QueryResult {
        period: Some(plan.period.range.into()),
        previous_period: plan.compare.map(|(_, r)| r.into()),
        summary,
        timeseries,
        breakdown,
        funnel: Vec::new(),
        drivers: Vec::new(),
        explain: None,
        retention: None,
        anomalies: None,
        define: None,
        then: None,
        trend: None,
        rows: Vec::new(),
        total_groups,
        suppressed_groups: suppressed,
        truncated: rows.iter().any(|r| r.truncated),
        empty: rows.iter().all(|r| {
            r.rows.iter().all(|row| {
                let keys = r
                    .columns
                    .iter()
                    .filter(|c| c.kind == crate::sql::ColumnKind::Text)
                    .count();
                row[keys..]
                    .iter()
                    .all(|c| c.as_f64().is_none_or(|v| v == 0.0))
            })
        }),
    }
}

fn list(plan: &ListPlan, rows: &Rows) -> QueryResult {
    let out = rows
        .rows
        .iter()
        .map(|row| {
            plan.fields
                .iter()
                .zip(row)
                .map(|(f, c)| {
                    let v = match c {
                        Cell::Null => serde_json::Value::Null,
                        Cell::Text(s) => serde_json::Value::String(s.clone()),
                        Cell::Int(i) => serde_json::json!(i),
                        Cell::Float(x) => serde_json::to_value(Num(*x)).unwrap_or_default(),
                    };
                    (f.clone(), v)
                })
                .collect()
        })
        .collect();
    QueryResult {
        period: plan.period.as_ref().map(|(p, _)| p.range.into()),
        rows: out,
        truncated: rows.truncated,
        empty: rows.rows.is_empty(),
        ..QueryResult::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::{ColumnKind, Merged};

    fn statement(merged: Option<Merged>) -> Statement {
        Statement {
            sql: String::new(),
            params: Vec::new(),
            columns: Vec::new(),
            rollup: None,
            merged,
        }
    }

    fn rows(columns: &[&str], rows: Vec<Vec<Cell>>) -> Rows {
        Rows {
            columns: columns
                .iter()
                .map(|name| Column {
                    name: (*name).into(),
                    kind: ColumnKind::Int,
                })
                .collect(),
            rows,
            truncated: false,
        }
    }

    #[test]
    fn a_merged_snapshot_gives_each_unit_its_own_instants_in_unit_order() {
        // Units 0 and 2 merged (the period's end; the compare period's end and a sparkline),
        // unit 1 alone.
        let statements = [
            statement(Some(Merged {
                units: vec![0, 2],
                columns: vec![vec![2], vec![0, 1, 2]],
            })),
            statement(None),
        ];
        let merged = rows(
            &["v0", "v1", "v2"],
            vec![vec![Cell::Int(5), Cell::Int(6), Cell::Int(7)]],
        );
        let alone = rows(&["n"], vec![vec![Cell::Int(3)]]);
        let ran = [merged, alone.clone()];
        let out = unit_rows(&statements, &ran);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].rows, vec![vec![Cell::Int(7)]]);
        assert_eq!(out[0].index("v0"), Some(0));
        assert_eq!(out[0].index("v1"), None);
        assert_eq!(out[1].rows, alone.rows);
        assert_eq!(
            out[2].rows,
            vec![vec![Cell::Int(5), Cell::Int(6), Cell::Int(7)]]
        );
    }
}
