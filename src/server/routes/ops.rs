//! `GET /metrics` (Prometheus text format) and `GET /openapi.json` (the OpenAPI 3.1 document).
//! Both are public like the probes: neither carries a question, a caller or a result value.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

use crate::server::{openapi, AppState};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi_document))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(),
    )
}

async fn openapi_document() -> Json<&'static Value> {
    Json(openapi::cached())
}
