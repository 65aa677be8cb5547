//! A `define` result: the catalog entries asked about, as data (how each metric is computed,
//! where it is read, its format), and the quoted passages of the catalog's docs. No numbers:
//! nothing here reads a row.

use std::collections::BTreeMap;

use serde::Serialize;

use super::QueryResult;
use crate::catalog::{AggFunc, Catalog, Measure, MetricDef, SnapshotAt, TimeBasis};
use crate::plan::DefinePlan;

/// The `data.define` object.
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct DefineOut {
    pub metrics: Vec<MetricDefinition>,
    pub dimensions: Vec<DimensionDefinition>,
    /// The free text looked up in the docs, when the query gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
    /// Passages of the catalog's docs, best first: quoted text, never instructions.
    pub passages: Vec<PassageOut>,
}

/// A metric as the catalog defines it.
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct MetricDefinition {
    pub name: String,
    pub label: String,
    pub description: String,
    /// `count`, `count_distinct`, `sum`, `avg`, `median`, `active_users`, `ratio` or `derived`.
    #[serde(rename = "type")]
    pub ty: String,
    /// The table an aggregate reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// The column that dates an aggregate's rows (absent for a snapshot).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// A snapshot's validity columns and when it is taken (`start` or `end` of the period).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotOut>,
    /// The column counted, summed or averaged (a distinct count's, an active-users' entity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// A duration measured between two columns, in `unit`s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<DurationOut>,
    /// An active-users metric's window: `day`, `week` or `month`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    /// Column = value conditions on the rows.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub conditions: BTreeMap<String, String>,
    /// A ratio's numerator and denominator metrics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub numerator: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denominator: Option<String>,
    /// A derived metric's expression over other metrics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// `integer`, `decimal`, `percent`, `currency`, `duration_minutes` or `duration_hours`.
    pub format: String,
    pub lower_is_better: bool,
    pub sensitivity: String,
    pub synonyms: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct SnapshotOut {
    pub from: String,
    pub to: String,
    /// `start` or `end`.
    pub at: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct DurationOut {
    pub from: String,
    pub to: String,
    /// `second`, `minute`, `hour` or `day`.
    pub unit: String,
}

/// A dimension as the catalog defines it.
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct DimensionDefinition {
    pub name: String,
    pub description: String,
    /// `string`, `number` or `date`.
    #[serde(rename = "type")]
    pub ty: String,
    /// Every value, when the catalog lists a closed set (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    pub synonyms: Vec<String>,
}

/// A quoted passage of the catalog's docs.
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct PassageOut {
    /// The file, relative to the catalog's docs folder.
    pub file: String,
    pub heading: String,
    /// The passage's text, verbatim (cut at a word after 600 characters).
    pub text: String,
    /// Its BM25 score for `found_for`, to three decimals.
    pub score: f64,
    /// The text it was retrieved for: the search text or a metric's label.
    pub found_for: String,
}

pub(super) fn define(plan: &DefinePlan, catalog: &Catalog) -> QueryResult {
    QueryResult {
        define: Some(DefineOut {
            metrics: plan
                .metrics
                .iter()
                .filter_map(|m| catalog.metrics.get(m))
                .map(metric)
                .collect(),
            dimensions: plan
                .dimensions
                .iter()
                .filter_map(|d| catalog.dimensions.get(d))
                .map(|d| DimensionDefinition {
                    name: d.name.clone(),
                    description: d.description.clone(),
                    ty: d.ty.as_str().to_string(),
                    values: (d.values_complete && !d.values.is_empty()).then(|| d.values.clone()),
                    synonyms: d.synonyms.clone(),
                })
                .collect(),
            search: plan.search.clone(),
            passages: plan
                .passages
                .iter()
                .map(|r| PassageOut {
                    file: r.passage.file.clone(),
                    heading: r.passage.heading.clone(),
                    text: r.passage.text.clone(),
                    score: (f64::from(r.score) * 1000.0).round() / 1000.0,
                    found_for: r.found_for.clone(),
                })
                .collect(),
        }),
        ..QueryResult::default()
    }
}

fn metric(m: &crate::catalog::Metric) -> MetricDefinition {
    let mut out = MetricDefinition {
        name: m.name.clone(),
        label: m.label.clone(),
        description: m.description.clone(),
        ty: String::new(),
        table: None,
        time: None,
        snapshot: None,
        column: None,
        duration: None,
        window: None,
        conditions: BTreeMap::new(),
        numerator: None,
        denominator: None,
        expression: None,
        format: m.format.as_str().to_string(),
        lower_is_better: m.lower_is_better,
        sensitivity: m.sensitivity.as_str().to_string(),
        synonyms: m.synonyms.clone(),
    };
    match &m.def {
        MetricDef::Aggregate(a) => {
            out.table = Some(a.table.clone());
            match &a.time {
                TimeBasis::Column(c) => out.time = Some(c.clone()),
                TimeBasis::Snapshot { from, to, at } => {
                    out.snapshot = Some(SnapshotOut {
                        from: from.clone(),
                        to: to.clone(),
                        at: match at {
                            SnapshotAt::Start => "start",
                            SnapshotAt::End => "end",
                        }
                        .into(),
                    })
                }
            }
            out.conditions = a.filters.iter().cloned().collect();
            let mut measure = |ms: &Measure| match ms {
                Measure::Column(c) => out.column = Some(c.clone()),
                Measure::Duration { from, to, unit } => {
                    out.duration = Some(DurationOut {
                        from: from.clone(),
                        to: to.clone(),
                        unit: match unit {
                            crate::catalog::DurationUnit::Second => "second",
                            crate::catalog::DurationUnit::Minute => "minute",
                            crate::catalog::DurationUnit::Hour => "hour",
                            crate::catalog::DurationUnit::Day => "day",
                        }
                        .into(),
                    })
                }
            };
            out.ty = match &a.func {
                AggFunc::Count => "count",
                AggFunc::CountDistinct(c) => {
                    out.column = Some(c.clone());
                    "count_distinct"
                }
                AggFunc::Sum(ms) => {
                    measure(ms);
                    "sum"
                }
                AggFunc::Avg(ms) => {
                    measure(ms);
                    "avg"
                }
                AggFunc::Median(ms) => {
                    measure(ms);
                    "median"
                }
                AggFunc::ActiveUsers { column, window } => {
                    out.column = Some(column.clone());
                    out.window = Some(window.as_str().to_string());
                    "active_users"
                }
            }
            .to_string();
        }
        MetricDef::Ratio {
            numerator,
            denominator,
        } => {
            out.ty = "ratio".into();
            out.numerator = Some(numerator.clone());
            out.denominator = Some(denominator.clone());
        }
        MetricDef::Derived { expr } => {
            out.ty = "derived".into();
            out.expression = Some(expr.render(&|m| m.to_string()));
        }
    }
    out
}
