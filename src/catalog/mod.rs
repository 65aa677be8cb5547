//! The semantic layer: tables, joins, dimensions, entities, metrics, funnels and roles, loaded from
//! TOML and checked once at start-up.
//!
//! Invariants: a `Catalog` only exists if every reference in it resolves: in a multi-tenant catalog
//! every table is scoped by a tenant column (directly or through a join), in a single-tenant one
//! none is; every metric's table and components exist and its columns are well-formed names
//! (that they exist in the warehouse is `inspect`'s check),
//! derived metrics have no cycles, and each (table, dimension) pair has at most one nearest binding.
//! Nothing here does IO except `load_file`; nothing here knows a domain.

pub mod docs;
mod expr;
mod load;
mod raw;
mod sources;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub use docs::{DocFile, DocIndex, Passage};
pub use expr::Expr;
pub use load::CatalogError;
pub use raw::file_schema;
pub use sources::{BreakerSettings, MetricsApiSource};

use crate::dsl::Kind;

#[derive(Debug, Clone)]
pub struct Catalog {
    pub name: String,
    pub version: String,
    pub description: String,
    /// Questions offered as example phrasings when a question needs clarifying.
    pub example_questions: Vec<String>,
    /// Who to ask for personal data, which Tally never returns (`[catalog]
    /// data_access_contact`): said on PII refusals.
    pub data_access_contact: Option<String>,
    pub tables: BTreeMap<String, Table>,
    pub dimensions: BTreeMap<String, Dimension>,
    pub entities: BTreeMap<String, Entity>,
    pub metrics: BTreeMap<String, Metric>,
    pub funnels: BTreeMap<String, Funnel>,
    /// Cohort retention definitions (`[retention.NAME]`), by name.
    pub retention: BTreeMap<String, Retention>,
    pub roles: BTreeMap<String, Arc<Role>>,
    /// Pre-aggregations (`[rollups.NAME]`), by name.
    pub rollups: BTreeMap<String, Rollup>,
    /// Metrics APIs (`[sources.NAME] kind = "metrics_api"`), by name.
    pub sources: BTreeMap<String, MetricsApiSource>,
    pub tenancy: Tenancy,
    /// (table, dimension) → where the dimension's column is reached from that table.
    pub(crate) reach: BTreeMap<(String, String), Reach>,
    /// `[catalog] docs`: the docs folder, relative to the catalog file.
    pub docs_dir: Option<String>,
    /// The docs folder's passages and their BM25 index (empty without docs).
    pub docs: Arc<DocIndex>,
}

/// Whether the warehouse holds many workspaces' data (every query scoped to one) or one's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tenancy {
    Multi,
    /// Nothing is scoped; only this workspace is served.
    Single {
        workspace: String,
    },
}

#[derive(Debug, Clone)]
pub struct Table {
    /// The catalog's name for the table (what metrics and bindings say).
    pub name: String,
    /// The schema it lives in, when not the connection's own.
    pub schema: Option<String>,
    /// The table's name in the warehouse (the catalog name without its schema).
    pub source: String,
    pub tenant: Tenant,
    pub time: Option<String>,
    /// Joined table → how rows match.
    pub joins: BTreeMap<String, JoinOn>,
    /// Whom a row is about (distinct values are what funnels and `min_group_size` count).
    pub entity: Option<String>,
    /// The event-name column, on event tables.
    pub event: Option<String>,
}

/// A join: this table's `column` equals the joined table's `references`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinOn {
    pub column: String,
    pub references: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tenant {
    Column(String),
    /// Reached through the join to this table, which has its own tenant column.
    Via(String),
    /// A single-tenant catalog: nothing to scope.
    Unscoped,
}

/// How a dimension is reached from a table: the chain of joins, then the column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    /// Each hop: (from table, to table, shared column).
    pub path: Vec<Hop>,
    pub table: String,
    pub column: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    pub from: String,
    pub to: String,
    pub on: JoinOn,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::EnumIter,
)]
#[strum(serialize_all = "snake_case")]
pub enum Sensitivity {
    Public,
    Business,
    Confidential,
    Pii,
}

impl Sensitivity {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
    fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum ValueType {
    String,
    Number,
    Date,
}

impl ValueType {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(Debug, Clone)]
pub struct Dimension {
    pub name: String,
    pub description: String,
    /// (table, column) in declared order.
    pub bindings: Vec<(String, String)>,
    pub sensitivity: Sensitivity,
    pub ty: ValueType,
    pub synonyms: Vec<String>,
    /// English phrases the rule translator reads as this dimension (`…` is a gap).
    pub phrases: Vec<String>,
    /// The listed values (empty when discovered: see `discover`).
    pub values: Vec<String>,
    /// `values = "discover"`: the values are read from the warehouse (`inspect::discover`).
    pub discover: bool,
    /// `values` lists every value there is (listed values, or a discovery that stayed under
    /// its cap): a filter on any other value is `unknown_value`.
    pub values_complete: bool,
    pub value_synonyms: BTreeMap<String, Vec<String>>,
    pub entity: bool,
    pub driver: bool,
}

#[derive(Debug, Clone)]
pub struct Entity {
    pub name: String,
    pub table: String,
    pub key: String,
    pub description: String,
    pub synonyms: Vec<String>,
    pub count_metric: Option<String>,
    pub default_time: Option<String>,
    pub default_fields: Vec<String>,
    pub fields: BTreeMap<String, Field>,
}

#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub ty: ValueType,
    pub sensitivity: Sensitivity,
    pub description: String,
    pub format: Option<Format>,
    pub synonyms: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum Format {
    Integer,
    Decimal,
    Percent,
    Currency,
    DurationMinutes,
    DurationHours,
}

impl Format {
    fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

#[derive(Debug, Clone)]
pub struct Metric {
    pub name: String,
    pub label: String,
    pub description: String,
    pub synonyms: Vec<String>,
    /// English phrases the rule translator reads as this metric: verbs and noun phrases,
    /// `…` standing for a gap of up to three words ("tickets … closed").
    pub phrases: Vec<String>,
    pub format: Format,
    /// The metric's own sensitivity, raised to the highest of its components at load.
    pub sensitivity: Sensitivity,
    /// Scanned by `anomalies` when the query names no metrics.
    pub watch: bool,
    /// A fall is good news (churn, tickets opened, resolution time).
    pub lower_is_better: bool,
    pub def: MetricDef,
}

impl Format {
    /// The format's name in the catalog (`percent`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl Metric {
    /// Whether the metric's daily value is a count of rows or of distinct values of a column
    /// (per day): what the anomaly scan's test is for.
    pub fn counts_per_day(&self) -> bool {
        match &self.def {
            MetricDef::Aggregate(a) => {
                matches!(a.time, TimeBasis::Column(_))
                    && matches!(
                        a.func,
                        AggFunc::Count
                            | AggFunc::CountDistinct(_)
                            | AggFunc::ActiveUsers {
                                window: Window::Day,
                                ..
                            }
                    )
            }
            MetricDef::Ratio { .. } | MetricDef::Derived { .. } => false,
        }
    }
}

#[derive(Debug, Clone)]
pub enum MetricDef {
    Aggregate(Aggregate),
    Ratio {
        numerator: String,
        denominator: String,
    },
    Derived {
        expr: Expr,
    },
}

/// A pre-aggregation of one table by day: what it keeps, so that the planner can tell which
/// units it answers exactly (`rollup::serves`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollup {
    pub name: String,
    pub table: String,
    /// The table's time column the days are taken from.
    pub time: String,
    /// Dimensions kept (text values).
    pub dimensions: Vec<String>,
    /// Columns of the table kept for the metrics' `where` conditions.
    pub columns: Vec<String>,
    /// The column whose distinct values are kept, for distinct counts.
    pub entity: Option<String>,
}

impl Rollup {
    /// The rollup table's workspace column.
    pub const WORKSPACE: &'static str = "tally_workspace";
    /// The rollup table's row count column (the rows of the day and key it stands for).
    pub const ROWS: &'static str = "tally_rows";

    /// The table's name in the rollup store. Its time, `where` and entity columns keep the
    /// source table's names; dimensions are [`Rollup::dimension_column`].
    pub fn source(&self) -> String {
        format!("tally_rollup_{}", self.name)
    }

    /// The store table of its per-window distinct counts (a rollup with an entity keeps them):
    /// one row per workspace, window ([`Rollup::GRAIN`] and [`Rollup::START`]) and value of
    /// each `where` column, with the distinct entities of that window ([`Rollup::ENTITIES`]).
    pub fn windows_source(&self) -> Option<String> {
        self.entity
            .as_ref()
            .map(|_| format!("tally_rollup_{}__windows", self.name))
    }

    /// The windows table's grain column: `day`, `week` or `month`.
    pub const GRAIN: &'static str = "tally_grain";
    /// The windows table's first day of the window, `YYYY-MM-DD`.
    pub const START: &'static str = "tally_start";
    /// The windows table's distinct entities of the window.
    pub const ENTITIES: &'static str = "tally_entities";

    /// The rollup table's column holding dimension `d`.
    pub fn dimension_column(d: &str) -> String {
        format!("dim_{d}")
    }

    /// What the rollup holds, as text: a built rollup whose definition differs is not used.
    pub fn definition(&self) -> String {
        format!(
            "table={};time={};dimensions={};columns={};entity={}{}",
            self.table,
            self.time,
            self.dimensions.join(","),
            self.columns.join(","),
            self.entity.as_deref().unwrap_or(""),
            // Stores built before per-window counts existed are rebuilt, not read.
            if self.entity.is_some() {
                ";windows=day,week,month"
            } else {
                ""
            }
        )
    }
}

/// One aggregate over one table: the unit that becomes SQL.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    pub table: String,
    pub func: AggFunc,
    pub time: TimeBasis,
    /// Column = value conditions from the metric's `where`.
    pub filters: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AggFunc {
    Count,
    CountDistinct(String),
    Sum(Measure),
    Avg(Measure),
    Median(Measure),
    /// Distinct values of the column per window, averaged over the windows of the period.
    ActiveUsers {
        column: String,
        window: Window,
    },
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, strum::IntoStaticStr, strum::EnumIter,
)]
#[strum(serialize_all = "snake_case")]
pub enum Window {
    Day,
    Week,
    Month,
}

impl Window {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Measure {
    Column(String),
    /// Whole seconds between two timestamp columns, reported in `unit`.
    Duration {
        from: String,
        to: String,
        unit: DurationUnit,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationUnit {
    Second,
    Minute,
    Hour,
    Day,
}

impl DurationUnit {
    pub fn seconds(self) -> f64 {
        match self {
            DurationUnit::Second => 1.0,
            DurationUnit::Minute => 60.0,
            DurationUnit::Hour => 3600.0,
            DurationUnit::Day => 86400.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum TimeBasis {
    /// Rows whose column falls in the period.
    Column(String),
    /// Rows valid at an instant: `from < t AND (to IS NULL OR to >= t)`.
    Snapshot {
        from: String,
        to: String,
        at: SnapshotAt,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotAt {
    Start,
    End,
}

#[derive(Debug, Clone)]
pub struct Funnel {
    pub name: String,
    pub label: String,
    pub description: String,
    /// The event table; it has a tenant column, a time column, an `entity` and an `event` column.
    pub table: String,
    pub steps: Vec<String>,
    pub window_hours: u32,
    pub synonyms: Vec<String>,
    /// A metric measuring the same conversion without order or window (a refusal's offer).
    pub metric: Option<String>,
}

/// A retention definition: who starts a cohort when, and what counts as coming back.
#[derive(Debug, Clone)]
pub struct Retention {
    pub name: String,
    pub label: String,
    pub description: String,
    /// The cohort table and its time column: one row per entity and when it started.
    pub cohort: TableTime,
    /// The activity table and its time column: a row for an entity after it started is a return.
    pub activity: TableTime,
    /// The entity column, on both tables.
    pub entity: String,
    pub synonyms: Vec<String>,
}

/// A table and one of its time columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableTime {
    pub table: String,
    pub time: String,
}

#[derive(Debug, Clone)]
pub struct Role {
    pub name: String,
    pub description: String,
    pub kinds: BTreeSet<Kind>,
    pub metrics: Allow,
    pub dimensions: Allow,
    pub max_sensitivity: Sensitivity,
    pub record_level: bool,
    pub see_sql: bool,
    pub min_group_size: u32,
    pub overview: Vec<String>,
    pub admin: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allow {
    All,
    Only(BTreeSet<String>),
}

impl Allow {
    pub fn allows(&self, name: &str) -> bool {
        match self {
            Allow::All => true,
            Allow::Only(set) => set.contains(name),
        }
    }
}

/// Whether `s` can name a table, column or schema in a catalog: letters, digits, `_` and `$`,
/// starting with a letter or `_`, at most 63 (it is always quoted, so any case and reserved
/// words are fine).
pub fn is_warehouse_name(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        && s.len() <= 63
}

/// `s` with its first letter upper-cased ("week" → "Week"), for a word that starts a sentence.
pub fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// A catalog name said in the English plural, as the answer and the clarifier both say it:
/// `country` → "countries", `status` → "statuses", `acquisition_channel` → "acquisition
/// channels".
pub fn plural(name: &str) -> String {
    let noun = name.replace('_', " ");
    let consonant_y = noun.ends_with('y')
        && !noun
            .chars()
            .rev()
            .nth(1)
            .is_some_and(|c| "aeiou".contains(c));
    if consonant_y {
        format!("{}ies", &noun[..noun.len() - 1])
    } else if ["s", "x", "ch", "sh"].iter().any(|e| noun.ends_with(e)) {
        format!("{noun}es")
    } else {
        format!("{noun}s")
    }
}

/// Whether `s` is a workspace (tenant) id: 1–64 characters of `[A-Za-z0-9_.-]`.
pub fn is_workspace_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

impl Table {
    /// Whether funnels can run on this table: events with a name, a time, a whom, and a tenant
    /// column of its own (so every self-join is scoped directly).
    pub fn funnel_ready(&self) -> bool {
        self.event.is_some()
            && self.entity.is_some()
            && self.time.is_some()
            && matches!(self.tenant, Tenant::Column(_) | Tenant::Unscoped)
    }
}

impl Catalog {
    /// The default example's catalog (the example registry's first), so the binary works from
    /// any directory.
    pub fn embedded_default() -> Catalog {
        Catalog::of_example(&crate::examples::default_example())
            .expect("the embedded catalog is checked by tests")
    }

    /// An embedded example's catalog with its docs indexed.
    pub fn of_example(example: &crate::examples::Example) -> Result<Catalog, CatalogError> {
        let docs = example
            .docs
            .iter()
            .map(|(name, text)| DocFile {
                name: name.to_string(),
                text: text.to_string(),
            })
            .collect();
        Ok(Catalog::from_toml(example.catalog_toml, example.catalog_file)?.with_docs(docs))
    }

    /// The catalog in `text`, without its docs (`[catalog] docs` names a folder only a file
    /// has: `load_file` reads it, `with_docs` takes its files).
    pub fn from_toml(text: &str, file: &str) -> Result<Catalog, CatalogError> {
        load::load(text, file)
    }

    /// This catalog with `files` as its docs, indexed.
    pub fn with_docs(mut self, files: Vec<DocFile>) -> Catalog {
        self.docs = Arc::new(DocIndex::build(files));
        self
    }

    /// The catalog file at `path` and, when it names one, its docs folder's `*.md` files.
    pub fn load_file(path: &std::path::Path) -> Result<Catalog, CatalogError> {
        let text = std::fs::read_to_string(path).map_err(|e| CatalogError {
            file: path.display().to_string(),
            key: String::new(),
            message: format!("cannot read the catalog: {e}"),
        })?;
        let catalog = load::load(&text, &path.display().to_string())?;
        let Some(dir) = catalog.docs_dir.clone() else {
            return Ok(catalog);
        };
        let folder = path
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .join(&dir);
        let error = |message: String| CatalogError {
            file: path.display().to_string(),
            key: "catalog.docs".into(),
            message,
        };
        let entries = std::fs::read_dir(&folder).map_err(|e| {
            error(format!(
                "cannot read the docs folder {}: {e}",
                folder.display()
            ))
        })?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| error(format!("cannot read the docs folder: {e}")))?;
            let p = entry.path();
            if p.extension().and_then(|e| e.to_str()) != Some("md") || !p.is_file() {
                continue;
            }
            let text = std::fs::read_to_string(&p)
                .map_err(|e| error(format!("cannot read {}: {e}", p.display())))?;
            files.push(DocFile {
                name: entry.file_name().to_string_lossy().into_owned(),
                text,
            });
        }
        Ok(catalog.with_docs(files))
    }

    pub fn role(&self, name: &str) -> Option<&Arc<Role>> {
        self.roles.get(name)
    }

    /// Where `dimension` is read when aggregating `table`, if it is reachable.
    pub fn reach(&self, table: &str, dimension: &str) -> Option<&Reach> {
        self.reach.get(&(table.to_string(), dimension.to_string()))
    }

    /// The aggregates a metric is computed from, depth first, without duplicates.
    pub fn aggregates_of(&self, metric: &str) -> Vec<(&str, &Aggregate)> {
        let mut out = Vec::new();
        self.collect_aggregates(metric, &mut out);
        out
    }

    fn collect_aggregates<'a>(&'a self, metric: &str, out: &mut Vec<(&'a str, &'a Aggregate)>) {
        let Some((name, m)) = self.metrics.get_key_value(metric) else {
            return;
        };
        match &m.def {
            MetricDef::Aggregate(a) => {
                if !out.iter().any(|(n, _)| *n == name.as_str()) {
                    out.push((name.as_str(), a));
                }
            }
            MetricDef::Ratio {
                numerator,
                denominator,
            } => {
                self.collect_aggregates(numerator, out);
                self.collect_aggregates(denominator, out);
            }
            MetricDef::Derived { expr } => {
                for component in expr.metrics() {
                    self.collect_aggregates(component, out);
                }
            }
        }
    }

    /// The table ad-hoc funnel steps are read from: the first table with an `event` column that
    /// also has a tenant column, a time column and an `entity`.
    pub fn event_table(&self) -> Option<&Table> {
        self.tables.values().find(|t| t.funnel_ready())
    }

    /// Known event names of the event table (the values of the dimension bound to its event
    /// column), for ad-hoc funnel steps.
    pub fn event_names(&self) -> Vec<String> {
        let Some(table) = self.event_table() else {
            return Vec::new();
        };
        let column = table.event.as_deref().unwrap_or_default();
        self.dimensions
            .values()
            .find(|d| {
                d.bindings
                    .iter()
                    .any(|(t, c)| t == &table.name && c == column)
            })
            .map(|d| d.values.clone())
            .unwrap_or_default()
    }

    /// Whether `explain` can decompose the metric: a count, distinct count or sum dated by a
    /// column, or a ratio of two such metrics (their changes add up over segments).
    pub fn explainable(&self, metric: &str) -> bool {
        let additive = |name: &str| {
            matches!(
                self.metrics.get(name).map(|m| &m.def),
                Some(MetricDef::Aggregate(Aggregate {
                    func: AggFunc::Count | AggFunc::CountDistinct(_) | AggFunc::Sum(_),
                    time: TimeBasis::Column(_),
                    ..
                }))
            )
        };
        match self.metrics.get(metric).map(|m| &m.def) {
            Some(MetricDef::Ratio {
                numerator,
                denominator,
            }) => additive(numerator) && additive(denominator),
            Some(_) => additive(metric),
            None => false,
        }
    }

    /// The driver dimensions `explain` decomposes a metric across: declared `driver`, reachable
    /// from every table behind the metric.
    pub fn drivers_for_metric(&self, metric: &str) -> Vec<&str> {
        self.dimensions_for_metric(metric)
            .into_iter()
            .filter(|d| self.dimensions[*d].driver)
            .collect()
    }

    /// Dimensions a metric can be grouped or filtered by (reachable from all its tables).
    pub fn dimensions_for_metric(&self, metric: &str) -> Vec<&str> {
        let aggregates = self.aggregates_of(metric);
        self.dimensions
            .keys()
            .filter(|d| {
                !aggregates.is_empty()
                    && aggregates
                        .iter()
                        .all(|(_, a)| self.reach(&a.table, d).is_some())
            })
            .map(String::as_str)
            .collect()
    }
}

#[cfg(test)]
mod tests;
