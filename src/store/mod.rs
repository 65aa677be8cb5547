//! The app store (DESIGN §8): the audit log, token revocations and conversations. SQLite by
//! default (a file Tally creates), PostgreSQL when configured; the schema comes from embedded
//! migrations run at open.
//!
//! Invariants: audit rows are append-only (the database refuses UPDATE, and DELETE outside the
//! retention purge), numbered without gaps and hash-chained, so a missing or edited row shows
//! in `verify_chain`; an append is one transaction, so a failure leaves nothing half-written;
//! audit rows never hold result values. Every statement here is a constant with bound values.

mod audit;
mod conversations;
mod health;
mod revocations;

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
};
use sqlx::SqlSafeStr;

pub use audit::{
    sha256_hex, AuditEntry, AuditEvent, AuditFilter, AuditRow, ChainBreak, ChainReport,
    PurgeReport, GENESIS_HASH,
};
pub use conversations::{Conversation, TurnUsage};
pub use health::HealthPolicy;
pub use revocations::{Revoked, EVERY_WORKSPACE};

/// Default retention of audit rows (the Metrica brief: 30 days).
pub const DEFAULT_RETENTION_DAYS: u32 = 30;

/// The store failed; requests that need it fail closed (HTTP 503).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    #[error("the store URL `{0}` is not supported (use sqlite://FILE or postgres://…)")]
    Unsupported(String),
    #[error("the store schema could not be migrated: {0}")]
    Migrate(String),
    #[error("the store holds a row it cannot read: {0}")]
    Corrupt(String),
    #[error("there is no store at `{0}`")]
    Missing(String),
    #[error("{0}")]
    InUse(String),
}

impl StoreError {
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Unavailable(_) => "store_unavailable",
            StoreError::Unsupported(_) => "unsupported_store",
            StoreError::Migrate(_) => "store_migration_failed",
            StoreError::Corrupt(_) => "store_corrupt",
            StoreError::Missing(_) => "store_missing",
            StoreError::InUse(_) => "store_in_use",
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}

/// How long a write waits for a lock held by another writer (or a connection) before the store
/// counts as down, and how soon a store found down is tried again.
#[derive(Debug, Clone, Copy)]
pub struct StoreOptions {
    pub lock_timeout: Duration,
    pub health: HealthPolicy,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            lock_timeout: Duration::from_secs(5),
            health: HealthPolicy::default(),
        }
    }
}

enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The app store: one pool and a lock that serialises audit appends within this process (the
/// database's own lock serialises them across processes).
pub struct Store {
    backend: Backend,
    /// The audit writer's lock, and on SQLite its own connection (opened on first use, and
    /// again after a write failed on it), which commits without syncing: see `append`.
    append: tokio::sync::Mutex<Option<SqliteConnection>>,
    /// How the audit writer's SQLite connection is opened.
    writer_options: Option<SqliteConnectOptions>,
    /// Appends waiting for the next group commit.
    waiting: std::sync::Mutex<Vec<audit::Waiting>>,
    url_for_display: String,
    /// Whether the store was found down recently: while it is, calls fail at once.
    health: std::sync::Arc<health::Health>,
    /// The last verified point of the audit chain, so the audit page verifies only what is new.
    checkpoint: std::sync::Mutex<Option<audit::Checkpoint>>,
    /// The revocations table in memory, once this process serves the store alone.
    revocations: std::sync::RwLock<Option<std::sync::Arc<revocations::Mirror>>>,
    /// A SQLite store's file (none for PostgreSQL; a SQLite store in memory is refused).
    sqlite_file: Option<std::path::PathBuf>,
    /// The lock that says this process serves the SQLite store, held while the store lives.
    serve_lock: std::sync::Mutex<Option<std::fs::File>>,
    /// One revocation at a time, so the copy in memory is refreshed in the order they commit.
    revoking: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("url", &self.url_for_display)
            .finish_non_exhaustive()
    }
}

/// Runs `$body` with `$pool` bound to whichever pool the store has; the body is compiled once
/// per backend, so the same SQL text (with `$n` placeholders, which both engines accept) and the
/// same binds serve both.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            $crate::store::Backend::Sqlite($pool) => $body,
            $crate::store::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("migrations/sqlite/0001_init.sql")),
    (
        2,
        "hardening",
        include_str!("migrations/sqlite/0002_hardening.sql"),
    ),
    (
        3,
        "source",
        include_str!("migrations/sqlite/0003_source.sql"),
    ),
];
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("migrations/postgres/0001_init.sql")),
    (
        2,
        "hardening",
        include_str!("migrations/postgres/0002_hardening.sql"),
    ),
    (
        3,
        "source",
        include_str!("migrations/postgres/0003_source.sql"),
    ),
];

fn migrator(migrations: &'static [(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        migrations
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// A store URL with any password replaced, for logs and messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:…{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

impl Store {
    /// Opens (creating a SQLite file if needed) and migrates the store at `url`:
    /// `sqlite://PATH` or `postgres://…`.
    pub async fn open(url: &str, options: StoreOptions) -> Result<Store, StoreError> {
        let mut sqlite_file = None;
        let mut writer_options = None;
        let backend = if let Some(path) = url.strip_prefix("sqlite://") {
            let (file, query) = path.split_once('?').unwrap_or((path, ""));
            if file.is_empty() || file == ":memory:" || query.contains("mode=memory") {
                return Err(StoreError::Unsupported(format!(
                    "{url} (a store in memory keeps no audit trail: use sqlite://FILE)"
                )));
            }
            sqlite_file = Some(std::path::PathBuf::from(file));
            if let Some(parent) = std::path::Path::new(path).parent() {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        StoreError::Unavailable(format!(
                            "cannot create `{}`: {e}",
                            parent.display()
                        ))
                    })?;
                }
            }
            let connect = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::Unsupported(format!("{url}: {e}")))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // Commits do not sync: every write method syncs the WAL itself once its
                // commit is done (`sync_wal`), outside SQLite's write lock, before it returns,
                // so what it acknowledged survives a crash and the next writer does not wait
                // for this one's disk.
                .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(options.lock_timeout)
                .foreign_keys(true);
            // The audit writer's own connection (see `append`).
            writer_options = Some(connect.clone());
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .acquire_timeout(options.lock_timeout)
                // A connection opened while the file could not be written stays read-only for
                // its whole life (SQLite falls back to a read-only open): never hand one out, so
                // the store heals as soon as the file is writable again.
                .before_acquire(|conn, _meta| {
                    Box::pin(async move {
                        let mut handle = conn.lock_handle().await?;
                        Ok(!is_read_only(&mut handle))
                    })
                })
                .connect_with(connect)
                .await?;
            migrator(SQLITE_MIGRATIONS)
                .run(&pool)
                .await
                .map_err(|e| StoreError::Migrate(e.to_string()))?;
            Backend::Sqlite(pool)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let connect = PgConnectOptions::from_str(url)
                .map_err(|e| StoreError::Unsupported(format!("{}: {e}", redact_url(url))))?;
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(options.lock_timeout)
                .connect_with(connect)
                .await?;
            migrator(POSTGRES_MIGRATIONS)
                .run(&pool)
                .await
                .map_err(|e| StoreError::Migrate(e.to_string()))?;
            Backend::Postgres(pool)
        } else {
            return Err(StoreError::Unsupported(redact_url(url)));
        };
        let store = Store {
            backend,
            append: tokio::sync::Mutex::new(None),
            writer_options,
            waiting: std::sync::Mutex::new(Vec::new()),
            url_for_display: redact_url(url),
            health: std::sync::Arc::new(health::Health::new(options.health)),
            checkpoint: std::sync::Mutex::new(None),
            revocations: std::sync::RwLock::new(None),
            sqlite_file,
            serve_lock: std::sync::Mutex::new(None),
            revoking: tokio::sync::Mutex::new(()),
        };
        // What the migrations wrote is on disk before the store is used.
        store.sync_wal().await?;
        Ok(store)
    }

    /// A SQLite store's WAL file, which every write syncs once committed.
    fn wal_file(&self) -> Option<std::path::PathBuf> {
        let mut wal = self.sqlite_file.clone()?.into_os_string();
        wal.push("-wal");
        Some(wal.into())
    }

    /// Makes every commit so far durable (SQLite: `fdatasync` of the WAL, on a blocking
    /// thread; PostgreSQL: nothing, its commits sync).
    pub(crate) async fn sync_wal(&self) -> Result<(), StoreError> {
        let Some(wal) = self.wal_file() else {
            return Ok(());
        };
        let synced = tokio::task::spawn_blocking(move || audit::sync_file(&wal))
            .await
            .map_err(|e| StoreError::Unavailable(format!("the WAL sync did not finish: {e}")))?;
        self.health.record(&synced);
        synced
    }

    /// The audit writer's SQLite connection: the one it kept (taken out of `writer`), or a new
    /// one.
    async fn audit_connection(
        &self,
        writer: &mut Option<SqliteConnection>,
    ) -> Result<SqliteConnection, StoreError> {
        match writer.take() {
            Some(conn) => Ok(conn),
            None => self.connect_audit_writer().await,
        }
    }

    /// A new connection for the audit writer (SQLite), refused if it could only read.
    async fn connect_audit_writer(&self) -> Result<SqliteConnection, StoreError> {
        use sqlx::ConnectOptions as _;
        let options = self
            .writer_options
            .as_ref()
            .ok_or_else(|| StoreError::Unsupported(self.url_for_display.clone()))?;
        let mut conn = options.connect().await?;
        let read_only = {
            let mut handle = conn.lock_handle().await?;
            is_read_only(&mut handle)
        };
        if read_only {
            let _ = sqlx::Connection::close(conn).await;
            return Err(StoreError::Unavailable(format!(
                "`{}` cannot be written",
                self.url_for_display
            )));
        }
        Ok(conn)
    }

    /// Claims the store for this server process. A SQLite store is served by one process at a
    /// time: the claim is an exclusive lock on `<file>-serve.lock` beside it, held while this
    /// `Store` lives (the OS drops it when the process ends, however it ends), and a second
    /// server on the same file is refused with `store_in_use`. Once claimed, every request's
    /// revocation check is answered from memory (see `revocations.rs`). A PostgreSQL store is
    /// not claimed: replicas share it and ask it on every request.
    pub async fn serve_alone(&self) -> Result<(), StoreError> {
        if !matches!(self.backend, Backend::Sqlite(_)) {
            return Ok(());
        }
        if let Some(file) = &self.sqlite_file {
            let mut held = self.serve_lock.lock().unwrap_or_else(|p| p.into_inner());
            if held.is_none() {
                let mut path = file.clone().into_os_string();
                path.push("-serve.lock");
                let path = std::path::PathBuf::from(path);
                let lock = std::fs::File::options()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&path)
                    .map_err(|e| {
                        StoreError::Unavailable(format!("cannot open `{}`: {e}", path.display()))
                    })?;
                match lock.try_lock() {
                    Ok(()) => *held = Some(lock),
                    Err(std::fs::TryLockError::WouldBlock) => {
                        return Err(StoreError::InUse(format!(
                            "the store `{}` is already served by another Tally process (it \
                             holds `{}`); a SQLite store serves one process, so run the \
                             servers on a PostgreSQL store to share one",
                            file.display(),
                            path.display()
                        )))
                    }
                    Err(std::fs::TryLockError::Error(e)) => {
                        return Err(StoreError::Unavailable(format!(
                            "cannot lock `{}`: {e}",
                            path.display()
                        )))
                    }
                }
            }
        }
        let mirror = self.load_mirror().await?;
        self.set_mirror(Some(mirror));
        Ok(())
    }

    /// Opens a store that must already exist (`tally audit verify`, `tally audit head`): a
    /// SQLite path with no file is an error, never a new empty store that verifies as intact.
    pub async fn open_existing(url: &str, options: StoreOptions) -> Result<Store, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            let file = path.split('?').next().unwrap_or(path);
            if !std::path::Path::new(file).is_file() {
                return Err(StoreError::Missing(file.to_string()));
            }
        }
        Store::open(url, options).await
    }

    /// `sqlite` or `postgres`.
    pub fn kind(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// The URL with any password hidden.
    pub fn display_url(&self) -> &str {
        &self.url_for_display
    }

    /// Answers when the store can be read and written: the readiness probe writes a row.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let (ts, _) = now();
        self.guarded(async {
            on_pool!(self, pool => sqlx::query(
                "INSERT INTO store_probe (id, ts) VALUES (1, $1) \
                 ON CONFLICT (id) DO UPDATE SET ts = excluded.ts",
            )
            .bind(&ts)
            .execute(pool)
            .await
            .map(|_| ()))?;
            Ok(())
        })
        .await
    }

    /// Runs one store operation unless the store was just found down (then it fails at once,
    /// so requests do not queue behind a dead store), and records how it went.
    pub(crate) async fn guarded<T>(
        &self,
        op: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        self.health.admit()?;
        let outcome = op.await;
        self.health.record(&outcome);
        outcome
    }
}

/// Whether a SQLite connection can only read (it was opened while the file was not writable).
fn is_read_only(handle: &mut sqlx::sqlite::LockedSqliteHandle<'_>) -> bool {
    let db = handle.as_raw_handle().as_ptr();
    // SAFETY: `db` is a live connection handle held under the lock for the call; the schema name
    // is a NUL-terminated literal.
    unsafe { libsqlite3_sys::sqlite3_db_readonly(db, c"main".as_ptr()) == 1 }
}

/// Now as the store writes it: RFC 3339 UTC with milliseconds (sorts as time) and Unix ms.
pub(crate) fn now() -> (String, i64) {
    let now = chrono::Utc::now();
    (
        now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        now.timestamp_millis(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_in_urls() {
        assert_eq!(
            redact_url("postgres://tally:s3cret@db:5432/app"),
            "postgres://tally:…@db:5432/app"
        );
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }
}
