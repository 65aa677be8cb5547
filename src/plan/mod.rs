//! `CheckedQuery` + clock → `Plan`: resolved dates, the aggregates to compute (one SQL statement
//! each), and the tenant scope.
//!
//! Invariants: pure (no IO, no clock reads: today comes from `Clock`). Every unit carries the
//! workspace it is scoped to; `sql/` turns that into a predicate on every table and join.

mod anomalies;
mod define;
mod outline;
mod retention;
pub mod time;

use std::sync::Arc;

use chrono::NaiveDate;
use serde::Serialize;

pub use anomalies::{AnomaliesPlan, ScannedMetric, BASELINE_WEEKS};
pub use define::{DefinePlan, Retrieved, MAX_PASSAGES};
pub use retention::{Cohorts, RetentionPlan, RetentionUnit, MAX_COHORTS};
pub use time::{CalendarUnit, DateRange, ResolvedPeriod};

use crate::catalog::{AggFunc, Aggregate, Catalog, Tenancy, TimeBasis, Window};
use crate::check::CheckedQuery;
use crate::dsl::{Baseline, Compare, FieldFilter, Filter, Granularity, Order, Query};

/// The injectable clock: today's date in the catalog's timezone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    today: NaiveDate,
}

impl Clock {
    pub fn fixed(today: NaiveDate) -> Clock {
        Clock { today }
    }
    /// Today in UTC from the system clock (the catalog timezone is UTC in this version).
    pub fn system() -> Clock {
        Clock {
            today: chrono::Utc::now().date_naive(),
        }
    }
    pub fn today(&self) -> NaiveDate {
        self.today
    }
}

/// A workspace (tenant) identifier: 1–64 characters of `[A-Za-z0-9_.-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct WorkspaceId(String);

impl WorkspaceId {
    pub fn parse(s: &str) -> Result<WorkspaceId, PlanError> {
        if crate::catalog::is_workspace_id(s) {
            Ok(WorkspaceId(s.to_string()))
        } else {
            Err(PlanError::InvalidWorkspace(s.chars().take(80).collect()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("`{0}` is not a workspace id (1-64 of letters, digits, `_`, `-`, `.`)")]
    InvalidWorkspace(String),
    #[error("this warehouse holds one workspace's data (`{served}`), not `{requested}`'s")]
    WorkspaceNotServed { requested: String, served: String },
    #[error("the time series would have {points} points; the limit is {limit}: use a coarser granularity or a shorter period")]
    TooManyPoints { points: usize, limit: usize },
    #[error("the period holds {cohorts} cohorts; the limit is {limit}: use a coarser granularity or a shorter period")]
    TooManyCohorts { cohorts: usize, limit: usize },
    #[error("the period {start} to {end} lies after today ({today})")]
    FuturePeriod {
        start: NaiveDate,
        end: NaiveDate,
        today: NaiveDate,
    },
}

impl PlanError {
    pub fn code(&self) -> &'static str {
        match self {
            PlanError::InvalidWorkspace(_) | PlanError::WorkspaceNotServed { .. } => {
                "invalid_workspace"
            }
            PlanError::TooManyPoints { .. } | PlanError::TooManyCohorts { .. } => "too_many_points",
            PlanError::FuturePeriod { .. } => "future_period",
        }
    }
}

/// The most points a time series may have.
pub const MAX_POINTS: usize = 400;

#[derive(Debug, Clone)]
pub struct Plan {
    /// The catalog the query was checked against: every name in the plan is one of its.
    pub catalog: Arc<Catalog>,
    pub workspace: WorkspaceId,
    pub catalog_version: String,
    pub today: NaiveDate,
    /// The role's `min_group_size`: rows covering fewer distinct entities are withheld (0: none).
    pub min_group_size: u32,
    pub body: PlanBody,
}

/// Which quantity a unit computes: one of the catalog's aggregates, or, for small-group
/// suppression, the distinct entities behind that aggregate's rows.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitKey {
    /// The catalog aggregate (an aggregate metric's name).
    pub aggregate: String,
    pub counts: Counts,
}

/// What a unit counts of its aggregate's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Counts {
    /// The aggregate itself.
    Value,
    /// The distinct entities behind the rows (`min_group_size`).
    Entities,
    /// The distinct entities the query's filter `i` removes from the rows (complementary
    /// suppression: the rows the other filters keep and this one drops, NULLs included), so
    /// that a total whose filter removes only a few entities is withheld too (else the
    /// difference of two allowed totals would reveal the small group).
    EntitiesDroppedBy(usize),
}

impl UnitKey {
    pub fn value(aggregate: &str) -> UnitKey {
        UnitKey {
            aggregate: aggregate.to_string(),
            counts: Counts::Value,
        }
    }
    pub fn entities(aggregate: &str) -> UnitKey {
        UnitKey {
            aggregate: aggregate.to_string(),
            counts: Counts::Entities,
        }
    }
    pub fn dropped_by(aggregate: &str, filter: usize) -> UnitKey {
        UnitKey {
            aggregate: aggregate.to_string(),
            counts: Counts::EntitiesDroppedBy(filter),
        }
    }
    /// The filter this unit inverts, for a complement unit.
    pub fn complement(&self) -> Option<usize> {
        match self.counts {
            Counts::EntitiesDroppedBy(i) => Some(i),
            Counts::Value | Counts::Entities => None,
        }
    }
}

/// The aggregate counting distinct entities (the table's `entity` column) over exactly the rows
/// `agg` aggregates, for `min_group_size`; `None` when the table names no entity.
pub fn coverage_aggregate(catalog: &Catalog, agg: &Aggregate) -> Option<Aggregate> {
    let entity = catalog.tables.get(&agg.table)?.entity.clone()?;
    Some(Aggregate {
        table: agg.table.clone(),
        func: AggFunc::CountDistinct(entity),
        time: agg.time.clone(),
        filters: agg.filters.clone(),
    })
}

/// Small-group suppression: beside each aggregate, the distinct entities behind its rows, by
/// the same rows (aggregates of tables that name no entity get none).
fn add_entity_counts(catalog: &Catalog, aggregates: &mut Vec<(UnitKey, Aggregate)>) {
    let counts: Vec<(UnitKey, Aggregate)> = aggregates
        .iter()
        .filter_map(|(k, a)| {
            Some((
                UnitKey::entities(&k.aggregate),
                coverage_aggregate(catalog, a)?,
            ))
        })
        .collect();
    aggregates.extend(counts);
}

#[derive(Debug, Clone)]
pub enum PlanBody {
    Metric(MetricPlan),
    List(ListPlan),
    Funnel(FunnelPlan),
    Explain(ExplainPlan),
    Retention(RetentionPlan),
    Anomalies(AnomaliesPlan),
    /// What catalog entries mean: no units, nothing read from the warehouse.
    Define(DefinePlan),
}

/// An explain query: the metric on the period and its baseline, in total and per segment of
/// every driver and every pair of drivers, plus a daily series to date the change.
#[derive(Debug, Clone)]
pub struct ExplainPlan {
    pub metric: String,
    pub baseline: Baseline,
    pub period: ResolvedPeriod,
    /// The ranges whose mean is the baseline (four for same_weekday_avg_4w, one otherwise).
    pub baseline_ranges: Vec<DateRange>,
    /// The driver dimensions the role may see, in catalog order.
    pub drivers: Vec<String>,
    /// Each driver alone, then each pair of drivers.
    pub groupings: Vec<Vec<String>>,
    pub filters: Vec<Filter>,
    /// Daily values from here to the period's end date the change (each day against the mean of
    /// the same weekday in the 4 weeks before it).
    pub series: DateRange,
    /// Totals over a range per grouping (`[]` for the whole), then the daily series.
    pub units: Vec<Unit>,
}

impl ExplainPlan {
    /// The unit computing `key` over `range` per `grouping`, as a total or day by day.
    pub fn unit_index(
        &self,
        key: &UnitKey,
        range: &DateRange,
        grouping: &[String],
        over: Over,
    ) -> Option<usize> {
        self.units.iter().position(|u| {
            &u.key == key
                && &u.range == range
                && u.group_by == grouping
                && matches!(u.shape, Shape::ByBucket(_)) == (over == Over::Days)
        })
    }
}

/// Whether an explain unit is one total over its range or one value per day of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    Range,
    Days,
}

/// A metric or overview query: the outputs wanted and the units that compute them.
#[derive(Debug, Clone)]
pub struct MetricPlan {
    /// The query's own metrics, or an overview's (the role's KPI set).
    pub asked: Asked,
    pub metrics: Vec<String>,
    pub period: ResolvedPeriod,
    pub compare: Option<(Compare, DateRange)>,
    pub granularity: Option<Granularity>,
    /// The time-series buckets, clipped to the period.
    pub buckets: Vec<DateRange>,
    /// With `compare`, the compare period's buckets, clipped to it: the previous value of the
    /// series' k-th point is the k-th of these.
    pub previous_buckets: Vec<DateRange>,
    pub group_by: Vec<String>,
    pub filters: Vec<Filter>,
    pub top_n: usize,
    pub order: Order,
    pub units: Vec<Unit>,
}

/// One aggregate over one range in one shape: exactly one SQL statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// What this unit computes.
    pub key: UnitKey,
    /// The aggregate that computes it (for an entity count, a distinct count of the entity).
    pub aggregate: Aggregate,
    pub range: DateRange,
    pub shape: Shape,
    /// Dimensions grouped in SQL (empty for totals).
    pub group_by: Vec<String>,
    pub filters: Vec<Filter>,
    /// The rollup that answers it exactly (`None`: the warehouse's own tables); set by
    /// `rollup::route` after planning.
    pub rollup: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// One row per group.
    Total,
    /// One row per group and bucket of the granularity (bucket = its first day, unclipped).
    ByBucket(Window),
    /// One row per group and window (active users: distinct values per window).
    ByWindow(Window),
    /// Snapshot metrics: one value column per instant (rows valid at that instant).
    AtInstants(Vec<chrono::NaiveDateTime>),
}

/// What a unit is used for when assembling results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Purpose {
    Summary,
    Breakdown,
    Series,
}

/// A funnel query: the steps, the event table they are read from, and one unit per range and shape.
#[derive(Debug, Clone)]
pub struct FunnelPlan {
    /// The catalog funnel's name, or `None` for ad-hoc steps.
    pub funnel: Option<String>,
    pub label: String,
    pub steps: Vec<String>,
    pub window_hours: u32,
    /// The event table: tenant, time, entity (whose steps) and event-name columns come from it.
    pub table: String,
    pub period: ResolvedPeriod,
    pub compare: Option<(Compare, DateRange)>,
    pub group_by: Option<String>,
    pub filters: Vec<Filter>,
    /// One statement each: (range, grouped), the current period's total first.
    pub units: Vec<FunnelUnit>,
}

/// Whether a unit's rows are one total or one per group of the query's `group_by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Total,
    Grouped,
}

impl Split {
    /// `Grouped` when there is a group key (a non-empty `group_by` or key).
    pub fn of<T>(keys: &[T]) -> Split {
        if keys.is_empty() {
            Split::Total
        } else {
            Split::Grouped
        }
    }
}

/// Users reaching each step over one range, in total or per group: exactly one SQL statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunnelUnit {
    pub range: DateRange,
    pub split: Split,
}

impl FunnelPlan {
    pub fn unit_index(&self, range: &DateRange, split: Split) -> Option<usize> {
        self.units
            .iter()
            .position(|u| &u.range == range && u.split == split)
    }
}

#[derive(Debug, Clone)]
pub struct ListPlan {
    pub entity: String,
    pub table: String,
    pub key: String,
    pub fields: Vec<String>,
    pub filters: Vec<FieldFilter>,
    pub period: Option<(ResolvedPeriod, String)>,
    pub sort: Option<(String, Order)>,
    pub limit: usize,
}

pub fn plan(
    checked: &CheckedQuery,
    workspace: &WorkspaceId,
    clock: &Clock,
) -> Result<Plan, PlanError> {
    plan_query(
        checked.catalog(),
        checked.role(),
        checked.query(),
        workspace,
        clock,
    )
}

/// The plan of a query `check` accepted for `role` (a checked query, or a define's `then`).
fn plan_query(
    catalog_arc: &Arc<Catalog>,
    role: &Arc<crate::catalog::Role>,
    query: &Query,
    workspace: &WorkspaceId,
    clock: &Clock,
) -> Result<Plan, PlanError> {
    let catalog = &**catalog_arc;
    if let Tenancy::Single { workspace: served } = &catalog.tenancy {
        if served != workspace.as_str() {
            return Err(PlanError::WorkspaceNotServed {
                requested: workspace.as_str().to_string(),
                served: served.clone(),
            });
        }
    }
    let today = clock.today();
    let min_group_size = role.min_group_size;
    let suppression = if min_group_size > 0 {
        Suppression::SmallGroups
    } else {
        Suppression::Off
    };
    let body = match query {
        Query::Metric(q) => PlanBody::Metric(metric_plan(
            catalog,
            today,
            suppression,
            MetricAsk {
                asked: Asked::Metrics,
                metrics: q.metrics.iter().map(|m| m.as_str().to_string()).collect(),
                period: &q.period,
                compare: q.compare,
                granularity: q.granularity,
                group_by: q.group_by.iter().map(|d| d.as_str().to_string()).collect(),
                filters: q.filters.clone(),
                top_n: q.top_n.unwrap_or(10) as usize,
                order: q.order.unwrap_or(Order::Desc),
            },
        )?),
        Query::Overview(q) => PlanBody::Metric(metric_plan(
            catalog,
            today,
            suppression,
            MetricAsk {
                asked: Asked::Overview,
                metrics: role.overview.clone(),
                period: &q.period,
                compare: q.compare,
                granularity: None,
                group_by: vec![],
                filters: vec![],
                top_n: 10,
                order: Order::Desc,
            },
        )?),
        Query::List(q) => {
            let entity = &catalog.entities[q.entity.as_str()];
            let period = q.period.as_ref().map(|p| {
                let field = q
                    .time_field
                    .as_ref()
                    .map(|f| f.as_str().to_string())
                    .or_else(|| entity.default_time.clone())
                    .expect("check requires a time field with a period");
                (time::resolve(p, today), field)
            });
            PlanBody::List(ListPlan {
                entity: entity.name.clone(),
                table: entity.table.clone(),
                key: entity.key.clone(),
                fields: q.fields.iter().map(|f| f.as_str().to_string()).collect(),
                filters: q.filters.clone(),
                period,
                sort: q
                    .sort
                    .as_ref()
                    .map(|s| (s.field.as_str().to_string(), s.order)),
                limit: q.limit.unwrap_or(20) as usize,
            })
        }
        Query::Funnel(q) => PlanBody::Funnel(funnel_plan(catalog, today, q)?),
        Query::Explain(q) => PlanBody::Explain(explain_plan(catalog, role, today, q, suppression)?),
        Query::Retention(q) => PlanBody::Retention(retention::retention_plan(catalog, today, q)?),
        Query::Anomalies(q) => PlanBody::Anomalies(anomalies::anomalies_plan(
            catalog,
            role,
            today,
            q,
            suppression,
        )?),
        Query::Define(q) => {
            let mut d = define::define_plan(catalog, role, q);
            if let Some(then) = &q.then {
                let p = plan_query(catalog_arc, role, then, workspace, clock)?;
                d.then = Some(Box::new(p));
            }
            PlanBody::Define(d)
        }
    };
    Ok(Plan {
        catalog: catalog_arc.clone(),
        workspace: workspace.clone(),
        catalog_version: catalog.version.clone(),
        today,
        min_group_size,
        body,
    })
}

/// Whether the role withholds small groups: then every aggregate gets a unit counting the
/// distinct entities behind its rows (and, per filter, the ones the filter removes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Suppression {
    Off,
    SmallGroups,
}

/// Where a metric plan's metrics come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    /// A metric query's own.
    Metrics,
    /// An overview: the role's KPIs.
    Overview,
}

/// What a metric plan is asked for.
struct MetricAsk<'a> {
    asked: Asked,
    metrics: Vec<String>,
    period: &'a crate::dsl::Period,
    compare: Option<Compare>,
    granularity: Option<Granularity>,
    group_by: Vec<String>,
    filters: Vec<Filter>,
    top_n: usize,
    order: Order,
}

fn metric_plan(
    catalog: &Catalog,
    today: NaiveDate,
    suppression: Suppression,
    ask: MetricAsk<'_>,
) -> Result<MetricPlan, PlanError> {
    let MetricAsk {
        asked,
        metrics,
        period,
        compare,
        granularity,
        group_by,
        filters,
        top_n,
        order,
    } = ask;
    let coverage = suppression == Suppression::SmallGroups;
    let resolved = resolve_past(period, today)?;
    let compare = compare.map(|c| (c, time::compare_range(&resolved, c)));
    // An overview's KPIs come with a short series each (the page draws it as a sparkline): by
    // day up to a month, by week up to half a year, else by month.
    let granularity = match (asked, granularity) {
        (Asked::Overview, None) => Some(match resolved.range.days() {
            ..=31 => Granularity::Day,
            32..=186 => Granularity::Week,
            _ => Granularity::Month,
        }),
        (_, g) => g,
    };
    let series = |range: &DateRange| match granularity {
        Some(g) => {
            let b = time::windows(range, time::granularity_window(g));
            if b.len() > MAX_POINTS {
                return Err(PlanError::TooManyPoints {
                    points: b.len(),
                    limit: MAX_POINTS,
                });
            }
            Ok(b)
        }
        None => Ok(Vec::new()),
    };
    let buckets = series(&resolved.range)?;
    // An overview's sparklines are the current period's only.
    let previous_buckets = match compare {
        Some((_, r)) if asked == Asked::Metrics => series(&r)?,
        _ => Vec::new(),
    };

    let mut units: Vec<Unit> = Vec::new();
    let mut add = |unit: Unit| {
        if !units.contains(&unit) {
            units.push(unit);
        }
    };
    let mut aggregates: Vec<(UnitKey, Aggregate)> = Vec::new();
    for m in &metrics {
        for (name, a) in catalog.aggregates_of(m) {
            if !aggregates.iter().any(|(k, _)| k.aggregate == name) {
                aggregates.push((UnitKey::value(name), a.clone()));
            }
        }
    }
    if coverage {
        add_entity_counts(catalog, &mut aggregates);
    }
    let mut ranges = vec![resolved.range];
    if let Some((_, r)) = compare {
        ranges.push(r);
    }
    for (key, agg) in &aggregates {
        let unit = |range: DateRange, shape: Shape, grouped: bool| Unit {
            key: key.clone(),
            aggregate: agg.clone(),
            range,
            shape,
            group_by: if grouped { group_by.clone() } else { vec![] },
            filters: filters.clone(),
            rollup: None,
        };
        // One scan per range: an ungrouped count over a series' range is the sum of the
        // series' buckets (they tile the range, each row in exactly one), so it needs no
        // statement of its own (`MetricPlan::total_from_series`).
        for range in &ranges {
            let shape = total_shape(agg, range);
            let has_series =
                granularity.is_some() && (*range == resolved.range || !previous_buckets.is_empty());
            if !series_counts_total(key, agg, has_series, &group_by) {
                add(unit(*range, shape.clone(), false));
            }
            if !group_by.is_empty() {
                add(unit(*range, shape, true));
            }
        }
        if let Some(g) = granularity {
            let shape = series_shape(agg, g, &buckets);
            add(unit(resolved.range, shape, !group_by.is_empty()));
            if let (Some((_, r)), false) = (compare, previous_buckets.is_empty()) {
                let shape = series_shape(agg, g, &previous_buckets);
                add(unit(r, shape, !group_by.is_empty()));
            }
        }
    }
    if coverage {
        // Complementary suppression: per filter, the entities it removes from each coverage
        // unit's rows. A row is withheld when that is a small group (see `result/`).
        let complements: Vec<Unit> = units
            .iter()
            .filter(|u| u.key.counts == Counts::Entities)
            .flat_map(|u| {
                (0..u.filters.len()).map(move |i| Unit {
                    key: UnitKey::dropped_by(&u.key.aggregate, i),
                    ..u.clone()
                })
            })
            .collect();
        units.extend(complements);
    }
    Ok(MetricPlan {
        asked,
        metrics,
        period: resolved,
        compare,
        granularity,
        buckets,
        previous_buckets,
        group_by,
        filters,
        top_n,
        order,
        units,
    })
}

/// Whether the plan reads `agg`'s ungrouped total from its series instead of a statement: a
/// plain row count (sums of exact integers; float sums and distinct counts are not summed
/// across buckets) with a series of the same grouping (none) over the same ranges.
fn series_counts_total(key: &UnitKey, agg: &Aggregate, series: bool, group_by: &[String]) -> bool {
    series
        && group_by.is_empty()
        && key.counts == Counts::Value
        && agg.func == AggFunc::Count
        && matches!(agg.time, crate::catalog::TimeBasis::Column(_))
}

fn explain_plan(
    catalog: &Catalog,
    role: &crate::catalog::Role,
    today: NaiveDate,
    q: &crate::dsl::ExplainQuery,
    suppression: Suppression,
) -> Result<ExplainPlan, PlanError> {
    let coverage = suppression == Suppression::SmallGroups;
    use chrono::Days;
    let resolved = resolve_past(&q.period, today)?;
    let baseline = q.baseline.unwrap_or(Baseline::PreviousPeriod);
    let r = resolved.range;
    let baseline_ranges = match baseline {
        Baseline::SameWeekdayAvg4w => (1..=4u64)
            .map(|k| DateRange::new(r.start - Days::new(7 * k), r.end - Days::new(7 * k)))
            .collect(),
        Baseline::PreviousPeriod => vec![time::compare_range(&resolved, Compare::PreviousPeriod)],
    };
    let (drivers, groupings) = driver_segments(catalog, role, &q.metric.0);
    let series = DateRange::new(r.start - Days::new(34), r.end);
    let mut aggregates: Vec<(UnitKey, Aggregate)> = catalog
        .aggregates_of(&q.metric.0)
        .into_iter()
        .map(|(n, a)| (UnitKey::value(n), a.clone()))
        .collect();
    let mut units = Vec::new();
    if coverage {
        add_entity_counts(catalog, &mut aggregates);
    }
    let all: Vec<Vec<String>> = std::iter::once(Vec::new())
        .chain(groupings.clone())
        .collect();
    for (key, agg) in &aggregates {
        for range in std::iter::once(&r).chain(&baseline_ranges) {
            for g in &all {
                units.push(Unit {
                    key: key.clone(),
                    aggregate: agg.clone(),
                    range: *range,
                    shape: Shape::Total,
                    group_by: g.clone(),
                    filters: q.filters.clone(),
                    rollup: None,
                });
            }
        }
        if key.counts == Counts::Value {
            units.push(Unit {
                key: key.clone(),
                aggregate: agg.clone(),
                range: series,
                shape: Shape::ByBucket(Window::Day),
                group_by: Vec::new(),
                filters: q.filters.clone(),
                rollup: None,
            });
        }
    }
    Ok(ExplainPlan {
        metric: q.metric.0.clone(),
        baseline,
        period: resolved,
        baseline_ranges,
        drivers,
        groupings,
        filters: q.filters.clone(),
        series,
        units,
    })
}

/// The driver dimensions of `metric` the role may see (catalog order), and the groupings that
/// segment by them: each driver alone, then each pair.
pub(crate) fn driver_segments(
    catalog: &Catalog,
    role: &crate::catalog::Role,
    metric: &str,
) -> (Vec<String>, Vec<Vec<String>>) {
    let visible = |d: &crate::catalog::Dimension| {
        role.dimensions.allows(&d.name)
            && d.sensitivity <= role.max_sensitivity
            && d.sensitivity < crate::catalog::Sensitivity::Pii
            && (role.record_level || !d.entity)
    };
    let drivers: Vec<String> = catalog
        .drivers_for_metric(metric)
        .into_iter()
        .filter(|d| visible(&catalog.dimensions[*d]))
        .map(String::from)
        .collect();
    let mut groupings: Vec<Vec<String>> = drivers.iter().map(|d| vec![d.clone()]).collect();
    for (i, a) in drivers.iter().enumerate() {
        for b in &drivers[i + 1..] {
            groupings.push(vec![a.clone(), b.clone()]);
        }
    }
    (drivers, groupings)
}

fn funnel_plan(
    catalog: &Catalog,
    today: NaiveDate,
    q: &crate::dsl::FunnelQuery,
) -> Result<FunnelPlan, PlanError> {
    let resolved = resolve_past(&q.period, today)?;
    let named = q.funnel.as_ref().map(|f| &catalog.funnels[f.as_str()]);
    let (funnel, label, steps, table) = match named {
        Some(f) => (
            Some(f.name.clone()),
            f.label.clone(),
            f.steps.clone(),
            f.table.clone(),
        ),
        None => {
            let steps: Vec<String> = q.steps.iter().map(|s| s.as_str().to_string()).collect();
            let table = catalog
                .event_table()
                .expect("check requires an event table for steps")
                .name
                .clone();
            (None, steps.join(" → "), steps, table)
        }
    };
    let compare = q.compare.map(|c| (c, time::compare_range(&resolved, c)));
    let grouped = !q.group_by.is_empty();
    let mut units = vec![FunnelUnit {
        range: resolved.range,
        split: Split::Total,
    }];
    if grouped {
        units.push(FunnelUnit {
            range: resolved.range,
            split: Split::Grouped,
        });
    }
    if let Some((_, r)) = compare {
        units.push(FunnelUnit {
            range: r,
            split: Split::Total,
        });
        if grouped {
            units.push(FunnelUnit {
                range: r,
                split: Split::Grouped,
            });
        }
    }
    Ok(FunnelPlan {
        funnel,
        label,
        steps,
        window_hours: q
            .window_hours
            .unwrap_or(crate::dsl::DEFAULT_FUNNEL_WINDOW_HOURS),
        table,
        period: resolved,
        compare,
        group_by: q.group_by.first().map(|d| d.as_str().to_string()),
        filters: q.filters.clone(),
        units,
    })
}

/// `period` resolved against `today`; a period that starts after today is `FuturePeriod`.
pub(crate) fn resolve_past(
    period: &crate::dsl::Period,
    today: NaiveDate,
) -> Result<ResolvedPeriod, PlanError> {
    let resolved = time::resolve(period, today);
    if resolved.range.start > today {
        return Err(PlanError::FuturePeriod {
            start: resolved.range.start,
            end: resolved.range.end,
            today,
        });
    }
    Ok(resolved)
}

/// The instant a snapshot is taken for a range.
pub fn snapshot_instant(agg: &Aggregate, range: &DateRange) -> Option<chrono::NaiveDateTime> {
    match &agg.time {
        TimeBasis::Snapshot { at, .. } => Some(match at {
            crate::catalog::SnapshotAt::Start => range.from_instant(),
            crate::catalog::SnapshotAt::End => range.until_instant(),
        }),
        TimeBasis::Column(_) => None,
    }
}

/// The unit shape that yields a whole-range value for `agg`.
pub fn total_shape(agg: &Aggregate, range: &DateRange) -> Shape {
    if let Some(instant) = snapshot_instant(agg, range) {
        return Shape::AtInstants(vec![instant]);
    }
    match agg.func {
        AggFunc::ActiveUsers { window, .. } => Shape::ByWindow(window),
        _ => Shape::Total,
    }
}

/// The unit shape that yields one value per bucket of `g` for `agg`.
pub fn series_shape(agg: &Aggregate, g: Granularity, buckets: &[DateRange]) -> Shape {
    if snapshot_instant(agg, &buckets[0]).is_some() {
        return Shape::AtInstants(
            buckets
                .iter()
                .map(|b| snapshot_instant(agg, b).expect("snapshot"))
                .collect(),
        );
    }
    match agg.func {
        AggFunc::ActiveUsers { window, .. } => Shape::ByWindow(window),
        _ => Shape::ByBucket(time::granularity_window(g)),
    }
}

impl MetricPlan {
    /// The unit computing `key` over `range` in `shape`, in total or grouped.
    pub fn unit_index(
        &self,
        key: &UnitKey,
        range: &DateRange,
        shape: &Shape,
        split: Split,
    ) -> Option<usize> {
        self.units.iter().position(|u| {
            &u.key == key
                && &u.range == range
                && &u.shape == shape
                && Split::of(&u.group_by) == split
        })
    }

    /// For a total the plan reads from its series (an ungrouped count over a series' range):
    /// the series unit whose buckets sum to it.
    pub fn total_from_series(
        &self,
        key: &UnitKey,
        agg: &Aggregate,
        range: &DateRange,
    ) -> Option<usize> {
        if !series_counts_total(key, agg, true, &self.group_by) {
            return None;
        }
        self.units.iter().position(|u| {
            &u.key == key
                && &u.range == range
                && matches!(u.shape, Shape::ByBucket(_))
                && u.group_by.is_empty()
        })
    }
}
