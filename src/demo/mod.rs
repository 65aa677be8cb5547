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
    /// About how many rows each table of `tables` gets for these options, in the same order: an
    /// estimate for a progress display's rate and time left, never a promise.
    pub estimated_rows: fn(&DemoOptions) -> Vec<u64>,
}

impl Generator {
    /// The estimate of `table`'s rows for `opts` (0 for a table the generator does not declare).
    pub fn estimated_rows_of(&self, opts: &DemoOptions, table: &str) -> u64 {
        (self.tables)()
            .iter()
            .zip((self.estimated_rows)(opts))
            .find(|(def, _)| def.name == table)
            .map_or(0, |(_, rows)| rows)
    }
}

/// What a writer reports while it works, in this order per table: `Table`, any number of
/// `Rows`, `Indexing`, `Done`; then `Finishing` once every table is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress<'a> {
    /// A table begins; `expected_rows` is the generator's estimate of its size.
    Table { table: &'a str, expected_rows: u64 },
    /// Rows of the table written so far (after every batch).
    Rows { table: &'a str, rows: u64 },
    /// Every row of the table is in; its indexes are being built.
    Indexing { table: &'a str, rows: u64 },
    /// The table is complete, indexes included.
    Done { table: &'a str, rows: u64 },
    /// Every table is complete: the SQLite file is being compacted, or the loaded tables are
    /// analysed and swapped in for the old ones.
    Finishing,
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
/// index and the final `VACUUM` are done. `progress` hears of every table, batch and index
/// build ([`Progress`]).
pub async fn write_sqlite(
    path: &Path,
    generator: &Generator,
    opts: &DemoOptions,
    progress: &mut dyn FnMut(Progress<'_>),
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

/// Rows per INSERT statement into SQLite; fewer for wide tables so that no statement binds
/// more than SQLite's 32766 parameters.
const SQLITE_ROWS_PER_INSERT: usize = 500;
const SQLITE_MAX_BOUND_VALUES: usize = 32_766;

/// About how many bytes of PostgreSQL COPY text one batch carries (one `CopyData` message).
const COPY_CHUNK_BYTES: usize = 1 << 20;

/// The exact text a timestamp is stored as in SQLite, which has no timestamp type.
pub(crate) const SQLITE_TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// What a table is loaded under before it is swapped in: `<table>__tally_load`.
pub(crate) const STAGING_SUFFIX: &str = "__tally_load";

/// Under which names a writer creates a table and its indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Naming {
    /// The table's own name: a new SQLite file, where nothing old is in the way.
    Final,
    /// `<table>__tally_load`, renamed to the table's own name once every table is loaded, so
    /// the old tables serve until then and an interrupted load leaves them as they were.
    Staging,
}

impl Naming {
    pub(crate) fn table(self, def: &TableDef) -> String {
        match self {
            Naming::Final => def.name.to_owned(),
            Naming::Staging => format!("{}{STAGING_SUFFIX}", def.name),
        }
    }

    /// `<table>_<columns>_idx`. Index names are per schema on SQLite and PostgreSQL, so a
    /// staging table's are its own (`<table>__tally_load_<columns>_idx`, renamed when it is
    /// swapped in); on MySQL they are per table, so they already have their final names.
    pub(crate) fn index(self, def: &TableDef, columns: &[&str], backend: Dialect) -> String {
        let table = match backend {
            Dialect::Mysql => def.name.to_owned(),
            Dialect::Postgres | Dialect::Sqlite => self.table(def),
        };
        format!("{table}_{}_idx", columns.join("_"))
    }

    /// The primary key's constraint name on PostgreSQL: `<table>_pkey`, the name PostgreSQL
    /// itself would give it, spelled out so that the swap can rename it.
    pub(crate) fn primary_key(self, def: &TableDef) -> String {
        format!("{}_pkey", self.table(def))
    }
}

/// `CREATE TABLE` for one demo table under `naming`, with its primary key (named on
/// PostgreSQL: [`Naming::primary_key`]) but without secondary indexes.
pub(crate) fn create_table_sql(def: &TableDef, naming: Naming, backend: Dialect) -> String {
    let mut statement = Table::create();
    statement.table(naming.table(def));
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
    if backend == Dialect::Postgres {
        primary_key.name(naming.primary_key(def));
    }
    for column in &def.primary_key {
        primary_key.col(*column);
    }
    statement.primary_key(&mut primary_key);
    backend.schema(&statement)
}

/// `CREATE INDEX` for each secondary index of a table under `naming` ([`Naming::index`]).
pub(crate) fn create_index_sql(def: &TableDef, naming: Naming, backend: Dialect) -> Vec<String> {
    def.indexes
        .iter()
        .map(|columns| {
            let mut statement = Index::create();
            statement
                .name(naming.index(def, columns, backend))
                .table(naming.table(def));
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

/// One multi-row INSERT into `table` for a batch of rows already checked against `def`.
pub(crate) fn insert_statement(
    def: &TableDef,
    table: &str,
    rows: Vec<Vec<Cell>>,
    backend: Dialect,
) -> Result<InsertStatement, DemoError> {
    let mut statement = Query::insert();
    statement
        .into_table(table.to_owned())
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

/// About how many bytes a cell takes in a MySQL `COM_STMT_EXECUTE` packet, to keep a batch
/// under the server's `max_allowed_packet`.
fn cell_bytes(cell: &Cell) -> usize {
    match cell {
        Cell::Null => 1,
        Cell::Int(_) => 9,
        Cell::Text(text) => text.len() + 9,
        Cell::Timestamp(_) => 12,
    }
}

/// Appends one row in PostgreSQL's `COPY … FROM STDIN` text format: cells separated by tabs,
/// `\N` for NULL, a newline at the end; in text, backslash, newline, carriage return and tab
/// are escaped (`\\`, `\n`, `\r`, `\t`) and every other character, Unicode included, is
/// itself (the connection's encoding is UTF-8). A timestamp is `YYYY-MM-DD HH:MM:SS`, which
/// PostgreSQL reads the same under any `DateStyle`. PostgreSQL text cannot hold NUL, so a NUL
/// is refused here with the table's name rather than by the server mid-stream.
pub(crate) fn copy_text_row(
    def: &TableDef,
    cells: &[Cell],
    out: &mut Vec<u8>,
) -> Result<(), DemoError> {
    use std::io::Write as _;
    for (index, cell) in cells.iter().enumerate() {
        if index > 0 {
            out.push(b'\t');
        }
        match cell {
            Cell::Null => out.extend_from_slice(b"\\N"),
            Cell::Int(value) => {
                let _ = write!(out, "{value}");
            }
            Cell::Timestamp(value) => {
                let _ = write!(out, "{}", value.format(SQLITE_TIMESTAMP_FORMAT));
            }
            Cell::Text(text) => {
                for &byte in text.as_bytes() {
                    match byte {
                        b'\\' => out.extend_from_slice(b"\\\\"),
                        b'\n' => out.extend_from_slice(b"\\n"),
                        b'\r' => out.extend_from_slice(b"\\r"),
                        b'\t' => out.extend_from_slice(b"\\t"),
                        0 => {
                            return Err(DemoError::RowShape {
                                table: def.name,
                                reason: format!(
                                    "column {} holds a NUL character, which PostgreSQL text cannot store",
                                    def.columns[index].name
                                ),
                            })
                        }
                        other => out.push(other),
                    }
                }
            }
        }
    }
    out.push(b'\n');
    Ok(())
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

/// How the generator's side turns rows into batches for the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// Multi-row INSERTs for `backend` into the tables `naming` names: at most `max_rows`
    /// rows, `max_values` bound values and about `max_bytes` of values per statement.
    Insert {
        backend: Dialect,
        naming: Naming,
        max_rows: usize,
        max_values: usize,
        max_bytes: usize,
    },
    /// PostgreSQL's COPY text format ([`copy_text_row`]), in chunks of about
    /// [`COPY_CHUNK_BYTES`].
    CopyText,
}

/// One batch of a table's rows, as the writer sends it to the database.
pub(crate) enum Batch {
    /// One multi-row INSERT: its text (shared by every full batch) and values.
    Insert { sql: Arc<str>, values: SqlxValues },
    /// Whole rows in COPY text format.
    CopyText(Vec<u8>),
}

/// What the generator thread sends to the writer. Statements and COPY text are built on the
/// generator's thread, so building them overlaps with the database's work.
enum SinkMessage {
    Begin(TableDef),
    Rows { rows: u64, batch: Batch },
    End,
}

/// Writes one table: creates it, sends its batches, builds its indexes.
pub(crate) trait TableWriter {
    /// Writes `def`'s rows, taken from `batches` until it returns `None`, and indexes the
    /// table (saying so with [`Batches::indexing`] first).
    async fn write_table(
        &mut self,
        def: &TableDef,
        batches: &mut Batches<'_>,
    ) -> Result<(), DemoError>;
}

/// The batches of the table being written, as the generator sends them.
pub(crate) struct Batches<'a> {
    receiver: &'a mut mpsc::Receiver<SinkMessage>,
    table: &'static str,
    rows: u64,
    /// Rows of the batch handed out last: written once the next one is asked for.
    pending: u64,
    ended: bool,
    progress: &'a mut dyn FnMut(Progress<'_>),
}

impl Batches<'_> {
    /// The table's next batch, or `None` once the table has ended. Asking for the next batch
    /// says the one before is written: its rows are counted and reported then.
    pub(crate) async fn next(&mut self) -> Result<Option<Batch>, DemoError> {
        self.count_written();
        if self.ended {
            return Ok(None);
        }
        match self.receiver.recv().await {
            Some(SinkMessage::Rows { rows, batch }) => {
                self.pending = rows;
                Ok(Some(batch))
            }
            Some(SinkMessage::End) => {
                self.ended = true;
                Ok(None)
            }
            Some(SinkMessage::Begin(next)) => Err(DemoError::SinkProtocol {
                reason: format!(
                    "table {} began before table {} ended",
                    next.name, self.table
                ),
            }),
            None => Err(DemoError::SinkProtocol {
                reason: format!("the generator stopped inside table {}", self.table),
            }),
        }
    }

    /// Says that every row is in and the indexes are being built.
    pub(crate) fn indexing(&mut self) {
        self.count_written();
        (self.progress)(Progress::Indexing {
            table: self.table,
            rows: self.rows,
        });
    }

    fn count_written(&mut self) {
        if self.pending > 0 {
            self.rows += std::mem::take(&mut self.pending);
            (self.progress)(Progress::Rows {
                table: self.table,
                rows: self.rows,
            });
        }
    }
}

/// Writes each table with multi-row INSERTs inside one transaction per table, then builds its
/// indexes: SQLite and MySQL/MariaDB.
pub(crate) struct InsertWriter<'c, DB: sqlx::Database> {
    pub(crate) connection: &'c mut DB::Connection,
    pub(crate) backend: Dialect,
    pub(crate) naming: Naming,
}

impl<DB> TableWriter for InsertWriter<'_, DB>
where
    DB: sqlx::Database,
    SqlxValues: sqlx::IntoArguments<DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    async fn write_table(
        &mut self,
        def: &TableDef,
        batches: &mut Batches<'_>,
    ) -> Result<(), DemoError> {
        let sql = create_table_sql(def, self.naming, self.backend);
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *self.connection)
            .await
            .map_err(database_error(format!("creating table {}", def.name)))?;
        let mut transaction = self
            .connection
            .begin()
            .await
            .map_err(database_error(format!(
                "starting to load table {}",
                def.name
            )))?;
        while let Some(batch) = batches.next().await? {
            let Batch::Insert { sql, values } = batch else {
                return Err(DemoError::SinkProtocol {
                    reason: format!("COPY text sent for an INSERT into table {}", def.name),
                });
            };
            sqlx::query_with(sqlx::AssertSqlSafe(sql), values)
                .execute(&mut *transaction)
                .await
                .map_err(database_error(format!("inserting into table {}", def.name)))?;
        }
        transaction
            .commit()
            .await
            .map_err(database_error(format!("committing table {}", def.name)))?;
        batches.indexing();
        for sql in create_index_sql(def, self.naming, self.backend) {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut *self.connection)
                .await
                .map_err(database_error(format!("indexing table {}", def.name)))?;
        }
        Ok(())
    }
}

/// Runs the generator on a blocking thread and the SQLite writer on this task, joined by a
/// bounded channel, so generation and writing overlap and memory stays flat.
async fn load_sqlite(
    path: &Path,
    generator: &Generator,
    opts: &DemoOptions,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<GenerateReport, DemoError> {
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
    let encoding = Encoding::Insert {
        backend: Dialect::Sqlite,
        naming: Naming::Final,
        max_rows: SQLITE_ROWS_PER_INSERT,
        max_values: SQLITE_MAX_BOUND_VALUES,
        max_bytes: usize::MAX,
    };
    let mut writer = InsertWriter::<sqlx::Sqlite> {
        connection: &mut connection,
        backend: Dialect::Sqlite,
        naming: Naming::Final,
    };
    let report = generate_rows(&mut writer, generator, opts, encoding, progress).await?;

    progress(Progress::Finishing);
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

/// Runs `generator` on a blocking thread and hands its tables to `writer` on this task, joined
/// by a bounded channel, so generation and writing overlap and memory stays flat.
pub(crate) async fn generate_rows<W: TableWriter>(
    writer: &mut W,
    generator: &Generator,
    opts: &DemoOptions,
    encoding: Encoding,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<GenerateReport, DemoError> {
    let declared = (generator.tables)();
    let (sender, receiver) = mpsc::channel(16);
    let generate = generator.generate;
    let generator_options = *opts;
    let generating = tokio::task::spawn_blocking(move || {
        let mut sink = ChannelSink::new(sender, encoding);
        generate(&generator_options, &mut sink)?;
        sink.finish()
    });
    let written = write_rows(writer, receiver, generator, opts, &declared, progress).await;
    let generated = generating
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

async fn write_rows<W: TableWriter>(
    writer: &mut W,
    mut receiver: mpsc::Receiver<SinkMessage>,
    generator: &Generator,
    opts: &DemoOptions,
    declared: &[TableDef],
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<GenerateReport, DemoError> {
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
        progress(Progress::Table {
            table: def.name,
            expected_rows: generator.estimated_rows_of(opts, def.name),
        });
        let mut batches = Batches {
            receiver: &mut receiver,
            table: def.name,
            rows: 0,
            pending: 0,
            ended: false,
            progress: &mut *progress,
        };
        writer.write_table(&def, &mut batches).await?;
        if !batches.ended {
            return Err(DemoError::SinkProtocol {
                reason: format!("table {} was written before its last row", def.name),
            });
        }
        let rows = batches.rows;
        progress(Progress::Done {
            table: def.name,
            rows,
        });
        report.tables.push(TableRows {
            table: def.name,
            rows,
        });
    }
    Ok(report)
}

/// The generator's side of the channel: checks the protocol and every row, and turns batches
/// of rows into INSERT statements or COPY text for the writer.
struct ChannelSink {
    sender: mpsc::Sender<SinkMessage>,
    encoding: Encoding,
    open: Option<TableDef>,
    /// The open table's name in the database ([`Naming::table`]).
    open_as: String,
    rows_per_batch: usize,
    batch: Vec<Vec<Cell>>,
    /// The INSERT batch's values' size so far ([`cell_bytes`]).
    batch_bytes: usize,
    /// The open table's INSERT for a full batch: the same text every time, so it is built once.
    full_batch_sql: Option<Arc<str>>,
    /// COPY text of the rows not sent yet, and how many rows it holds.
    copy: Vec<u8>,
    copy_rows: u64,
    written: Vec<&'static str>,
}

impl ChannelSink {
    fn new(sender: mpsc::Sender<SinkMessage>, encoding: Encoding) -> Self {
        ChannelSink {
            sender,
            encoding,
            open: None,
            open_as: String::new(),
            rows_per_batch: 1,
            batch: Vec::new(),
            batch_bytes: 0,
            full_batch_sql: None,
            copy: Vec::new(),
            copy_rows: 0,
            written: Vec::new(),
        }
    }

    fn send(&self, message: SinkMessage) -> Result<(), DemoError> {
        self.sender
            .blocking_send(message)
            .map_err(|_| DemoError::WriterStopped)
    }

    fn flush(&mut self) -> Result<(), DemoError> {
        if self.copy_rows > 0 {
            let data = std::mem::replace(&mut self.copy, Vec::with_capacity(COPY_CHUNK_BYTES));
            let rows = std::mem::take(&mut self.copy_rows);
            return self.send(SinkMessage::Rows {
                rows,
                batch: Batch::CopyText(data),
            });
        }
        if self.batch.is_empty() {
            return Ok(());
        }
        let (Some(def), Encoding::Insert { backend, .. }) = (&self.open, self.encoding) else {
            return Ok(());
        };
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(self.rows_per_batch));
        self.batch_bytes = 0;
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
                            .map(|(cell, column)| cell_value(cell, column.ty, backend))
                    })
                    .collect();
                (sql.clone(), SqlxValues(Values(values)))
            }
            _ => {
                let statement = insert_statement(def, &self.open_as, batch, backend)?;
                let (sql, values) = backend.insert(&statement);
                let sql: Arc<str> = sql.into();
                if full {
                    self.full_batch_sql = Some(sql.clone());
                }
                (sql, values)
            }
        };
        self.send(SinkMessage::Rows {
            rows: rows as u64,
            batch: Batch::Insert { sql, values },
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
        match self.encoding {
            Encoding::Insert {
                naming,
                max_rows,
                max_values,
                ..
            } => {
                self.rows_per_batch = (max_values / def.columns.len().max(1)).clamp(1, max_rows);
                self.batch = Vec::with_capacity(self.rows_per_batch);
                self.open_as = naming.table(def);
            }
            Encoding::CopyText => {
                self.copy = Vec::with_capacity(COPY_CHUNK_BYTES);
                self.open_as = Naming::Staging.table(def);
            }
        }
        self.batch_bytes = 0;
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
        let full = match self.encoding {
            Encoding::CopyText => {
                copy_text_row(def, &cells, &mut self.copy)?;
                self.copy_rows += 1;
                self.copy.len() >= COPY_CHUNK_BYTES
            }
            Encoding::Insert { max_bytes, .. } => {
                self.batch_bytes += cells.iter().map(cell_bytes).sum::<usize>();
                self.batch.push(cells);
                self.batch.len() >= self.rows_per_batch || self.batch_bytes >= max_bytes
            }
        };
        if full {
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
            create_table_sql(&def, Naming::Final, Dialect::Sqlite),
            r#"CREATE TABLE "things" ( "tenant" TEXT NOT NULL, "id" BIGINT NOT NULL, "at" TEXT NOT NULL, "note" TEXT NULL, PRIMARY KEY ("tenant", "id") )"#
        );
        assert_eq!(
            create_table_sql(&def, Naming::Final, Dialect::Postgres),
            r#"CREATE TABLE "things" ( "tenant" TEXT NOT NULL, "id" BIGINT NOT NULL, "at" TIMESTAMP NOT NULL, "note" TEXT NULL, CONSTRAINT "things_pkey" PRIMARY KEY ("tenant", "id") )"#
        );
        assert_eq!(
            create_table_sql(&def, Naming::Staging, Dialect::Postgres),
            r#"CREATE TABLE "things__tally_load" ( "tenant" TEXT NOT NULL, "id" BIGINT NOT NULL, "at" TIMESTAMP NOT NULL, "note" TEXT NULL, CONSTRAINT "things__tally_load_pkey" PRIMARY KEY ("tenant", "id") )"#
        );
        assert_eq!(
            create_table_sql(&def, Naming::Final, Dialect::Mysql),
            "CREATE TABLE `things` ( `tenant` VARCHAR(255) NOT NULL, `id` BIGINT NOT NULL, `at` DATETIME NOT NULL, `note` TEXT NULL, PRIMARY KEY (`tenant`, `id`) )"
        );
        assert_eq!(
            create_index_sql(&def, Naming::Final, Dialect::Sqlite),
            [r#"CREATE INDEX "things_tenant_at_idx" ON "things" ("tenant", "at")"#]
        );
        assert_eq!(
            create_index_sql(&def, Naming::Final, Dialect::Mysql),
            ["CREATE INDEX `things_tenant_at_idx` ON `things` (`tenant`, `at`)"]
        );
        // Staged: PostgreSQL's index names are the staging table's (renamed at the swap),
        // MySQL's already final (they are per table).
        assert_eq!(
            create_index_sql(&def, Naming::Staging, Dialect::Postgres),
            [
                r#"CREATE INDEX "things__tally_load_tenant_at_idx" ON "things__tally_load" ("tenant", "at")"#
            ]
        );
        assert_eq!(
            create_index_sql(&def, Naming::Staging, Dialect::Mysql),
            ["CREATE INDEX `things_tenant_at_idx` ON `things__tally_load` (`tenant`, `at`)"]
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
            estimated_rows: |_| vec![1_000],
        };
        let error = write_sqlite(&path, &generator, &small_options(), &mut |_| {})
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
            &mut |_| {},
        )
        .await
        .expect_err("a zero scale is refused");
        assert_eq!(error.code(), "demo_invalid_options");
    }

    fn copy_text(cells: Vec<Cell>) -> Result<String, DemoError> {
        let columns = cells
            .iter()
            .enumerate()
            .map(|(index, cell)| ColumnDef {
                name: ["a", "b", "c", "d", "e", "f", "g", "h"][index],
                ty: match cell {
                    Cell::Int(_) => ColumnType::BigInt,
                    Cell::Timestamp(_) => ColumnType::Timestamp,
                    Cell::Text(_) | Cell::Null => ColumnType::Text,
                },
                nullable: true,
            })
            .collect();
        let def = TableDef {
            name: "things",
            columns,
            primary_key: vec![],
            indexes: vec![],
        };
        let mut out = Vec::new();
        copy_text_row(&def, &cells, &mut out)?;
        Ok(String::from_utf8(out).expect("COPY text is UTF-8"))
    }

    #[test]
    fn copy_text_escapes_what_postgresql_reads_as_syntax() {
        let at = NaiveDate::from_ymd_opt(2026, 2, 3)
            .and_then(|day| day.and_hms_opt(4, 5, 6))
            .expect("a valid time");
        let text = |s: &str| Cell::Text(s.to_owned());
        assert_eq!(
            copy_text(vec![
                Cell::Int(-42),
                Cell::Null,
                Cell::Timestamp(at),
                text("tab\there"),
                text("line\nbreak\r\n"),
                text("back\\slash \\N"),
                text(r#"{"quote":"it's"} ,;|"#),
                text("Zürich · 東京 🙂"),
            ])
            .expect("encodes"),
            "-42\t\\N\t2026-02-03 04:05:06\ttab\\there\tline\\nbreak\\r\\n\tback\\\\slash \\\\N\t{\"quote\":\"it's\"} ,;|\tZürich · 東京 🙂\n"
        );
        // An empty string is a value, not NULL; a string spelled `\N` stays that string.
        assert_eq!(
            copy_text(vec![text(""), text("\\N")]).expect("encodes"),
            "\t\\\\N\n"
        );
        let error = copy_text(vec![text("nul\0byte")]).expect_err("NUL is refused");
        assert_eq!(error.code(), "demo_row_shape");
        assert!(error.to_string().contains("column a"), "{error}");
    }
}
