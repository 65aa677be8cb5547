//! Statements → rows, through sqlx: read-only, bounded in time and rows.
//!
//! Invariants: the only module that touches the warehouse. Generated SQL enters sqlx in exactly one
//! place (`AssertSqlSafe` in `sqlite.rs`), always with bound parameters, one statement per call.
//! SQLite is opened read-only with `query_only`, defensive mode and ATTACH disabled; a progress
//! handler interrupts a statement at its deadline.

mod sqlite;

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
    #[error("unsupported warehouse url `{0}` (expected sqlite://FILE)")]
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
}

#[derive(Debug, Clone)]
enum Inner {
    Sqlite(sqlite::SqliteWarehouse),
}

impl Warehouse {
    /// Opens a warehouse by URL. `sqlite://PATH` opens an existing file read-only.
    pub async fn open(url: &str) -> Result<Warehouse, ExecError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            return Ok(Warehouse {
                inner: Inner::Sqlite(sqlite::SqliteWarehouse::open(path).await?),
            });
        }
        Err(ExecError::UnsupportedUrl(url.chars().take(100).collect()))
    }

    pub fn dialect(&self) -> Dialect {
        match self.inner {
            Inner::Sqlite(_) => Dialect::Sqlite,
        }
    }

    /// Runs one statement.
    pub async fn run(&self, statement: &Statement, limits: &Limits) -> Result<Rows, ExecError> {
        let fut = async {
            match &self.inner {
                Inner::Sqlite(w) => w.run(statement, limits).await,
            }
        };
        // The engine-side limit stops the work; this one bounds the wait whatever the engine does.
        match tokio::time::timeout(limits.timeout + Duration::from_millis(500), fut).await {
            Ok(r) => r,
            Err(_) => Err(ExecError::Timeout(limits.timeout)),
        }
    }

    /// Runs statements in order (each read-only and bounded).
    pub async fn run_all(
        &self,
        statements: &[Statement],
        limits: &Limits,
    ) -> Result<Vec<Rows>, ExecError> {
        let mut out = Vec::with_capacity(statements.len());
        for s in statements {
            out.push(self.run(s, limits).await?);
        }
        Ok(out)
    }

    /// Whether the warehouse answers a trivial query.
    pub async fn ping(&self) -> Result<(), ExecError> {
        match &self.inner {
            Inner::Sqlite(w) => w.ping().await,
        }
    }
}
