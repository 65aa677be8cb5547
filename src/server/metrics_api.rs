//! `tally metrics-api serve`: a reference server of the Metrics API protocol
//! (dsl-spec/metrics-api.md) backed by Tally's own pipeline, so a team without a Metrics API
//! can run one and tests talk to a real one. Each request becomes a metric DSL query (the
//! metric, `between` the dates, the grain as granularity) run as the service role; the answer's
//! series is the response.
//!
//! Invariants: it answers only whole buckets (else 400 `not_whole_buckets`); it never asks the
//! API itself (its engine has no Metrics APIs); an unknown metric is 404, one the role may not
//! ask for is 403; with a token set, a request without that bearer token is 401. It keeps no
//! audit rows: its caller is a Tally server that keeps its own.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;

use crate::metrics_api::{whole, Grain, MetricSeries, Point};
use crate::pipeline::{Engine, Outcome};
use crate::plan::{Clock, DateRange};

/// What the reference server answers with.
#[derive(Clone)]
pub struct ReferenceServer {
    /// The engine (its Metrics APIs off: `Engine::with_metrics_apis(None)`).
    pub engine: Arc<Engine>,
    /// The role every request runs as.
    pub role: String,
    /// `None`: the system clock's today for each request.
    pub today: Option<NaiveDate>,
    /// The bearer token callers must send (`None`: none needed).
    pub token: Option<String>,
}

#[derive(Deserialize)]
pub struct Params {
    workspace: Option<String>,
    start: Option<String>,
    end: Option<String>,
    grain: Option<String>,
}

/// The protocol's one route.
pub fn reference_router(server: ReferenceServer) -> Router {
    Router::new()
        .route("/v1/metrics/{name}", get(metric))
        .with_state(server)
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": message.into()}})),
    )
        .into_response()
}

async fn metric(
    State(server): State<ReferenceServer>,
    Path(name): Path<String>,
    Query(p): Query<Params>,
    headers: HeaderMap,
) -> Response {
    if let Some(token) = &server.token {
        let sent = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if sent != Some(token.as_str()) {
            return error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a bearer token is required",
            );
        }
    }
    let catalog = server.engine.catalog();
    if !catalog.metrics.contains_key(&name) {
        return error(
            StatusCode::NOT_FOUND,
            "unknown_metric",
            format!("no metric `{}`", name.chars().take(64).collect::<String>()),
        );
    }
    let (Some(workspace), Some(start), Some(end), Some(grain)) =
        (p.workspace, p.start, p.end, p.grain)
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "missing_parameter",
            "workspace, start, end and grain are required",
        );
    };
    let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    let (Some(start), Some(end)) = (date(&start), date(&end)) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_date",
            "start and end are YYYY-MM-DD dates",
        );
    };
    let grain: Grain = match serde_json::from_value(json!(grain)) {
        Ok(g) => g,
        Err(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_grain",
                "grain is day, week or month",
            )
        }
    };
    if start > end {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_date",
            "start is after end",
        );
    }
    let range = DateRange::new(start, end);
    if !whole(&range, grain.window()) {
        return error(
            StatusCode::BAD_REQUEST,
            "not_whole_buckets",
            format!(
                "{start} to {end} is not whole {}s (weeks run Monday to Sunday)",
                grain.as_str()
            ),
        );
    }
    // One bucket is the metric over the period: asked without a series, which the checker
    // refuses for active users finer than their window (`mau` of one day is that day's).
    let single = crate::plan::time::windows(&range, grain.window()).len() == 1;
    let mut dsl = json!({
        "kind": "metric",
        "metrics": [name],
        "period": {"between": {"start": start.to_string(), "end": end.to_string()}},
    });
    if !single {
        dsl["granularity"] = json!(grain.as_str());
    }
    let clock = server.today.map(Clock::fixed).unwrap_or_else(Clock::system);
    let raw = serde_json::to_vec(&dsl).expect("json");
    let ran = server
        .engine
        .run(&raw, &server.role, &workspace, &clock)
        .await;
    let response = match ran {
        Ok((r, _)) => r,
        Err(e) => {
            tracing::warn!(error = %e, "the reference metrics API could not answer");
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                e.code(),
                "the warehouse did not answer",
            );
        }
    };
    match response.outcome {
        Outcome::Answered => {}
        Outcome::Refused => {
            return error(StatusCode::FORBIDDEN, "refused", response.answer);
        }
        Outcome::Invalid | Outcome::NeedsClarification => {
            return error(StatusCode::BAD_REQUEST, "invalid_request", response.answer);
        }
    }
    let data = response.data.unwrap_or_default();
    let points = if single {
        data.summary
            .iter()
            .filter(|s| s.metric == name)
            .map(|s| Point {
                date: start.to_string(),
                value: s.value.map(|n| n.0),
            })
            .collect()
    } else {
        data.timeseries
            .iter()
            .filter(|p| p.metric == name)
            .map(|p| Point {
                date: p.date.clone(),
                value: p.value.map(|n| n.0),
            })
            .collect()
    };
    Json(MetricSeries {
        metric: name,
        grain,
        points,
        as_of: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })
    .into_response()
}

/// Serves the reference API on `listener` until `shutdown`.
pub async fn serve_reference(
    listener: tokio::net::TcpListener,
    server: ReferenceServer,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, reference_router(server))
        .with_graceful_shutdown(shutdown)
        .await
}
