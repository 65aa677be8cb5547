//! `GET /v1/queries/{id}`: one's own past query, as the audit log recorded it (the question,
//! the executed DSL and how it ended; never result values). Another user's query, or one in a
//! workspace the token does not grant, is 404 — its existence is not disclosed.
//!
//! `GET /v1/queries/{id}/answer`: the page's permalink (`/q/{id}`) — the owner's past query run
//! again, its recorded DSL checked under the caller's role as any query (so a role that has
//! lost access is refused), as of the day it was asked (relative periods mean what they meant
//! then), and audited as a query of its own. The same 404 for anyone else or a forged id.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::Value;

use axum::response::Response as HttpResponse;
use chrono::NaiveDate;

use super::query::respond_with;
use crate::server::error::ApiError;
use crate::server::{AppState, Caller};
use crate::store::AuditRow;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/queries/{id}", get(get_query))
        .route("/v1/queries/{id}/answer", get(answer_query))
}

/// A past query as recorded.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub(crate) struct QueryRecord {
    pub query_id: String,
    /// When it was asked (RFC 3339, UTC).
    pub asked_at: String,
    pub workspace: Option<String>,
    /// The role it ran under.
    pub role: Option<String>,
    pub question: Option<String>,
    pub conversation_id: Option<String>,
    pub translator: Option<String>,
    /// The DSL that ran (or, for an invalid document, the DSL as sent).
    pub dsl: Option<Value>,
    pub outcome: Option<String>,
    /// The refusal or error code, if any.
    pub code: Option<String>,
    pub row_count: Option<i64>,
    pub latency_ms: Option<f64>,
    /// What answered it (`warehouse`, `rollup:NAME`, `metrics_api:NAME`, `catalog`, …); null
    /// when nothing ran, or for a row recorded before sources were.
    pub source: Option<String>,
    /// Why a Metrics API asked first did not answer, when one did not.
    pub source_note: Option<String>,
    /// The audit row that holds it.
    pub audit_seq: i64,
}

impl QueryRecord {
    pub(super) fn of(row: &AuditRow) -> QueryRecord {
        let e = &row.entry;
        QueryRecord {
            query_id: e.query_id.clone().unwrap_or_default(),
            asked_at: row.ts.clone(),
            workspace: e.workspace.clone(),
            role: e.role.clone(),
            question: e.question.clone(),
            conversation_id: e.conversation_id.clone(),
            translator: e.translator.clone(),
            dsl: e.dsl.as_deref().and_then(|d| serde_json::from_str(d).ok()),
            outcome: e.outcome.clone(),
            code: e.code.clone(),
            row_count: e.row_count,
            latency_ms: e.latency_ms,
            source: e.source.clone(),
            source_note: e.source_note.clone(),
            audit_seq: row.seq,
        }
    }
}

/// The recorded query `id` if it belongs to a workspace the caller's token grants.
pub(super) async fn visible_query(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<AuditRow, ApiError> {
    let row = state
        .store
        .find_query(id)
        .await?
        .ok_or(ApiError::QueryNotFound)?;
    let in_workspace = row
        .entry
        .workspace
        .as_ref()
        .is_some_and(|w| caller.workspaces.contains(w));
    if !in_workspace {
        return Err(ApiError::QueryNotFound);
    }
    Ok(row)
}

/// The recorded query `id` if the caller asked it, in a workspace the token grants.
async fn own_query(state: &AppState, caller: &Caller, id: &str) -> Result<AuditRow, ApiError> {
    let row = visible_query(state, caller, id).await?;
    if row.entry.subject.as_deref() != Some(caller.subject.as_str()) {
        return Err(ApiError::QueryNotFound);
    }
    if let Some(w) = &row.entry.workspace {
        caller.audit.workspace(w);
    }
    Ok(row)
}

async fn get_query(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<QueryRecord>, ApiError> {
    let row = own_query(&state, &caller, &id).await?;
    Ok(Json(QueryRecord::of(&row)))
}

async fn answer_query(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = own_query(&state, &caller, &id).await?;
    let (Some(workspace), Some(dsl)) = (&row.entry.workspace, &row.entry.dsl) else {
        return Err(ApiError::NotRerunnable);
    };
    if row.entry.outcome.as_deref() == Some("invalid") {
        return Err(ApiError::NotRerunnable);
    }
    let dsl: Value = serde_json::from_str(dsl).map_err(|_| ApiError::NotRerunnable)?;
    let asked = row
        .ts
        .get(..10)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .ok_or(ApiError::NotRerunnable)?;
    let clock = state.today.clock_as_of(asked);
    respond_with(&state, &caller, &caller.role, workspace, &dsl, clock).await
}
