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

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::catalog::{AggFunc, Catalog, Measure, MetricDef, Sensitivity, Tenant, TimeBasis};
use crate::check::nearest::nearest;
use crate::exec::{ColumnType, ExecError, Limits, TableShape, Warehouse};
use crate::sql::Dialect;

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
    shapes: &'a BTreeMap<String, TableShape>,
    all_tables: &'a [String],
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
        let near = Self::nearest_in(table, self.all_tables.iter().map(String::as_str));
        self.error(
            "missing_table",
            key,
            format!("table `{table}` is not in the warehouse{near}"),
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
            self.warn(
                "index_advice",
                key,
                format!(
                    "no index on `{table}` starts with ({}): {why}; consider CREATE INDEX ON {table} ({})",
                    columns.join(", "),
                    columns.join(", ")
                ),
            );
        }
    }
}

/// The tables the catalog names.
fn named_tables(catalog: &Catalog) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = catalog.tables.keys().cloned().collect();
    out.extend(catalog.entities.values().map(|e| e.table.clone()));
    out
}

/// Checks `catalog` against `warehouse`; every finding, errors first, each sorted by key.
pub async fn check(
    catalog: &Catalog,
    warehouse: &Warehouse,
    limits: &Limits,
) -> Result<Vec<Finding>, ExecError> {
    let all_tables = warehouse.table_names(limits).await?;
    let mut shapes = BTreeMap::new();
    for table in named_tables(catalog) {
        if let Some(shape) = warehouse.describe(&table, limits).await? {
            shapes.insert(table, shape);
        }
    }
    let mut c = Checker {
        dialect: warehouse.dialect(),
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
        for (other, col) in &t.joins {
            let key = format!("tables.{name}.joins.{other}");
            c.column(key.clone(), name, col, Want::Any);
            c.column(key, other, col, Want::Any);
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
        if d.values.is_empty() || d.sensitivity >= Sensitivity::Confidential {
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
        let seen = warehouse.top_values(table, column, 200, limits).await?;
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
