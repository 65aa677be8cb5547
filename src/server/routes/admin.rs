//! Admin routes (the catalog role with `admin = true`): rerun a recorded query under its
//! original role and workspace, revoke tokens, read the audit log with its chain check.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::queries::visible_query;
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
        .catalog()
        .role(&caller.role)
        .is_some_and(|r| r.admin)
    {
        Ok(())
    } else {
        Err(ApiError::AdminRequired)
    }
}

/// What an admin learns from a rerun: how it ended and whether it matches the original run,
/// never the values or the SQL (the admin role has no data access of its own).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub(crate) struct RerunReport {
    /// The rerun's own query id (its audit row).
    pub query_id: String,
    /// The recorded query that was run again.
    pub rerun_of: String,
    /// The role and workspace it ran under (the original caller's).
    pub role: String,
    pub workspace: String,
    /// `answered`, `refused`, `needs_clarification` or `invalid`.
    pub outcome: String,
    /// The refusal or diagnostic code, if any.
    pub code: Option<String>,
    /// The original run's outcome, for comparison.
    pub original_outcome: Option<String>,
    pub row_count: Option<i64>,
    pub timings_ms: crate::pipeline::Timings,
    /// SHA-256 of the rerun's result data, and of the original's when it was recorded.
    pub result_hash: Option<String>,
    pub original_result_hash: Option<String>,
    /// Whether the result equals the original's (`null` when either has no recorded hash).
    pub matches_original: Option<bool>,
}

/// Runs a recorded query's DSL again, re-validated under the original caller's role and
/// workspace (never stored SQL): a policy change since then shows as a refusal. The admin gets
/// a report, never the data.
async fn rerun(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RerunReport>, ApiError> {
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
    caller.audit.workspace(workspace);
    caller.audit.submitted_dsl(&dsl);
    let raw = serde_json::to_vec(&dsl).expect("a JSON value serializes");
    let clock = state.today.clock();
    let (response, trace) = state.engine.run(&raw, role, workspace, &clock).await?;
    caller.audit.response(&response, &trace);
    let gathered = caller.audit.gathered();
    let result_hash = gathered.result_hash.clone();
    let original_result_hash = row.entry.result_hash.clone();
    let matches_original = match (&result_hash, &original_result_hash) {
        (Some(now), Some(then)) => Some(now == then),
        _ => None,
    };
    Ok(Json(RerunReport {
        query_id: response.query_id.clone(),
        rerun_of: id,
        role: role.clone(),
        workspace: workspace.clone(),
        outcome: response.outcome.as_str().to_string(),
        code: gathered.code,
        original_outcome: row.entry.outcome.clone(),
        row_count: gathered.row_count,
        timings_ms: response.timings_ms.clone(),
        result_hash,
        original_result_hash,
        matches_original,
    }))
}

/// `{"jti": …}` or `{"subject": …}`: exactly one.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RevokeRequest {
    #[serde(default)]
    pub jti: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
}

// The documented shape of `RevokeRequest`, which is parsed as a struct so that a body naming
// both or neither gets one clear message.
/// Exactly one of `jti` (one token) or `subject` (every token of a subject).
#[derive(schemars::JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum RevokeBody {
    Token(RevokeToken),
    Subject(RevokeSubject),
}

/// Revoke this one token (its `jti` claim) in your workspaces; 404 if it was never used in them.
#[derive(schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct RevokeToken {
    #[schemars(length(min = 1, max = 200))]
    jti: String,
}

/// Revoke, in your workspaces, every token of this subject issued up to now.
#[derive(schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct RevokeSubject {
    #[schemars(length(min = 1, max = 200))]
    subject: String,
}

impl schemars::JsonSchema for RevokeRequest {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RevokeRequest".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        RevokeBody::json_schema(generator)
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub(crate) struct RevokeResponse {
    /// `token` or `subject`.
    pub revoked: &'static str,
    pub id: String,
    /// The workspaces the revocation applies in (the admin's).
    pub workspaces: Vec<String>,
}

/// Revokes a token or a subject's tokens in the admin's own workspaces only: another
/// workspace's token is not found, and a subject's tokens keep working elsewhere.
async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<RevokeRequest>,
) -> Result<Json<RevokeResponse>, ApiError> {
    require_admin(&state, &caller)?;
    let by = caller.subject.as_str();
    let workspaces = caller.workspaces.clone();
    let (kind, id) = match (request.jti, request.subject) {
        (Some(jti), None) if valid_id(&jti) => {
            let jti = jti.trim().to_string();
            let seen = state.store.token_workspaces(&jti).await?;
            if !workspaces.iter().any(|w| seen.contains(w)) {
                return Err(ApiError::TokenNotFound);
            }
            state.store.revoke_token(&jti, &workspaces, by).await?;
            ("token", jti)
        }
        (None, Some(subject)) if valid_id(&subject) => {
            let subject = subject.trim().to_string();
            state
                .store
                .revoke_subject(&subject, &workspaces, by)
                .await?;
            ("subject", subject)
        }
        _ => {
            return Err(ApiError::InvalidRequest(
                "send exactly one of `jti` or `subject`, 1 to 200 characters".into(),
            ))
        }
    };
    caller.audit.event(
        crate::store::AuditEvent::Revoke,
        format!("{kind} {id} in {}", workspaces.join(", ")),
    );
    Ok(Json(RevokeResponse {
        revoked: kind,
        id,
        workspaces,
    }))
}

fn valid_id(id: &str) -> bool {
    let id = id.trim();
    !id.is_empty() && id.chars().count() <= 200
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditParams {
    /// Only rows after this sequence number (for paging).
    #[serde(default)]
    pub after: Option<i64>,
    /// At most this many rows (default 100, at most 1000).
    #[serde(default)]
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub(crate) struct AuditPage {
    /// Rows of the token's workspaces, and rows without a workspace (failed logins, purges).
    #[schemars(with = "Vec<serde_json::Value>")]
    pub rows: Vec<AuditRow>,
    /// The whole log's numbering, hash chain and head, checked now (incrementally: rows this
    /// server verified before are not read again).
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
    if params.limit.is_some_and(|l| !(1..=1000).contains(&l)) {
        return Err(ApiError::InvalidRequest(
            "`limit` must be between 1 and 1000".into(),
        ));
    }
    let rows = state
        .store
        .audit_rows(&AuditFilter {
            after_seq: params.after,
            limit: params.limit.unwrap_or(100),
            workspaces: Some(caller.workspaces.clone()),
        })
        .await?;
    let chain = state.store.verify_chain_since_checkpoint().await?;
    Ok(Json(AuditPage { rows, chain }))
}
