//! `GET /healthz` (the process answers) and `GET /readyz` (its dependencies answer).

use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::server::error::ApiError;
use crate::server::AppState;

/// A readiness probe waits this long for the warehouse.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    match tokio::time::timeout(PING_TIMEOUT, state.engine.warehouse.ping()).await {
        Ok(Ok(())) => Ok(Json(json!({"status": "ready", "warehouse": "ok"}))),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the warehouse does not answer");
            Err(ApiError::NotReady)
        }
        Err(_) => {
            tracing::warn!("readiness: the warehouse ping timed out");
            Err(ApiError::NotReady)
        }
    }
}
