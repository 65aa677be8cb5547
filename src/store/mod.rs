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
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
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
}

impl StoreError {
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Unavailable(_) => "store_unavailable",
            StoreError::Unsupported(_) => "unsupported_store",
            StoreError::Migrate(_) => "store_migration_failed",
            StoreError::Corrupt(_) => "store_corrupt",
            StoreError::Missing(_) => "store_missing",
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
    append: tokio::sync::Mutex<()>,
    /// Appends waiting for the next group commit.
    waiting: std::sync::Mutex<Vec<audit::Waiting>>,
    url_for_display: String,
    /// Whether the store was found down recently: while it is, calls fail at once.
    health: health::Health,
    /// The last verified point of the audit chain, so the audit page verifies only what is new.
    checkpoint: std::sync::Mutex<Option<audit::Checkpoint>>,
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
        let backend = if let Some(path) = url.strip_prefix("sqlite://") {
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
                // Audit rows must survive a crash once the response is sent.
                .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
                .busy_timeout(options.lock_timeout)
                .foreign_keys(true);
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
        Ok(Store {
            backend,
            append: tokio::sync::Mutex::new(()),
            waiting: std::sync::Mutex::new(Vec::new()),
            url_for_display: redact_url(url),
            health: health::Health::new(options.health),
            checkpoint: std::sync::Mutex::new(None),
        })
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
