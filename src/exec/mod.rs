//! Statements → rows, through sqlx: read-only, bounded in time and rows.
//!
//! Invariants: the only module that touches the warehouse. Generated SQL enters sqlx in exactly two
//! places (`AssertSqlSafe` in `sqlite.rs`, and `bound_query` here for PostgreSQL and MySQL),
//! always with bound parameters, one statement per call (prepared statements hold one statement on every engine).
//! SQLite is opened read-only with `query_only`, defensive mode and ATTACH disabled; a progress
//! handler interrupts a statement at its deadline. PostgreSQL and MySQL/MariaDB run each statement
//! alone in a `READ ONLY` transaction under the engine's own time limit, from a pool that
//! reconnects on demand.

mod cache;
mod introspect;
mod mysql;
mod postgres;
mod sqlite;

pub use cache::{CacheConfig, ResultCache};
pub use introspect::{ColumnShape, ColumnType, ForeignKey, TableEntry, TableShape};

use std::time::Duration;

use serde::Serialize;

use crate::sql::{Column, Dialect, Statement};

/// One decoded value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Cell {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
}

impl Cell {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Cell::Int(i) => Some(*i as f64),
            Cell::Float(f) => Some(*f),
            _ => None,
        }
    }
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Cell::Text(s) => Some(s),
            _ => None,
        }
    }
}

/// The rows of one statement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rows {
    #[serde(skip)]
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    /// More rows existed than the row cap allowed.
    pub truncated: bool,
}

impl Rows {
    pub fn index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub row_cap: usize,
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            row_cap: 10_000,
            timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("the warehouse is unavailable: {0}")]
    Unavailable(String),
    #[error("the query ran past its time limit of {0:?}")]
    Timeout(Duration),
    #[error("the warehouse rejected the query: {0}")]
    Failed(String),
    #[error("unsupported warehouse url `{0}` (expected sqlite://FILE, postgres://… or mysql://…)")]
    UnsupportedUrl(String),
}

impl ExecError {
    pub fn code(&self) -> &'static str {
        match self {
            ExecError::Unavailable(_) => "warehouse_unavailable",
            ExecError::Timeout(_) => "timeout",
            ExecError::Failed(_) => "execution_failed",
            ExecError::UnsupportedUrl(_) => "unsupported_warehouse",
        }
    }
}

/// A connected warehouse.
#[derive(Debug, Clone)]
pub struct Warehouse {
    inner: Inner,
    /// Overrides `statement_concurrency` (`one_at_a_time`).
    concurrency: Option<usize>,
}

#[derive(Debug, Clone)]
enum Inner {
    Sqlite(sqlite::SqliteWarehouse),
    Postgres(postgres::PostgresWarehouse),
    Mysql(mysql::MysqlWarehouse),
}

impl Warehouse {
    /// Opens a warehouse by URL. `sqlite://PATH` opens an existing file read-only;
    /// `postgres://…` (or `postgresql://…`) and `mysql://…` (or `mariadb://…`) open a pool and
    /// check that the engine answers.
    pub async fn open(url: &str) -> Result<Warehouse, ExecError> {
        let inner = match url.split_once("://") {
            Some(("sqlite", path)) => Inner::Sqlite(sqlite::SqliteWarehouse::open(path).await?),
            Some(("postgres" | "postgresql", _)) => {
                Inner::Postgres(postgres::PostgresWarehouse::open(url).await?)
            }
            Some(("mysql", _)) => Inner::Mysql(mysql::MysqlWarehouse::open(url).await?),
            Some(("mariadb", rest)) => {
                Inner::Mysql(mysql::MysqlWarehouse::open(&format!("mysql://{rest}")).await?)
            }
            _ => return Err(ExecError::UnsupportedUrl(redact(url))),
        };
        Ok(Warehouse {
            inner,
            concurrency: None,
        })
    }

    /// Runs a request's statements one after another: for a one-shot run, whose fresh pool
    /// would open a connection per concurrent statement in the middle of the question
    /// (measured: an explain on PostgreSQL took 231 ms that way, 131 ms one at a time).
    pub fn one_at_a_time(mut self) -> Warehouse {
        self.concurrency = Some(1);
        self
    }

    pub fn dialect(&self) -> Dialect {
        match self.inner {
            Inner::Sqlite(_) => Dialect::Sqlite,
            Inner::Postgres(_) => Dialect::Postgres,
            Inner::Mysql(_) => Dialect::Mysql,
        }
    }

    /// Runs one statement.
    pub async fn run(&self, statement: &Statement, limits: &Limits) -> Result<Rows, ExecError> {
        let fut = async {
            match &self.inner {
                Inner::Sqlite(w) => w.run(statement, limits).await,
                Inner::Postgres(w) => w.run(statement, limits).await,
                Inner::Mysql(w) => w.run(statement, limits).await,
            }
        };
        // The engine-side limit stops the work; this one bounds the wait whatever the engine does.
        match tokio::time::timeout(limits.timeout + Duration::from_millis(500), fut).await {
            Ok(r) => r,
            Err(_) => Err(ExecError::Timeout(limits.timeout)),
        }
    }

    /// How many of one request's statements run at once: the pooled engines run up to half
    /// their pool together (so two requests never wait on each other for all of it); SQLite,
    /// whose reads share the machine's cores, two.
    pub fn statement_concurrency(&self) -> usize {
        if let Some(n) = self.concurrency {
            return n;
        }
        match self.inner {
            Inner::Sqlite(_) => SQLITE_CONCURRENCY,
            Inner::Postgres(_) | Inner::Mysql(_) => POOLED_CONCURRENCY,
        }
    }

    /// Runs statements (each read-only and bounded), up to `statement_concurrency` at once;
    /// rows come back in statement order, and the first error stops the rest.
    pub async fn run_all(
        &self,
        statements: &[Statement],
        limits: &Limits,
    ) -> Result<Vec<Rows>, ExecError> {
        use futures_util::{StreamExt, TryStreamExt};
        // The futures are made first (they start only when polled): a closure inside the stream
        // would make the future borrow-generic and not `Send` for a spawned request.
        let runs: Vec<_> = statements.iter().map(|s| self.run(s, limits)).collect();
        futures_util::stream::iter(runs)
            .buffered(self.statement_concurrency())
            .try_collect()
            .await
    }

    /// Whether the warehouse answers a trivial query.
    pub async fn ping(&self) -> Result<(), ExecError> {
        match &self.inner {
            Inner::Sqlite(w) => w.ping().await,
            Inner::Postgres(w) => w.ping().await,
            Inner::Mysql(w) => w.ping().await,
        }
    }
}

/// Statements of one request run at once on PostgreSQL and MySQL (half the pool of 8).
const POOLED_CONCURRENCY: usize = 4;
/// Statements of one request run at once on SQLite (its pool holds 4 read connections).
const SQLITE_CONCURRENCY: usize = 2;

/// No pooled connection within the statement's own time limit. The wait for a connection is cut
/// at the limit (the pool's own wait may be longer) so that an engine that does not answer is
/// reported unavailable (503), never as a query that ran too long, whatever the limit.
fn no_connection(limits: &Limits) -> ExecError {
    ExecError::Unavailable(format!(
        "no connection to the warehouse within {:?}",
        limits.timeout
    ))
}

/// An integer column that arrived as a double: an integer when it is one exactly.
fn whole_or_float(v: f64) -> Cell {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        Cell::Int(v as i64)
    } else {
        Cell::Float(v)
    }
}

/// A warehouse URL without its password, for messages.
fn redact(url: &str) -> String {
    let shown = match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let user = url[scheme + 3..at].split(':').next().unwrap_or("");
            format!("{}{user}@{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_string(),
    };
    shown.chars().take(200).collect()
}

/// Reads decoded rows up to the cap; the flag says whether more existed. Every engine's
/// statement stream goes through here, so the cap means the same on all of them.
pub(crate) async fn collect_capped<R>(
    mut stream: impl futures_util::Stream<Item = Result<R, sqlx::Error>> + Unpin,
    row_cap: usize,
    decode: impl Fn(&R) -> Result<Vec<Cell>, sqlx::Error>,
) -> Result<(Vec<Vec<Cell>>, bool), sqlx::Error> {
    use futures_util::TryStreamExt;
    let mut rows = Vec::new();
    while let Some(row) = stream.try_next().await? {
        if rows.len() == row_cap {
            return Ok((rows, true));
        }
        rows.push(decode(&row)?);
    }
    Ok((rows, false))
}

/// The statement with its parameters bound, for engines that take chrono timestamps
/// (PostgreSQL, MySQL). This is where generated SQL enters sqlx for them.
pub(crate) fn bound_query<'q, DB>(
    statement: &Statement,
) -> sqlx::query::Query<'q, DB, DB::Arguments>
where
    DB: sqlx::Database,
    DB::Arguments: sqlx::IntoArguments<DB> + Default,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    f64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    chrono::NaiveDateTime: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut query = sqlx::query_with::<DB, _>(
        sqlx::AssertSqlSafe(statement.sql.clone()),
        DB::Arguments::default(),
    );
    for p in &statement.params {
        query = match p {
            crate::sql::Param::Text(s) => query.bind(s.clone()),
            crate::sql::Param::Int(i) => query.bind(*i),
            crate::sql::Param::Float(f) => query.bind(*f),
            crate::sql::Param::Timestamp(t) => query.bind(*t),
        };
    }
    query
}
