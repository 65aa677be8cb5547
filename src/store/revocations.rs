//! Token revocation: one token by its `jti`, or every token of a subject issued before a time.

use sqlx::Row;

use super::{now, on_pool, Store, StoreError};

impl Store {
    /// Revokes the token with id `jti`. Revoking twice is not an error.
    pub async fn revoke_token(&self, jti: &str, by: &str) -> Result<(), StoreError> {
        let (ts, _) = now();
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO revoked_tokens (jti, revoked_at, revoked_by) VALUES ($1, $2, $3) \
             ON CONFLICT (jti) DO NOTHING",
        )
        .bind(jti)
        .bind(&ts)
        .bind(by)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Revokes every token of `subject` issued up to now (tokens issued later still work).
    pub async fn revoke_subject(&self, subject: &str, by: &str) -> Result<(), StoreError> {
        let (ts, ts_ms) = now();
        // Tokens carry `iat` in whole seconds: a token issued in this second is revoked too.
        let before_unix = ts_ms.div_euclid(1000) + 1;
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO revoked_subjects (subject, before_unix, revoked_at, revoked_by) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (subject) DO UPDATE SET \
             before_unix = excluded.before_unix, revoked_at = excluded.revoked_at, \
             revoked_by = excluded.revoked_by",
        )
        .bind(subject)
        .bind(before_unix)
        .bind(&ts)
        .bind(by)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Whether a token is revoked: by its id, or because its subject's tokens issued before a
    /// time were revoked (a token without `iat` counts as issued at the beginning of time).
    pub async fn is_revoked(
        &self,
        jti: &str,
        subject: &str,
        issued_at: Option<u64>,
    ) -> Result<bool, StoreError> {
        let iat = issued_at
            .map(|s| s.min(i64::MAX as u64) as i64)
            .unwrap_or(0);
        let revoked: Result<bool, sqlx::Error> = on_pool!(self, pool => {
            let row = sqlx::query(
                "SELECT (SELECT COUNT(*) FROM revoked_tokens WHERE jti = $1) AS by_id, \
                 (SELECT COUNT(*) FROM revoked_subjects WHERE subject = $2 AND before_unix > $3) \
                 AS by_subject",
            )
            .bind(jti)
            .bind(subject)
            .bind(iat)
            .fetch_one(pool)
            .await?;
            let by_id: i64 = row.try_get("by_id")?;
            let by_subject: i64 = row.try_get("by_subject")?;
            Ok(by_id > 0 || by_subject > 0)
        });
        Ok(revoked?)
    }
}
