//! The audit log: append-only rows numbered without gaps, each carrying the SHA-256 of its
//! predecessor's hash and its own content, so a deleted or edited row breaks the chain.
//! The retention purge deletes a prefix, records where the chain now starts (the anchor) and
//! appends a row saying what it removed, all in one transaction.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{now, on_pool, Backend, Store, StoreError};

/// The `prev_hash` of the first row ever written.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Serialises audit appends across processes sharing a PostgreSQL store.
const PG_AUDIT_LOCK: i64 = 0x7a11_a0d1;

/// The kinds of audit row. A stored row keeps the name as text, so that a row whose event was
/// altered still reads, and fails verification, instead of failing to load.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString, strum::EnumIter,
)]
#[strum(serialize_all = "snake_case")]
pub enum AuditEvent {
    /// An API call.
    Request,
    /// A request whose token did not verify.
    AuthFailed,
    /// An admin revoked a token or a subject.
    Revoke,
    /// Rows past the retention period were removed.
    Purge,
}

impl AuditEvent {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// What a request leaves in the audit log. Never result values: only who, what was asked,
/// the DSL that ran, how it ended, counts, timings and hashes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// An [`AuditEvent`]'s name.
    pub event: String,
    pub request_id: Option<String>,
    pub method: Option<String>,
    pub route: Option<String>,
    pub status: Option<i64>,
    /// The verified subject; for `auth_failed`, who the token claimed to be.
    pub subject: Option<String>,
    pub role: Option<String>,
    pub workspace: Option<String>,
    pub token_id: Option<String>,
    pub query_id: Option<String>,
    pub conversation_id: Option<String>,
    pub question: Option<String>,
    pub translator: Option<String>,
    /// The executed DSL (or, when it was invalid, the DSL as sent), as JSON text.
    pub dsl: Option<String>,
    pub dsl_hash: Option<String>,
    pub sql_hash: Option<String>,
    pub outcome: Option<String>,
    /// The refusal code or the error code.
    pub code: Option<String>,
    /// Event-specific detail: an auth failure's reason, what a purge removed, a rerun's origin.
    pub detail: Option<String>,
    pub row_count: Option<i64>,
    pub latency_ms: Option<f64>,
    pub tokens_in: Option<i64>,
    pub tokens_out: Option<i64>,
    pub cost_usd: Option<f64>,
    /// SHA-256 of the answered result's data (what an admin's rerun compares against; never the
    /// values themselves). A row's hash covers this field only when it is set, so rows written
    /// before it existed still verify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_hash: Option<String>,
    /// Personal data typed into the question was replaced before the row was stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redacted: Option<bool>,
    /// Which source answered: the response's `source` (`warehouse`, `rollup:NAME`,
    /// `metrics_api:NAME`, `catalog`, …). Covered by the hash only when set, like the two above.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Why the source that was asked first did not answer (the response's `source_note`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_note: Option<String>,
}

/// A stored audit row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRow {
    pub seq: i64,
    pub ts: String,
    pub ts_ms: i64,
    #[serde(flatten)]
    pub entry: AuditEntry,
    pub prev_hash: String,
    pub hash: String,
}

/// The content a row's hash covers: everything but the hash itself.
#[derive(Serialize)]
struct Hashed<'a> {
    seq: i64,
    ts: &'a str,
    ts_ms: i64,
    entry: &'a AuditEntry,
    prev_hash: &'a str,
}

fn row_hash(seq: i64, ts: &str, ts_ms: i64, entry: &AuditEntry, prev_hash: &str) -> String {
    let content = serde_json::to_vec(&Hashed {
        seq,
        ts,
        ts_ms,
        entry,
        prev_hash,
    })
    .expect("audit rows serialize");
    let digest = Sha256::new()
        .chain_update(prev_hash.as_bytes())
        .chain_update(b"\n")
        .chain_update(&content)
        .finalize();
    hex(&digest)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a text, hex.
pub fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

impl AuditRow {
    /// Whether the row's hash matches its content.
    pub fn hash_matches(&self) -> bool {
        row_hash(self.seq, &self.ts, self.ts_ms, &self.entry, &self.prev_hash) == self.hash
    }
}

/// Which rows `Store::audit_rows` returns.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only rows with a greater sequence number.
    pub after_seq: Option<i64>,
    /// At most this many rows (capped at 1000).
    pub limit: u32,
    /// Only rows of these workspaces and rows without one (failed logins, purges); `None`: all.
    pub workspaces: Option<Vec<String>>,
}

/// The result of checking the whole chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainReport {
    pub ok: bool,
    pub rows: u64,
    pub first_seq: Option<i64>,
    pub last_seq: Option<i64>,
    /// The sequence number the chain starts after (0, or the last purged row).
    pub anchor_seq: i64,
    /// The first few problems found, in sequence order.
    pub breaks: Vec<ChainBreak>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainBreak {
    pub seq: i64,
    pub problem: String,
}

/// What a retention purge removed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PurgeReport {
    pub deleted: u64,
    /// The last removed sequence number (the new anchor), if any row was removed.
    pub through_seq: Option<i64>,
    /// Rows older than this were removed (RFC 3339).
    pub cutoff: String,
    /// The audit row that records the purge.
    pub recorded_seq: i64,
}

/// The audit table's columns in the order `append_in!` binds them.
const COLUMNS: [&str; 33] = [
    "seq",
    "ts",
    "ts_ms",
    "event",
    "request_id",
    "method",
    "route",
    "status",
    "subject",
    "role",
    "workspace",
    "token_id",
    "query_id",
    "conversation_id",
    "question",
    "translator",
    "dsl",
    "dsl_hash",
    "sql_hash",
    "outcome",
    "code",
    "detail",
    "row_count",
    "latency_ms",
    "tokens_in",
    "tokens_out",
    "cost_usd",
    "result_hash",
    "redacted",
    "source",
    "source_note",
    "prev_hash",
    "hash",
];

/// Most rows one INSERT carries: 64 × 33 parameters stays far below SQLite's 32,766 and
/// PostgreSQL's 65,535.
const ROWS_PER_INSERT: usize = 64;

/// Whether the engine of `_tx` is given `$1, $2, …` (any but SQLite) rather than `?`.
fn numbered_placeholders<DB: sqlx::Database>(_tx: &sqlx::Transaction<'_, DB>) -> bool {
    DB::NAME != "SQLite"
}

/// `INSERT INTO audit (…) VALUES (…), (…)` for `rows` rows of parameters, `$1, $2, …` or (SQLite,
/// where sqlx looks each numbered name up in a list as long as the statement's) plain `?`. The
/// text depends only on `rows` and the style: no value is ever spliced in.
fn insert_rows(rows: usize, numbered: bool) -> String {
    use std::fmt::Write as _;
    let mut sql = format!("INSERT INTO audit ({}) VALUES ", COLUMNS.join(", "));
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..COLUMNS.len() {
            let sep = if c == 0 { "" } else { ", " };
            if numbered {
                let _ = write!(sql, "{sep}${}", r * COLUMNS.len() + c + 1);
            } else {
                let _ = write!(sql, "{sep}?");
            }
        }
        sql.push(')');
    }
    sql
}

const MOVE_HEAD: &str = "INSERT INTO audit_head (id, head_seq, head_hash) VALUES (1, $1, $2) \
     ON CONFLICT (id) DO UPDATE SET head_seq = excluded.head_seq, head_hash = excluded.head_hash";
/// `MOVE_HEAD` with `?` placeholders, for the SQLite group statement.
const MOVE_HEAD_UNNUMBERED: &str =
    "INSERT INTO audit_head (id, head_seq, head_hash) VALUES (1, ?, ?) \
     ON CONFLICT (id) DO UPDATE SET head_seq = excluded.head_seq, head_hash = excluded.head_hash";
/// Opens the SQLite group's transaction and reads the chain's head in one round trip.
const BEGIN_AND_HEAD: &str =
    "BEGIN IMMEDIATE; SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1";
const READ_HEAD: &str = "SELECT head_seq, head_hash FROM audit_head WHERE id = 1";

const HEAD: &str = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1";
const ANCHOR: &str = "SELECT anchor_seq, anchor_hash FROM audit_anchor WHERE id = 1";

/// Reads an `AuditRow` from a row of either backend.
macro_rules! read_row {
    ($r:expr) => {{
        let r = $r;
        AuditRow {
            seq: r.try_get("seq")?,
            ts: r.try_get("ts")?,
            ts_ms: r.try_get("ts_ms")?,
            entry: AuditEntry {
                event: r.try_get("event")?,
                request_id: r.try_get("request_id")?,
                method: r.try_get("method")?,
                route: r.try_get("route")?,
                status: r.try_get("status")?,
                subject: r.try_get("subject")?,
                role: r.try_get("role")?,
                workspace: r.try_get("workspace")?,
                token_id: r.try_get("token_id")?,
                query_id: r.try_get("query_id")?,
                conversation_id: r.try_get("conversation_id")?,
                question: r.try_get("question")?,
                translator: r.try_get("translator")?,
                dsl: r.try_get("dsl")?,
                dsl_hash: r.try_get("dsl_hash")?,
                sql_hash: r.try_get("sql_hash")?,
                outcome: r.try_get("outcome")?,
                code: r.try_get("code")?,
                detail: r.try_get("detail")?,
                row_count: r.try_get("row_count")?,
                latency_ms: r.try_get("latency_ms")?,
                tokens_in: r.try_get("tokens_in")?,
                tokens_out: r.try_get("tokens_out")?,
                cost_usd: r.try_get("cost_usd")?,
                result_hash: r.try_get("result_hash")?,
                redacted: r.try_get("redacted")?,
                source: r.try_get("source")?,
                source_note: r.try_get("source_note")?,
            },
            prev_hash: r.try_get("prev_hash")?,
            hash: r.try_get("hash")?,
        }
    }};
}

/// The rows `entries` become when chained after `(prev_seq, prev_hash)`, in order.
fn chain(entries: &[AuditEntry], mut prev_seq: i64, mut prev_hash: String) -> Vec<AuditRow> {
    let mut rows = Vec::with_capacity(entries.len());
    for entry in entries {
        let seq = prev_seq + 1;
        let (ts, ts_ms) = now();
        let hash = row_hash(seq, &ts, ts_ms, entry, &prev_hash);
        rows.push(AuditRow {
            seq,
            ts,
            ts_ms,
            entry: entry.clone(),
            prev_hash: std::mem::replace(&mut prev_hash, hash.clone()),
            hash,
        });
        prev_seq = seq;
    }
    rows
}

/// After a write on the audit writer's SQLite connection: kept for the next group if the write
/// succeeded, closed (rolling back whatever it left open) if it failed.
async fn keep_or_close<T>(
    writer: &mut Option<sqlx::SqliteConnection>,
    conn: sqlx::SqliteConnection,
    written: Result<T, sqlx::Error>,
) -> Result<T, StoreError> {
    match written {
        Ok(out) => {
            *writer = Some(conn);
            Ok(out)
        }
        Err(e) => {
            let _ = sqlx::Connection::close(conn).await;
            Err(StoreError::from(e))
        }
    }
}

/// Tells each waiter of a group how its row went.
fn acknowledge(group: Vec<Waiting>, rows: Result<Vec<AuditRow>, StoreError>) {
    match rows {
        Ok(rows) => {
            for (w, row) in group.into_iter().zip(rows) {
                let _ = w.done.send(Ok(row));
            }
        }
        Err(e) => {
            let message = e.to_string();
            for w in group {
                let _ = w.done.send(Err(message.clone()));
            }
        }
    }
}

/// Makes what was committed to `file` (a SQLite store's WAL) durable: `fdatasync` through a
/// descriptor of our own (the data is the same page cache SQLite wrote to). A WAL that is gone
/// was checkpointed into the database file, which the checkpoint synced.
pub(super) fn sync_file(file: &std::path::Path) -> Result<(), StoreError> {
    match std::fs::File::open(file) {
        Ok(f) => f
            .sync_data()
            .map_err(|e| StoreError::Unavailable(format!("cannot sync `{}`: {e}", file.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::Unavailable(format!(
            "cannot open `{}` to sync it: {e}",
            file.display()
        ))),
    }
}

/// Binds `$row`'s values to the query `$q`, in [`COLUMNS`] order.
macro_rules! bind_row {
    ($q:expr, $row:expr) => {{
        let row: &AuditRow = $row;
        let entry = &row.entry;
        $q.bind(row.seq)
            .bind(&row.ts)
            .bind(row.ts_ms)
            .bind(&entry.event)
            .bind(&entry.request_id)
            .bind(&entry.method)
            .bind(&entry.route)
            .bind(entry.status)
            .bind(&entry.subject)
            .bind(&entry.role)
            .bind(&entry.workspace)
            .bind(&entry.token_id)
            .bind(&entry.query_id)
            .bind(&entry.conversation_id)
            .bind(&entry.question)
            .bind(&entry.translator)
            .bind(&entry.dsl)
            .bind(&entry.dsl_hash)
            .bind(&entry.sql_hash)
            .bind(&entry.outcome)
            .bind(&entry.code)
            .bind(&entry.detail)
            .bind(entry.row_count)
            .bind(entry.latency_ms)
            .bind(entry.tokens_in)
            .bind(entry.tokens_out)
            .bind(entry.cost_usd)
            .bind(&entry.result_hash)
            .bind(entry.redacted)
            .bind(&entry.source)
            .bind(&entry.source_note)
            .bind(&row.prev_hash)
            .bind(&row.hash)
    }};
}

/// Where the chain goes on from, inside the open transaction `$tx`, given `$head` (the newest
/// row, as `HEAD` selects it, if any): that row, or the anchor a purge left, or the genesis.
macro_rules! chain_start_in {
    ($tx:expr, $head:expr) => {{
        match $head {
            Some(r) => (r.try_get("seq")?, r.try_get("hash")?),
            None => match sqlx::query(ANCHOR).fetch_optional(&mut *$tx).await? {
                Some(a) => (a.try_get("anchor_seq")?, a.try_get("anchor_hash")?),
                None => (0, GENESIS_HASH.to_string()),
            },
        }
    }};
}

/// Appends `$entries` (a slice of `AuditEntry`), chained in order, inside the open transaction
/// `$tx` (which holds the append lock) and evaluates to the stored rows: the head read once,
/// the rows [`ROWS_PER_INSERT`] to a statement, the head moved once.
macro_rules! append_in {
    ($tx:ident, $entries:expr) => {{
        let head = sqlx::query(HEAD).fetch_optional(&mut *$tx).await?;
        let (prev_seq, prev_hash): (i64, String) = chain_start_in!($tx, head);
        let rows = chain($entries, prev_seq, prev_hash);
        let numbered = numbered_placeholders(&$tx);
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let sql = insert_rows(chunk.len(), numbered);
            let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql));
            for row in chunk {
                insert = bind_row!(insert, row);
            }
            insert.execute(&mut *$tx).await?;
        }
        if let Some(last) = rows.last() {
            sqlx::query(MOVE_HEAD)
                .bind(last.seq)
                .bind(&last.hash)
                .execute(&mut *$tx)
                .await?;
        }
        rows
    }};
}

/// Removes rows with `seq <= $through` under the purge permit, moves the anchor and appends
/// the purge's own row, inside the open transaction `$tx`.
macro_rules! purge_in {
    ($tx:ident, $cutoff_ms:expr, $cutoff:expr, $by:expr, $days:expr) => {{
        let last: Option<(i64, String)> =
            match sqlx::query("SELECT seq, hash FROM audit WHERE ts_ms < $1 ORDER BY seq DESC LIMIT 1")
                .bind($cutoff_ms)
                .fetch_optional(&mut *$tx)
                .await?
            {
                Some(r) => Some((r.try_get("seq")?, r.try_get("hash")?)),
                None => None,
            };
        let mut deleted = 0u64;
        if let Some((through, hash)) = &last {
            sqlx::query("INSERT INTO audit_purge_permit (id) VALUES (1)")
                .execute(&mut *$tx)
                .await?;
            deleted = sqlx::query("DELETE FROM audit WHERE seq <= $1")
                .bind(*through)
                .execute(&mut *$tx)
                .await?
                .rows_affected();
            sqlx::query("DELETE FROM audit_purge_permit")
                .execute(&mut *$tx)
                .await?;
            sqlx::query(
                "INSERT INTO audit_anchor (id, anchor_seq, anchor_hash) VALUES (1, $1, $2) \
                 ON CONFLICT (id) DO UPDATE SET anchor_seq = excluded.anchor_seq, \
                 anchor_hash = excluded.anchor_hash",
            )
            .bind(*through)
            .bind(hash)
            .execute(&mut *$tx)
            .await?;
        }
        let through_seq = last.map(|(s, _)| s);
        let detail = serde_json::json!({
            "deleted": deleted,
            "through_seq": through_seq,
            "cutoff": $cutoff,
            "retention_days": $days,
        });
        let entry = AuditEntry {
            event: AuditEvent::Purge.as_str().into(),
            subject: Some($by.to_string()),
            detail: Some(detail.to_string()),
            ..AuditEntry::default()
        };
        let row = append_in!($tx, std::slice::from_ref(&entry))
            .pop()
            .expect("one entry appended, one row");
        PurgeReport {
            deleted,
            through_seq,
            cutoff: $cutoff.to_string(),
            recorded_seq: row.seq,
        }
    }};
}

/// Runs `$body` inside a transaction `$tx` that holds the audit log's single-writer lock:
/// this process's mutex (`$writer`, its guard, when the caller holds it already), then
/// `BEGIN IMMEDIATE` on SQLite or an advisory lock on PostgreSQL (other processes), and commits
/// it. The body is compiled once per backend. SQLite writes on the writer's own connection,
/// which commits without syncing: the caller syncs the WAL (`sync_wal`, `sync_file`) before it
/// tells anyone the rows are written. A connection on which the write failed is closed rather than
/// kept or returned to the pool (a connection that cannot write now may never again), and the
/// store's health records the outcome.
macro_rules! as_audit_writer {
    ($store:expr, $tx:ident => $body:expr) => {{
        // Fail at once while the store is known down; the probe is taken inside, under the lock.
        $store.health.peek()?;
        let mut writer = $store.append.lock().await;
        as_audit_writer!($store, writer, $tx => $body)
    }};
    ($store:expr, $writer:ident, $tx:ident => $body:expr) => {{
        // Requests that queued behind a write that found the store down fail at once too.
        $store.health.admit()?;
        let outcome: Result<_, StoreError> = match &$store.backend {
            Backend::Sqlite(_) => match $store.audit_connection(&mut $writer).await {
                Err(e) => Err(e),
                Ok(mut conn) => {
                    let written: Result<_, sqlx::Error> = async {
                        let mut $tx =
                            sqlx::Connection::begin_with(&mut conn, "BEGIN IMMEDIATE").await?;
                        let out = $body;
                        $tx.commit().await?;
                        Ok(out)
                    }
                    .await;
                    keep_or_close(&mut $writer, conn, written).await
                }
            },
            Backend::Postgres(pool) => match pool.acquire().await {
                Err(e) => Err(e.into()),
                Ok(mut conn) => {
                    let written: Result<_, sqlx::Error> = async {
                        let mut $tx = sqlx::Connection::begin(&mut *conn).await?;
                        sqlx::query("SELECT pg_advisory_xact_lock($1)")
                            .bind(PG_AUDIT_LOCK)
                            .execute(&mut *$tx)
                            .await?;
                        let out = $body;
                        $tx.commit().await?;
                        Ok(out)
                    }
                    .await;
                    if written.is_err() {
                        let _ = conn.close().await;
                    }
                    written.map_err(StoreError::from)
                }
            },
        };
        $store.health.record(&outcome);
        outcome?
    }};
}

/// An append waiting for the next group commit.
pub(super) struct Waiting {
    entry: AuditEntry,
    done: tokio::sync::oneshot::Sender<Result<AuditRow, String>>,
}

impl Store {
    /// Appends one audit row and returns once it is committed and durable: the whole row or
    /// nothing.
    ///
    /// Group commit: appends that arrive while another group is being written wait in a
    /// queue, and the next writer writes all of them in one transaction, each row numbered and
    /// chained in arrival order. On SQLite the writer's connection commits without syncing;
    /// the group's rows are acknowledged once the WAL file is synced (one `fdatasync`), which
    /// happens after the writer lock is released, so the next group is written while this one
    /// syncs. A row is acknowledged only after its transaction committed and reached the
    /// disk; if either fails, every row in the group fails and none is half-written.
    pub async fn append(&self, entry: &AuditEntry) -> Result<AuditRow, StoreError> {
        // Fail at once while the store is known down; the group's writer takes the probe.
        self.health.peek()?;
        let (done, committed) = tokio::sync::oneshot::channel();
        self.waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Waiting {
                entry: entry.clone(),
                done,
            });
        let written = {
            // Whoever holds the writer lock writes the whole queue; by the time we hold it,
            // our row was either written by an earlier holder or is still queued for us.
            let mut writer = self.append.lock().await;
            let group: Vec<Waiting> =
                std::mem::take(&mut *self.waiting.lock().unwrap_or_else(|p| p.into_inner()));
            if group.is_empty() {
                None
            } else {
                let entries: Vec<AuditEntry> = group.iter().map(|w| w.entry.clone()).collect();
                let rows: Result<Vec<AuditRow>, StoreError> = match self.backend {
                    Backend::Sqlite(_) => self.write_group_sqlite(&mut writer, &entries).await,
                    Backend::Postgres(_) => {
                        async { Ok(as_audit_writer!(self, writer, tx => append_in!(tx, &entries))) }
                            .await
                    }
                };
                Some((group, rows))
            }
        };
        match (written, self.wal_file()) {
            (None, _) => {}
            // Nothing to sync (PostgreSQL syncs in its commit): told at once.
            (Some((group, rows)), None) => acknowledge(group, rows),
            (Some((group, rows)), Some(wal)) => {
                // Detached, so that a request dropped now cannot strand the rest of its group.
                let health = self.health.clone();
                // The task's handle is dropped: it runs to the end, detached.
                drop(tokio::task::spawn_blocking(move || {
                    let rows = rows.and_then(|rows| {
                        let synced = sync_file(&wal);
                        health.record(&synced);
                        synced.map(|()| rows)
                    });
                    acknowledge(group, rows);
                }));
            }
        }
        committed
            .await
            .map_err(|_| StoreError::Unavailable("the audit writer went away".into()))?
            .map_err(StoreError::Unavailable)
    }

    /// `append_in!` on the audit writer's SQLite connection in two round trips to its worker
    /// thread instead of five: `BEGIN IMMEDIATE` with the head's read, then the inserts, the
    /// head's move and `COMMIT` as one multi-statement query (SQLite binds its `?`s in order
    /// across the statements). On any failure the connection is closed, which rolls back.
    async fn write_group_sqlite(
        &self,
        writer: &mut Option<sqlx::SqliteConnection>,
        entries: &[AuditEntry],
    ) -> Result<Vec<AuditRow>, StoreError> {
        self.health.admit()?;
        let outcome = match self.audit_connection(writer).await {
            Err(e) => Err(e),
            Ok(mut conn) => {
                let written: Result<Vec<AuditRow>, sqlx::Error> = async {
                    let head = sqlx::query(BEGIN_AND_HEAD)
                        .fetch_optional(&mut conn)
                        .await?;
                    let (prev_seq, prev_hash): (i64, String) = chain_start_in!(&mut conn, head);
                    let rows = chain(entries, prev_seq, prev_hash);
                    let Some(last) = rows.last() else {
                        sqlx::query("COMMIT").execute(&mut conn).await?;
                        return Ok(rows);
                    };
                    let mut sql = String::new();
                    for chunk in rows.chunks(ROWS_PER_INSERT) {
                        sql.push_str(&insert_rows(chunk.len(), false));
                        sql.push_str("; ");
                    }
                    sql.push_str(MOVE_HEAD_UNNUMBERED);
                    sql.push_str("; COMMIT");
                    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for row in &rows {
                        query = bind_row!(query, row);
                    }
                    query
                        .bind(last.seq)
                        .bind(&last.hash)
                        .execute(&mut conn)
                        .await?;
                    Ok(rows)
                }
                .await;
                keep_or_close(writer, conn, written).await
            }
        };
        self.health.record(&outcome);
        outcome
    }

    /// Removes audit rows older than `retention_days` and records the purge as a row of its
    /// own (subject `by`), in one transaction.
    pub async fn purge(&self, retention_days: u32, by: &str) -> Result<PurgeReport, StoreError> {
        let cutoff_time = chrono::Utc::now() - chrono::Duration::days(i64::from(retention_days));
        let cutoff = cutoff_time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let cutoff_ms = cutoff_time.timestamp_millis();
        let report =
            as_audit_writer!(self, tx => purge_in!(tx, cutoff_ms, cutoff, by, retention_days));
        self.sync_wal().await?;
        Ok(report)
    }

    /// Audit rows in sequence order, filtered.
    pub async fn audit_rows(&self, filter: &AuditFilter) -> Result<Vec<AuditRow>, StoreError> {
        let limit = filter.limit.clamp(1, 1000) as usize;
        let mut after = filter.after_seq.unwrap_or(0);
        let mut out = Vec::new();
        loop {
            let page = self.page(after, 500).await?;
            let Some(last) = page.last() else {
                return Ok(out);
            };
            after = last.seq;
            for row in page {
                let visible = match (&filter.workspaces, &row.entry.workspace) {
                    (None, _) | (Some(_), None) => true,
                    (Some(allowed), Some(w)) => allowed.contains(w),
                };
                if visible {
                    out.push(row);
                    if out.len() == limit {
                        return Ok(out);
                    }
                }
            }
        }
    }

    async fn page(&self, after_seq: i64, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
        self.guarded(async {
            let rows: Result<Vec<AuditRow>, sqlx::Error> = on_pool!(self, pool => {
                let rows =
                    sqlx::query(SELECT_PAGE).bind(after_seq).bind(limit).fetch_all(pool).await?;
                rows.iter().map(|r| Ok(read_row!(r))).collect()
            });
            Ok(rows?)
        })
        .await
    }

    /// The audit row that recorded query `query_id`, if it is still retained.
    pub async fn find_query(&self, query_id: &str) -> Result<Option<AuditRow>, StoreError> {
        self.guarded(async {
            let row: Result<Option<AuditRow>, sqlx::Error> = on_pool!(self, pool => {
                match sqlx::query(SELECT_BY_QUERY_ID).bind(query_id).fetch_optional(pool).await? {
                    Some(r) => Ok(Some(read_row!(&r))),
                    None => Ok(None),
                }
            });
            Ok(row?)
        })
        .await
    }

    /// Checks every retained row: numbering without gaps from the anchor, each `prev_hash`
    /// equal to its predecessor's hash, each hash equal to its content's, and the last row
    /// equal to the recorded head (so deleting the newest rows shows).
    pub async fn verify_chain(&self) -> Result<ChainReport, StoreError> {
        let report = self.verify_from(None).await?;
        self.remember(&report);
        Ok(report.report)
    }

    /// Like `verify_chain`, but starts from the last point this process verified (the audit
    /// page calls it on every request): only rows appended since are read. A break found once
    /// is reported until the process restarts; a purge that moved the anchor past the
    /// checkpoint starts over from the anchor.
    pub async fn verify_chain_since_checkpoint(&self) -> Result<ChainReport, StoreError> {
        let checkpoint = self
            .checkpoint
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let report = self.verify_from(checkpoint).await?;
        self.remember(&report);
        Ok(report.report)
    }

    fn remember(&self, verified: &Verified) {
        let mut slot = self.checkpoint.lock().unwrap_or_else(|p| p.into_inner());
        *slot = Some(verified.checkpoint.clone());
    }

    /// The newest row's number and hash, as the store records them (`tally audit head`): keep a
    /// copy elsewhere and `tally audit verify --head SEQ:HASH` shows rows deleted since.
    pub async fn head(&self) -> Result<Option<(i64, String)>, StoreError> {
        self.guarded(async {
            let head: Result<Option<(i64, String)>, sqlx::Error> = on_pool!(self, pool => {
                match sqlx::query(READ_HEAD).fetch_optional(pool).await? {
                    Some(h) => Ok(Some((h.try_get("head_seq")?, h.try_get("head_hash")?))),
                    None => Ok(None),
                }
            });
            Ok(head?)
        })
        .await
    }

    async fn verify_from(&self, checkpoint: Option<Checkpoint>) -> Result<Verified, StoreError> {
        let anchor: Result<Option<(i64, String)>, sqlx::Error> = on_pool!(self, pool => {
            match sqlx::query(ANCHOR).fetch_optional(pool).await? {
                Some(a) => Ok(Some((a.try_get("anchor_seq")?, a.try_get("anchor_hash")?))),
                None => Ok(None),
            }
        });
        let (anchor_seq, anchor_hash) = anchor?.unwrap_or((0, GENESIS_HASH.to_string()));
        // A checkpoint is only good while the anchor it was taken under stands.
        let checkpoint = checkpoint.filter(|c| c.anchor_seq == anchor_seq);
        let mut report = match &checkpoint {
            Some(c) => c.report.clone(),
            None => ChainReport {
                ok: true,
                rows: 0,
                first_seq: None,
                last_seq: None,
                anchor_seq,
                breaks: Vec::new(),
            },
        };
        // A head problem is recomputed each time; row problems found earlier stay.
        report
            .breaks
            .retain(|b| !b.problem.starts_with(HEAD_PROBLEM));
        report.ok = report.breaks.is_empty();
        let (mut expect_seq, mut expect_prev) = match &checkpoint {
            Some(c) => (c.next_seq, c.next_prev.clone()),
            None => (anchor_seq + 1, anchor_hash),
        };
        let mut after = match &checkpoint {
            Some(c) => c.next_seq - 1,
            None => i64::MIN,
        };
        loop {
            let page = self.page(after, 1000).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for row in page {
                report.rows += 1;
                report.first_seq.get_or_insert(row.seq);
                report.last_seq = Some(row.seq);
                let mut problems = Vec::new();
                if row.seq != expect_seq {
                    problems.push(format!("expected seq {expect_seq} (rows missing)"));
                }
                if row.prev_hash != expect_prev {
                    problems.push("prev_hash does not match the previous row".to_string());
                }
                if !row.hash_matches() {
                    problems.push("hash does not match the row's content (edited)".to_string());
                }
                for problem in problems {
                    report.push_break(row.seq, problem);
                }
                expect_seq = row.seq + 1;
                expect_prev = row.hash;
            }
        }
        let next = Checkpoint {
            anchor_seq,
            next_seq: expect_seq,
            next_prev: expect_prev.clone(),
            report: report.clone(),
        };
        // The newest row must be the head the appends recorded.
        if let Some((head_seq, head_hash)) = self.head().await? {
            let last = report.last_seq.unwrap_or(anchor_seq);
            if head_seq != last || head_hash != expect_prev {
                report.push_break(
                    head_seq,
                    format!(
                        "{HEAD_PROBLEM}: the last append wrote seq {head_seq}, the log ends at \
                         seq {last} (newest rows deleted or the head edited)"
                    ),
                );
            }
        }
        Ok(Verified {
            report,
            checkpoint: next,
        })
    }

    /// Checks a head an operator kept elsewhere (`SEQ:HASH` from `tally audit head`): the row
    /// must still be there with that hash, or have been purged by retention, and the log must
    /// not end before it.
    pub async fn verify_kept_head(&self, seq: i64, hash: &str) -> Result<Vec<String>, StoreError> {
        let mut problems = Vec::new();
        let report = self.verify_chain().await?;
        let last = report.last_seq.unwrap_or(report.anchor_seq);
        if last < seq {
            problems.push(format!(
                "the kept head is seq {seq}, but the log ends at seq {last}: rows were deleted"
            ));
        } else if seq > report.anchor_seq {
            let row = self.page(seq - 1, 1).await?.into_iter().next();
            match row {
                Some(r) if r.seq == seq && r.hash == hash => {}
                Some(r) if r.seq == seq => problems.push(format!(
                    "row {seq} has hash {}, not the kept {hash}: it was rewritten",
                    r.hash
                )),
                _ => problems.push(format!("row {seq} of the kept head is missing")),
            }
        }
        Ok(problems)
    }
}

/// The prefix of a chain break found by the head check.
const HEAD_PROBLEM: &str = "head mismatch";

impl ChainReport {
    fn push_break(&mut self, seq: i64, problem: String) {
        self.ok = false;
        if self.breaks.len() < 20 {
            self.breaks.push(ChainBreak { seq, problem });
        }
    }
}

/// Where verification stopped: the next row expected and the report so far.
#[derive(Debug, Clone)]
pub(super) struct Checkpoint {
    anchor_seq: i64,
    next_seq: i64,
    next_prev: String,
    report: ChainReport,
}

struct Verified {
    report: ChainReport,
    checkpoint: Checkpoint,
}

const SELECT_PAGE: &str = concat!(
    "SELECT seq, ts, ts_ms, event, request_id, method, route, status, subject, role, ",
    "workspace, token_id, query_id, conversation_id, question, translator, dsl, dsl_hash, ",
    "sql_hash, outcome, code, detail, row_count, latency_ms, tokens_in, tokens_out, cost_usd, ",
    "result_hash, redacted, source, source_note, prev_hash, hash FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2"
);

const SELECT_BY_QUERY_ID: &str = concat!(
    "SELECT seq, ts, ts_ms, event, request_id, method, route, status, subject, role, ",
    "workspace, token_id, query_id, conversation_id, question, translator, dsl, dsl_hash, ",
    "sql_hash, outcome, code, detail, row_count, latency_ms, tokens_in, tokens_out, cost_usd, ",
    "result_hash, redacted, source, source_note, prev_hash, hash FROM audit WHERE query_id = $1 ORDER BY seq LIMIT 1"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_covers_every_field_and_the_predecessor() {
        let entry = AuditEntry {
            event: AuditEvent::Request.as_str().into(),
            subject: Some("ana".into()),
            ..AuditEntry::default()
        };
        let h = row_hash(1, "t", 0, &entry, GENESIS_HASH);
        assert_eq!(h.len(), 64);
        assert_ne!(h, row_hash(2, "t", 0, &entry, GENESIS_HASH));
        assert_ne!(h, row_hash(1, "t", 0, &entry, &"1".repeat(64)));
        let edited = AuditEntry {
            subject: Some("bob".into()),
            ..entry.clone()
        };
        assert_ne!(h, row_hash(1, "t", 0, &edited, GENESIS_HASH));
        // The source is covered once set, and absent from the hashed content until then.
        let answered = AuditEntry {
            source: Some("warehouse".into()),
            ..entry.clone()
        };
        assert_ne!(h, row_hash(1, "t", 0, &answered, GENESIS_HASH));
        let noted = AuditEntry {
            source_note: Some("the metrics API timed out".into()),
            ..answered.clone()
        };
        assert_ne!(
            row_hash(1, "t", 0, &answered, GENESIS_HASH),
            row_hash(1, "t", 0, &noted, GENESIS_HASH)
        );
        let text = serde_json::to_string(&entry).unwrap();
        assert!(!text.contains("source"), "{text}");
    }
}
