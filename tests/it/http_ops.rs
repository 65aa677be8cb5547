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
use tally::catalog::Catalog;
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
    // No Redis here: the rate limiter is not falling back from it.
    assert_eq!(
        sample(&m, "tally_rate_limit_redis_fallback"),
        Some(0.0),
        "{m}"
    );
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
    assert_eq!(doc, server::openapi::document(&Catalog::embedded_default()));

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
    for status in ["400", "401", "403", "413", "429", "500", "503", "504"] {
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
    assert_valid(&doc, "QueryResponse", &answered.body);
    let pii = json!({"kind":"list","entity":"customer","fields":["company_name","contact_email"]});
    let refused = api
        .post("/v1/query", Some(&analyst), &json!({"dsl": pii}))
        .await;
    assert_valid(&doc, "QueryResponse", &refused.body);
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

/// Every place a JSON Schema goes that holds `true` or `false`, with its path. Only
/// `additionalProperties: false` is allowed (OpenAPI 3.0 already defined that keyword as
/// "boolean or schema", and every generator reads it).
fn boolean_schemas(v: &Value, path: &str, out: &mut Vec<String>) {
    const SCHEMA: &[&str] = &[
        "items",
        "not",
        "if",
        "then",
        "else",
        "contains",
        "additionalProperties",
        "unevaluatedProperties",
        "unevaluatedItems",
        "propertyNames",
        "schema",
    ];
    const SCHEMA_MAPS: &[&str] = &["properties", "patternProperties", "$defs", "schemas"];
    const SCHEMA_LISTS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let at = format!("{path}/{k}");
                if SCHEMA.contains(&k.as_str()) && child.is_boolean() {
                    if !(k == "additionalProperties" && *child == Value::Bool(false)) {
                        out.push(at.clone());
                    }
                } else if SCHEMA_MAPS.contains(&k.as_str()) {
                    if let Value::Object(children) = child {
                        for (name, c) in children {
                            if c.is_boolean() {
                                out.push(format!("{at}/{name}"));
                            }
                        }
                    }
                } else if SCHEMA_LISTS.contains(&k.as_str()) {
                    if let Value::Array(items) = child {
                        if items.iter().any(Value::is_boolean) {
                            out.push(at.clone());
                        }
                    }
                }
                boolean_schemas(child, &at, out);
            }
        }
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| boolean_schemas(x, &format!("{path}/{i}"), out)),
        _ => {}
    }
}

/// A schema without its descriptions, a union of string enums written as one enum: what the
/// document's generator-friendly form may change without changing what is accepted.
fn same_meaning(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = serde_json::Map::new();
            for (k, child) in m {
                if k != "description" {
                    out.insert(k.clone(), same_meaning(child));
                }
            }
            let union = out.remove("anyOf").or_else(|| out.remove("oneOf"));
            match union {
                Some(Value::Array(branches))
                    if branches
                        .iter()
                        .all(|b| b["type"] == "string" && b["enum"].is_array()) =>
                {
                    let values: Vec<Value> = branches
                        .iter()
                        .flat_map(|b| b["enum"].as_array().unwrap().clone())
                        .collect();
                    out.insert("type".into(), json!("string"));
                    out.insert("enum".into(), Value::Array(values));
                }
                Some(other) => {
                    out.insert("anyOf".into(), other);
                }
                None => {}
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(same_meaning).collect()),
        other => other.clone(),
    }
}

/// What code generators need (openapi-python-client refused the document before): no boolean
/// schemas, no component named like a generated client's own types, the DSL typed by the
/// catalog, every error code an enum value listed under its status, a server, and examples.
#[test]
fn openapi_is_fit_for_client_generators() {
    let catalog = Catalog::embedded_default();
    let doc = server::openapi::document(&catalog);
    let schemas = doc["components"]["schemas"].as_object().unwrap();

    let mut booleans = Vec::new();
    boolean_schemas(&doc, "", &mut booleans);
    assert!(booleans.is_empty(), "boolean schemas at {booleans:?}");

    // Names that collide with what openapi-python-client (and others) generate beside models.
    for reserved in [
        "Response",
        "Client",
        "AuthenticatedClient",
        "File",
        "Unset",
        "Query",
    ] {
        assert!(
            !schemas.contains_key(reserved),
            "a component is named `{reserved}`"
        );
    }
    assert!(schemas.contains_key("QueryResponse"));
    // No inline object schema in a response or request body: each has a component name.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let mut bodies: Vec<&Value> = op["responses"]
                .as_object()
                .unwrap()
                .values()
                .filter_map(|r| r.get("content"))
                .flat_map(|c| c.as_object().unwrap().values())
                .collect();
            bodies.extend(
                op["requestBody"]["content"]
                    .as_object()
                    .into_iter()
                    .flat_map(|c| c.values()),
            );
            for body in bodies {
                let schema = &body["schema"];
                assert!(
                    schema.get("$ref").is_some() || schema["type"] == "string",
                    "{method} {path}: an inline body schema {schema}"
                );
            }
        }
    }

    // The request `dsl` is the catalog's DSL: one component per kind, names as enums.
    assert_eq!(
        schemas["QueryRequest"]["properties"]["dsl"]["$ref"],
        "#/components/schemas/DslQuery"
    );
    let kinds: Vec<&str> = schemas["DslQuery"]["anyOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["$ref"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"#/components/schemas/MetricQuery"),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&"#/components/schemas/FunnelQuery"),
        "{kinds:?}"
    );
    let metrics = schemas["MetricName"]["enum"].as_array().unwrap();
    assert_eq!(metrics.len(), catalog.metrics.len());
    for name in catalog.metrics.keys() {
        assert!(metrics.contains(&json!(name)), "{name}");
    }
    assert_eq!(
        schemas["PresetPeriod"]["required"],
        json!(["preset"]),
        "Period's branches are components"
    );
    // Component for component, the DSL is the catalog's validation schema (`dsl-spec/schemas`).
    let validation = tally::dsl::schema::schema(
        &tally::dsl::schema::Names::of_catalog(&catalog),
        tally::dsl::schema::Form::Validation,
    );
    let validation: Value = serde_json::from_str(
        &validation
            .to_string()
            .replace("#/$defs/", "#/components/schemas/"),
    )
    .unwrap();
    for (branch, kind) in validation["anyOf"].as_array().unwrap().iter().zip(&kinds) {
        let name = kind.rsplit('/').next().unwrap();
        assert_eq!(same_meaning(&schemas[name]), same_meaning(branch), "{name}");
    }
    for (name, def) in validation["$defs"].as_object().unwrap() {
        if name == "Period" {
            let lifted: Vec<Value> = schemas["Period"]["anyOf"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| schemas[r["$ref"].as_str().unwrap().rsplit('/').next().unwrap()].clone())
                .collect();
            assert_eq!(
                same_meaning(&json!(lifted)),
                same_meaning(&def["anyOf"]),
                "{name}"
            );
        } else {
            assert_eq!(
                same_meaning(&schemas[name.as_str()]),
                same_meaning(def),
                "{name}"
            );
        }
    }

    // Every stable code is an enum value, and each error response names the codes it carries.
    let codes = schemas["ErrorCode"]["enum"].as_array().unwrap();
    assert!(codes.contains(&json!("rate_limited")) && codes.contains(&json!("not_rerunnable")));
    let reasons = schemas["ErrorBody"]["properties"]["reason"]["enum"]
        .as_array()
        .unwrap();
    assert!(reasons.contains(&json!("expired")) && reasons.contains(&json!("revoked")));
    let responses = &doc["components"]["responses"];
    assert!(responses["TooManyRequests"]["description"]
        .as_str()
        .unwrap()
        .contains("`rate_limited`"));
    assert!(responses["InternalServerError"]["description"]
        .as_str()
        .unwrap()
        .contains("`execution_failed`"));
    assert!(responses["ServiceUnavailable"]["description"]
        .as_str()
        .unwrap()
        .contains("`warehouse_unavailable`"));

    assert_eq!(doc["servers"][0]["url"], "/");

    // Every request body has examples, each valid against the body's schema.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(content) = op["requestBody"]["content"]["application/json"].as_object() else {
                continue;
            };
            let examples = content["examples"].as_object().unwrap();
            assert!(!examples.is_empty(), "{method} {path} has no example");
            let component = content["schema"]["$ref"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap();
            for example in examples.values() {
                assert_valid(&doc, component, &example["value"]);
            }
        }
    }
}

/// Every example catalog gets a document fit for generators (no boolean schema, every example
/// valid), and a catalog without example questions still has a chat example.
#[test]
fn every_example_catalog_gets_a_generator_ready_document() {
    for example in tally::examples::all() {
        let mut catalog = Catalog::from_toml(example.catalog_toml, example.catalog_file).unwrap();
        for questions in [true, false] {
            if !questions {
                catalog.example_questions.clear();
            }
            let doc = server::openapi::document(&catalog);
            let mut booleans = Vec::new();
            boolean_schemas(&doc, "", &mut booleans);
            assert!(booleans.is_empty(), "{}: {booleans:?}", example.name);
            for (path, component) in [
                ("/v1/query", "QueryRequest"),
                ("/v1/compile", "CompileRequest"),
                ("/v1/chat", "ChatRequest"),
                ("/v1/admin/revoke", "RevokeRequest"),
            ] {
                let examples = doc["paths"][path]["post"]["requestBody"]["content"]
                    ["application/json"]["examples"]
                    .as_object()
                    .unwrap();
                assert!(!examples.is_empty(), "{}: {path}", example.name);
                for e in examples.values() {
                    assert_valid(&doc, component, &e["value"]);
                }
            }
        }
    }
}

/// The examples are answered: each `runQuery` and `chat` example is a 200 the server answers
/// for an analyst (with numbers), each `compileQuery` example compiles.
#[tokio::test]
async fn the_document_examples_are_answered() {
    let api = api().await;
    let analyst = token("analyst");
    let doc = server::openapi::document(&Catalog::embedded_default());
    let examples = |path: &str| -> Vec<(String, Value)> {
        doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["examples"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v["value"].clone()))
            .collect()
    };
    let queries = examples("/v1/query");
    assert!(queries.len() >= 3, "{queries:?}");
    for (name, body) in queries {
        let r = api.post("/v1/query", Some(&analyst), &body).await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        assert_eq!(r.body["outcome"], "answered", "{name}: {}", r.text);
        assert!(r.body["data"].is_object(), "{name}");
        assert_valid(&doc, "QueryResponse", &r.body);
    }
    for (name, body) in examples("/v1/compile") {
        let r = api.post("/v1/compile", Some(&analyst), &body).await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        assert!(r.body["sql"]["postgres"].is_string(), "{name}: {}", r.text);
        assert_valid(&doc, "CompileOutcome", &r.body);
    }
    for (name, body) in examples("/v1/chat") {
        let r = api.post("/v1/chat", Some(&analyst), &body).await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        assert_eq!(r.body["outcome"], "answered", "{name}: {}", r.text);
        assert_valid(&doc, "ChatResponse", &r.body);
    }
}

/// Probes every operation of the document the ways a caller goes wrong (no token, a bad token,
/// a role without the right, a body over the limit, malformed JSON, an unknown id) and the way
/// it goes right; every status that comes back is one the operation documents, and its body is
/// the documented error shape.
#[tokio::test]
async fn every_status_a_probe_provokes_is_documented() {
    let api = api().await;
    let doc = server::openapi::document(&Catalog::embedded_default());
    let analyst = token("analyst");
    let executive = token("executive");
    let admin = token("admin");
    let oversized = "x".repeat(server::DEFAULT_BODY_LIMIT + 1);
    let mut seen = BTreeSet::new();
    for (template, item) in doc["paths"].as_object().unwrap() {
        let path = template
            .replace("{id}", "q_0000000000000000")
            .replace("{path}", "app.js");
        for (method, op) in item.as_object().unwrap() {
            let example = op["requestBody"]["content"]["application/json"]["examples"]
                .as_object()
                .and_then(|e| e.values().next())
                .map(|e| e["value"].to_string())
                .unwrap_or_else(|| "{}".into());
            let mut probes: Vec<(&str, Option<&str>, String)> = vec![
                ("no token", None, example.clone()),
                ("a bad token", Some("not-a-token"), example.clone()),
                ("analyst", Some(&analyst), example.clone()),
                ("executive", Some(&executive), example.clone()),
                ("admin", Some(&admin), example.clone()),
            ];
            if method == "post" {
                probes.push(("oversized", Some(&analyst), oversized.clone()));
                probes.push(("malformed", Some(&analyst), "{".into()));
                probes.push(("wrong shape", Some(&analyst), "{\"nope\": 1}".into()));
            }
            for (probe, token, body) in probes {
                let url = format!("{}{path}", api.base);
                let mut req = match method.as_str() {
                    "get" => api.client.get(url),
                    "post" => api
                        .client
                        .post(url)
                        .header("content-type", "application/json")
                        .body(body),
                    other => panic!("no probe for {other}"),
                };
                if let Some(t) = token {
                    req = req.bearer_auth(t);
                }
                let r = api.send(req).await;
                let status = r.status.as_u16().to_string();
                let documented = &op["responses"][status.as_str()];
                assert!(
                    documented.is_object(),
                    "{method} {template} ({probe}) answered an undocumented {status}: {}",
                    r.text
                );
                if r.status.is_client_error() || r.status.is_server_error() {
                    let component = if r.body["code"] == "invalid_query" {
                        "InvalidQueryBody"
                    } else {
                        "ErrorBody"
                    };
                    assert_valid(&doc, component, &r.body);
                }
                seen.insert(status);
            }
        }
    }
    // The probes reach the statuses they are meant to.
    for status in ["200", "400", "401", "403", "404", "413"] {
        assert!(seen.contains(status), "no probe got {status}: {seen:?}");
    }
}

/// The document is committed as `dsl-spec/openapi.json` so API changes show up in review.
/// Regenerate with `TALLY_BLESS=1 cargo test --test it -- http_ops::the_committed dsl_spec::`
/// and review the diff.
#[test]
fn the_committed_openapi_document_is_fresh() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dsl-spec/openapi.json");
    let text =
        serde_json::to_string_pretty(&server::openapi::document(&Catalog::embedded_default()))
            .unwrap()
            + "\n";
    if std::env::var_os("TALLY_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "dsl-spec/openapi.json is stale; regenerate with \
         `TALLY_BLESS=1 cargo test --test it -- http_ops::the_committed dsl_spec::` and commit \
         the reviewed diff"
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
