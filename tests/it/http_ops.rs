//! Operations endpoints against a real listener: `GET /metrics` counts requests by route
//! template, status and outcome and shows stage histograms after a query; `GET /openapi.json` is
//! OpenAPI 3.1, names every route the router serves, and describes the bodies the server really
//! sends (checked by validating live responses against the document's own schemas).

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::http::{start, Api, AUDIENCE, ISSUER};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tally::server::{self, AuthConfig, DevSecret};

const SECRET: &str = "http-ops-test-secret-0123456789abcdef0123";

fn token(role: &str) -> String {
    server::mint_dev_token(
        &DevSecret::new(SECRET).unwrap(),
        ISSUER,
        AUDIENCE,
        &format!("user-{role}"),
        role,
        &["acme".to_string()],
        std::time::Duration::from_secs(600),
    )
    .unwrap()
}

async fn api() -> Api {
    start(
        AuthConfig::hs256(&DevSecret::new(SECRET).unwrap(), ISSUER, AUDIENCE),
        |s| s,
    )
    .await
}

fn dau() -> Value {
    json!({"kind":"metric","metrics":["dau"],"period":{"preset":"last_week"},"compare":"previous_period"})
}

/// The value of one sample line (`name{labels} value`), if present.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|l| {
        l.strip_prefix(series)
            .and_then(|rest| rest.strip_prefix(' '))
            .map(|v| v.parse().unwrap())
    })
}

#[tokio::test]
async fn metrics_count_requests_by_route_status_and_outcome_and_show_stage_histograms() {
    let api = api().await;
    let analyst = token("analyst");
    // Answered twice, refused once, invalid once, unauthenticated once, an unknown path once.
    for _ in 0..2 {
        let r = api
            .post("/v1/query", Some(&analyst), &json!({"dsl": dau()}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let pii = json!({"kind":"list","entity":"customer","fields":["company_name","contact_email"]});
    let r = api
        .post("/v1/query", Some(&analyst), &json!({"dsl": pii}))
        .await;
    assert_eq!(r.body["outcome"], "refused");
    let bad = json!({"kind":"metric","metrics":["no_such_metric"],"period":{"preset":"last_week"}});
    let r = api
        .post("/v1/query", Some(&analyst), &json!({"dsl": bad}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = api.post("/v1/query", None, &json!({"dsl": dau()})).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = api.get("/no/such/path/a1b2c3", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let r = api.get("/metrics", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let m = r.text;
    let requests = |status: u16, outcome: &str| {
        sample(
            &m,
            &format!(
                "tally_http_requests_total{{route=\"/v1/query\",method=\"POST\",status=\"{status}\",outcome=\"{outcome}\"}}"
            ),
        )
    };
    assert_eq!(requests(200, "answered"), Some(2.0), "{m}");
    assert_eq!(requests(200, "refused"), Some(1.0), "{m}");
    assert_eq!(requests(400, "invalid"), Some(1.0), "{m}");
    assert_eq!(requests(401, "none"), Some(1.0), "{m}");
    // Unknown paths share one label: a client cannot grow the registry.
    assert_eq!(
        sample(
            &m,
            "tally_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\",outcome=\"none\"}"
        ),
        Some(1.0),
        "{m}"
    );
    assert!(!m.contains("a1b2c3"));
    assert_eq!(
        sample(
            &m,
            "tally_http_request_duration_seconds_count{route=\"/v1/query\"}"
        ),
        Some(5.0),
        "{m}"
    );
    // Stage histograms: every answered query ran check, plan, compile, execute and answer.
    for stage in ["check", "plan", "compile", "execute", "answer"] {
        let n = sample(
            &m,
            &format!("tally_stage_duration_seconds_count{{stage=\"{stage}\"}}"),
        )
        .unwrap();
        assert!(n >= 2.0, "stage {stage}: {n}\n{m}");
        let inf = sample(
            &m,
            &format!("tally_stage_duration_seconds_bucket{{stage=\"{stage}\",le=\"+Inf\"}}"),
        );
        assert_eq!(inf, Some(n), "stage {stage}");
    }
    // Three queries reached the pipeline (answered ×2, refused ×1, invalid ×1 = 4 totals).
    assert_eq!(
        sample(&m, "tally_stage_duration_seconds_count{stage=\"total\"}"),
        Some(4.0),
        "{m}"
    );
    assert!(sample(&m, "tally_stage_duration_seconds_sum{stage=\"execute\"}").unwrap() > 0.0);
    // No LLM here: its breaker is reported closed, so the alert on it has a series to read.
    assert_eq!(sample(&m, "tally_llm_breaker_open"), Some(0.0), "{m}");
    // DSL queries are not translated.
    assert_eq!(
        sample(
            &m,
            "tally_stage_duration_seconds_count{stage=\"translate\"}"
        ),
        Some(0.0)
    );
    // No question, caller or value leaks into metrics.
    assert!(!m.contains("user-analyst") && !m.contains("dau") && !m.contains("acme"));
}

/// Streamed chats (`Accept: text/event-stream`) are counted once each, when their last event is
/// sent, by outcome and with their stage timings, like `POST /v1/query`.
#[tokio::test]
async fn metrics_count_streamed_chats_by_outcome_with_stage_timings() {
    let api = api().await;
    let analyst = token("analyst");
    let questions = [
        ("What was our DAU last week vs the week before?", "answered"),
        (
            "Show me the email addresses of customers who churned last month.",
            "refused",
        ),
        ("florp the zorbix wibble", "needs_clarification"),
    ];
    for (question, outcome) in questions {
        let res = api
            .client
            .post(format!("{}/v1/chat", api.base))
            .bearer_auth(&analyst)
            .header("accept", "text/event-stream")
            .json(&json!({ "question": question }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let text = res.text().await.unwrap();
        assert!(
            text.contains(&format!("\"outcome\":\"{outcome}\"")),
            "{question}: {text}"
        );
    }
    let m = api.get("/metrics", None).await.text;
    let chats = |outcome: &str| {
        sample(
            &m,
            &format!(
                "tally_http_requests_total{{route=\"/v1/chat\",method=\"POST\",status=\"200\",outcome=\"{outcome}\"}}"
            ),
        )
    };
    assert_eq!(chats("answered"), Some(1.0), "{m}");
    assert_eq!(chats("refused"), Some(1.0), "{m}");
    assert_eq!(chats("needs_clarification"), Some(1.0), "{m}");
    assert_eq!(
        chats("none"),
        None,
        "a streamed chat is not counted at its head: {m}"
    );
    assert_eq!(
        sample(
            &m,
            "tally_http_request_duration_seconds_count{route=\"/v1/chat\"}"
        ),
        Some(3.0),
        "{m}"
    );
    // Every chat was translated; the answered one ran every stage.
    let count = |stage: &str| {
        sample(
            &m,
            &format!("tally_stage_duration_seconds_count{{stage=\"{stage}\"}}"),
        )
        .unwrap()
    };
    assert_eq!(count("total"), 3.0, "{m}");
    assert_eq!(count("translate"), 3.0, "{m}");
    for stage in ["check", "plan", "compile", "execute", "answer"] {
        assert!(count(stage) >= 1.0, "stage {stage}\n{m}");
    }
    assert!(sample(&m, "tally_stage_duration_seconds_sum{stage=\"execute\"}").unwrap() > 0.0);
}

/// Every `.route("PATH", method(…))` in the route modules, as (OpenAPI path, method).
fn routes_in_source() -> BTreeSet<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/server/routes");
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            routes_in_file(&path, &mut found);
        }
    }
    found
}

fn routes_in_file(path: &Path, found: &mut BTreeSet<(String, String)>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut rest = text.as_str();
    while let Some(at) = rest.find(".route(\"") {
        rest = &rest[at + ".route(\"".len()..];
        let end = rest.find('"').unwrap();
        // axum's `{*rest}` wildcard is an ordinary path parameter in OpenAPI.
        let route = rest[..end].replace("{*", "{");
        // The handler expression runs to the `.route(` call's closing parenthesis.
        let mut depth = 1;
        let mut close = 0;
        for (i, c) in rest.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        close = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let handlers = &rest[end..close];
        let mut methods = 0;
        for method in ["get", "post", "put", "delete", "patch"] {
            let called = handlers.match_indices(&format!("{method}(")).any(|(i, _)| {
                i == 0
                    || !handlers.as_bytes()[i - 1].is_ascii_alphanumeric()
                        && handlers.as_bytes()[i - 1] != b'_'
            });
            if called {
                found.insert((route.clone(), method.to_string()));
                methods += 1;
            }
        }
        assert!(
            methods > 0,
            "{}: cannot tell the methods of route {route}",
            path.display()
        );
        rest = &rest[close..];
    }
}

/// Resolves a local `$ref` (`#/a/b`) in the document.
fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

/// A validator for one component schema, resolving its references inside the document.
fn validator(doc: &Value, component: &str) -> jsonschema::Validator {
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("#/components/schemas/{component}"),
        "components": doc["components"],
    });
    jsonschema::draft202012::new(&schema)
        .unwrap_or_else(|e| panic!("schema {component} does not compile: {e}"))
}

fn assert_valid(doc: &Value, component: &str, instance: &Value) {
    let v = validator(doc, component);
    let errors: Vec<String> = v
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "a live body does not match {component}: {errors:?}\n{instance}"
    );
}

#[tokio::test]
async fn openapi_is_3_1_names_every_route_and_describes_live_bodies() {
    let api = api().await;
    let r = api.get("/openapi.json", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."));
    assert_eq!(doc, server::openapi::document());

    // Every route the router serves is documented, with its method.
    let routes = routes_in_source();
    assert!(routes.contains(&("/v1/query".into(), "post".into())));
    assert!(routes.contains(&("/metrics".into(), "get".into())));
    let missing: Vec<_> = routes
        .iter()
        .filter(|(path, method)| doc["paths"][path.as_str()][method.as_str()].is_null())
        .collect();
    assert!(
        missing.is_empty(),
        "routes missing from src/server/openapi.rs: {missing:?}"
    );
    // And the DESIGN §7 routes, including those whose handlers are still arriving.
    for (path, method) in [
        ("/v1/chat", "post"),
        ("/v1/query", "post"),
        ("/v1/compile", "post"),
        ("/v1/schema", "get"),
        ("/v1/catalog", "get"),
        ("/v1/queries/{id}", "get"),
        ("/v1/admin/queries/{id}/rerun", "post"),
        ("/v1/admin/revoke", "post"),
        ("/v1/admin/audit", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
        ("/openapi.json", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }

    // Every reference resolves; bearer auth is the default and the probes opt out.
    let mut all = Vec::new();
    refs(&doc, &mut all);
    for reference in &all {
        assert!(
            resolve(&doc, reference).is_some(),
            "dangling $ref {reference}"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(doc["security"], json!([{"bearer": []}]));
    assert_eq!(doc["paths"]["/healthz"]["get"]["security"], json!([]));
    let query = &doc["paths"]["/v1/query"]["post"];
    for status in ["400", "401", "403", "413", "429", "503", "504"] {
        assert!(query["responses"][status]["$ref"].is_string(), "{status}");
    }
    assert!(
        doc["components"]["responses"]["TooManyRequests"]["headers"]["Retry-After"].is_object()
    );

    // Live bodies match the documented schemas.
    let analyst = token("analyst");
    let answered = api
        .post("/v1/query", Some(&analyst), &json!({"dsl": dau()}))
        .await;
    assert_eq!(answered.status, StatusCode::OK);
    assert_valid(&doc, "Response", &answered.body);
    let pii = json!({"kind":"list","entity":"customer","fields":["company_name","contact_email"]});
    let refused = api
        .post("/v1/query", Some(&analyst), &json!({"dsl": pii}))
        .await;
    assert_valid(&doc, "Response", &refused.body);
    let invalid = api
        .post(
            "/v1/query",
            Some(&analyst),
            &json!({"dsl": {"kind": "metric", "metrics": ["nope"]}}),
        )
        .await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert_valid(&doc, "InvalidQueryBody", &invalid.body);
    let unauthorized = api.get("/v1/catalog", None).await;
    assert_valid(&doc, "ErrorBody", &unauthorized.body);
    let catalog = api.get("/v1/catalog", Some(&analyst)).await;
    assert_valid(&doc, "CatalogView", &catalog.body);
    let compiled = api
        .post("/v1/compile", Some(&analyst), &json!({"dsl": dau()}))
        .await;
    assert_eq!(compiled.status, StatusCode::OK, "{}", compiled.text);
    assert_valid(&doc, "CompileResponse", &compiled.body);
    let chat = api
        .post(
            "/v1/chat",
            Some(&analyst),
            &json!({"question": "daily active users last week"}),
        )
        .await;
    assert_eq!(chat.status, StatusCode::OK, "{}", chat.text);
    assert_valid(&doc, "ChatResponse", &chat.body);
    // Request bodies too: what the tests send is what the document accepts.
    assert_valid(
        &doc,
        "QueryRequest",
        &json!({"dsl": dau(), "workspace": "acme"}),
    );
    assert_valid(
        &doc,
        "CompileRequest",
        &json!({"dsl": dau(), "dialect": "postgres"}),
    );
}

/// The document is committed as `dsl-spec/openapi.json` so API changes show up in review.
/// Regenerate with `TALLY_BLESS=1 cargo test --test it http_ops::` and review the diff.
#[test]
fn the_committed_openapi_document_is_fresh() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dsl-spec/openapi.json");
    let text = serde_json::to_string_pretty(&server::openapi::document()).unwrap() + "\n";
    if std::env::var_os("TALLY_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "dsl-spec/openapi.json is stale; regenerate with \
         `TALLY_BLESS=1 cargo test --test it http_ops::` and commit the reviewed diff"
    );
}

/// The result cache: a repeated question is answered from it (`cached: true`, the same data,
/// still one audit row per request); another workspace or another period is not; entries expire.
#[tokio::test]
async fn repeated_questions_come_from_the_result_cache_and_are_still_audited() {
    let engine = common::engine()
        .await
        .with_cache(Some(tally::exec::ResultCache::new(
            tally::exec::CacheConfig {
                ttl: std::time::Duration::from_millis(700),
                max_bytes: 8 * 1024 * 1024,
            },
        )));
    let dir = tempfile::tempdir().unwrap();
    let store = tally::store::Store::open(
        &format!("sqlite://{}", dir.path().join("store.db").display()),
        tally::store::StoreOptions::default(),
    )
    .await
    .unwrap();
    let mut kept = None;
    let api = common::http::start_with(
        engine,
        store,
        dir,
        AuthConfig::hs256(&DevSecret::new(SECRET).unwrap(), ISSUER, AUDIENCE),
        |s| {
            kept = Some(s.clone());
            s
        },
    )
    .await;
    let state = kept.unwrap();
    let analyst = token("analyst");
    let ask = |dsl: Value, workspace: &'static str| {
        let (api, analyst) = (&api, &analyst);
        async move {
            let both = server::mint_dev_token(
                &DevSecret::new(SECRET).unwrap(),
                ISSUER,
                AUDIENCE,
                "user-both",
                "analyst",
                &["acme".to_string(), "globex".to_string()],
                std::time::Duration::from_secs(600),
            )
            .unwrap();
            let token = if workspace == "acme" {
                analyst.clone()
            } else {
                both
            };
            let r = api
                .post(
                    "/v1/query",
                    Some(&token),
                    &json!({"dsl": dsl, "workspace": workspace}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            r.body
        }
    };
    let first = ask(dau(), "acme").await;
    assert_eq!(first["cached"], false);
    let second = ask(dau(), "acme").await;
    assert_eq!(second["cached"], true, "{second}");
    assert_eq!(second["data"], first["data"]);
    assert_eq!(second["answer"], first["answer"]);
    assert_ne!(second["query_id"], first["query_id"]);
    // Another workspace sends other values: not shared.
    let globex = ask(dau(), "globex").await;
    assert_eq!(globex["cached"], false);
    assert_ne!(globex["data"], first["data"]);
    // Another period: not shared.
    let month = ask(
        json!({"kind":"metric","metrics":["dau"],"period":{"preset":"last_month"}}),
        "acme",
    )
    .await;
    assert_eq!(month["cached"], false);
    // Entries live for the time to live only.
    tokio::time::sleep(std::time::Duration::from_millis(900)).await;
    let later = ask(dau(), "acme").await;
    assert_eq!(later["cached"], false);
    assert_eq!(later["data"], first["data"]);
    let rows = state
        .store
        .audit_rows(&tally::store::AuditFilter {
            after_seq: None,
            limit: 100,
            workspaces: None,
        })
        .await
        .unwrap();
    assert_eq!(
        rows.len(),
        5,
        "every answer, cached or not, has its audit row"
    );
}
