//! The HTTP API (DESIGN §7): axum routes over the `Engine`, bearer-token auth and `ApiError`.
//! Only HTTP lives here: handlers parse, authorise, call `pipeline` and map the outcome to a
//! status code.
//!
//! Invariants: every route except `/healthz`, `/readyz`, `/metrics` and `/openapi.json` takes a
//! `Caller` (a verified token whose role is in the catalog, within its subject's rate limit);
//! the workspace a query runs in is always one the token grants; every error body is
//! `ApiError`'s shape with a stable `code`; 5xx bodies carry no internals. Status codes:
//! answered and refused are 200, invalid DSL 400, bad or missing token 401, a workspace outside
//! the token or SQL for a role without `see_sql` 403, body over the limit 413, over the rate
//! limit 429 with `Retry-After`, warehouse (or JWKS) down 503, warehouse timeout 504.

pub mod audit;
pub mod auth;
mod body;
mod caller;
pub mod error;
pub mod jwks;
pub mod metrics;
pub mod metrics_api;
pub mod openapi;
pub mod ratelimit;
mod routes;

use std::future::Future;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::Router;
use chrono::NaiveDate;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::pipeline::Engine;
use crate::plan::Clock;
use crate::store::Store;

pub use auth::{mint_dev_token, AuthConfig, DevSecret};
pub use caller::Caller;
pub use error::{ApiError, AuthFailure};
pub use jwks::{JwksConfig, JwksVerifier};
pub use metrics::Metrics;
pub use ratelimit::{RateLimitConfig, RateLimiter};

/// Request bodies larger than this are refused with 413 before they are parsed.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// Where "today" comes from: the system clock per request, or a fixed date (tests, demos).
#[derive(Debug, Clone, Copy)]
pub enum Today {
    System,
    Fixed(NaiveDate),
}

impl Today {
    fn clock(self) -> Clock {
        match self {
            Today::System => Clock::system(),
            Today::Fixed(d) => Clock::fixed(d),
        }
    }

    /// The clock a query asked on `asked` (UTC) ran with: that day, or the fixed date.
    fn clock_as_of(self, asked: NaiveDate) -> Clock {
        match self {
            Today::System => Clock::fixed(asked),
            Today::Fixed(d) => Clock::fixed(d),
        }
    }
}

/// Server limits.
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    pub body_bytes: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            body_bytes: DEFAULT_BODY_LIMIT,
        }
    }
}

/// Everything a handler needs, shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub auth: Arc<AuthConfig>,
    /// Audit log, revocations and conversations; every `/v1/…` request writes to it first.
    pub store: Arc<Store>,
    pub limits: ServerLimits,
    pub today: Today,
    /// `(role, token)` pairs that `GET /` offers as a role picker; only `tally demo` sets them.
    pub demo_tokens: Option<Arc<Vec<(String, String)>>>,
    /// Per-subject request budget, checked right after a token verifies.
    pub rate_limiter: Arc<RateLimiter>,
    /// Request and stage metrics for `GET /metrics`.
    pub metrics: Arc<Metrics>,
    /// Failed logins and rate-limited requests, counted and written as one row per source per
    /// interval.
    pub coalescer: Arc<audit::Coalescer>,
    /// `GET /openapi.json`, built from the engine's catalog on first use.
    openapi: Arc<std::sync::OnceLock<serde_json::Value>>,
    /// `GET /v1/catalog`'s answers, serialized, per workspace and role.
    catalog_views: routes::catalog::CatalogViews,
}

impl AppState {
    /// The store is required: without an audit log no request may be answered.
    pub fn new(engine: Arc<Engine>, auth: AuthConfig, store: Arc<Store>) -> AppState {
        AppState {
            engine,
            auth: Arc::new(auth),
            store,
            limits: ServerLimits::default(),
            today: Today::System,
            demo_tokens: None,
            rate_limiter: Arc::new(
                RateLimiter::new(RateLimitConfig::default()).expect("the default limit is valid"),
            ),
            metrics: Arc::new(Metrics::new()),
            coalescer: Arc::new(audit::Coalescer::new(audit::DEFAULT_COALESCE_INTERVAL)),
            openapi: Arc::default(),
            catalog_views: Default::default(),
        }
    }

    /// How often coalesced audit rows (failed logins, 429s) are written (default 10 s).
    pub fn with_coalesce_interval(mut self, interval: std::time::Duration) -> AppState {
        self.coalescer = Arc::new(audit::Coalescer::new(interval));
        self
    }

    /// Writes the coalesced audit rows counted so far (the server does it every interval and at
    /// shutdown).
    pub async fn flush_audit(&self) -> Result<usize, crate::store::StoreError> {
        self.coalescer.flush(&self.store).await
    }

    /// Replaces the default per-user rate limit (100 requests a minute, buckets in this
    /// process); with `redis` set, the buckets are in that Redis (needs a Tokio runtime).
    pub fn with_rate_limit(mut self, config: RateLimitConfig) -> Result<AppState, String> {
        self.rate_limiter = Arc::new(RateLimiter::new(config)?);
        Ok(self)
    }

    /// Lets the page hand out these `(role, token)` pairs: for `tally demo` on loopback only.
    pub fn with_demo_tokens(mut self, tokens: Vec<(String, String)>) -> AppState {
        self.demo_tokens = Some(Arc::new(tokens));
        self
    }

    /// The OpenAPI document of this server's catalog (built once).
    pub fn openapi(&self) -> &serde_json::Value {
        self.openapi
            .get_or_init(|| openapi::document(self.engine.catalog()))
    }

    pub fn with_today(mut self, today: Today) -> AppState {
        self.today = today;
        self
    }

    pub fn with_limits(mut self, limits: ServerLimits) -> AppState {
        self.limits = limits;
        self
    }
}

/// The whole API as a router; tests serve it on a real listener.
pub fn app(state: AppState) -> Router {
    with_layers(routes::router(), state)
}

/// `routes` under the API's layers: request ids, tracing, metrics, the audit middleware, the
/// panic guard and the body limit. `app` is this over Tally's routes.
pub fn with_layers(routes: Router<AppState>, state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    // Spans carry the method, the route template and the request id: never the query string,
    // the body or a token.
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request<_>| {
            let route = request
                .extensions()
                .get::<axum::extract::MatchedPath>()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "unmatched".into());
            let id = request
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            tracing::info_span!("request", method = %request.method(), route, request_id = id)
        })
        .on_response(DefaultOnResponse::new().level(Level::INFO));
    routes
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(state.limits.body_bytes))
        // Inside the audit middleware, so a panic becomes a 500 that is audited like any answer.
        .layer(CatchPanicLayer::custom(panicked))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            audit::audit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::record,
        ))
        .with_state(state)
        .layer(trace)
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(axum::middleware::from_fn(audit::sanitize_request_id))
}

/// What a panicking handler answers: 500 `internal`, no detail (the panic is logged).
fn panicked(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let detail = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = %detail, "a handler panicked");
    axum::response::IntoResponse::into_response(ApiError::Panicked)
}

/// Serves `app(state)` on `listener` until `shutdown` completes, then drains in-flight requests
/// and writes the coalesced audit rows still pending. Every interval it writes those rows and
/// forgets refilled rate-limit buckets.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router(listener, app(state.clone()), state, shutdown).await
}

/// `serve` for a router built with `with_layers` (extra routes beside Tally's).
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    router: Router,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Refused before the first request: a second server on one SQLite store.
    state
        .store
        .serve_alone()
        .await
        .map_err(std::io::Error::other)?;
    let housekeeping = {
        let state = state.clone();
        tokio::spawn(async move {
            let every = state.coalescer.interval();
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = state.flush_audit().await {
                    tracing::error!(error = %e, "coalesced audit rows not written; kept for the next try");
                }
                state.rate_limiter.sweep();
            }
        })
    };
    let served = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    housekeeping.abort();
    if let Err(e) = state.flush_audit().await {
        tracing::error!(error = %e, "coalesced audit rows not written at shutdown");
    }
    served
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: draining in-flight requests");
}

/// JSON logs on stderr, filtered by `TALLY_LOG` (default `info`). Safe to call once per process.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TALLY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_writer(std::io::stderr)
        .try_init();
}
