//! `GET /metrics` (Prometheus text format) and `GET /openapi.json` (the OpenAPI 3.1 document).
//! Both are public like the probes: neither carries a question, a caller or a result value.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

use crate::server::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi_document))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut text = state.metrics.render();
    // Whether the LLM translator's circuit breaker keeps it out of the path right now (0 when
    // no LLM is configured).
    let open = state
        .engine
        .translators()
        .llm()
        .is_some_and(|llm| llm.breaker_open());
    text.push_str("# HELP tally_llm_breaker_open 1 while the LLM translator's circuit breaker is open (questions go to the rule translator), else 0 (also without an LLM).\n");
    text.push_str("# TYPE tally_llm_breaker_open gauge\n");
    text.push_str(&format!("tally_llm_breaker_open {}\n", u8::from(open)));
    // Whether `[rate_limit] redis` is set but unreachable, so each replica holds callers to the
    // limit on its own (0 without Redis).
    let fallback = state.rate_limiter.fallback_active();
    text.push_str("# HELP tally_rate_limit_redis_fallback 1 while the configured Redis does not answer and this process's own buckets decide (the limit holds per replica, not across them), else 0 (also without Redis).\n");
    text.push_str("# TYPE tally_rate_limit_redis_fallback gauge\n");
    text.push_str(&format!(
        "tally_rate_limit_redis_fallback {}\n",
        u8::from(fallback)
    ));
    // The catalog's Metrics APIs: calls by outcome, fallbacks by reason, breakers, drift.
    if let Some(apis) = state.engine.metrics_apis() {
        text.push_str(&apis.render());
    }
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        text,
    )
}

async fn openapi_document(State(state): State<AppState>) -> Json<Value> {
    Json(state.openapi().clone())
}
