//! What the warehouse holds: its tables, their columns with a coarse type, and their indexes,
//! read from each engine's own catalog (`pragma_table_info` and `pragma_index_list` on SQLite,
//! `information_schema` and `pg_index` on PostgreSQL, `information_schema` on MySQL/MariaDB),
//! for `tally catalog check`.
//!
//! Invariants: every statement here is a constant with bound values, run read-only through the
//! same path as any query (time limit, row cap); names are compared as the engine reports them.

use std::collections::BTreeMap;

use super::{Cell, ExecError, Limits, Warehouse};
use crate::sql::{Column, ColumnKind, Dialect, Param, Statement};

/// A column's type, as coarse as the checks need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Text,
    Integer,
    Real,
    Timestamp,
    Date,
    Boolean,
    Other,
}

impl ColumnType {
    /// From the engine's type name (`BIGINT`, `character varying`, `timestamp without time
    /// zone`, `datetime`, …).
    pub fn from_declared(declared: &str) -> ColumnType {
        let t = declared.to_ascii_lowercase();
        if t.contains("timestamp") || t.contains("datetime") {
            ColumnType::Timestamp
        } else if t == "date" {
            ColumnType::Date
        } else if t.contains("bool") {
            ColumnType::Boolean
        } else if t.contains("int") || t == "bigserial" || t == "serial" {
            ColumnType::Integer
        } else if ["real", "floa", "doub", "numeric", "decimal"]
            .iter()
            .any(|k| t.contains(k))
        {
            ColumnType::Real
        } else if ["char", "text", "clob", "string", "uuid", "enum"]
            .iter()
            .any(|k| t.contains(k))
        {
            ColumnType::Text
        } else {
            ColumnType::Other
        }
    }

    pub fn is_numeric(self) -> bool {
        matches!(self, ColumnType::Integer | ColumnType::Real)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnShape {
    pub name: String,
    pub declared: String,
    pub ty: ColumnType,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableShape {
    pub columns: Vec<ColumnShape>,
    /// Each index's columns in order (the primary key's included).
    pub indexes: Vec<Vec<String>>,
}

impl TableShape {
    pub fn column(&self, name: &str) -> Option<&ColumnShape> {
        self.columns.iter().find(|c| c.name == name)
    }
}

fn text_statement(sql: &str, params: Vec<Param>, columns: &[&str]) -> Statement {
    Statement {
        sql: sql.to_string(),
        params,
        columns: columns
            .iter()
            .map(|c| Column {
                name: c.to_string(),
                kind: ColumnKind::Text,
            })
            .collect(),
    }
}

fn texts(row: &[Cell]) -> Vec<String> {
    row.iter()
        .map(|c| c.as_text().unwrap_or_default().to_string())
        .collect()
}

const SQLITE_TABLES: &str =
    "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name";
const SQLITE_COLUMNS: &str = "SELECT name, type FROM pragma_table_info(?) ORDER BY cid";
const SQLITE_INDEXES: &str = "SELECT il.name, ii.name FROM pragma_index_list(?) AS il, \
     pragma_index_info(il.name) AS ii ORDER BY il.name, ii.seqno";
const PG_TABLES: &str = "SELECT table_name::text FROM information_schema.tables \
     WHERE table_schema = current_schema() ORDER BY 1";
const PG_COLUMNS: &str =
    "SELECT column_name::text, data_type::text FROM information_schema.columns \
     WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position";
const PG_INDEXES: &str = "SELECT i.relname::text, a.attname::text FROM pg_index x \
     JOIN pg_class t ON t.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid \
     JOIN pg_namespace n ON n.oid = t.relnamespace \
     CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord) \
     JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
     WHERE n.nspname = current_schema() AND t.relname = $1 ORDER BY i.relname, k.ord";
const MYSQL_TABLES: &str = "SELECT CAST(TABLE_NAME AS CHAR) FROM information_schema.TABLES \
     WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1";
const MYSQL_COLUMNS: &str = "SELECT CAST(COLUMN_NAME AS CHAR), CAST(COLUMN_TYPE AS CHAR) \
     FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? \
     ORDER BY ORDINAL_POSITION";
const MYSQL_INDEXES: &str = "SELECT CAST(INDEX_NAME AS CHAR), CAST(COLUMN_NAME AS CHAR) \
     FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? \
     ORDER BY INDEX_NAME, SEQ_IN_INDEX";

impl Warehouse {
    /// Every table and view the warehouse holds (in the connection's schema).
    pub async fn table_names(&self, limits: &Limits) -> Result<Vec<String>, ExecError> {
        let sql = match self.dialect() {
            Dialect::Sqlite => SQLITE_TABLES,
            Dialect::Postgres => PG_TABLES,
            Dialect::Mysql => MYSQL_TABLES,
        };
        let rows = self
            .run(&text_statement(sql, vec![], &["name"]), limits)
            .await?;
        Ok(rows.rows.iter().map(|r| texts(r).remove(0)).collect())
    }

    /// The columns and indexes of `table`, or `None` when it does not exist.
    pub async fn describe(
        &self,
        table: &str,
        limits: &Limits,
    ) -> Result<Option<TableShape>, ExecError> {
        let (columns, indexes) = match self.dialect() {
            Dialect::Sqlite => (SQLITE_COLUMNS, SQLITE_INDEXES),
            Dialect::Postgres => (PG_COLUMNS, PG_INDEXES),
            Dialect::Mysql => (MYSQL_COLUMNS, MYSQL_INDEXES),
        };
        let name = || vec![Param::Text(table.to_string())];
        let cols = self
            .run(&text_statement(columns, name(), &["name", "type"]), limits)
            .await?;
        if cols.rows.is_empty() {
            return Ok(None);
        }
        let columns = cols
            .rows
            .iter()
            .map(|r| {
                let t = texts(r);
                ColumnShape {
                    ty: ColumnType::from_declared(&t[1]),
                    name: t[0].clone(),
                    declared: t[1].clone(),
                }
            })
            .collect();
        let idx = self
            .run(
                &text_statement(indexes, name(), &["index", "column"]),
                limits,
            )
            .await?;
        let mut by_index: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in &idx.rows {
            let t = texts(r);
            by_index.entry(t[0].clone()).or_default().push(t[1].clone());
        }
        Ok(Some(TableShape {
            columns,
            indexes: by_index.into_values().collect(),
        }))
    }

    /// The most frequent values of `table.column` with their counts, at most `limit`.
    pub async fn top_values(
        &self,
        table: &str,
        column: &str,
        limit: u64,
        limits: &Limits,
    ) -> Result<Vec<(String, i64)>, ExecError> {
        let statement = crate::sql::top_values(table, column, limit, self.dialect())
            .map_err(|e| ExecError::Failed(e.to_string()))?;
        let rows = self.run(&statement, limits).await?;
        Ok(rows
            .rows
            .iter()
            .map(|r| {
                let value = r[0].as_text().unwrap_or_default().to_string();
                let n = r[1].as_f64().unwrap_or(0.0) as i64;
                (value, n)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_type_names_map_to_coarse_types() {
        for (declared, ty) in [
            ("TEXT", ColumnType::Text),
            ("character varying", ColumnType::Text),
            ("varchar(255)", ColumnType::Text),
            ("BIGINT", ColumnType::Integer),
            ("bigint(20)", ColumnType::Integer),
            ("integer", ColumnType::Integer),
            ("double precision", ColumnType::Real),
            ("decimal(10,2)", ColumnType::Real),
            ("REAL", ColumnType::Real),
            ("timestamp without time zone", ColumnType::Timestamp),
            ("datetime", ColumnType::Timestamp),
            ("date", ColumnType::Date),
            ("boolean", ColumnType::Boolean),
            ("tinyint(1)", ColumnType::Integer),
            ("jsonb", ColumnType::Other),
        ] {
            assert_eq!(ColumnType::from_declared(declared), ty, "{declared}");
        }
    }
}
