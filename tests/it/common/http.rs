//! A Tally server on an ephemeral 127.0.0.1 port for HTTP tests: the demo warehouse, a fresh
//! SQLite store in a temporary directory, the fixed test day, and whatever auth the test
//! configures.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::Value;
use tally::server::{self, AppState, AuthConfig, Today};
use tally::store::{Store, StoreOptions};

pub const ISSUER: &str = "tally-test";
pub const AUDIENCE: &str = "tally-api";

/// A running server; lives as long as the test's runtime (and keeps its store directory).
pub struct Api {
    pub base: String,
    pub client: reqwest::Client,
    _store_dir: tempfile::TempDir,
}

/// What a request got back: status, headers and the body (JSON when it parses, else a string).
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

/// Starts a server with `auth`; `configure` adjusts the state (rate limit, limits).
pub async fn start(auth: AuthConfig, configure: impl FnOnce(AppState) -> AppState) -> Api {
    let engine = super::engine().await;
    let dir = tempfile::tempdir().expect("a temporary directory for the store");
    let store = Store::open(
        &format!("sqlite://{}", dir.path().join("store.db").display()),
        StoreOptions::default(),
    )
    .await
    .expect("open the test store");
    start_with(engine, store, dir, auth, configure).await
}

/// Starts a server on this engine and store (`dir` is kept alive with the server).
pub async fn start_with(
    engine: tally::pipeline::Engine,
    store: Store,
    dir: tempfile::TempDir,
    auth: AuthConfig,
    configure: impl FnOnce(AppState) -> AppState,
) -> Api {
    let state = AppState::new(Arc::new(engine), auth, Arc::new(store))
        .with_today(Today::Fixed(super::date(super::TODAY)));
    let state = configure(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(server::serve(listener, state, std::future::pending()));
    Api {
        base: format!("http://{addr}"),
        client: reqwest::Client::new(),
        _store_dir: dir,
    }
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

impl Api {
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let res = request.send().await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()));
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }
}
