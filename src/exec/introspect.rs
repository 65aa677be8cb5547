//! What the warehouse holds: its tables, their columns with a coarse type, and their indexes,
//! read from each engine's own catalog (`pragma_table_info` and `pragma_index_list` on SQLite,
//! `information_schema` and `pg_index` on PostgreSQL, `information_schema` on MySQL/MariaDB),
//! for `tally catalog check` and `tally catalog init`.
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
    /// Part of the table's primary key.
    pub primary_key: bool,
}

/// A single-column foreign key: `column` references `table.references`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    pub column: String,
    pub table: String,
    /// Empty when the engine leaves it implicit (SQLite: the referenced table's primary key).
    pub references: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableShape {
    pub columns: Vec<ColumnShape>,
    /// Each index's columns in order (the primary key's included).
    pub indexes: Vec<Vec<String>>,
    /// Single-column foreign keys (composite ones are left out: a catalog join is one column).
    pub foreign_keys: Vec<ForeignKey>,
}

impl TableShape {
    pub fn column(&self, name: &str) -> Option<&ColumnShape> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// A table or a view, as the engine lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableEntry {
    pub name: String,
    pub view: bool,
}

fn text_statement(sql: &str, params: Vec<Param>, columns: &[&str]) -> Statement {
    Statement {
        rollup: None,
        merged: None,
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

// Every statement takes the schema first ('' for the connection's own), then the table; SQLite
// and MySQL bind positionally, so a statement that names the schema twice binds it twice.
const SQLITE_TABLES: &str = "SELECT name, type FROM pragma_table_list \
     WHERE schema = COALESCE(NULLIF(?, ''), 'main') AND type IN ('table', 'view') \
     AND name NOT LIKE 'sqlite_%' ORDER BY name";
const SQLITE_COLUMNS: &str = "SELECT name, type, CAST(pk AS TEXT) \
     FROM pragma_table_info(?, COALESCE(NULLIF(?, ''), 'main')) ORDER BY cid";
const SQLITE_INDEXES: &str = "SELECT il.name, ii.name \
     FROM pragma_index_list(?, COALESCE(NULLIF(?, ''), 'main')) AS il, \
     pragma_index_info(il.name, COALESCE(NULLIF(?, ''), 'main')) AS ii ORDER BY il.name, ii.seqno";
const SQLITE_FKS: &str = "SELECT CAST(id AS TEXT), \"table\", \"from\", COALESCE(\"to\", '') \
     FROM pragma_foreign_key_list(?, COALESCE(NULLIF(?, ''), 'main')) ORDER BY id, seq";
const PG_TABLES: &str = "SELECT table_name::text, table_type::text FROM information_schema.tables \
     WHERE table_schema = COALESCE(NULLIF($1, ''), current_schema()) ORDER BY 1";
const PG_COLUMNS: &str = "SELECT c.column_name::text, c.data_type::text, \
     CASE WHEN EXISTS (SELECT 1 FROM information_schema.table_constraints tc \
       JOIN information_schema.key_column_usage k ON k.constraint_name = tc.constraint_name \
         AND k.constraint_schema = tc.constraint_schema \
       WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = c.table_schema \
         AND tc.table_name = c.table_name AND k.column_name = c.column_name) THEN '1' ELSE '0' END \
     FROM information_schema.columns c \
     WHERE c.table_schema = COALESCE(NULLIF($1, ''), current_schema()) AND c.table_name = $2 \
     ORDER BY c.ordinal_position";
const PG_INDEXES: &str = "SELECT i.relname::text, a.attname::text FROM pg_index x \
     JOIN pg_class t ON t.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid \
     JOIN pg_namespace n ON n.oid = t.relnamespace \
     CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord) \
     JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
     WHERE n.nspname = COALESCE(NULLIF($1, ''), current_schema()) AND t.relname = $2 \
     ORDER BY i.relname, k.ord";
const PG_FKS: &str = "SELECT tc.constraint_name::text, ccu.table_name::text, \
     kcu.column_name::text, ccu.column_name::text FROM information_schema.table_constraints tc \
     JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name \
       AND kcu.constraint_schema = tc.constraint_schema \
     JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = tc.constraint_name \
       AND ccu.constraint_schema = tc.constraint_schema \
     WHERE tc.constraint_type = 'FOREIGN KEY' \
       AND tc.table_schema = COALESCE(NULLIF($1, ''), current_schema()) AND tc.table_name = $2 \
     ORDER BY 1, 3";
const MYSQL_TABLES: &str = "SELECT CAST(TABLE_NAME AS CHAR), CAST(TABLE_TYPE AS CHAR) \
     FROM information_schema.TABLES WHERE TABLE_SCHEMA = COALESCE(NULLIF(?, ''), DATABASE()) \
     ORDER BY 1";
const MYSQL_COLUMNS: &str = "SELECT CAST(COLUMN_NAME AS CHAR), CAST(COLUMN_TYPE AS CHAR), \
     CAST(IF(COLUMN_KEY = 'PRI', '1', '0') AS CHAR) \
     FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = COALESCE(NULLIF(?, ''), DATABASE()) \
     AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION";
const MYSQL_INDEXES: &str = "SELECT CAST(INDEX_NAME AS CHAR), CAST(COLUMN_NAME AS CHAR) \
     FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = COALESCE(NULLIF(?, ''), DATABASE()) \
     AND TABLE_NAME = ? ORDER BY INDEX_NAME, SEQ_IN_INDEX";
const MYSQL_FKS: &str =
    "SELECT CAST(CONSTRAINT_NAME AS CHAR), CAST(REFERENCED_TABLE_NAME AS CHAR), \
     CAST(COLUMN_NAME AS CHAR), CAST(REFERENCED_COLUMN_NAME AS CHAR) \
     FROM information_schema.KEY_COLUMN_USAGE \
     WHERE TABLE_SCHEMA = COALESCE(NULLIF(?, ''), DATABASE()) AND TABLE_NAME = ? \
     AND REFERENCED_TABLE_NAME IS NOT NULL ORDER BY 1, ORDINAL_POSITION";

impl Warehouse {
    /// Every table and view in `schema` (`None`: the connection's own).
    pub async fn table_names(
        &self,
        schema: Option<&str>,
        limits: &Limits,
    ) -> Result<Vec<TableEntry>, ExecError> {
        let sql = match self.dialect() {
            Dialect::Sqlite => SQLITE_TABLES,
            Dialect::Postgres => PG_TABLES,
            Dialect::Mysql => MYSQL_TABLES,
        };
        let params = vec![Param::Text(schema.unwrap_or_default().to_string())];
        let rows = self
            .run(&text_statement(sql, params, &["name", "type"]), limits)
            .await?;
        Ok(rows
            .rows
            .iter()
            .map(|r| {
                let t = texts(r);
                TableEntry {
                    view: t[1].to_ascii_lowercase().contains("view"),
                    name: t[0].clone(),
                }
            })
            .collect())
    }

    /// Binds the schema and table as the engine's statement wants them.
    fn schema_table(&self, schema: Option<&str>, table: &str, schema_uses: usize) -> Vec<Param> {
        let schema = Param::Text(schema.unwrap_or_default().to_string());
        let table = Param::Text(table.to_string());
        match self.dialect() {
            // `$1` and `$2` may each appear any number of times.
            Dialect::Postgres => vec![schema, table],
            // Positional: table, then the schema as often as the statement names it.
            Dialect::Sqlite => {
                let mut p = vec![table];
                p.extend(std::iter::repeat_n(schema, schema_uses));
                p
            }
            Dialect::Mysql => vec![schema, table],
        }
    }

    /// The columns, indexes and foreign keys of `schema.table`, or `None` when it does not exist.
    pub async fn describe(
        &self,
        schema: Option<&str>,
        table: &str,
        limits: &Limits,
    ) -> Result<Option<TableShape>, ExecError> {
        let (columns, indexes, fks, index_schema_uses) = match self.dialect() {
            Dialect::Sqlite => (SQLITE_COLUMNS, SQLITE_INDEXES, SQLITE_FKS, 2),
            Dialect::Postgres => (PG_COLUMNS, PG_INDEXES, PG_FKS, 1),
            Dialect::Mysql => (MYSQL_COLUMNS, MYSQL_INDEXES, MYSQL_FKS, 1),
        };
        let cols = self
            .run(
                &text_statement(
                    columns,
                    self.schema_table(schema, table, 1),
                    &["name", "type", "pk"],
                ),
                limits,
            )
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
                    primary_key: t[2] != "0" && !t[2].is_empty(),
                }
            })
            .collect();
        let idx = self
            .run(
                &text_statement(
                    indexes,
                    self.schema_table(schema, table, index_schema_uses),
                    &["index", "column"],
                ),
                limits,
            )
            .await?;
        let mut by_index: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in &idx.rows {
            let t = texts(r);
            by_index.entry(t[0].clone()).or_default().push(t[1].clone());
        }
        let fk_rows = self
            .run(
                &text_statement(
                    fks,
                    self.schema_table(schema, table, 1),
                    &["constraint", "table", "column", "references"],
                ),
                limits,
            )
            .await?;
        let mut by_constraint: BTreeMap<String, Vec<ForeignKey>> = BTreeMap::new();
        for r in &fk_rows.rows {
            let t = texts(r);
            by_constraint
                .entry(t[0].clone())
                .or_default()
                .push(ForeignKey {
                    table: t[1].clone(),
                    column: t[2].clone(),
                    references: t[3].clone(),
                });
        }
        let foreign_keys = by_constraint
            .into_values()
            .filter(|parts| parts.len() == 1)
            .flatten()
            .collect();
        Ok(Some(TableShape {
            columns,
            indexes: by_index.into_values().collect(),
            foreign_keys,
        }))
    }

    /// Runs a `(value, n)` statement (`sql::top_values`, `sql::sample_values`).
    pub async fn value_counts(
        &self,
        statement: &Statement,
        limits: &Limits,
    ) -> Result<Vec<(String, i64)>, ExecError> {
        let rows = self.run(statement, limits).await?;
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
