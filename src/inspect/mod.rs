//! `tally catalog check`: the catalog against the warehouse it describes. Every table and
//! column the catalog names must exist with a compatible type (tenant columns text or integer,
//! time columns timestamps or dates, summed columns numeric), join columns on both sides;
//! dimensions' listed values are compared with the data (warnings), and missing indexes that
//! the generated SQL relies on are advised (warnings: (tenant, time) on dated tables, (tenant,
//! entity, time) on funnel tables).
//!
//! Invariants: reads only (through `exec`, whose every statement is read-only and bounded);
//! finds every problem in one run, each with a stable code, the catalog key it is about and the
//! nearest existing name; never reads the values of `confidential` or `pii` dimensions.

pub mod init;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::catalog::{AggFunc, Catalog, Measure, MetricDef, Sensitivity, Tenant, TimeBasis};
use crate::check::nearest::nearest;
use crate::exec::{ColumnType, ExecError, Limits, TableShape, Warehouse};
use crate::sql::{Dialect, ValuesScope};

/// How serious a finding is: errors make the check fail (exit 2, and `serve` refuses to start);
/// warnings are advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Error,
    Warning,
}

/// One problem (or piece of advice) about the catalog and the warehouse.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    pub level: Level,
    /// Stable: `missing_table`, `missing_column`, `wrong_column_type`, `value_not_in_data`,
    /// `value_not_listed`, `index_advice`.
    pub code: &'static str,
    /// The catalog key the finding is about (`tables.events.time`).
    pub key: String,
    pub message: String,
}

/// What a column the catalog names must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Any,
    Tenant,
    Time,
    Numeric,
}

struct Checker<'a> {
    dialect: Dialect,
    catalog: &'a Catalog,
    /// Catalog table name → what the warehouse has under it.
    shapes: &'a BTreeMap<String, TableShape>,
    all_tables: &'a BTreeMap<Option<String>, Vec<String>>,
    findings: Vec<Finding>,
}

impl Checker<'_> {
    fn error(&mut self, code: &'static str, key: String, message: String) {
        self.findings.push(Finding {
            level: Level::Error,
            code,
            key,
            message,
        });
    }

    fn warn(&mut self, code: &'static str, key: String, message: String) {
        self.findings.push(Finding {
            level: Level::Warning,
            code,
            key,
            message,
        });
    }

    fn nearest_in<'n>(name: &str, names: impl Iterator<Item = &'n str>) -> String {
        let candidates: Vec<(&str, Vec<&str>)> = names.map(|n| (n, vec![])).collect();
        nearest(name, &candidates)
            .map(|n| format!(" (nearest: `{n}`)"))
            .unwrap_or_default()
    }

    /// `table.column` exists and is what `want` says.
    fn column(&mut self, key: String, table: &str, column: &str, want: Want) {
        let Some(shape) = self.shapes.get(table) else {
            return; // the missing table is reported once, at its own key
        };
        let Some(c) = shape.column(column) else {
            let near = Self::nearest_in(column, shape.columns.iter().map(|c| c.name.as_str()));
            self.error(
                "missing_column",
                key,
                format!("column `{column}` is not in table `{table}`{near}"),
            );
            return;
        };
        let ok = match want {
            Want::Any => true,
            Want::Tenant => matches!(c.ty, ColumnType::Text | ColumnType::Integer),
            // SQLite keeps timestamps as `YYYY-MM-DD HH:MM:SS` text.
            Want::Time => {
                matches!(c.ty, ColumnType::Timestamp | ColumnType::Date)
                    || (self.dialect == Dialect::Sqlite && c.ty == ColumnType::Text)
            }
            Want::Numeric => c.ty.is_numeric(),
        };
        if !ok {
            let wanted = match want {
                Want::Tenant => "text or an integer (a tenant id)",
                Want::Time => "a timestamp or a date",
                Want::Numeric => "a number",
                Want::Any => "any type",
            };
            self.error(
                "wrong_column_type",
                key,
                format!(
                    "column `{table}.{column}` is `{}`, but must be {wanted}",
                    c.declared
                ),
            );
        }
    }

    fn table(&mut self, key: String, table: &str) -> bool {
        if self.shapes.contains_key(table) {
            return true;
        }
        let (schema, source) = match self.catalog.tables.get(table) {
            Some(t) => (t.schema.clone(), t.source.as_str()),
            None => (None, table),
        };
        let names = self
            .all_tables
            .get(&schema)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let near = Self::nearest_in(source, names.iter().map(String::as_str));
        let place = match &schema {
            Some(s) if names.is_empty() => {
                format!("schema `{s}` (which has no tables, or does not exist)")
            }
            Some(s) => format!("schema `{s}`"),
            None => "the warehouse".to_string(),
        };
        self.error(
            "missing_table",
            key,
            format!("table `{source}` is not in {place}{near}"),
        );
        false
    }

    /// Advice when no index starts with `columns`.
    fn index(&mut self, key: String, table: &str, columns: &[&str], why: &str) {
        let Some(shape) = self.shapes.get(table) else {
            return;
        };
        if columns.iter().any(|c| shape.column(c).is_none()) {
            return;
        }
        let covered = shape.indexes.iter().any(|index| {
            index.len() >= columns.len() && index.iter().zip(columns).all(|(a, b)| a == b)
        });
        if !covered {
            // A statement to paste, quoted for the engine.
            let quote = |n: &str| match self.dialect {
                Dialect::Mysql => format!("`{n}`"),
                _ => format!("\"{n}\""),
            };
            let (schema, source) = match self.catalog.tables.get(table) {
                Some(t) => (t.schema.as_deref(), t.source.as_str()),
                None => (None, table),
            };
            let target = match schema {
                Some(s) => format!("{}.{}", quote(s), quote(source)),
                None => quote(source),
            };
            let name = crate::inspect::init::snake(&format!("{source}_{}_idx", columns.join("_")));
            self.warn(
                "index_advice",
                key,
                format!(
                    "no index on `{table}` starts with ({}): {why}; consider: CREATE INDEX {} ON {target} ({})",
                    columns.join(", "),
                    quote(&name),
                    columns.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ")
                ),
            );
        }
    }
}

/// Checks `catalog` against `warehouse`; every finding, errors first, each sorted by key.
pub async fn check(
    catalog: &Catalog,
    warehouse: &Warehouse,
    limits: &Limits,
) -> Result<Vec<Finding>, ExecError> {
    // The warehouse's table names, per schema the catalog names (for nearest-name hints).
    let mut all_tables: BTreeMap<Option<String>, Vec<String>> = BTreeMap::new();
    let mut shapes = BTreeMap::new();
    for (name, t) in &catalog.tables {
        if !all_tables.contains_key(&t.schema) {
            let names = warehouse.table_names(t.schema.as_deref(), limits).await?;
            all_tables.insert(
                t.schema.clone(),
                names.into_iter().map(|e| e.name).collect(),
            );
        }
        if let Some(shape) = warehouse
            .describe(t.schema.as_deref(), &t.source, limits)
            .await?
        {
            shapes.insert(name.clone(), shape);
        }
    }
    let mut c = Checker {
        dialect: warehouse.dialect(),
        catalog,
        shapes: &shapes,
        all_tables: &all_tables,
        findings: Vec::new(),
    };
    for (name, t) in &catalog.tables {
        if !c.table(format!("tables.{name}"), name) {
            continue;
        }
        if let Tenant::Column(col) = &t.tenant {
            c.column(format!("tables.{name}.tenant"), name, col, Want::Tenant);
        }
        if let Some(time) = &t.time {
            c.column(format!("tables.{name}.time"), name, time, Want::Time);
        }
        for (other, on) in &t.joins {
            let key = format!("tables.{name}.joins.{other}");
            c.column(key.clone(), name, &on.column, Want::Any);
            c.column(key, other, &on.references, Want::Any);
        }
        if let Some(e) = &t.entity {
            c.column(format!("tables.{name}.entity"), name, e, Want::Any);
        }
        if let Some(e) = &t.event {
            c.column(format!("tables.{name}.event"), name, e, Want::Any);
        }
        if let (Tenant::Column(tenant), Some(time)) = (&t.tenant, &t.time) {
            c.index(
                format!("tables.{name}"),
                name,
                &[tenant, time],
                "every query filters on the tenant and a time range",
            );
        }
    }
    for (name, d) in &catalog.dimensions {
        for (i, (table, column)) in d.bindings.iter().enumerate() {
            c.column(
                format!("dimensions.{name}.bindings[{i}]"),
                table,
                column,
                Want::Any,
            );
        }
    }
    for (name, m) in &catalog.metrics {
        let MetricDef::Aggregate(a) = &m.def else {
            continue;
        };
        let key = format!("metrics.{name}");
        let table_time = catalog.tables.get(&a.table).and_then(|t| t.time.as_deref());
        match &a.time {
            // The table's own time column is checked, once, at `tables.<t>.time`.
            TimeBasis::Column(t) if Some(t.as_str()) == table_time => {}
            TimeBasis::Column(t) => c.column(key.clone(), &a.table, t, Want::Time),
            TimeBasis::Snapshot { from, to, .. } => {
                c.column(key.clone(), &a.table, from, Want::Time);
                c.column(key.clone(), &a.table, to, Want::Time);
            }
        }
        match &a.func {
            AggFunc::Count => {}
            AggFunc::CountDistinct(col) | AggFunc::ActiveUsers { column: col, .. } => {
                c.column(key.clone(), &a.table, col, Want::Any)
            }
            AggFunc::Sum(m) | AggFunc::Avg(m) | AggFunc::Median(m) => match m {
                Measure::Column(col) => c.column(key.clone(), &a.table, col, Want::Numeric),
                Measure::Duration { from, to, .. } => {
                    c.column(key.clone(), &a.table, from, Want::Time);
                    c.column(key.clone(), &a.table, to, Want::Time);
                }
            },
        }
        for (col, _) in &a.filters {
            c.column(key.clone(), &a.table, col, Want::Any);
        }
    }
    for (name, e) in &catalog.entities {
        if !c.table(format!("entities.{name}.table"), &e.table) {
            continue;
        }
        c.column(format!("entities.{name}.key"), &e.table, &e.key, Want::Any);
        for field in e.fields.keys() {
            c.column(
                format!("entities.{name}.fields.{field}"),
                &e.table,
                field,
                Want::Any,
            );
        }
    }
    for (name, f) in &catalog.funnels {
        let Some(t) = catalog.tables.get(&f.table) else {
            continue;
        };
        if let (Tenant::Column(tenant), Some(entity), Some(time)) = (&t.tenant, &t.entity, &t.time)
        {
            c.index(
                format!("funnels.{name}"),
                &f.table,
                &[tenant, entity, time],
                "the funnel looks up each entity's next events",
            );
        }
    }
    // Listed values against the data, for dimensions whose values may be read.
    let mut findings = c.findings;
    for (name, d) in &catalog.dimensions {
        if d.values.is_empty() || d.discover || d.sensitivity >= Sensitivity::Confidential {
            continue;
        }
        let Some((table, column)) = d.bindings.first() else {
            continue;
        };
        let readable = shapes
            .get(table)
            .is_some_and(|s| s.column(column).is_some());
        if !readable {
            continue;
        }
        let seen = top_values(
            catalog,
            warehouse,
            table,
            column,
            ValuesScope::AllWorkspaces,
            200,
            limits,
        )
        .await?;
        let total: i64 = seen.iter().map(|(_, n)| n).sum();
        let present: BTreeSet<&str> = seen.iter().map(|(v, _)| v.as_str()).collect();
        let missing: Vec<&String> = d
            .values
            .iter()
            .filter(|v| !present.contains(v.as_str()))
            .collect();
        if !missing.is_empty() && seen.len() < 200 {
            findings.push(Finding {
                level: Level::Warning,
                code: "value_not_in_data",
                key: format!("dimensions.{name}.values"),
                message: format!(
                    "listed but not in `{table}.{column}`: {}",
                    missing
                        .iter()
                        .map(|v| v.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        let unlisted: Vec<String> = seen
            .iter()
            .filter(|(v, n)| !d.values.contains(v) && *n * 100 >= total.max(1))
            .map(|(v, n)| format!("{v} ({n} rows)"))
            .collect();
        if !unlisted.is_empty() {
            findings.push(Finding {
                level: Level::Warning,
                code: "value_not_listed",
                key: format!("dimensions.{name}.values"),
                message: format!(
                    "frequent in `{table}.{column}` but not listed (filters on them are refused): {}",
                    unlisted.join(", ")
                ),
            });
        }
    }
    findings.sort();
    Ok(findings)
}

/// The most values read per `values = "discover"` dimension.
pub const MAX_DISCOVERED_VALUES: u64 = 1_000;

/// The catalog with its `values = "discover"` dimensions' values read from the warehouse, for a
/// single-tenant catalog (its one workspace); a multi-tenant catalog is returned as it is (its
/// values are read per workspace: `discover_in`, which the engine calls on a workspace's first
/// request).
pub async fn discover(
    catalog: &Catalog,
    warehouse: &Warehouse,
    limits: &Limits,
) -> Result<Catalog, ExecError> {
    match &catalog.tenancy {
        crate::catalog::Tenancy::Single { workspace } => {
            let workspace = crate::plan::WorkspaceId::parse(workspace)
                .map_err(|e| ExecError::Failed(e.to_string()))?;
            discover_in(catalog, warehouse, &workspace, limits).await
        }
        crate::catalog::Tenancy::Multi => Ok(catalog.clone()),
    }
}

/// The catalog as `workspace` sees it: each `values = "discover"` dimension holds the values of
/// that workspace's rows only (read like any query, scoped to the workspace on every table and
/// join), the most frequent first, at most `MAX_DISCOVERED_VALUES` (when the cap is reached
/// the list is not complete, so other values stay allowed).
pub async fn discover_in(
    catalog: &Catalog,
    warehouse: &Warehouse,
    workspace: &crate::plan::WorkspaceId,
    limits: &Limits,
) -> Result<Catalog, ExecError> {
    let mut out = catalog.clone();
    for (name, d) in &catalog.dimensions {
        if !d.discover || d.sensitivity >= Sensitivity::Confidential {
            continue;
        }
        let Some((table, column)) = d.bindings.first() else {
            continue;
        };
        let seen = top_values(
            catalog,
            warehouse,
            table,
            column,
            ValuesScope::Workspace(workspace),
            MAX_DISCOVERED_VALUES,
            limits,
        )
        .await?;
        if let Some(dim) = out.dimensions.get_mut(name) {
            dim.values_complete = (seen.len() as u64) < MAX_DISCOVERED_VALUES;
            dim.values = seen.into_iter().map(|(v, _)| v).collect();
        }
    }
    Ok(out)
}

/// The most frequent values of a catalog table's column with their counts, at most `limit`.
async fn top_values(
    catalog: &Catalog,
    warehouse: &Warehouse,
    table: &str,
    column: &str,
    scope: ValuesScope<'_>,
    limit: u64,
    limits: &Limits,
) -> Result<Vec<(String, i64)>, ExecError> {
    let statement =
        crate::sql::top_values(catalog, table, column, scope, limit, warehouse.dialect());
    value_counts(warehouse, statement, limits).await
}

/// Runs a compiled `(value, n)` statement (`sql::top_values`, `sql::sample_values`).
async fn value_counts(
    warehouse: &Warehouse,
    statement: Result<crate::sql::Statement, crate::sql::CompileError>,
    limits: &Limits,
) -> Result<Vec<(String, i64)>, ExecError> {
    let statement = statement.map_err(|e| ExecError::Failed(e.to_string()))?;
    warehouse.value_counts(&statement, limits).await
}
