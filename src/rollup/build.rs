//! `tally rollup build`: reads each rollup's rows from the warehouse (by workspace and month,
//! through `exec/`, read-only) and writes them into the store, one transaction per rollup, so a
//! query reading the store sees the old rollup or the new one, never a part.

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

use chrono::{Datelike, Months, NaiveDate};
use sea_query::{Alias, ColumnDef, Expr, Func, Index, Query, Table};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{ConnectOptions, Connection, Row, SqliteConnection};

use super::{Built, STATE_TABLE};
use crate::catalog::{Catalog, Rollup, Tenancy, Window};
use crate::dialect::Dialect;
use crate::exec::{Cell, ExecError, Limits, Warehouse};
use crate::plan::{DateRange, WorkspaceId};
use crate::sql::{self, CompileError};

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Rebuild from this day on (default: on from the watermark, or everything when the rollup
    /// is new, was defined otherwise, or `full`).
    pub since: Option<NaiveDate>,
    /// Days before this one are complete and built (the new watermark).
    pub today: NaiveDate,
    /// Drop what is built and build everything again.
    pub full: bool,
    /// Only these rollups (empty: all the catalog's).
    pub only: Vec<String>,
    /// Each warehouse read's time limit.
    pub timeout: Duration,
}

/// What one rollup's build did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RollupReport {
    pub name: String,
    /// `full`, `incremental` or `current` (nothing to build).
    pub mode: &'static str,
    pub from: Option<NaiveDate>,
    pub until: NaiveDate,
    pub workspaces: usize,
    /// Rows written to the store by this build.
    pub rows_written: u64,
    /// Per-window distinct counts written (rollups with an entity).
    pub windows_written: u64,
    /// Table rows they stand for.
    pub source_rows: u64,
    pub seconds: f64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct BuildReport {
    pub store: String,
    pub rollups: Vec<RollupReport>,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("the catalog declares no rollups (add `[rollups.NAME]`; see dsl-spec/catalog.md)")]
    NoRollups,
    #[error("the catalog declares no rollup `{0}`")]
    Unknown(String),
    #[error("rollup store {path}: {message}")]
    Store { path: String, message: String },
    #[error("reading the warehouse: {0}")]
    Warehouse(#[from] ExecError),
    #[error("compiling a rollup's read: {0}")]
    Compile(#[from] CompileError),
    #[error("rollup `{rollup}`: a read of workspace `{workspace}` returned more than {cap} rows; nothing was written")]
    TooManyRows {
        rollup: String,
        workspace: String,
        cap: usize,
    },
}

impl BuildError {
    pub fn code(&self) -> &'static str {
        match self {
            BuildError::NoRollups | BuildError::Unknown(_) => "rollup_unknown",
            BuildError::Store { .. } => "rollup_store_failed",
            BuildError::Warehouse(e) => e.code(),
            BuildError::Compile(e) => e.code(),
            BuildError::TooManyRows { .. } => "rollup_too_large",
        }
    }
}

/// Rows of one month read at a time, at most.
const ROW_CAP: usize = 5_000_000;
/// Rows per INSERT (SQLite binds at most 32,766 values in a statement).
fn batch_rows(columns: usize) -> usize {
    (30_000 / columns.max(1)).max(1)
}

/// Builds the catalog's rollups (or `opts.only`) from `warehouse` into the SQLite store at
/// `store` (made if missing). `progress(rollup, workspace, rows_written)` after each workspace.
pub async fn build(
    catalog: &Catalog,
    warehouse: &Warehouse,
    store: &Path,
    opts: &BuildOptions,
    progress: &mut (dyn FnMut(&str, &str, u64) + Send),
) -> Result<BuildReport, BuildError> {
    if catalog.rollups.is_empty() {
        return Err(BuildError::NoRollups);
    }
    for name in &opts.only {
        if !catalog.rollups.contains_key(name) {
            return Err(BuildError::Unknown(name.clone()));
        }
    }
    let store_err = |message: String| BuildError::Store {
        path: store.display().to_string(),
        message,
    };
    let mut conn = SqliteConnectOptions::from_str(&format!("sqlite://{}", store.display()))
        .map_err(|e| store_err(e.to_string()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(Duration::from_secs(30))
        .connect()
        .await
        .map_err(|e| store_err(e.to_string()))?;
    execute(&mut conn, &state_table_sql())
        .await
        .map_err(store_err)?;

    let mut reports = Vec::new();
    for rollup in catalog.rollups.values() {
        if !opts.only.is_empty() && !opts.only.contains(&rollup.name) {
            continue;
        }
        let report = build_one(catalog, warehouse, &mut conn, rollup, opts, progress)
            .await
            .map_err(|e| match e {
                One::Store(m) => store_err(m),
                One::Other(e) => e,
            })?;
        reports.push(report);
    }
    conn.close().await.map_err(|e| store_err(e.to_string()))?;
    Ok(BuildReport {
        store: store.display().to_string(),
        rollups: reports,
    })
}

enum One {
    Store(String),
    Other(BuildError),
}

impl From<BuildError> for One {
    fn from(e: BuildError) -> One {
        One::Other(e)
    }
}
impl From<ExecError> for One {
    fn from(e: ExecError) -> One {
        One::Other(e.into())
    }
}
impl From<CompileError> for One {
    fn from(e: CompileError) -> One {
        One::Other(e.into())
    }
}
impl From<sqlx::Error> for One {
    fn from(e: sqlx::Error) -> One {
        One::Store(e.to_string())
    }
}

async fn build_one(
    catalog: &Catalog,
    warehouse: &Warehouse,
    conn: &mut SqliteConnection,
    rollup: &Rollup,
    opts: &BuildOptions,
    progress: &mut (dyn FnMut(&str, &str, u64) + Send),
) -> Result<RollupReport, One> {
    let started = Instant::now();
    let before = read_state(conn, &rollup.name).await?;
    let definition = rollup.definition();
    let rebuild = opts.full || before.as_ref().is_none_or(|b| b.definition != definition);
    // From which day rows are (re)written, and which days the rollup covers afterwards.
    let (start, covers_from) = match (&before, rebuild) {
        (Some(b), false) => {
            let start = opts.since.map_or(b.until, |s| s.min(b.until));
            (Some(start), b.from.map(|f| f.min(start)))
        }
        _ => (opts.since, opts.since),
    };
    let until = opts.today;
    let mode = if rebuild { "full" } else { "incremental" };
    let mut report = RollupReport {
        name: rollup.name.clone(),
        mode,
        from: covers_from,
        until,
        workspaces: 0,
        rows_written: 0,
        windows_written: 0,
        source_rows: 0,
        seconds: 0.0,
    };
    if !rebuild && start.is_some_and(|s| s >= until) {
        report.mode = "current";
        report.until = before.as_ref().map_or(until, |b| b.until);
        return Ok(report);
    }

    let dialect = warehouse.dialect();
    let limits = Limits {
        row_cap: ROW_CAP,
        timeout: opts.timeout,
    };
    let workspaces: Vec<String> = match sql::table_workspaces(catalog, &rollup.table, dialect) {
        Some(s) => warehouse
            .run(&s, &limits)
            .await?
            .rows
            .iter()
            .filter_map(|r| r[0].as_text().map(str::to_string))
            .collect(),
        None => match &catalog.tenancy {
            Tenancy::Single { workspace } => vec![workspace.clone()],
            Tenancy::Multi => Vec::new(),
        },
    };

    let table = rollup.source();
    let mut tx = conn.begin().await?;
    if rebuild {
        execute(&mut tx, &format!("DROP TABLE IF EXISTS \"{table}\""))
            .await
            .map_err(One::Store)?;
        execute(&mut tx, &create_sql(rollup))
            .await
            .map_err(One::Store)?;
        for index in index_sql(rollup) {
            execute(&mut tx, &index).await.map_err(One::Store)?;
        }
        if let Some(windows) = rollup.windows_source() {
            execute(&mut tx, &format!("DROP TABLE IF EXISTS \"{windows}\""))
                .await
                .map_err(One::Store)?;
            for ddl in windows_sql(rollup) {
                execute(&mut tx, &ddl).await.map_err(One::Store)?;
            }
        }
    }
    for ws in &workspaces {
        let Ok(w) = WorkspaceId::parse(ws) else {
            tracing::warn!(rollup = %rollup.name, workspace = %ws, "skipping a workspace value that is not a workspace id");
            continue;
        };
        // A workspace the store has no rows of yet (new since the last build) is built from
        // its first row when the rollup covers every day.
        let known = rebuild
            || sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT 1 FROM \"{table}\" WHERE {} = ? LIMIT 1",
                Rollup::WORKSPACE
            )))
            .bind(ws)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        let start = if known || covers_from.is_some() {
            start
        } else {
            None
        };
        let first = match start {
            Some(s) => Some(s),
            None => {
                let s = sql::first_day(catalog, &rollup.table, &rollup.time, &w, dialect)?;
                let rows = warehouse.run(&s, &limits).await?;
                rows.rows
                    .first()
                    .and_then(|r| r[0].as_text())
                    .and_then(|t| t.parse::<NaiveDate>().ok())
            }
        };
        let Some(first) = first else { continue };
        if !rebuild {
            let delete = format!(
                "DELETE FROM \"{table}\" WHERE {} = ? AND \"{}\" >= ?",
                Rollup::WORKSPACE,
                rollup.time
            );
            sqlx::query(sqlx::AssertSqlSafe(delete))
                .bind(ws)
                .bind(format!("{first} 00:00:00"))
                .execute(&mut *tx)
                .await?;
        }
        report.workspaces += 1;
        for days in months(first, until) {
            let s = sql::rollup_rows(rollup, catalog, &w, &days, dialect)?;
            let rows = warehouse.run(&s, &limits).await?;
            if rows.truncated {
                return Err(One::Other(BuildError::TooManyRows {
                    rollup: rollup.name.clone(),
                    workspace: ws.clone(),
                    cap: ROW_CAP,
                }));
            }
            let (written, source) = insert(&mut tx, rollup, ws, &rows.rows).await?;
            report.rows_written += written;
            report.source_rows += source;
        }
        report.windows_written += write_windows(&mut tx, rollup, ws, first).await?;
        progress(&rollup.name, ws, report.rows_written);
    }
    let total: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM \"{table}\""
    )))
    .fetch_one(&mut *tx)
    .await?
    .get(0);
    let built = Built {
        definition,
        from: covers_from,
        until,
        built_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        rows: total,
    };
    write_state(&mut tx, &rollup.name, &built).await?;
    tx.commit().await?;
    report.seconds = (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
    Ok(report)
}

/// Whole calendar months from `first` to the day before `until`, the ends clipped.
fn months(first: NaiveDate, until: NaiveDate) -> Vec<DateRange> {
    let mut out = Vec::new();
    let mut start = first;
    while start < until {
        let next_month = start
            .with_day(1)
            .and_then(|d| d.checked_add_months(Months::new(1)))
            .expect("a month after a valid date");
        let end = next_month.min(until);
        out.push(DateRange {
            start,
            end: end.pred_opt().expect("a day before"),
        });
        start = end;
    }
    out
}

/// Inserts one read's rows for `workspace`; returns the rows written and the table rows they
/// stand for.
async fn insert(
    tx: &mut SqliteConnection,
    rollup: &Rollup,
    workspace: &str,
    rows: &[Vec<Cell>],
) -> Result<(u64, u64), sqlx::Error> {
    let columns = store_columns(rollup);
    let mut source = 0u64;
    for chunk in rows.chunks(batch_rows(columns.len())) {
        let mut q = Query::insert();
        q.into_table(Alias::new(rollup.source()))
            .columns(columns.iter().map(|c| Alias::new(c.as_str())));
        for row in chunk {
            // The read's columns: day, dimensions, `where` columns, entity, then the count.
            let (keys, count) = row.split_at(row.len() - 1);
            let n = count[0].as_f64().unwrap_or(0.0) as i64;
            source += n as u64;
            let mut values: Vec<sea_query::SimpleExpr> = vec![workspace.into()];
            for (i, cell) in keys.iter().enumerate() {
                values.push(match (i, cell) {
                    (0, Cell::Text(day)) => format!("{day} 00:00:00").into(),
                    (_, Cell::Text(t)) => t.as_str().into(),
                    (_, Cell::Int(v)) => v.to_string().into(),
                    (_, Cell::Float(v)) => v.to_string().into(),
                    (_, Cell::Null) => sea_query::Value::String(None).into(),
                });
            }
            values.push(n.into());
            q.values_panic(values);
        }
        let (sql, values) = Dialect::Sqlite.insert(&q);
        sqlx::query_with(sqlx::AssertSqlSafe(sql), values)
            .execute(&mut *tx)
            .await?;
    }
    Ok((rows.len() as u64, source))
}

/// The store table's columns, in insert order.
fn store_columns(rollup: &Rollup) -> Vec<String> {
    let mut c = vec![Rollup::WORKSPACE.to_string(), rollup.time.clone()];
    c.extend(
        rollup
            .dimensions
            .iter()
            .map(|d| Rollup::dimension_column(d)),
    );
    c.extend(rollup.columns.iter().cloned());
    c.extend(rollup.entity.iter().cloned());
    c.push(Rollup::ROWS.into());
    c
}

fn create_sql(rollup: &Rollup) -> String {
    let mut t = Table::create();
    t.table(Alias::new(rollup.source()));
    for c in store_columns(rollup) {
        let mut def = ColumnDef::new(Alias::new(c.as_str()));
        if c == Rollup::ROWS {
            def.big_integer().not_null();
        } else if c == Rollup::WORKSPACE || c == rollup.time {
            def.text().not_null();
        } else {
            def.text();
        }
        t.col(&mut def);
    }
    Dialect::Sqlite.schema(&t)
}

/// Covering indexes, so a routed statement reads an index alone: led by workspace and day, and,
/// when the rollup keeps `where` columns, one led by workspace and those columns (a metric's
/// `where` then reads only its own rows).
fn index_sql(rollup: &Rollup) -> Vec<String> {
    let columns = store_columns(rollup);
    let mut orders = vec![("workspace_day", columns.clone())];
    if !rollup.columns.is_empty() {
        let mut by_columns = vec![Rollup::WORKSPACE.to_string()];
        by_columns.extend(rollup.columns.iter().cloned());
        by_columns.extend(
            columns
                .iter()
                .filter(|c| !by_columns.contains(c))
                .cloned()
                .collect::<Vec<_>>(),
        );
        orders.push(("workspace_where", by_columns));
    }
    orders
        .into_iter()
        .map(|(suffix, cols)| {
            let mut i = Index::create();
            i.name(format!("{}_{suffix}", rollup.source()))
                .table(Alias::new(rollup.source()));
            for c in cols {
                i.col(Alias::new(c.as_str()));
            }
            Dialect::Sqlite.schema(&i)
        })
        .collect()
}

/// The grains the windows table counts.
const GRAINS: [Window; 3] = [Window::Day, Window::Week, Window::Month];

/// The windows table's key columns, in insert order: workspace, grain, `where` columns, the
/// window's first day.
fn windows_key(rollup: &Rollup) -> Vec<String> {
    let mut key = vec![Rollup::WORKSPACE.to_string(), Rollup::GRAIN.to_string()];
    key.extend(rollup.columns.iter().cloned());
    key.push(Rollup::START.into());
    key
}

/// The windows table and its covering index (led by workspace, grain and `where` columns, so a
/// read of one metric's windows is one index range).
fn windows_sql(rollup: &Rollup) -> Vec<String> {
    let Some(table) = rollup.windows_source() else {
        return Vec::new();
    };
    let mut t = Table::create();
    t.table(Alias::new(table.as_str()));
    let key = windows_key(rollup);
    for c in &key {
        let mut def = ColumnDef::new(Alias::new(c.as_str()));
        if rollup.columns.contains(c) {
            def.text();
        } else {
            def.text().not_null();
        }
        t.col(&mut def);
    }
    t.col(
        ColumnDef::new(Alias::new(Rollup::ENTITIES))
            .big_integer()
            .not_null(),
    );
    let mut i = Index::create();
    i.name(format!("{table}_key"))
        .table(Alias::new(table.as_str()));
    for c in key.iter().map(String::as_str).chain([Rollup::ENTITIES]) {
        i.col(Alias::new(c));
    }
    vec![Dialect::Sqlite.schema(&t), Dialect::Sqlite.schema(&i)]
}

/// Recounts `workspace`'s windows from the one containing `first` on, for every grain, from the
/// store's own day rows (which hold every entity of every day): a window's distinct entities
/// are exact because each day keeps each of its entities. Windows before `first`'s are
/// unchanged, as are their days. Returns the windows written.
async fn write_windows(
    tx: &mut SqliteConnection,
    rollup: &Rollup,
    workspace: &str,
    first: NaiveDate,
) -> Result<u64, sqlx::Error> {
    use sea_query::ExprTrait;
    let (Some(table), Some(entity)) = (rollup.windows_source(), &rollup.entity) else {
        return Ok(0);
    };
    let mut written = 0;
    for grain in GRAINS {
        let from = crate::plan::time::window_key(first, grain);
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM \"{table}\" WHERE {} = ? AND {} = ? AND {} >= ?",
            Rollup::WORKSPACE,
            Rollup::GRAIN,
            Rollup::START
        )))
        .bind(workspace)
        .bind(grain.as_str())
        .bind(from.to_string())
        .execute(&mut *tx)
        .await?;
        // The window's first day, as a routed statement would bucket the store's days.
        let day = Expr::col(Alias::new(rollup.time.as_str()));
        let start = match grain {
            Window::Day => Dialect::ROLLUP_STORE.stored_day(day),
            other => Dialect::ROLLUP_STORE.bucket(day, other),
        };
        let mut select = Query::select();
        select
            .from(Alias::new(rollup.source()))
            .column(Alias::new(Rollup::WORKSPACE))
            .expr(Expr::val(grain.as_str()))
            .columns(rollup.columns.iter().map(|c| Alias::new(c.as_str())))
            .expr_as(start, Alias::new(Rollup::START))
            .expr(Func::count_distinct(Expr::col(Alias::new(entity.as_str()))))
            .and_where(Expr::col(Alias::new(Rollup::WORKSPACE)).eq(workspace))
            .and_where(Expr::col(Alias::new(rollup.time.as_str())).gte(format!("{from} 00:00:00")))
            .add_group_by(
                rollup
                    .columns
                    .iter()
                    .map(|c| Expr::col(Alias::new(c.as_str())))
                    .chain([Expr::col(Alias::new(Rollup::START))]),
            );
        let mut columns = windows_key(rollup);
        columns.push(Rollup::ENTITIES.into());
        let mut insert = Query::insert();
        insert
            .into_table(Alias::new(table.as_str()))
            .columns(columns.iter().map(|c| Alias::new(c.as_str())))
            .select_from(select)
            .expect("as many values as columns");
        let (sql, values) = Dialect::Sqlite.insert(&insert);
        written += sqlx::query_with(sqlx::AssertSqlSafe(sql), values)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    }
    Ok(written)
}

fn state_table_sql() -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {STATE_TABLE} (name TEXT PRIMARY KEY, definition TEXT NOT NULL, \
         from_day TEXT, until_day TEXT NOT NULL, built_at TEXT NOT NULL, row_count INTEGER NOT NULL)"
    )
}

async fn execute(conn: &mut SqliteConnection, sql: &str) -> Result<(), String> {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(conn)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

async fn read_state(conn: &mut SqliteConnection, name: &str) -> Result<Option<Built>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT definition, from_day, until_day, built_at, row_count FROM {STATE_TABLE} WHERE name = ?"
    )))
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.and_then(|r| {
        let day = |s: Option<String>| s.and_then(|s| s.parse::<NaiveDate>().ok());
        Some(Built {
            definition: r.get(0),
            from: day(r.get(1)),
            until: day(r.get(2))?,
            built_at: r.get(3),
            rows: r.get(4),
        })
    }))
}

async fn write_state(
    conn: &mut SqliteConnection,
    name: &str,
    b: &Built,
) -> Result<(), sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {STATE_TABLE} (name, definition, from_day, until_day, built_at, row_count) \
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET definition = excluded.definition, \
         from_day = excluded.from_day, until_day = excluded.until_day, built_at = excluded.built_at, \
         row_count = excluded.row_count"
    )))
    .bind(name)
    .bind(&b.definition)
    .bind(b.from.map(|d| d.to_string()))
    .bind(b.until.to_string())
    .bind(&b.built_at)
    .bind(b.rows)
    .execute(conn)
    .await
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn months_cover_every_day_once_clipped_at_both_ends() {
        let m = months(d("2026-01-15"), d("2026-03-10"));
        let shown: Vec<String> = m
            .iter()
            .map(|r| format!("{}..{}", r.start, r.end))
            .collect();
        assert_eq!(
            shown,
            [
                "2026-01-15..2026-01-31",
                "2026-02-01..2026-02-28",
                "2026-03-01..2026-03-09"
            ]
        );
        assert!(months(d("2026-03-10"), d("2026-03-10")).is_empty());
    }
}
