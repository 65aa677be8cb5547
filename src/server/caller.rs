//! The verified caller of a request: the axum extractor that reads the bearer token, has
//! `auth.rs` verify it, applies the subject's rate limit and its revocations, and fills the
//! request's audit slot (who called, or who a failed token claimed to be, and why it failed).
//!
//! Invariants: a `Caller` exists only for a verified, unrevoked token whose role is in the
//! catalog, within its subject's rate limit; the store and the warehouse are asked nothing
//! before the token verified and the limit allowed it.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine as _;

use super::audit::AuditSlot;
use super::auth::MAX_TOKEN_BYTES;
use super::error::{ApiError, AuthFailure};
use super::AppState;

/// The verified caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub subject: String,
    pub role: String,
    /// The workspaces the token grants and that are not revoked for it.
    pub workspaces: Vec<String>,
    /// Workspaces the token grants where it (or its subject) has been revoked.
    pub revoked_workspaces: Vec<String>,
    pub token_id: String,
    /// The token's `iat` (seconds since the epoch).
    pub issued_at: u64,
    /// Where this request's audit row is gathered.
    pub audit: AuditSlot,
}

impl Caller {
    /// The workspace a request runs in: the one it names (if the token grants it), else the
    /// token's only workspace. A granted workspace the token is revoked in is 401 `revoked`.
    pub fn workspace(&self, requested: Option<&str>) -> Result<String, ApiError> {
        let revoked = |w: &str| self.revoked_workspaces.iter().any(|r| r == w);
        match requested {
            Some(w) if self.workspaces.iter().any(|g| g == w) => Ok(w.to_string()),
            Some(w) if revoked(w) => Err(self.revoked()),
            Some(_) => Err(ApiError::WorkspaceForbidden),
            None => match (self.workspaces.as_slice(), self.revoked_workspaces.len()) {
                ([only], 0) => Ok(only.clone()),
                ([], 1) => Err(self.revoked()),
                _ => Err(ApiError::WorkspaceRequired),
            },
        }
    }

    fn revoked(&self) -> ApiError {
        self.audit
            .auth_failed(Some(self.subject.clone()), AuthFailure::Revoked);
        ApiError::Unauthorized(AuthFailure::Revoked)
    }
}

/// The token from an `Authorization: Bearer …` header.
fn bearer(parts: &Parts) -> Result<&str, AuthFailure> {
    let value = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or(AuthFailure::MissingToken)?
        .to_str()
        .map_err(|_| AuthFailure::NotBearer)?;
    let (scheme, token) = value.split_once(' ').ok_or(AuthFailure::NotBearer)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthFailure::NotBearer);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(AuthFailure::MissingToken);
    }
    Ok(token)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let slot = parts
            .extensions
            .get::<AuditSlot>()
            .cloned()
            .unwrap_or_default();
        let token = bearer(parts).map_err(|f| {
            slot.auth_failed(None, f);
            ApiError::Unauthorized(f)
        })?;
        if token.len() > MAX_TOKEN_BYTES {
            // Not decoded: a claimed subject from an oversize token is not worth reading.
            slot.auth_failed(None, AuthFailure::TooLarge);
            return Err(ApiError::Unauthorized(AuthFailure::TooLarge));
        }
        let claims = state.auth.verify(token).await.map_err(|f| {
            slot.auth_failed(claimed_subject(token), f);
            ApiError::Unauthorized(f)
        })?;
        let mut caller = Caller {
            subject: claims.sub,
            role: claims.role,
            workspaces: claims.workspaces,
            revoked_workspaces: Vec::new(),
            token_id: claims.jti,
            issued_at: claims.iat.unwrap_or(0),
            audit: slot,
        };
        caller.audit.caller(
            &caller.subject,
            &caller.role,
            &caller.token_id,
            &caller.workspaces,
        );
        // Per verified subject, before the store or the warehouse is asked anything.
        state
            .rate_limiter
            .check(&caller.subject)
            .await
            .map_err(|wait| ApiError::RateLimited {
                retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
            })?;
        // Revoked tokens fail like any other bad token in the workspaces they are revoked in;
        // a store that cannot say fails closed.
        let revoked = state
            .store
            .revoked_in(&caller.token_id, &caller.subject, Some(caller.issued_at))
            .await?;
        if !revoked.is_empty() {
            let (gone, kept): (Vec<String>, Vec<String>) = caller
                .workspaces
                .iter()
                .cloned()
                .partition(|w| revoked.covers(w));
            caller.workspaces = kept;
            caller.revoked_workspaces = gone;
            if caller.workspaces.is_empty() {
                return Err(caller.revoked());
            }
        }
        if state.engine.catalog().role(&caller.role).is_none() {
            tracing::info!(role = %caller.role, "token role is not in the catalog");
            return Err(ApiError::UnknownRole);
        }
        Ok(caller)
    }
}

/// Who an unverified token claims to be (its `sub`), for the audit row of a failed login:
/// at most 200 characters, control characters dropped. Never trusted for anything else.
fn claimed_subject(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let sub = value.get("sub")?.as_str()?;
    Some(sub.chars().filter(|c| !c.is_control()).take(200).collect())
}
