//! Token revocation, scoped to workspaces: one token by its `jti`, or every token of a subject
//! issued before a time, in the workspaces of the admin who revoked it. A revocation recorded
//! before scoping existed applies in every workspace (`*`).

use std::collections::BTreeSet;

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
        self.guarded(async {
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
        .await
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
