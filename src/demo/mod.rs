//! Demo warehouses: table definitions, a row sink, and writers that load generated rows into a database.
//!
//! A [`Generator`] knows its domain and nothing about databases: it declares its tables
//! ([`TableDef`]) and streams rows into a [`RowSink`], one table at a time. The writers here know
//! databases and nothing about any domain: they turn table definitions into DDL (with sea-query,
//! for every backend through one `Dialect` parameter) and rows into multi-row INSERTs. Nothing
//! here names an example's table or column; each example's generator lives in
//! `examples/<name>/generate.rs` and is registered, with its catalog, in the example registry
//! (`src/examples.rs`).
//!
//! Invariants: rows are streamed, never collected per table (a generator at a large scale emits
//! tens of millions of rows); the same [`DemoOptions`] give byte-identical SQLite files; a file
//! is written under a temporary name and renamed only when complete, so a half-written file is
//! never mistaken for a finished one.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime, Timelike};
use sea_query::{Expr, Index, InsertStatement, Query, Table, Value, Values};
use sea_query_sqlx::SqlxValues;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};
use tokio::sync::mpsc;

use crate::dialect::Dialect;

mod load;
pub(crate) mod rng;

pub use load::load_demo;

/// What to generate: the seed of every random stream, the last day of history, and a volume
/// multiplier. The same options always give the same rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DemoOptions {
    pub seed: u64,
    /// The last day with data; every timestamp is before the following midnight (UTC).
    pub end_date: NaiveDate,
    /// Multiplies the number of users (and with them sessions and events); 1.0 builds in seconds.
    pub scale: f64,
}

impl DemoOptions {
    pub const DEFAULT_SEED: u64 = 42;
    pub const DEFAULT_SCALE: f64 = 1.0;

    /// The default seed and scale. There is no default end date: a demo is always dated by its
    /// caller, so that "last week" means the same days in the data and in the questions.
    pub fn new(end_date: NaiveDate) -> Self {
        DemoOptions {
            seed: Self::DEFAULT_SEED,
            end_date,
            scale: Self::DEFAULT_SCALE,
        }
    }

    pub fn validate(&self) -> Result<(), DemoError> {
        if !self.scale.is_finite() || self.scale <= 0.0 || self.scale > 10_000.0 {
            return Err(DemoError::InvalidOptions {
                reason: format!(
                    "scale must be a positive number up to 10000, got {}",
                    self.scale
                ),
            });
        }
        Ok(())
    }
}

/// The type of a demo column. Timestamps are UTC with second precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Text,
    BigInt,
    Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    pub name: &'static str,
    pub ty: ColumnType,
    pub nullable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDef {
    pub name: &'static str,
    /// In the order of the cells of every row.
    pub columns: Vec<ColumnDef>,
    pub primary_key: Vec<&'static str>,
    /// Secondary indexes, each a list of columns; created after the rows are loaded.
    pub indexes: Vec<Vec<&'static str>>,
}

impl TableDef {
    /// Whether the column is part of the primary key or of an index (MySQL cannot index TEXT).
    fn is_keyed(&self, column: &str) -> bool {
        self.primary_key.contains(&column)
            || self.indexes.iter().any(|index| index.contains(&column))
    }
}

/// One value of a generated row, in the order of [`TableDef::columns`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
    /// UTC, whole seconds.
    Timestamp(NaiveDateTime),
}

/// Where a generator sends its rows: `begin_table`, any number of `row`s, `end_table`, then the
/// next table. Every declared table is written exactly once.
pub trait RowSink {
    fn begin_table(&mut self, def: &TableDef) -> Result<(), DemoError>;
    fn row(&mut self, cells: Vec<Cell>) -> Result<(), DemoError>;
    fn end_table(&mut self) -> Result<(), DemoError>;
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("invalid demo options: {reason}")]
    InvalidOptions { reason: String },
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("database error while {context}: {source}")]
    Database {
        context: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("the generator broke the row sink protocol: {reason}")]
    SinkProtocol { reason: String },
    #[error("a row for table {table} does not match its definition: {reason}")]
    RowShape { table: &'static str, reason: String },
    #[error("cannot build sql for table {table}: {reason}")]
    QueryBuild { table: &'static str, reason: String },
    /// Seen by a generator when the writer has stopped; the writer's own error is what callers get.
    #[error("the row writer stopped before the generator finished")]
    WriterStopped,
    #[error("the generator task failed: {reason}")]
    GeneratorFailed { reason: String },
}

impl DemoError {
    /// A stable code for logs, audit rows and tests.
    pub fn code(&self) -> &'static str {
        match self {
            DemoError::InvalidOptions { .. } => "demo_invalid_options",
            DemoError::Io { .. } => "demo_io",
            DemoError::Database { .. } => "demo_database",
            DemoError::SinkProtocol { .. } => "demo_sink_protocol",
            DemoError::RowShape { .. } => "demo_row_shape",
            DemoError::QueryBuild { .. } => "demo_query_build",
            DemoError::WriterStopped => "demo_writer_stopped",
            DemoError::GeneratorFailed { .. } => "demo_generator_failed",
        }
    }
}

/// A domain's data: the tables it writes and the function that streams their rows. Registered
/// per example, next to its catalog, in the example registry (`src/examples.rs`).
#[derive(Debug, Clone, Copy)]
pub struct Generator {
    /// Every table the generator writes, in the order it writes them.
    pub tables: fn() -> Vec<TableDef>,
    pub generate: fn(&DemoOptions, &mut dyn RowSink) -> Result<(), DemoError>,
    /// The workspaces whose rows it writes, in the order it declares them.
    pub workspaces: fn() -> Vec<&'static str>,
}

/// Rows written per table, in the order the tables were written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateReport {
    pub tables: Vec<TableRows>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRows {
    pub table: &'static str,
    pub rows: u64,
}

impl GenerateReport {
    pub fn rows(&self, table: &str) -> Option<u64> {
        self.tables
            .iter()
            .find(|entry| entry.table == table)
            .map(|entry| entry.rows)
    }

    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|entry| entry.rows).sum()
    }
}

/// Generates `generator`'s rows into a new SQLite file at `path`, replacing any file there.
///
/// The rows go to `path` + `.tmp` first, which is renamed over `path` only once every table,
/// index and the final `VACUUM` are done. `progress(table, rows_so_far)` is called every
/// [`PROGRESS_EVERY_ROWS`] rows and when a table is complete.
pub async fn write_sqlite(
    path: &Path,
    generator: &Generator,
    opts: &DemoOptions,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<GenerateReport, DemoError> {
    opts.validate()?;
    let temporary = temporary_path(path);
    remove_if_present(path).await?;
    remove_if_present(&temporary).await?;
    match load_sqlite(&temporary, generator, opts, progress).await {
        Ok(report) => {
            tokio::fs::rename(&temporary, path)
                .await
                .map_err(|source| DemoError::Io {
                    action: "rename the finished demo database to",
                    path: path.to_path_buf(),
                    source,
                })?;
            Ok(report)
        }
        Err(error) => {
            // The half-written file is useless; failing to remove it must not hide the cause.
            let _ = tokio::fs::remove_file(&temporary).await;
            Err(error)
        }
    }
}

pub const PROGRESS_EVERY_ROWS: u64 = 50_000;

/// Rows per INSERT statement; fewer for wide tables so that no statement binds more than
/// SQLite's 32766 parameters.
const ROWS_PER_INSERT: usize = 500;
const MAX_BOUND_VALUES: usize = 32_766;

/// The exact text a timestamp is stored as in SQLite, which has no timestamp type.
pub(crate) const SQLITE_TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// `CREATE TABLE` for one demo table, with its primary key but without secondary indexes.
pub(crate) fn create_table_sql(def: &TableDef, backend: Dialect) -> String {
    let mut statement = Table::create();
    statement.table(def.name);
    for column in &def.columns {
        let mut column_def = sea_query::ColumnDef::new(column.name);
        column_def.custom(column_type_sql(def, column, backend));
        if column.nullable {
            column_def.null();
        } else {
            column_def.not_null();
        }
        statement.col(&mut column_def);
    }
    let mut primary_key = Index::create();
    for column in &def.primary_key {
        primary_key.col(*column);
    }
    statement.primary_key(&mut primary_key);
    backend.schema(&statement)
}

/// `CREATE INDEX` for each secondary index of a table, named `<table>_<columns>_idx`.
pub(crate) fn create_index_sql(def: &TableDef, backend: Dialect) -> Vec<String> {
    def.indexes
        .iter()
        .map(|columns| {
            let mut statement = Index::create();
            statement
                .name(format!("{}_{}_idx", def.name, columns.join("_")))
                .table(def.name);
            for column in columns {
                statement.col(*column);
            }
            backend.schema(&statement)
        })
        .collect()
}

fn column_type_sql(def: &TableDef, column: &ColumnDef, backend: Dialect) -> &'static str {
    match (column.ty, backend) {
        (ColumnType::Text, Dialect::Mysql) if def.is_keyed(column.name) => "VARCHAR(255)",
        (ColumnType::Text, _) => "TEXT",
        (ColumnType::BigInt, _) => "BIGINT",
        // SQLite has no timestamp type: the column holds `YYYY-MM-DD HH:MM:SS` text, which sorts
        // and compares as time does.
        (ColumnType::Timestamp, Dialect::Sqlite) => "TEXT",
        (ColumnType::Timestamp, Dialect::Postgres) => "TIMESTAMP",
        (ColumnType::Timestamp, Dialect::Mysql) => "DATETIME",
    }
}

/// One multi-row INSERT for a batch of rows already checked against `def`.
pub(crate) fn insert_statement(
    def: &TableDef,
    rows: Vec<Vec<Cell>>,
    backend: Dialect,
) -> Result<InsertStatement, DemoError> {
    let mut statement = Query::insert();
    statement
        .into_table(def.name)
        .columns(def.columns.iter().map(|column| column.name));
    for row in rows {
        let values = row
            .into_iter()
            .zip(&def.columns)
            .map(|(cell, column)| Expr::Value(cell_value(cell, column.ty, backend)));
        statement
            .values(values)
            .map_err(|error| DemoError::QueryBuild {
                table: def.name,
                reason: error.to_string(),
            })?;
    }
    Ok(statement)
}

/// The bound value of a cell. Nulls are typed by their column; SQLite timestamps are bound as
/// text in [`SQLITE_TIMESTAMP_FORMAT`] so the stored format never depends on a driver.
fn cell_value(cell: Cell, ty: ColumnType, backend: Dialect) -> Value {
    let timestamp_as_text = backend == Dialect::Sqlite;
    match (cell, ty) {
        (Cell::Int(value), _) => Value::BigInt(Some(value)),
        (Cell::Text(value), _) => Value::String(Some(value)),
        (Cell::Timestamp(value), _) if timestamp_as_text => {
            Value::String(Some(value.format(SQLITE_TIMESTAMP_FORMAT).to_string()))
        }
        (Cell::Timestamp(value), _) => Value::ChronoDateTime(Some(value)),
        (Cell::Null, ColumnType::BigInt) => Value::BigInt(None),
        (Cell::Null, ColumnType::Timestamp) if !timestamp_as_text => Value::ChronoDateTime(None),
        (Cell::Null, ColumnType::Text | ColumnType::Timestamp) => Value::String(None),
    }
}

/// Checks one row against its table: arity, types, nulls only where allowed, whole seconds.
fn check_row(def: &TableDef, cells: &[Cell]) -> Result<(), DemoError> {
    let shape_error = |reason: String| DemoError::RowShape {
        table: def.name,
        reason,
    };
    if cells.len() != def.columns.len() {
        return Err(shape_error(format!(
            "expected {} cells, got {}",
            def.columns.len(),
            cells.len()
        )));
    }
    for (cell, column) in cells.iter().zip(&def.columns) {
        let fits = match (cell, column.ty) {
            (Cell::Null, _) => column.nullable,
            (Cell::Int(_), ColumnType::BigInt) | (Cell::Text(_), ColumnType::Text) => true,
            (Cell::Timestamp(value), ColumnType::Timestamp) => value.nanosecond() == 0,
            _ => false,
        };
        if !fits {
            return Err(shape_error(format!(
                "column {} ({:?}, nullable: {}) cannot hold {:?}",
                column.name, column.ty, column.nullable, cell
            )));
        }
    }
    Ok(())
}

fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

async fn remove_if_present(path: &Path) -> Result<(), DemoError> {
    match tokio::fs::remove_file(path).await {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(DemoError::Io {
            action: "remove",
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn database_error(context: impl Into<String>) -> impl FnOnce(sqlx::Error) -> DemoError {
    let context = context.into();
    move |source| DemoError::Database { context, source }
}

/// What the generator thread sends to the writer. Statements are built on the generator's
/// thread, so building them overlaps with the database's work.
enum SinkMessage {
    Begin(TableDef),
    Rows {
        rows: u64,
        sql: Arc<str>,
        values: SqlxValues,
    },
    End,
}

/// Runs the generator on a blocking thread and the SQLite writer on this task, joined by a
/// bounded channel, so generation and writing overlap and memory stays flat.
async fn load_sqlite(
    path: &Path,
    generator: &Generator,
    opts: &DemoOptions,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<GenerateReport, DemoError> {
    let declared = (generator.tables)();
    let mut connection = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Off)
        .synchronous(SqliteSynchronous::Off)
        .connect()
        .await
        .map_err(database_error(format!(
            "opening the demo database {}",
            path.display()
        )))?;
    for def in &declared {
        let sql = create_table_sql(def, Dialect::Sqlite);
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut connection)
            .await
            .map_err(database_error(format!("creating table {}", def.name)))?;
    }

    let report = generate_rows::<sqlx::Sqlite>(
        &mut connection,
        generator,
        opts,
        &declared,
        Dialect::Sqlite,
        progress,
    )
    .await?;

    sqlx::query("VACUUM")
        .execute(&mut connection)
        .await
        .map_err(database_error("vacuuming the demo database"))?;
    connection
        .close()
        .await
        .map_err(database_error("closing the demo database"))?;
    Ok(report)
}

/// Runs `generator` on a blocking thread and writes its rows through `connection` on
/// this task, joined by a bounded channel, so generation and writing overlap and memory stays
/// flat. The tables must exist; each is loaded in one transaction and then indexed.
async fn generate_rows<DB>(
    connection: &mut DB::Connection,
    generator: &Generator,
    opts: &DemoOptions,
    declared: &[TableDef],
    backend: Dialect,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<GenerateReport, DemoError>
where
    DB: sqlx::Database,
    SqlxValues: sqlx::IntoArguments<DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    let (sender, receiver) = mpsc::channel(16);
    let generate = generator.generate;
    let generator_options = *opts;
    let generator = tokio::task::spawn_blocking(move || {
        let mut sink = ChannelSink::new(sender, backend);
        generate(&generator_options, &mut sink)?;
        sink.finish()
    });
    let written = write_rows::<DB>(connection, receiver, declared, backend, progress).await;
    let generated = generator
        .await
        .map_err(|error| DemoError::GeneratorFailed {
            reason: error.to_string(),
        })?;
    let report = match (written, generated) {
        (_, Err(error)) if !matches!(error, DemoError::WriterStopped) => return Err(error),
        (Err(error), _) | (Ok(_), Err(error)) => return Err(error),
        (Ok(report), Ok(())) => report,
    };
    let written_names: Vec<&str> = report.tables.iter().map(|entry| entry.table).collect();
    let declared_names: Vec<&str> = declared.iter().map(|def| def.name).collect();
    if written_names != declared_names {
        return Err(DemoError::SinkProtocol {
            reason: format!("declared tables {declared_names:?} but wrote {written_names:?}"),
        });
    }
    Ok(report)
}

async fn write_rows<DB>(
    connection: &mut DB::Connection,
    mut receiver: mpsc::Receiver<SinkMessage>,
    declared: &[TableDef],
    backend: Dialect,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<GenerateReport, DemoError>
where
    DB: sqlx::Database,
    SqlxValues: sqlx::IntoArguments<DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    let mut report = GenerateReport { tables: Vec::new() };
    while let Some(message) = receiver.recv().await {
        let SinkMessage::Begin(def) = message else {
            return Err(DemoError::SinkProtocol {
                reason: "rows sent outside a table".to_owned(),
            });
        };
        if !declared.contains(&def) {
            return Err(DemoError::SinkProtocol {
                reason: format!(
                    "table {} is not declared by the example as written",
                    def.name
                ),
            });
        }
        let rows = write_table::<DB>(connection, &mut receiver, &def, backend, progress).await?;
        report.tables.push(TableRows {
            table: def.name,
            rows,
        });
    }
    Ok(report)
}

/// Loads one table inside one transaction, then builds its indexes.
async fn write_table<DB>(
    connection: &mut DB::Connection,
    receiver: &mut mpsc::Receiver<SinkMessage>,
    def: &TableDef,
    backend: Dialect,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<u64, DemoError>
where
    DB: sqlx::Database,
    SqlxValues: sqlx::IntoArguments<DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    let mut transaction = connection.begin().await.map_err(database_error(format!(
        "starting to load table {}",
        def.name
    )))?;
    let mut rows = 0u64;
    loop {
        match receiver.recv().await {
            Some(SinkMessage::Rows {
                rows: batch_rows,
                sql,
                values,
            }) => {
                sqlx::query_with(sqlx::AssertSqlSafe(sql), values)
                    .execute(&mut *transaction)
                    .await
                    .map_err(database_error(format!("inserting into table {}", def.name)))?;
                let before = rows;
                rows += batch_rows;
                if rows / PROGRESS_EVERY_ROWS > before / PROGRESS_EVERY_ROWS {
                    progress(def.name, rows);
                }
            }
            Some(SinkMessage::End) => break,
            Some(SinkMessage::Begin(next)) => {
                return Err(DemoError::SinkProtocol {
                    reason: format!("table {} began before table {} ended", next.name, def.name),
                })
            }
            None => {
                return Err(DemoError::SinkProtocol {
                    reason: format!("the generator stopped inside table {}", def.name),
                })
            }
        }
    }
    transaction
        .commit()
        .await
        .map_err(database_error(format!("committing table {}", def.name)))?;
    for sql in create_index_sql(def, backend) {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *connection)
            .await
            .map_err(database_error(format!("indexing table {}", def.name)))?;
    }
    progress(def.name, rows);
    Ok(rows)
}

/// The generator's side of the channel: checks the protocol and every row, and turns batches
/// of rows into INSERT statements for the writer.
struct ChannelSink {
    sender: mpsc::Sender<SinkMessage>,
    backend: Dialect,
    open: Option<TableDef>,
    rows_per_batch: usize,
    batch: Vec<Vec<Cell>>,
    /// The open table's INSERT for a full batch: the same text every time, so it is built once.
    full_batch_sql: Option<Arc<str>>,
    written: Vec<&'static str>,
}

impl ChannelSink {
    fn new(sender: mpsc::Sender<SinkMessage>, backend: Dialect) -> Self {
        ChannelSink {
            sender,
            backend,
            open: None,
            rows_per_batch: ROWS_PER_INSERT,
            batch: Vec::new(),
            full_batch_sql: None,
            written: Vec::new(),
        }
    }

    fn send(&self, message: SinkMessage) -> Result<(), DemoError> {
        self.sender
            .blocking_send(message)
            .map_err(|_| DemoError::WriterStopped)
    }

    fn flush(&mut self) -> Result<(), DemoError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let Some(def) = &self.open else {
            return Ok(());
        };
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(self.rows_per_batch));
        let rows = batch.len();
        let full = rows == self.rows_per_batch;
        let (sql, values) = match &self.full_batch_sql {
            // sea-query binds every value, in row order, so a full batch's values are its
            // cells in order and the cached text fits them.
            Some(sql) if full => {
                let values = batch
                    .into_iter()
                    .flat_map(|row| {
                        row.into_iter()
                            .zip(&def.columns)
                            .map(|(cell, column)| cell_value(cell, column.ty, self.backend))
                    })
                    .collect();
                (sql.clone(), SqlxValues(Values(values)))
            }
            _ => {
                let statement = insert_statement(def, batch, self.backend)?;
                let (sql, values) = self.backend.insert(&statement);
                let sql: Arc<str> = sql.into();
                if full {
                    self.full_batch_sql = Some(sql.clone());
                }
                (sql, values)
            }
        };
        self.send(SinkMessage::Rows {
            rows: rows as u64,
            sql,
            values,
        })
    }

    fn finish(self) -> Result<(), DemoError> {
        match &self.open {
            Some(def) => Err(DemoError::SinkProtocol {
                reason: format!("table {} was never ended", def.name),
            }),
            None => Ok(()),
        }
    }
}

impl RowSink for ChannelSink {
    fn begin_table(&mut self, def: &TableDef) -> Result<(), DemoError> {
        if let Some(open) = &self.open {
            return Err(DemoError::SinkProtocol {
                reason: format!("table {} began before table {} ended", def.name, open.name),
            });
        }
        if self.written.contains(&def.name) {
            return Err(DemoError::SinkProtocol {
                reason: format!("table {} was written twice", def.name),
            });
        }
        self.written.push(def.name);
        self.rows_per_batch =
            (MAX_BOUND_VALUES / def.columns.len().max(1)).clamp(1, ROWS_PER_INSERT);
        self.batch = Vec::with_capacity(self.rows_per_batch);
        self.full_batch_sql = None;
        self.open = Some(def.clone());
        self.send(SinkMessage::Begin(def.clone()))
    }

    fn row(&mut self, cells: Vec<Cell>) -> Result<(), DemoError> {
        let Some(def) = &self.open else {
            return Err(DemoError::SinkProtocol {
                reason: "a row was sent outside a table".to_owned(),
            });
        };
        check_row(def, &cells)?;
        self.batch.push(cells);
        if self.batch.len() >= self.rows_per_batch {
            self.flush()?;
        }
        Ok(())
    }

    fn end_table(&mut self) -> Result<(), DemoError> {
        if self.open.is_none() {
            return Err(DemoError::SinkProtocol {
                reason: "end_table without begin_table".to_owned(),
            });
        }
        self.flush()?;
        self.open = None;
        self.send(SinkMessage::End)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small_options() -> DemoOptions {
        DemoOptions {
            scale: 0.2,
            ..DemoOptions::new(NaiveDate::from_ymd_opt(2026, 11, 22).expect("a valid date"))
        }
    }

    #[test]
    fn ddl_follows_each_backend() {
        let def = TableDef {
            name: "things",
            columns: vec![
                ColumnDef {
                    name: "tenant",
                    ty: ColumnType::Text,
                    nullable: false,
                },
                ColumnDef {
                    name: "id",
                    ty: ColumnType::BigInt,
                    nullable: false,
                },
                ColumnDef {
                    name: "at",
                    ty: ColumnType::Timestamp,
                    nullable: false,
                },
                ColumnDef {
                    name: "note",
                    ty: ColumnType::Text,
                    nullable: true,
                },
            ],
            primary_key: vec!["tenant", "id"],
            indexes: vec![vec!["tenant", "at"]],
        };
        assert_eq!(
            create_table_sql(&def, Dialect::Sqlite),
            r#"CREATE TABLE "things" ( "tenant" TEXT NOT NULL, "id" BIGINT NOT NULL, "at" TEXT NOT NULL, "note" TEXT NULL, PRIMARY KEY ("tenant", "id") )"#
        );
        assert_eq!(
            create_table_sql(&def, Dialect::Postgres),
            r#"CREATE TABLE "things" ( "tenant" TEXT NOT NULL, "id" BIGINT NOT NULL, "at" TIMESTAMP NOT NULL, "note" TEXT NULL, PRIMARY KEY ("tenant", "id") )"#
        );
        assert_eq!(
            create_table_sql(&def, Dialect::Mysql),
            "CREATE TABLE `things` ( `tenant` VARCHAR(255) NOT NULL, `id` BIGINT NOT NULL, `at` DATETIME NOT NULL, `note` TEXT NULL, PRIMARY KEY (`tenant`, `id`) )"
        );
        assert_eq!(
            create_index_sql(&def, Dialect::Sqlite),
            [r#"CREATE INDEX "things_tenant_at_idx" ON "things" ("tenant", "at")"#]
        );
        assert_eq!(
            create_index_sql(&def, Dialect::Mysql),
            ["CREATE INDEX `things_tenant_at_idx` ON `things` (`tenant`, `at`)"]
        );
    }

    fn one_table() -> Vec<TableDef> {
        vec![TableDef {
            name: "things",
            columns: vec![ColumnDef {
                name: "id",
                ty: ColumnType::BigInt,
                nullable: false,
            }],
            primary_key: vec!["id"],
            indexes: vec![],
        }]
    }

    fn bad_generator(_: &DemoOptions, sink: &mut dyn RowSink) -> Result<(), DemoError> {
        sink.begin_table(&one_table()[0])?;
        for id in 0..1_000 {
            sink.row(vec![Cell::Int(id)])?;
        }
        sink.row(vec![Cell::Text("not a number".to_owned())])
    }

    #[tokio::test]
    async fn a_failing_generator_leaves_no_file_behind() {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let path = directory.path().join("broken.db");
        std::fs::write(&path, b"old").expect("an old file");
        let generator = Generator {
            tables: one_table,
            generate: bad_generator,
            workspaces: Vec::new,
        };
        let error = write_sqlite(&path, &generator, &small_options(), &mut |_, _| {})
            .await
            .expect_err("the generator fails");
        assert_eq!(error.code(), "demo_row_shape");
        assert!(!path.exists() && !temporary_path(&path).exists());

        let error = write_sqlite(
            &path,
            &generator,
            &DemoOptions {
                scale: 0.0,
                ..small_options()
            },
            &mut |_, _| {},
        )
        .await
        .expect_err("a zero scale is refused");
        assert_eq!(error.code(), "demo_invalid_options");
    }
}
