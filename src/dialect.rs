//! The SQL engines Tally speaks, named once: the one enum every layer that writes SQL uses
//! (`sql/` compiling queries, re-exporting it as `sql::Dialect`; `demo/` writing DDL and rows;
//! `exec/` and `inspect/`, through `sql`, naming what they read), and the one place that picks
//! sea-query's builder for each (`tests/it/tidy.rs` checks no other file names one).
//!
//! How each engine spells date buckets, durations and casts is `sql/dialect.rs`'s, on the same
//! type.

use sea_query::{
    InsertStatement, MysqlQueryBuilder, PostgresQueryBuilder, SchemaStatementBuilder,
    SelectStatement, SqliteQueryBuilder, Values,
};
use sea_query_sqlx::{SqlxBinder, SqlxValues};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[derive(strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum Dialect {
    Sqlite,
    Postgres,
    Mysql,
}

impl Dialect {
    pub const ALL: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql];

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// A query's text and its bound values.
    pub fn select(self, q: &SelectStatement) -> (String, Values) {
        match self {
            Dialect::Sqlite => q.build(SqliteQueryBuilder),
            Dialect::Postgres => q.build(PostgresQueryBuilder),
            Dialect::Mysql => q.build(MysqlQueryBuilder),
        }
    }

    /// An insert's text and its values, bound for sqlx.
    pub fn insert(self, q: &InsertStatement) -> (String, SqlxValues) {
        match self {
            Dialect::Sqlite => q.build_sqlx(SqliteQueryBuilder),
            Dialect::Postgres => q.build_sqlx(PostgresQueryBuilder),
            Dialect::Mysql => q.build_sqlx(MysqlQueryBuilder),
        }
    }

    /// A DDL statement's text (`CREATE TABLE`, `CREATE INDEX`, `DROP TABLE`).
    pub fn schema(self, s: &impl SchemaStatementBuilder) -> String {
        match self {
            Dialect::Sqlite => s.build(SqliteQueryBuilder),
            Dialect::Postgres => s.build(PostgresQueryBuilder),
            Dialect::Mysql => s.build(MysqlQueryBuilder),
        }
    }
}
