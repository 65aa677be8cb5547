//! The wire DSL (v1): serde types that translators emit and analysts read, and their JSON Schema.
//!
//! Invariants: these types know nothing of any catalog; names of metrics, dimensions and fields are
//! plain newtypes here and become enums only in the generated schema (`schema.rs`). Every struct
//! denies unknown fields. Optional fields are `Option` (absent or `null` both mean "not given").

mod period;
pub mod schema;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use period::{Between, Compare, Granularity, LastN, Period, PeriodUnit, Preset};

/// The DSL version this build speaks; `executed_dsl` always carries it.
pub const DSL_VERSION: u32 = 1;

/// One query. Tagged by `kind`, which comes first so a model picks the variant before the fields.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Query {
    /// One to four metrics over a period, optionally as a time series, broken down and filtered.
    Metric(MetricQuery),
    /// The caller's role KPI set over a period.
    Overview(OverviewQuery),
    /// Record-level rows of one entity (for roles with record-level access).
    List(ListQuery),
    /// Users through ordered steps, each within the conversion window of the first.
    Funnel(FunnelQuery),
    /// Why a metric changed: the change against a baseline, decomposed across the catalog's
    /// driver dimensions and their pairs.
    Explain(ExplainQuery),
    /// Cohorts of entities by when they started (a signup), and how many of each came back in
    /// each later day, week or month.
    Retention(RetentionQuery),
    /// Days that fell outside their usual range: each watched metric that counts something per
    /// day, in total and per driver segment, each day against the same weekday of the 4 weeks
    /// before.
    Anomalies(AnomaliesQuery),
    /// What metrics and dimensions mean, answered from the catalog and its docs: no numbers.
    Define(DefineQuery),
}

impl Query {
    pub fn kind(&self) -> Kind {
        match self {
            Query::Metric(_) => Kind::Metric,
            Query::Overview(_) => Kind::Overview,
            Query::List(_) => Kind::List,
            Query::Funnel(_) => Kind::Funnel,
            Query::Explain(_) => Kind::Explain,
            Query::Retention(_) => Kind::Retention,
            Query::Anomalies(_) => Kind::Anomalies,
            Query::Define(_) => Kind::Define,
        }
    }

    /// The period the query asks about (a list may ask none).
    pub fn period(&self) -> Option<&Period> {
        match self {
            Query::Metric(m) => Some(&m.period),
            Query::Overview(o) => Some(&o.period),
            Query::List(l) => l.period.as_ref(),
            Query::Funnel(f) => Some(&f.period),
            Query::Explain(e) => Some(&e.period),
            Query::Retention(r) => Some(&r.period),
            Query::Anomalies(a) => a.period.as_ref(),
            Query::Define(_) => None,
        }
    }
}

/// The query kinds.
#[derive(
    Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[serde(rename_all = "snake_case")]
#[derive(strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum Kind {
    Metric,
    Overview,
    List,
    Funnel,
    Explain,
    Retention,
    Anomalies,
    Define,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Kinds this build can execute.
    pub fn supported(self) -> bool {
        matches!(
            self,
            Kind::Metric
                | Kind::Overview
                | Kind::List
                | Kind::Funnel
                | Kind::Explain
                | Kind::Retention
                | Kind::Anomalies
                | Kind::Define
        )
    }

    /// The kinds this build can execute, in declared order.
    pub fn all_supported() -> Vec<Kind> {
        [
            Kind::Metric,
            Kind::Overview,
            Kind::List,
            Kind::Funnel,
            Kind::Explain,
            Kind::Retention,
            Kind::Anomalies,
            Kind::Define,
        ]
        .into_iter()
        .filter(|k| k.supported())
        .collect()
    }
}

/// A metric name from the catalog.
#[derive(
    Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[serde(transparent)]
pub struct MetricName(pub String);

/// A dimension name from the catalog.
#[derive(
    Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[serde(transparent)]
pub struct DimensionName(pub String);

/// A field of a `list` entity.
#[derive(
    Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[serde(transparent)]
pub struct FieldName(pub String);

/// An entity that `list` can return rows of.
#[derive(
    Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[serde(transparent)]
pub struct EntityName(pub String);

macro_rules! name_str {
    ($($t:ty),*) => {$(
        impl $t {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}
/// A funnel from the catalog.
#[derive(
    Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[serde(transparent)]
pub struct FunnelName(pub String);

/// An event name a funnel step matches.
#[derive(
    Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[serde(transparent)]
pub struct StepName(pub String);

/// A retention definition from the catalog (`[retention.NAME]`).
#[derive(
    Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[serde(transparent)]
pub struct RetentionName(pub String);

name_str!(
    RetentionName,
    MetricName,
    DimensionName,
    FieldName,
    EntityName,
    FunnelName,
    StepName
);

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MetricQuery {
    /// DSL version; 1 when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1))]
    pub version: Option<u32>,
    /// One to four metric names.
    #[schemars(length(min = 1, max = 4))]
    pub metrics: Vec<MetricName>,
    pub period: Period,
    /// Adds a time series with one point per day, week or month of the period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granularity: Option<Granularity>,
    /// Adds previous values and deltas to every summary and breakdown row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare: Option<Compare>,
    /// Zero to two dimensions to break the metrics down by.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 2))]
    pub group_by: Vec<DimensionName>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    pub filters: Vec<Filter>,
    /// How many breakdown rows to keep (1-50, default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 50))]
    pub top_n: Option<u32>,
    /// Order of breakdown rows by the first metric (default desc).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<Order>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OverviewQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1))]
    pub version: Option<u32>,
    pub period: Period,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare: Option<Compare>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1))]
    pub version: Option<u32>,
    pub entity: EntityName,
    /// One to ten fields of the entity, in output order.
    #[schemars(length(min = 1, max = 10))]
    pub fields: Vec<FieldName>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    pub filters: Vec<FieldFilter>,
    /// Restricts rows to those whose `time_field` falls in the period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    /// The date field `period` applies to (default: the entity's default time field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_field: Option<FieldName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<Sort>,
    /// Maximum rows (1-100, default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<u32>,
}

/// A funnel: users who did the first step in the period, and how many of them went on to do each
/// later step in order, each within `window_hours` of the first.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FunnelQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1))]
    pub version: Option<u32>,
    /// A funnel from the catalog; give this or `steps`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funnel: Option<FunnelName>,
    /// Two to six event names in order, instead of a named funnel.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 6))]
    pub steps: Vec<StepName>,
    /// Hours from the first step within which every later step must happen (1-720; default: the
    /// named funnel's window, or 24).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 720))]
    pub window_hours: Option<u32>,
    /// The period in which users did the first step.
    pub period: Period,
    /// Adds previous values and deltas to every step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare: Option<Compare>,
    /// Zero or one dimension, read on the first step's event.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1))]
    pub group_by: Vec<DimensionName>,
    /// Filters on the first step's event.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    pub filters: Vec<Filter>,
}

/// Why a metric moved on a date or over a period: the change against a baseline, the driver
/// segments that carry it, and when it started.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExplainQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1))]
    pub version: Option<u32>,
    /// A count, sum or distinct count, or a ratio of them.
    pub metric: MetricName,
    /// The date or period whose value is explained.
    pub period: Period,
    /// What the value is compared with (default: same_weekday_avg_4w for a period of at most 7
    /// days, else previous_period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Baseline>,
    /// Restricts the rows explained.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    pub filters: Vec<Filter>,
}

/// Retention: the entities whose cohort event (a signup) falls in the period, bucketed by day,
/// week or month of it, and per bucket how many had activity in each following bucket.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RetentionQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1))]
    pub version: Option<u32>,
    /// A retention definition from the catalog: the cohort event and the activity that counts
    /// as returning.
    pub retention: RetentionName,
    /// The period in which the cohorts started.
    pub period: Period,
    /// The cohort bucket and the unit of the offsets (default week).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granularity: Option<Granularity>,
    /// How many offsets after the cohort's own bucket (1-26, default 8): offset 0 is the
    /// cohort's bucket, offset k the k-th day, week or month after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 26))]
    pub periods: Option<u32>,
    /// Zero or one dimension of the cohort's table: one set of cohorts per value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1))]
    pub group_by: Vec<DimensionName>,
    /// Filters on the cohort's table.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    pub filters: Vec<Filter>,
}

/// An anomaly scan: every day of the period (default the last 7 complete days), for each metric
/// scanned, in total and per driver segment (each driver and each pair the role may see),
/// against the same weekday of the 4 weeks before; days outside their usual range are flagged,
/// most severe first.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AnomaliesQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1))]
    pub version: Option<u32>,
    /// The days scanned (default: the last 7 complete days; at most 31 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    /// The metrics scanned (default: the catalog's `watch = true` metrics the role may see, else
    /// the role's KPI set), counts per day only: others are listed as skipped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    pub metrics: Vec<MetricName>,
}

/// What metrics and dimensions mean: each named one described from the catalog (label,
/// description, how it is computed, where it is read, its format), and passages of the
/// catalog's docs that match `search` and the names asked about, quoted with file and heading.
/// Names at least one metric or dimension, or gives `search`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DefineQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1))]
    pub version: Option<u32>,
    /// Up to four metrics to describe.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 4))]
    pub metrics: Vec<MetricName>,
    /// Up to four dimensions to describe.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 4))]
    pub dimensions: Vec<DimensionName>,
    /// Free text looked up in the catalog's docs (words that name no catalog entry, such as
    /// "active customer"); at most 200 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200))]
    pub search: Option<String>,
    /// A query of another kind asked in the same question ("what is churn rate and what was it
    /// last month?"): checked and run exactly as if it were sent alone, its answer after the
    /// definition and its data in `data.then`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")]
    pub then: Option<Box<Query>>,
}

/// The most characters of a `define` query's `search`.
pub const MAX_DEFINE_SEARCH_CHARS: usize = 200;

/// The most days an anomaly scan covers.
pub const MAX_ANOMALY_DAYS: u32 = 31;

/// The default number of offsets a retention query follows.
pub const DEFAULT_RETENTION_PERIODS: u32 = 8;

#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[derive(strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum Baseline {
    /// The mean of the same dates 1, 2, 3 and 4 weeks earlier (periods of at most 7 days).
    #[serde(rename = "same_weekday_avg_4w")]
    #[strum(serialize = "same_weekday_avg_4w")]
    SameWeekdayAvg4w,
    /// The period of the same length immediately before (as `compare: previous_period`).
    PreviousPeriod,
}

impl Baseline {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The default conversion window of a funnel given as `steps`.
pub const DEFAULT_FUNNEL_WINDOW_HOURS: u32 = 24;

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Sort {
    pub field: FieldName,
    pub order: Order,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    Asc,
    Desc,
}

/// A filter on a dimension.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    pub dimension: DimensionName,
    pub op: FilterOp,
    /// One value for eq/neq/gt/gte/lt/lte/contains; one or more for in/not_in.
    #[schemars(length(min = 1, max = 50))]
    pub values: Vec<FilterValue>,
}

/// A filter on a field of a `list` entity.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FieldFilter {
    pub field: FieldName,
    pub op: FilterOp,
    /// One value for eq/neq/gt/gte/lt/lte/contains; one or more for in/not_in.
    #[schemars(length(min = 1, max = 50))]
    pub values: Vec<FilterValue>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[derive(strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum FilterOp {
    Eq,
    Neq,
    In,
    NotIn,
    Gt,
    Gte,
    Lt,
    Lte,
    Contains,
}

impl FilterOp {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn takes_many(self) -> bool {
        matches!(self, FilterOp::In | FilterOp::NotIn)
    }

    pub fn is_ordering(self) -> bool {
        matches!(
            self,
            FilterOp::Gt | FilterOp::Gte | FilterOp::Lt | FilterOp::Lte
        )
    }
}

/// A filter value: text or a number, typed by the dimension.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(untagged)]
pub enum FilterValue {
    Text(String),
    Number(f64),
}

impl std::fmt::Display for FilterValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FilterValue::Text(s) => f.write_str(s),
            FilterValue::Number(n) => write!(f, "{n}"),
        }
    }
}
