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
    let warehouse = tokio::time::timeout(PING_TIMEOUT, state.engine.warehouse().ping()).await;
    let store = tokio::time::timeout(PING_TIMEOUT, state.store.ping()).await;
    let warehouse_ok = matches!(warehouse, Ok(Ok(())));
    let store_ok = matches!(store, Ok(Ok(())));
    if !warehouse_ok {
        tracing::warn!("readiness: the warehouse does not answer");
    }
    if !store_ok {
        // Without the store every /v1 request fails closed.
        tracing::warn!("readiness: the store does not answer");
    }
    if warehouse_ok && store_ok {
        Ok(Json(
            json!({"status": "ready", "warehouse": "ok", "store": "ok"}),
        ))
    } else {
        Err(ApiError::NotReady)
    }
}
