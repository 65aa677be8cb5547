//! PostgreSQL warehouse: a pool whose every query runs alone in a `READ ONLY` transaction with
//! a transaction-local `statement_timeout`, streamed up to the row cap.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Row};

use super::{no_connection, redact, whole_or_float, Cell, ExecError, Limits, Rows};
use crate::sql::{ColumnKind, Statement};

/// SQLSTATE `query_canceled`: raised when `statement_timeout` expires.
const QUERY_CANCELED: &str = "57014";

#[derive(Debug, Clone)]
pub(super) struct PostgresWarehouse {
    pool: PgPool,
}

impl PostgresWarehouse {
    pub(super) async fn open(url: &str) -> Result<PostgresWarehouse, ExecError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| ExecError::UnsupportedUrl(format!("{}: {e}", redact(url))))?
            .application_name("tally")
            // Every transaction of the session is read-only unless it says otherwise, which
            // Tally never does; each query also opens its transaction `READ ONLY` explicitly.
            .options([("default_transaction_read_only", "on")]);
        // Connections are made on demand and checked before use, so a warehouse that restarts is
        // reconnected to by the next query without restarting Tally.
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .test_before_acquire(true)
            .connect_lazy_with(options);
        let warehouse = PostgresWarehouse { pool };
        warehouse.ping().await?;
        Ok(warehouse)
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
        let mut transaction =
            sqlx::Connection::begin_with(&mut *connection, "BEGIN TRANSACTION READ ONLY")
                .await
                .map_err(|e| classify(e, limits))?;
        // `set_config(…, true)` is `SET LOCAL`: the limit ends with the transaction.
        sqlx::query("SELECT set_config('statement_timeout', $1, true)")
            .bind(format!("{}ms", limits.timeout.as_millis().max(1)))
            .execute(&mut *transaction)
            .await
            .map_err(|e| classify(e, limits))?;
        let query = super::bound_query::<Postgres>(statement);
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
            let code = e.code().map(|c| c.into_owned()).unwrap_or_default();
            if code == QUERY_CANCELED {
                ExecError::Timeout(limits.timeout)
            } else if code.starts_with("08") || matches!(code.as_str(), "57P01" | "57P02" | "57P03")
            {
                // Connection exceptions and administrator shutdowns: the engine is going away.
                ExecError::Unavailable(e.message().to_string())
            } else {
                ExecError::Failed(e.message().to_string())
            }
        }
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) | sqlx::Error::Encode(_) => {
            ExecError::Failed(error.to_string())
        }
        other => ExecError::Unavailable(other.to_string()),
    }
}

fn decode(row: &PgRow, statement: &Statement) -> Result<Vec<Cell>, sqlx::Error> {
    let mut out = Vec::with_capacity(statement.columns.len());
    for (i, c) in statement.columns.iter().enumerate() {
        let cell = match c.kind {
            ColumnKind::Text => row.try_get::<Option<String>, _>(i)?.map(Cell::Text),
            ColumnKind::Int => match row.try_get::<Option<i64>, _>(i) {
                Ok(v) => v.map(Cell::Int),
                Err(first) => match row.try_get::<Option<i32>, _>(i) {
                    Ok(v) => v.map(|v| Cell::Int(v.into())),
                    // A whole number computed as a double still counts as an integer.
                    Err(_) => match row.try_get::<Option<f64>, _>(i) {
                        Ok(v) => v.map(whole_or_float),
                        Err(_) => return Err(first),
                    },
                },
            },
            ColumnKind::Float => match row.try_get::<Option<f64>, _>(i) {
                Ok(v) => v.map(Cell::Float),
                Err(first) => match row.try_get::<Option<i64>, _>(i) {
                    Ok(v) => v.map(|v| Cell::Float(v as f64)),
                    Err(_) => match row.try_get::<Option<i32>, _>(i) {
                        Ok(v) => v.map(|v| Cell::Float(v.into())),
                        Err(_) => return Err(first),
                    },
                },
            },
        };
        out.push(cell.unwrap_or(Cell::Null));
    }
    Ok(out)
}
