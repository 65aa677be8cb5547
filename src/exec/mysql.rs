//! MySQL and MariaDB warehouse: a pool whose every query runs alone in a `READ ONLY`
//! transaction under the engine's own execution time limit, streamed up to the row cap.
//!
//! The two engines spell the limit differently (MariaDB `max_statement_time` in seconds, MySQL
//! `max_execution_time` in milliseconds), so which one answers is read once, at open.

use std::str::FromStr;
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlDatabaseError, MySqlPool, MySqlPoolOptions, MySqlRow};
use sqlx::{MySql, Row};

use super::{no_connection, redact, whole_or_float, Cell, ExecError, Limits, Rows};
use crate::sql::{ColumnKind, Statement};

/// Error numbers meaning the statement hit its time limit: MariaDB `ER_STATEMENT_TIMEOUT`,
/// MySQL `ER_QUERY_TIMEOUT`, and `ER_QUERY_INTERRUPTED`.
const TIMEOUT_ERRORS: [u16; 3] = [1969, 3024, 1317];
/// Error numbers meaning the server is going away or refuses connections: shutdown in progress,
/// too many connections, connection killed.
const UNAVAILABLE_ERRORS: [u16; 4] = [1053, 1040, 1927, 1152];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    MariaDb,
    MySql,
}

#[derive(Debug, Clone)]
pub(super) struct MysqlWarehouse {
    pool: MySqlPool,
    flavor: Flavor,
}

impl MysqlWarehouse {
    pub(super) async fn open(url: &str) -> Result<MysqlWarehouse, ExecError> {
        let options = MySqlConnectOptions::from_str(url)
            .map_err(|e| ExecError::UnsupportedUrl(format!("{}: {e}", redact(url))))?;
        // Connections are made on demand and checked before use, so a warehouse that restarts is
        // reconnected to by the next query without restarting Tally.
        let pool = MySqlPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .test_before_acquire(true)
            .after_connect(|connection, _meta| {
                Box::pin(async move {
                    // DDL commits the open transaction implicitly and would then run outside
                    // `START TRANSACTION READ ONLY`; a read-only session refuses it as well.
                    sqlx::query("SET SESSION TRANSACTION READ ONLY")
                        .execute(connection)
                        .await
                        .map(|_| ())
                })
            })
            .connect_lazy_with(options);
        let version: String = sqlx::query_scalar("SELECT VERSION()")
            .fetch_one(&pool)
            .await
            .map_err(|e| ExecError::Unavailable(e.to_string()))?;
        let flavor = if version.to_ascii_lowercase().contains("mariadb") {
            Flavor::MariaDb
        } else {
            Flavor::MySql
        };
        Ok(MysqlWarehouse { pool, flavor })
    }

    pub(super) async fn ping(&self) -> Result<(), ExecError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(|e| ExecError::Unavailable(e.to_string()))
    }

    pub(super) async fn run(
        &self,
        statement: &Statement,
        limits: &Limits,
    ) -> Result<Rows, ExecError> {
        let mut connection = tokio::time::timeout(limits.timeout, self.pool.acquire())
            .await
            .map_err(|_| no_connection(limits))?
            .map_err(|e| classify(e, limits))?;
        // Session variables, set before every query, so a pooled connection never carries an
        // older limit. MySQL's limit applies to read-only SELECTs, which is all Tally runs.
        let limit = match self.flavor {
            Flavor::MariaDb => sqlx::query("SET SESSION max_statement_time = ?")
                .bind(limits.timeout.as_secs_f64().max(0.001)),
            Flavor::MySql => sqlx::query("SET SESSION max_execution_time = ?")
                .bind(u64::try_from(limits.timeout.as_millis().max(1)).unwrap_or(u64::MAX)),
        };
        limit
            .execute(&mut *connection)
            .await
            .map_err(|e| classify(e, limits))?;
        let mut transaction =
            sqlx::Connection::begin_with(&mut *connection, "START TRANSACTION READ ONLY")
                .await
                .map_err(|e| classify(e, limits))?;
        let query = super::bound_query::<MySql>(statement);
        let result = super::collect_capped(query.fetch(&mut *transaction), limits.row_cap, |row| {
            decode(row, statement)
        })
        .await;
        // Nothing was written; ending the transaction returns the connection clean to the pool.
        let ended = transaction.rollback().await;
        let (rows, truncated) = result.map_err(|e| classify(e, limits))?;
        ended.map_err(|e| classify(e, limits))?;
        Ok(Rows {
            columns: statement.columns.clone(),
            rows,
            truncated,
        })
    }
}

/// Timeouts, lost or refused connections and rejected SQL, told apart.
fn classify(error: sqlx::Error, limits: &Limits) -> ExecError {
    match error {
        sqlx::Error::Database(e) => {
            let number = e
                .try_downcast_ref::<MySqlDatabaseError>()
                .map(MySqlDatabaseError::number);
            match number {
                Some(n) if TIMEOUT_ERRORS.contains(&n) => ExecError::Timeout(limits.timeout),
                Some(n) if UNAVAILABLE_ERRORS.contains(&n) => {
                    ExecError::Unavailable(e.message().to_string())
                }
                _ => ExecError::Failed(e.message().to_string()),
            }
        }
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) | sqlx::Error::Encode(_) => {
            ExecError::Failed(error.to_string())
        }
        other => ExecError::Unavailable(other.to_string()),
    }
}

fn decode(row: &MySqlRow, statement: &Statement) -> Result<Vec<Cell>, sqlx::Error> {
    let mut out = Vec::with_capacity(statement.columns.len());
    for (i, c) in statement.columns.iter().enumerate() {
        let cell = match c.kind {
            ColumnKind::Text => match row.try_get::<Option<String>, _>(i) {
                Ok(v) => v.map(Cell::Text),
                // Some functions return binary strings; the demo's text is UTF-8.
                Err(first) => match row.try_get::<Option<Vec<u8>>, _>(i) {
                    Ok(v) => match v.map(String::from_utf8).transpose() {
                        Ok(v) => v.map(Cell::Text),
                        Err(_) => return Err(first),
                    },
                    Err(_) => return Err(first),
                },
            },
            ColumnKind::Int => match number(row, i)? {
                Some(Number::Int(v)) => Some(Cell::Int(v)),
                Some(Number::Float(v)) => Some(whole_or_float(v)),
                None => None,
            },
            ColumnKind::Float => match number(row, i)? {
                Some(Number::Int(v)) => Some(Cell::Float(v as f64)),
                Some(Number::Float(v)) => Some(Cell::Float(v)),
                None => None,
            },
        };
        out.push(cell.unwrap_or(Cell::Null));
    }
    Ok(out)
}

enum Number {
    Int(i64),
    Float(f64),
}

/// A numeric cell whatever type the engine chose: `COUNT` is `BIGINT`, a `CAST(… AS DOUBLE)` is
/// `DOUBLE`, an unsigned or `DECIMAL` result is accepted too.
fn number(row: &MySqlRow, i: usize) -> Result<Option<Number>, sqlx::Error> {
    let first = match row.try_get::<Option<i64>, _>(i) {
        Ok(v) => return Ok(v.map(Number::Int)),
        Err(e) => e,
    };
    if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
        return Ok(v.map(Number::Float));
    }
    if let Ok(v) = row.try_get::<Option<u64>, _>(i) {
        return Ok(v.and_then(|v| i64::try_from(v).ok()).map(Number::Int));
    }
    // DECIMAL travels as its decimal text in both protocols.
    if let Ok(Some(text)) = row.try_get_unchecked::<Option<String>, _>(i) {
        if let Ok(v) = text.parse::<i64>() {
            return Ok(Some(Number::Int(v)));
        }
        if let Ok(v) = text.parse::<f64>() {
            return Ok(Some(Number::Float(v)));
        }
    }
    Err(first)
}
