//! Machinery failures and shutdown over HTTP on a real listener: a warehouse that does not
//! answer is 503 `warehouse_unavailable`, a query past its time limit is 504 `timeout` (both
//! audited, both bodies free of internals), and a shutdown drains a request already in flight
//! while refusing new connections.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use axum::routing::post;
use axum::{Json, Router};
use common::engines::{reach, upstream_of, via, Kind, Proxy};
use common::http::{start, AUDIENCE, ISSUER};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tally::catalog::Catalog;
use tally::exec::{Limits, Warehouse};
use tally::pipeline::Engine;
use tally::server::{self, AppState, AuthConfig, DevSecret, Today};
use tally::store::{AuditFilter, Store, StoreOptions};
use tally::translate::llm::LlmConfig;
use tally::translate::{Mode, Translators};

const SECRET: &str = "lifecycle-test-secret-0123456789abcdef012345";

fn auth() -> AuthConfig {
    AuthConfig::hs256(&DevSecret::new(SECRET).unwrap(), ISSUER, AUDIENCE)
}

fn token() -> String {
    server::mint_dev_token(
        &DevSecret::new(SECRET).unwrap(),
        ISSUER,
        AUDIENCE,
        "ana",
        "analyst",
        &["acme".to_string()],
        Duration::from_secs(600),
    )
    .unwrap()
}

fn dau() -> Value {
    json!({"kind":"metric","metrics":["dau"],"period":{"preset":"last_week"},"compare":"previous_period"})
}

#[tokio::test]
#[ignore = "needs PostgreSQL on 127.0.0.1: cargo test -- --ignored"]
async fn a_warehouse_that_does_not_answer_is_503_and_a_slow_query_is_504() {
    // PostgreSQL through a proxy the test kills: the warehouse opens, then goes away.
    let reached = reach(Kind::Postgres).await;
    let proxy = Proxy::start(&upstream_of(&reached.url), 0).await;
    let down = Warehouse::open(&via(&reached.url, proxy.addr.port()))
        .await
        .expect("PostgreSQL answers through the proxy");
    proxy.kill().await;
    let engine = Engine::new(
        Arc::new(Catalog::embedded_default()),
        down,
        Limits::default(),
    );
    let mut store = None;
    let api = start(auth(), |mut state: AppState| {
        state.engine = Arc::new(engine);
        store = Some(state.store.clone());
        state
    })
    .await;
    let r = api
        .post("/v1/query", Some(&token()), &json!({"dsl": dau()}))
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert_eq!(r.body["code"], "warehouse_unavailable");
    assert!(r.headers.contains_key("retry-after"));
    assert!(!r.text.contains("127.0.0.1"), "no internals: {}", r.text);
    let ready = api.get("/readyz", None).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    let rows = store
        .unwrap()
        .audit_rows(&AuditFilter {
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].entry.status, Some(503));
    assert_eq!(rows[0].entry.code.as_deref(), Some("warehouse_unavailable"));

    // The demo warehouse with a time limit no query can meet.
    let slow = common::engine().await.with_limits(Limits {
        row_cap: 10_000,
        timeout: Duration::from_nanos(1),
    });
    let api = start(auth(), |mut state: AppState| {
        state.engine = Arc::new(slow);
        state
    })
    .await;
    let r = api
        .post("/v1/query", Some(&token()), &json!({"dsl": dau()}))
        .await;
    assert_eq!(r.status, StatusCode::GATEWAY_TIMEOUT, "{}", r.text);
    assert_eq!(r.body["code"], "timeout");
}

/// A fake OpenAI-compatible server that answers the DAU DSL after `delay`, and says when a
/// request has arrived (so a test knows the question is in flight, without guessing a time).
async fn slow_llm(delay: Duration) -> (String, Arc<tokio::sync::Notify>) {
    let arrived = Arc::new(tokio::sync::Notify::new());
    let heard = arrived.clone();
    let app = Router::new().route(
        "/v1/chat/completions",
        post(move |Json(_): Json<Value>| async move {
            heard.notify_one();
            tokio::time::sleep(delay).await;
            let content = json!({"query": dau()}).to_string();
            Json(json!({
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1_764_000_000,
                "model": "fake",
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
            }))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/v1"), arrived)
}

#[tokio::test]
async fn shutdown_drains_the_request_in_flight_and_refuses_new_ones() {
    let (llm_url, arrived) = slow_llm(Duration::from_millis(800)).await;
    let engine = common::engine().await;
    let llm = Translators::llm_for(
        LlmConfig::new(llm_url, "fake"),
        engine.catalog(),
        common::default_prompt_examples(),
    )
    .unwrap();
    let translators = Translators::new(
        Mode::Llm,
        engine.catalog().clone(),
        engine.rules().clone(),
        Some(Arc::new(llm)),
    )
    .unwrap();
    let engine = engine.with_translators(translators);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        &format!("sqlite://{}", dir.path().join("store.db").display()),
        StoreOptions::default(),
    )
    .await
    .unwrap();
    let state = AppState::new(Arc::new(engine), auth(), Arc::new(store))
        .with_today(Today::Fixed(common::date(common::TODAY)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::serve(listener, state, async {
        let _ = stopped.await;
    }));

    let client = reqwest::Client::new();
    let in_flight = tokio::spawn({
        let (client, base) = (client.clone(), base.clone());
        async move {
            client
                .post(format!("{base}/v1/chat"))
                .bearer_auth(token())
                .json(&json!({"question": "What was our DAU last week vs the week before?"}))
                .send()
                .await
        }
    });
    // The question is in the server (its translation waits on the LLM): now stop.
    tokio::time::timeout(Duration::from_secs(10), arrived.notified())
        .await
        .expect("the chat request reaches the LLM");
    stop.send(()).unwrap();
    let answered = in_flight
        .await
        .unwrap()
        .expect("the in-flight request completes");
    assert_eq!(answered.status(), StatusCode::OK);
    let body: Value = answered.json().await.unwrap();
    assert_eq!(body["outcome"], "answered", "{body}");
    assert_eq!(body["translator"], "llm");
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server stops once drained")
        .unwrap()
        .unwrap();
    let fresh = reqwest::Client::new()
        .get(format!("{base}/healthz"))
        .send()
        .await;
    assert!(fresh.is_err(), "no new connections after shutdown");
}
