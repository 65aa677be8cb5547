//! Token revocation, scoped to workspaces: one token by its `jti`, or every token of a subject
//! issued before a time, in the workspaces of the admin who revoked it. A revocation recorded
//! before scoping existed applies in every workspace (`*`).
//!
//! Every request asks where its token is revoked. A store that one server process has claimed
//! ([`Store::serve_alone`], a SQLite store) answers that from a copy of the table in memory,
//! which that process's own revocations refresh as they commit: no other process serves the
//! store, so no revocation can arrive any other way. Any other store (PostgreSQL, shared by
//! replicas) is asked on every request, so a revocation on one replica holds on the next
//! request to any.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use sqlx::Row;

use super::{now, on_pool, Store, StoreError};

/// The workspace of a revocation that applies everywhere (rows from before revocations were
/// scoped).
pub const EVERY_WORKSPACE: &str = "*";

/// Where a token may no longer be used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revoked(BTreeSet<String>);

impl Revoked {
    /// Revoked in `workspace`?
    pub fn covers(&self, workspace: &str) -> bool {
        self.0.contains(EVERY_WORKSPACE) || self.0.contains(workspace)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The revocations table, as the process that serves the store alone keeps it in memory.
#[derive(Debug, Default)]
pub(super) struct Mirror {
    /// Workspaces each token id is revoked in.
    tokens: HashMap<String, BTreeSet<String>>,
    /// Per subject, `(workspace, before_unix)`: its tokens issued before that time.
    subjects: HashMap<String, Vec<(String, i64)>>,
}

impl Mirror {
    /// What `revoked_in`'s query selects, from memory.
    fn revoked_in(&self, jti: &str, subject: &str, iat: i64) -> Revoked {
        let mut out: BTreeSet<String> = self.tokens.get(jti).cloned().unwrap_or_default();
        if let Some(rows) = self.subjects.get(subject) {
            out.extend(
                rows.iter()
                    .filter(|(_, before)| *before > iat)
                    .map(|(w, _)| w.clone()),
            );
        }
        Revoked(out)
    }
}

impl Store {
    /// Revokes the token with id `jti` in `workspaces`. Revoking twice is not an error.
    pub async fn revoke_token(
        &self,
        jti: &str,
        workspaces: &[String],
        by: &str,
    ) -> Result<(), StoreError> {
        self.insert_revocations("token", jti, workspaces, None, by)
            .await
    }

    /// Revokes, in `workspaces`, every token of `subject` issued up to now (tokens issued later
    /// still work).
    pub async fn revoke_subject(
        &self,
        subject: &str,
        workspaces: &[String],
        by: &str,
    ) -> Result<(), StoreError> {
        let (_, ts_ms) = now();
        // Tokens carry `iat` in whole seconds: a token issued in this second is revoked too.
        let before_unix = ts_ms.div_euclid(1000) + 1;
        self.insert_revocations("subject", subject, workspaces, Some(before_unix), by)
            .await
    }

    async fn insert_revocations(
        &self,
        kind: &str,
        id: &str,
        workspaces: &[String],
        before_unix: Option<i64>,
        by: &str,
    ) -> Result<(), StoreError> {
        let (ts, _) = now();
        let _one_at_a_time = self.revoking.lock().await;
        let written = self
            .guarded(async {
                for workspace in workspaces {
                    on_pool!(self, pool => sqlx::query(
                    "INSERT INTO revocations (kind, id, workspace, before_unix, revoked_at, \
                     revoked_by) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (kind, id, workspace) \
                     DO UPDATE SET before_unix = excluded.before_unix, \
                     revoked_at = excluded.revoked_at, revoked_by = excluded.revoked_by",
                )
                .bind(kind)
                .bind(id)
                .bind(workspace)
                .bind(before_unix)
                .bind(&ts)
                .bind(by)
                .execute(pool)
                .await
                .map(|_| ()))?;
                }
                Ok(())
            })
            .await;
        // Acknowledged only once on disk.
        let written = match written {
            Ok(()) => self.sync_wal().await,
            Err(e) => Err(e),
        };
        // Whatever was written (all of it, or the rows before a failure) is in the copy before
        // the revocation is acknowledged; a copy that cannot be refreshed is dropped, and the
        // table is asked from then on.
        if self.mirror().is_some() {
            match self.load_mirror().await {
                Ok(m) => self.set_mirror(Some(m)),
                Err(e) => {
                    tracing::error!(error = %e, "revocations no longer kept in memory");
                    self.set_mirror(None);
                }
            }
        }
        written
    }

    /// The whole revocations table, for the in-memory copy.
    pub(super) async fn load_mirror(&self) -> Result<Mirror, StoreError> {
        self.guarded(async {
            let rows: Result<Mirror, sqlx::Error> = on_pool!(self, pool => {
                let rows = sqlx::query(
                    "SELECT kind, id, workspace, before_unix FROM revocations",
                )
                .fetch_all(pool)
                .await?;
                let mut mirror = Mirror::default();
                for r in &rows {
                    let kind: String = r.try_get("kind")?;
                    let id: String = r.try_get("id")?;
                    let workspace: String = r.try_get("workspace")?;
                    match (kind.as_str(), r.try_get::<Option<i64>, _>("before_unix")?) {
                        ("token", _) => {
                            mirror.tokens.entry(id).or_default().insert(workspace);
                        }
                        ("subject", Some(before)) => {
                            mirror.subjects.entry(id).or_default().push((workspace, before));
                        }
                        // A subject row without a time matches nothing in the query either.
                        _ => {}
                    }
                }
                Ok(mirror)
            });
            Ok(rows?)
        })
        .await
    }

    fn mirror(&self) -> Option<Arc<Mirror>> {
        self.revocations
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(super) fn set_mirror(&self, mirror: Option<Mirror>) {
        *self.revocations.write().unwrap_or_else(|p| p.into_inner()) = mirror.map(Arc::new);
    }

    /// Where a token is revoked: by its id, or because its subject's tokens issued before a
    /// time were revoked (a token without `iat` counts as issued at the beginning of time).
    pub async fn revoked_in(
        &self,
        jti: &str,
        subject: &str,
        issued_at: Option<u64>,
    ) -> Result<Revoked, StoreError> {
        let iat = issued_at
            .map(|s| s.min(i64::MAX as u64) as i64)
            .unwrap_or(0);
        if let Some(mirror) = self.mirror() {
            // A store found down fails the request closed, as the query would.
            self.health.peek()?;
            return Ok(mirror.revoked_in(jti, subject, iat));
        }
        self.guarded(async {
            let rows: Result<BTreeSet<String>, sqlx::Error> = on_pool!(self, pool => {
                let rows = sqlx::query(
                    "SELECT workspace FROM revocations WHERE (kind = 'token' AND id = $1) \
                     OR (kind = 'subject' AND id = $2 AND before_unix > $3)",
                )
                .bind(jti)
                .bind(subject)
                .bind(iat)
                .fetch_all(pool)
                .await?;
                rows.iter().map(|r| r.try_get::<String, _>("workspace")).collect()
            });
            Ok(Revoked(rows?))
        })
        .await
    }

    /// The workspaces the audit log has seen token `jti` used in (as far as it is retained).
    pub async fn token_workspaces(&self, jti: &str) -> Result<BTreeSet<String>, StoreError> {
        self.guarded(async {
            let rows: Result<BTreeSet<String>, sqlx::Error> = on_pool!(self, pool => {
                let rows = sqlx::query(
                    "SELECT DISTINCT workspace FROM audit WHERE token_id = $1 \
                     AND workspace IS NOT NULL",
                )
                .bind(jti)
                .fetch_all(pool)
                .await?;
                rows.iter().map(|r| r.try_get::<String, _>("workspace")).collect()
            });
            Ok(rows?)
        })
        .await
    }
}
