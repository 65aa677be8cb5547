//! Admin routes (the catalog role with `admin = true`): rerun a recorded query under its
//! original role and workspace, revoke tokens, read the audit log with its chain check.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::Response as HttpResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::queries::visible_query;
use super::query::respond;
use crate::server::body::JsonBody;
use crate::server::error::ApiError;
use crate::server::{AppState, Caller};
use crate::store::{AuditFilter, AuditRow, ChainReport};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/queries/{id}/rerun", post(rerun))
        .route("/v1/admin/revoke", post(revoke))
        .route("/v1/admin/audit", get(audit_log))
}

fn require_admin(state: &AppState, caller: &Caller) -> Result<(), ApiError> {
    if state
        .engine
        .catalog
        .role(&caller.role)
        .is_some_and(|r| r.admin)
    {
        Ok(())
    } else {
        Err(ApiError::AdminRequired)
    }
}

/// Runs a recorded query's DSL again, re-validated under the original caller's role and
/// workspace (never stored SQL): a policy change since then shows as a refusal.
async fn rerun(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&state, &caller)?;
    let row = visible_query(&state, &caller, &id).await?;
    let (Some(role), Some(workspace)) = (&row.entry.role, &row.entry.workspace) else {
        return Err(ApiError::NotRerunnable);
    };
    let dsl = match (&row.entry.outcome, &row.entry.dsl) {
        (Some(outcome), Some(text)) if outcome != "invalid" => {
            serde_json::from_str::<serde_json::Value>(text).map_err(|_| ApiError::NotRerunnable)?
        }
        _ => return Err(ApiError::NotRerunnable),
    };
    caller
        .audit
        .ran_as(role, format!("rerun of {id} (audit row {})", row.seq));
    respond(&state, &caller, role, workspace, &dsl).await
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RevokeRequest {
    /// Revoke this one token (its `jti` claim).
    #[serde(default)]
    pub jti: Option<String>,
    /// Revoke every token of this subject issued up to now.
    #[serde(default)]
    pub subject: Option<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub(crate) struct RevokeResponse {
    pub revoked: &'static str,
    pub id: String,
}

async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<RevokeRequest>,
) -> Result<Json<RevokeResponse>, ApiError> {
    require_admin(&state, &caller)?;
    let by = caller.subject.as_str();
    let (kind, id) = match (request.jti, request.subject) {
        (Some(jti), None) if !jti.trim().is_empty() => {
            state.store.revoke_token(jti.trim(), by).await?;
            ("token", jti.trim().to_string())
        }
        (None, Some(subject)) if !subject.trim().is_empty() => {
            state.store.revoke_subject(subject.trim(), by).await?;
            ("subject", subject.trim().to_string())
        }
        _ => {
            return Err(ApiError::InvalidRequest(
                "send exactly one of `jti` or `subject`".into(),
            ))
        }
    };
    caller.audit.event("revoke", format!("{kind} {id}"));
    Ok(Json(RevokeResponse { revoked: kind, id }))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditParams {
    /// Only rows after this sequence number (for paging).
    #[serde(default)]
    pub after: Option<i64>,
    /// At most this many rows (default 100, at most 1000).
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub(crate) struct AuditPage {
    /// Rows of the token's workspaces, and rows without a workspace (failed logins, purges).
    #[schemars(with = "Vec<serde_json::Value>")]
    pub rows: Vec<AuditRow>,
    /// The whole log's numbering and hash chain, checked now.
    #[schemars(with = "serde_json::Value")]
    pub chain: ChainReport,
}

async fn audit_log(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<AuditParams>, QueryRejection>,
) -> Result<Json<AuditPage>, ApiError> {
    require_admin(&state, &caller)?;
    let Query(params) = params.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    let rows = state
        .store
        .audit_rows(&AuditFilter {
            after_seq: params.after,
            limit: params.limit.unwrap_or(100),
            workspaces: Some(caller.workspaces.clone()),
        })
        .await?;
    let chain = state.store.verify_chain().await?;
    Ok(Json(AuditPage { rows, chain }))
}
