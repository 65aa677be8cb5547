//! The TOML catalog as written: serde types that deny unknown keys. `load.rs` turns them into a `Catalog`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Deserialize, JsonSchema, Debug)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "Tally catalog",
    description = "The semantic layer of a Tally warehouse: tables, dimensions, entities, metrics, funnels and roles. Reference: dsl-spec/catalog.md"
)]
pub(crate) struct RawCatalog {
    pub catalog: RawHeader,
    #[serde(default)]
    pub tables: BTreeMap<String, RawTable>,
    #[serde(default)]
    pub dimensions: BTreeMap<String, RawDimension>,
    #[serde(default)]
    pub entities: BTreeMap<String, RawEntity>,
    #[serde(default)]
    pub metrics: BTreeMap<String, RawMetric>,
    #[serde(default)]
    pub funnels: BTreeMap<String, RawFunnel>,
    /// Cohort retention definitions: the event that starts a cohort and the activity that
    /// counts as coming back. Reference: dsl-spec/catalog.md.
    #[serde(default)]
    pub retention: BTreeMap<String, RawRetention>,
    #[serde(default)]
    pub roles: BTreeMap<String, RawRole>,
    /// Pre-aggregations Tally builds (`tally rollup build`) and answers from when the answer is
    /// provably the same as the raw table's.
    #[serde(default)]
    pub rollups: BTreeMap<String, RawRollup>,
    /// Other sources of numbers, tried before the warehouse when they can answer a query
    /// exactly (`kind = "metrics_api"`: a Metrics API of pre-computed KPIs). Reference:
    /// dsl-spec/catalog.md and dsl-spec/metrics-api.md.
    #[serde(default)]
    pub sources: BTreeMap<String, super::sources::RawSource>,
}

/// A rollup: one row per workspace, day and value of its dimensions (and entity, when a metric
/// it serves counts distinct entities), with the row count. Reference: dsl-spec/catalog.md.
#[derive(Deserialize, JsonSchema, Debug)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRollup {
    /// The table it aggregates.
    pub table: String,
    /// The metrics it is built for: counts and distinct counts of the table (their `where`
    /// columns are kept; a distinct count keeps its column).
    pub metrics: Vec<String>,
    /// Dimensions kept, for group-bys and filters (text dimensions reachable from the table).
    #[serde(default)]
    pub dimensions: Vec<String>,
}

#[derive(Deserialize, JsonSchema, Debug)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHeader {
    pub name: String,
    pub version: String,
    #[serde(default = "utc")]
    pub timezone: String,
    #[serde(default = "monday")]
    pub week_start: String,
    #[serde(default)]
    pub description: String,
    /// Questions this catalog answers well, offered when a question needs clarifying.
    #[serde(default)]
    pub example_questions: Vec<String>,
    /// Who to ask for data Tally never returns (personal data): an address or a team, shown on
    /// PII refusals.
    #[serde(default)]
    pub data_access_contact: Option<String>,
    /// `multi` (default): every table is scoped to the caller's workspace by a tenant column.
    /// `single`: the warehouse holds one organisation's data, nothing is scoped, and one fixed
    /// workspace (`workspace`) is served.
    #[serde(default)]
    pub tenancy: RawTenancy,
    /// The one workspace a single-tenant catalog serves (default `default`).
    pub workspace: Option<String>,
    /// A folder of markdown files (`*.md`) relative to the catalog file, indexed at load and
    /// quoted by `define` answers (metric definitions, data freshness, policies).
    #[serde(default)]
    pub docs: Option<String>,
}

#[derive(Deserialize, serde::Serialize, JsonSchema, Debug, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RawTenancy {
    #[default]
    Multi,
    Single,
}

fn utc() -> String {
    "UTC".into()
}
fn monday() -> String {
    "monday".into()
}

#[derive(Deserialize, JsonSchema, Debug)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTable {
    /// The schema the table lives in (a PostgreSQL schema, a MySQL database, an attached SQLite
    /// database); default the connection's own. The key may also be written `"shop.orders"`.
    pub schema: Option<String>,
    /// The tenant column on this table.
    pub tenant: Option<String>,
    /// Or: the join (a key of `joins`) through which the tenant is reached.
    pub tenant_via: Option<String>,
    pub time: Option<String>,
    /// Joined table name → the column both tables share, or `{ column, references }` when the
    /// joined table's key has another name (`{ column = "customer_id", references = "id" }`).
    #[serde(default)]
    pub joins: BTreeMap<String, RawJoin>,
    /// The column naming whom a row is about (a user, a customer): funnels count its distinct
    /// values, and `min_group_size` counts them per row of an answer.
    pub entity: Option<String>,
    /// The column holding an event's name: funnel steps match its values.
    pub event: Option<String>,
}

#[derive(Deserialize, JsonSchema, Debug)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDimension {
    pub bindings: Vec<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default = "public")]
    pub sensitivity: String,
    #[serde(default)]
    pub synonyms: Vec<String>,
    /// Words the dimension is asked with beyond its names (see `RawMetric::phrases`).
    #[serde(default)]
    pub phrases: Vec<String>,
    /// The values, or `"discover"` to read them from the warehouse at start.
    #[serde(default)]
    pub values: RawValues,
    #[serde(default)]
    pub value_synonyms: BTreeMap<String, Vec<String>>,
    #[serde(default = "string_type", rename = "type")]
    pub ty: String,
    /// Identifies a single record (a company, a campaign): needs `record_level`.
    #[serde(default)]
    pub entity: bool,
    /// Used by `explain` to decompose changes.
    #[serde(default)]
    pub driver: bool,
}

fn public() -> String {
    "public".into()
}
fn string_type() -> String {
    "string".into()
}

#[derive(Deserialize, JsonSchema, Debug)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEntity {
    pub table: String,
    pub key: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub synonyms: Vec<String>,
    pub count_metric: Option<String>,
    pub default_time: Option<String>,
    /// Fields a list shows when the question names none.
    #[serde(default)]
    pub default_fields: Vec<String>,
    pub fields: BTreeMap<String, RawField>,
}

#[derive(Deserialize, JsonSchema, Debug)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawField {
    #[serde(rename = "type")]
    pub ty: String,
    #[serde(default = "public")]
    pub sensitivity: String,
    #[serde(default)]
    pub description: String,
    pub format: Option<String>,
    #[serde(default)]
    pub synonyms: Vec<String>,
}

#[derive(Deserialize, JsonSchema, Debug)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMetric {
    pub label: Option<String>,
    #[serde(default)]
    pub description: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub table: Option<String>,
    pub column: Option<String>,
    pub duration: Option<RawDuration>,
    pub time: Option<String>,
    pub snapshot: Option<RawSnapshot>,
    pub window: Option<String>,
    #[serde(default, rename = "where")]
    pub filter: BTreeMap<String, String>,
    pub numerator: Option<String>,
    pub denominator: Option<String>,
    pub expression: Option<String>,
    #[serde(default = "integer")]
    pub format: String,
    #[serde(default = "public")]
    pub sensitivity: String,
    #[serde(default)]
    pub synonyms: Vec<String>,
    /// How people ask for the metric in English: verbs and noun phrases ("tickets … closed",
    /// "how long … resolve"), for the rule translator. `…` stands for up to three words of
    /// anything between; words are matched by their stem, so "closed" also reads "closing".
    #[serde(default)]
    pub phrases: Vec<String>,
    /// Scanned by `anomalies` by default (instead of the role's KPI set).
    #[serde(default)]
    pub watch: bool,
    /// A fall is good news (churn, tickets, resolution time): the page colours its changes so.
    #[serde(default)]
    pub lower_is_better: bool,
}

fn integer() -> String {
    "integer".into()
}

#[derive(Deserialize, JsonSchema, Debug)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDuration {
    pub from: String,
    pub to: String,
    pub unit: String,
}

#[derive(Deserialize, JsonSchema, Debug)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSnapshot {
    pub from: String,
    pub to: String,
    pub at: String,
}

#[derive(Deserialize, JsonSchema, Debug)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFunnel {
    pub label: Option<String>,
    #[serde(default)]
    pub description: String,
    /// The event table (default: the only table with an `event` column).
    pub table: Option<String>,
    /// A metric measuring the same conversion without order or window, offered to roles that
    /// may not run funnels.
    pub metric: Option<String>,
    pub steps: Vec<String>,
    pub window_hours: u32,
    #[serde(default)]
    pub synonyms: Vec<String>,
}

/// A retention definition: entities join a cohort when `cohort`'s time falls in the asked
/// period and come back when `activity` has a row for them later.
#[derive(Deserialize, JsonSchema, Debug)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRetention {
    pub label: Option<String>,
    #[serde(default)]
    pub description: String,
    /// The table with one row per entity and the time it started (a signup).
    pub cohort: RawRetentionSide,
    /// The table whose rows count as activity (events).
    pub activity: RawRetentionSide,
    /// The entity column, present on both tables (default: the cohort table's `entity`).
    pub entity: Option<String>,
    #[serde(default)]
    pub synonyms: Vec<String>,
}

#[derive(Deserialize, JsonSchema, Debug)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRetentionSide {
    pub table: String,
    /// The time column (default: the table's `time`).
    pub time: Option<String>,
}

#[derive(Deserialize, JsonSchema, Debug)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRole {
    #[serde(default)]
    pub description: String,
    pub kinds: Vec<String>,
    pub metrics: RawAllow,
    pub dimensions: RawAllow,
    pub max_sensitivity: String,
    pub record_level: bool,
    #[serde(default)]
    pub see_sql: bool,
    #[serde(default)]
    pub min_group_size: u32,
    #[serde(default)]
    pub overview: Vec<String>,
    /// Ops endpoints (revoke, rerun, audit).
    #[serde(default)]
    pub admin: bool,
}

/// How a join matches rows: one shared column name, or this table's column and the joined
/// table's column.
#[derive(Deserialize, JsonSchema, Debug, Clone)]
#[serde(untagged)]
pub(crate) enum RawJoin {
    Shared(String),
    Keys(RawJoinKeys),
}

#[derive(Deserialize, JsonSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawJoinKeys {
    /// This table's column.
    pub column: String,
    /// The joined table's column it equals.
    pub references: String,
}

/// A dimension's values: listed, or `"discover"`.
#[derive(Deserialize, serde::Serialize, JsonSchema, Debug)]
#[serde(untagged)]
pub(crate) enum RawValues {
    Listed(Vec<String>),
    /// `"discover"` (checked at load, so another word gets a message naming the key).
    Discover(#[schemars(with = "DiscoverWord")] String),
}

/// The one word `values` takes instead of a list (only for the schema).
#[derive(JsonSchema)]
#[allow(dead_code)]
enum DiscoverWord {
    #[serde(rename = "discover")]
    Discover,
}

impl Default for RawValues {
    fn default() -> Self {
        RawValues::Listed(Vec::new())
    }
}

/// `"*"` or a list of names.
#[derive(Deserialize, JsonSchema, Debug)]
#[serde(untagged)]
pub(crate) enum RawAllow {
    All(String),
    Some(Vec<String>),
}

/// The JSON Schema of the catalog file (for editors that validate TOML against one).
pub fn file_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(RawCatalog)).expect("schemas serialize")
}
