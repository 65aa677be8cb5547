//! `POST /v1/query` (run DSL) and `POST /v1/compile` (SQL per dialect, no execution).
//!
//! A query's outcome becomes its status, audit fields and body in `outcome.rs`, which
//! `POST /v1/chat` shares.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::outcome::{reply, Shape};
use crate::check::Rejection;
use crate::pipeline::{self, CompileOnlyError};
use crate::plan::Clock;
use crate::server::body::JsonBody;
use crate::server::error::ApiError;
use crate::server::{AppState, Caller};
use crate::sql::{self, Dialect};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/query", post(query))
        .route("/v1/compile", post(compile))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct QueryRequest {
    /// The DSL document (checked by `check/` against the role's schema, `GET /v1/schema`,
    /// whose names are the catalog's).
    #[schemars(with = "crate::dsl::Query")]
    dsl: Value,
    /// Default: the token's only workspace.
    #[serde(default)]
    workspace: Option<String>,
}

async fn query(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<QueryRequest>,
) -> Result<HttpResponse, ApiError> {
    let workspace = caller.workspace(request.workspace.as_deref())?;
    respond(&state, &caller, &caller.role, &workspace, &request.dsl).await
}

/// Runs DSL as `role` in a workspace the token grants: answered and refused are 200, invalid
/// is 400 with the same response body, machinery failures are 5xx.
pub(super) async fn respond(
    state: &AppState,
    caller: &Caller,
    role: &str,
    workspace: &str,
    dsl: &Value,
) -> Result<HttpResponse, ApiError> {
    respond_with(state, caller, role, workspace, dsl, state.today.clock()).await
}

/// `respond` with the clock given (a permalink reruns a query as of the day it was asked).
pub(super) async fn respond_with(
    state: &AppState,
    caller: &Caller,
    role: &str,
    workspace: &str,
    dsl: &Value,
    clock: Clock,
) -> Result<HttpResponse, ApiError> {
    caller.audit.workspace(workspace);
    caller.audit.submitted_dsl(dsl);
    let raw = serde_json::to_vec(dsl).expect("a JSON value serializes");
    let (response, trace) = state.engine.run(&raw, role, workspace, &clock).await?;
    reply(caller, workspace, response, &trace, Shape::Query)
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CompileRequest {
    /// The DSL document, as for `POST /v1/query`.
    #[schemars(with = "crate::dsl::Query")]
    dsl: Value,
    /// One dialect; default: all three.
    #[serde(default)]
    dialect: Option<Dialect>,
    #[serde(default)]
    workspace: Option<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub(crate) struct CompileResponse {
    outcome: &'static str,
    /// Dialect → the statements as text with their parameters.
    sql: BTreeMap<&'static str, String>,
}

async fn compile(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<CompileRequest>,
) -> Result<HttpResponse, ApiError> {
    let catalog = state.engine.catalog();
    let see_sql = catalog.role(&caller.role).is_some_and(|r| r.see_sql);
    if !see_sql {
        return Err(ApiError::SqlNotPermitted);
    }
    let workspace = caller.workspace(request.workspace.as_deref())?;
    caller.audit.workspace(&workspace);
    caller.audit.submitted_dsl(&request.dsl);
    let raw = serde_json::to_vec(&request.dsl).expect("a JSON value serializes");
    let clock = state.today.clock();
    let dialects = match request.dialect {
        Some(d) => vec![d],
        None => Dialect::ALL.to_vec(),
    };
    let mut out = BTreeMap::new();
    for dialect in dialects {
        let compiled = pipeline::compile_only(
            state.engine.checker(),
            &raw,
            &caller.role,
            &workspace,
            &clock,
            dialect,
        );
        match compiled {
            Ok(statements) => {
                out.insert(dialect.as_str(), sql::render(&statements));
            }
            Err(CompileOnlyError::Rejected(rejection @ Rejection::Refused { .. })) => {
                // A policy refusal is a well-formed answer: 200 with the response contract.
                let r = pipeline::rejection_response(catalog, rejection);
                return Ok(Json(r).into_response());
            }
            Err(CompileOnlyError::Rejected(rejection)) => {
                let r = pipeline::rejection_response(catalog, rejection);
                return Err(ApiError::InvalidQuery(Box::new(r)));
            }
            Err(CompileOnlyError::Plan(e)) => {
                let r = pipeline::rejection_response(
                    catalog,
                    Rejection::Invalid {
                        diagnostics: vec![pipeline::plan_diagnostic(&e)],
                    },
                );
                return Err(ApiError::InvalidQuery(Box::new(r)));
            }
            Err(CompileOnlyError::Compile(e)) => return Err(pipeline::Error::Compile(e).into()),
        }
    }
    Ok(Json(CompileResponse {
        outcome: "compiled",
        sql: out,
    })
    .into_response())
}
