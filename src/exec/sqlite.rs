//! SQLite warehouse: a read-only pool with `query_only`, defensive mode, no ATTACH, and a
//! progress handler that interrupts statements at their deadline.

use std::str::FromStr;
use std::time::Instant;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteRow};
use sqlx::{Row, Sqlite};

use super::{Cell, ExecError, Limits, Rows};
use crate::sql::{ColumnKind, Param, Statement};

#[derive(Debug, Clone)]
pub(super) struct SqliteWarehouse {
    pool: SqlitePool,
    /// The file, checked by `ping`: open connections keep reading a file that was deleted or
    /// made unreadable, so only the path tells.
    path: std::path::PathBuf,
}

impl SqliteWarehouse {
    pub(super) async fn open(path: &str) -> Result<SqliteWarehouse, ExecError> {
        if !std::path::Path::new(path).is_file() {
            return Err(ExecError::Unavailable(format!(
                "no SQLite file at `{path}`"
            )));
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
            .map_err(|e| ExecError::Unavailable(e.to_string()))?
            .read_only(true)
            .create_if_missing(false)
            .pragma("query_only", "ON")
            .busy_timeout(std::time::Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    let mut handle = conn.lock_handle().await?;
                    harden(&mut handle);
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| ExecError::Unavailable(e.to_string()))?;
        Ok(SqliteWarehouse {
            pool,
            path: path.into(),
        })
    }

    /// Whether the warehouse can really be read: the file is there, readable, a SQLite database
    /// and as long as its header says, and its schema reads.
    pub(super) async fn ping(&self) -> Result<(), ExecError> {
        check_file(&self.path)?;
        sqlx::query("SELECT count(*) FROM sqlite_master")
            .fetch_one(&self.pool)
            .await
            .map(|_| ())
            .map_err(unavailable_or_failed)
    }

    pub(super) async fn run(
        &self,
        statement: &Statement,
        limits: &Limits,
    ) -> Result<Rows, ExecError> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(|e| ExecError::Unavailable(e.to_string()))?;
        let deadline = Instant::now() + limits.timeout;
        {
            let mut handle = conn
                .lock_handle()
                .await
                .map_err(|e| ExecError::Unavailable(e.to_string()))?;
            handle.set_progress_handler(1000, move || Instant::now() < deadline);
        }
        let mut query = sqlx::query_with::<Sqlite, _>(
            sqlx::AssertSqlSafe(statement.sql.clone()),
            sqlx::sqlite::SqliteArguments::default(),
        );
        for p in &statement.params {
            query = match p {
                Param::Text(s) => query.bind(s.clone()),
                Param::Int(i) => query.bind(*i),
                Param::Float(f) => query.bind(*f),
                Param::Timestamp(t) => query.bind(t.format("%Y-%m-%d %H:%M:%S").to_string()),
            };
        }
        let result = super::collect_capped(query.fetch(&mut *conn), limits.row_cap, |row| {
            decode(row, statement)
        })
        .await;
        if let Ok(mut handle) = conn.lock_handle().await {
            handle.remove_progress_handler();
        }
        match result {
            Ok((rows, truncated)) => Ok(Rows {
                columns: statement.columns.clone(),
                rows,
                truncated,
            }),
            Err(e) if Instant::now() >= deadline => {
                let _ = e;
                Err(ExecError::Timeout(limits.timeout))
            }
            Err(e) => Err(unavailable_or_failed(e)),
        }
    }
}

/// A database error is the query's failure, unless it says the file itself is unusable
/// (corrupt, not a database, unreadable, gone): then the warehouse is unavailable (503), the
/// same as an engine that does not answer.
fn unavailable_or_failed(e: sqlx::Error) -> ExecError {
    match &e {
        sqlx::Error::Database(d) => {
            let primary = d
                .code()
                .and_then(|c| c.parse::<i32>().ok())
                .map(|c| c & 0xff);
            match primary {
                Some(
                    libsqlite3_sys::SQLITE_CORRUPT
                    | libsqlite3_sys::SQLITE_NOTADB
                    | libsqlite3_sys::SQLITE_IOERR
                    | libsqlite3_sys::SQLITE_CANTOPEN
                    | libsqlite3_sys::SQLITE_PERM
                    | libsqlite3_sys::SQLITE_AUTH,
                ) => ExecError::Unavailable(d.message().to_string()),
                _ => ExecError::Failed(d.message().to_string()),
            }
        }
        _ => ExecError::Unavailable(e.to_string()),
    }
}

/// The file is there, readable, starts with SQLite's header and is at least as long as the
/// header's page count says (a truncated copy is not).
fn check_file(path: &std::path::Path) -> Result<(), ExecError> {
    use std::io::Read;
    let shown = path.display();
    let mut file = std::fs::File::open(path)
        .map_err(|e| ExecError::Unavailable(format!("cannot open `{shown}`: {e}")))?;
    let mut header = [0u8; 100];
    file.read_exact(&mut header)
        .map_err(|e| ExecError::Unavailable(format!("cannot read `{shown}`: {e}")))?;
    if &header[..16] != b"SQLite format 3\0" {
        return Err(ExecError::Unavailable(format!(
            "`{shown}` is not a SQLite database"
        )));
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536,
        n => u64::from(n),
    };
    let pages = u64::from(u32::from_be_bytes([
        header[28], header[29], header[30], header[31],
    ]));
    let len = file
        .metadata()
        .map_err(|e| ExecError::Unavailable(format!("cannot stat `{shown}`: {e}")))?
        .len();
    if len < page_size * pages {
        return Err(ExecError::Unavailable(format!(
            "`{shown}` is truncated: {len} bytes of the {} its header describes",
            page_size * pages
        )));
    }
    Ok(())
}

fn decode(row: &SqliteRow, statement: &Statement) -> Result<Vec<Cell>, sqlx::Error> {
    let mut out = Vec::with_capacity(statement.columns.len());
    for (i, c) in statement.columns.iter().enumerate() {
        let cell = match c.kind {
            ColumnKind::Text => row.try_get::<Option<String>, _>(i)?.map(Cell::Text),
            ColumnKind::Int => row.try_get::<Option<i64>, _>(i)?.map(Cell::Int),
            ColumnKind::Float => match row.try_get::<Option<f64>, _>(i) {
                Ok(v) => v.map(Cell::Float),
                // SQLite may hand back an integer where a REAL was cast (e.g. a whole-number SUM).
                Err(_) => row
                    .try_get::<Option<i64>, _>(i)?
                    .map(|v| Cell::Float(v as f64)),
            },
        };
        out.push(cell.unwrap_or(Cell::Null));
    }
    Ok(out)
}

/// Defensive mode (no writes to the schema or shadow tables even by accident) and no ATTACH.
fn harden(handle: &mut sqlx::sqlite::LockedSqliteHandle<'_>) {
    let db = handle.as_raw_handle().as_ptr();
    // SAFETY: `db` is a live connection handle held under the lock for the duration of the calls.
    unsafe {
        libsqlite3_sys::sqlite3_db_config(
            db,
            libsqlite3_sys::SQLITE_DBCONFIG_DEFENSIVE,
            1 as std::os::raw::c_int,
            std::ptr::null_mut::<std::os::raw::c_int>(),
        );
        libsqlite3_sys::sqlite3_limit(db, libsqlite3_sys::SQLITE_LIMIT_ATTACHED, 0);
    }
}
