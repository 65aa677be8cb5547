//! The HTTP API against a real listener on 127.0.0.1: status codes, error codes, auth checks
//! (the JWT attack list) and role narrowing, on the seeded demo warehouse.

use crate::common;

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Row;
use tally::server::{self, AuthConfig, DevSecret};

const SECRET: &str = "http-test-secret-0123456789abcdef0123456789";
use common::http::{AUDIENCE, ISSUER};

/// The shared test server (fresh SQLite store, fixed day) with this file's HS256 secret.
struct Api {
    base: String,
    client: reqwest::Client,
    _server: common::http::Api,
}

async fn start() -> Api {
    let secret = DevSecret::new(SECRET).unwrap();
    let server = common::http::start(AuthConfig::hs256(&secret, ISSUER, AUDIENCE), |s| s).await;
    Api {
        base: server.base.clone(),
        client: server.client.clone(),
        _server: server,
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims(role: &str, workspaces: &[&str]) -> Value {
    json!({
        "sub": format!("user-{role}"),
        "role": role,
        "workspaces": workspaces,
        "jti": "jti-1",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now(),
        "exp": now() + 600,
    })
}

fn sign(claims: &Value, alg: Algorithm, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// A valid token minted the way `tally token` mints them.
fn token(role: &str, workspaces: &[&str]) -> String {
    let ws: Vec<String> = workspaces.iter().map(|w| w.to_string()).collect();
    server::mint_dev_token(
        &DevSecret::new(SECRET).unwrap(),
        ISSUER,
        AUDIENCE,
        &format!("user-{role}"),
        role,
        &ws,
        std::time::Duration::from_secs(600),
    )
    .unwrap()
}

fn b64(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

impl Api {
    async fn post(&self, path: &str, token: Option<&str>, body: Vec<u8>) -> (StatusCode, Value) {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        (status, v)
    }

    async fn query(&self, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.post("/v1/query", token, body.to_string().into_bytes())
            .await
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        (status, v)
    }
}

fn dau() -> Value {
    json!({"kind":"metric","metrics":["dau"],"period":{"preset":"last_week"},"compare":"previous_period"})
}

/// Mean daily distinct users in acme over [start, end), by hand.
async fn hand_dau(start: &str, end: &str) -> f64 {
    let pool = common::hand_pool().await;
    let rows = sqlx::query(
        "SELECT substr(ts, 1, 10) AS d, COUNT(DISTINCT user_id) FROM events \
         WHERE workspace_id = 'acme' AND ts >= ? AND ts < ? GROUP BY d",
    )
    .bind(start)
    .bind(end)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 7);
    rows.iter().map(|r| r.get::<i64, _>(1) as f64).sum::<f64>() / 7.0
}

#[tokio::test]
async fn dau_is_answered_for_an_analyst_with_the_hand_checked_value() {
    let api = start().await;
    let (status, r) = api
        .query(Some(&token("analyst", &["acme"])), json!({"dsl": dau()}))
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["outcome"], "answered");
    assert_eq!(
        r["data"]["period"],
        json!({"start":"2026-11-16","end":"2026-11-22"})
    );
    let s = &r["data"]["summary"][0];
    assert_eq!(s["metric"], "dau");
    assert_eq!(
        s["value"].as_f64().unwrap(),
        hand_dau("2026-11-16", "2026-11-23").await
    );
    assert_eq!(
        s["previous"].as_f64().unwrap(),
        hand_dau("2026-11-09", "2026-11-16").await
    );
    assert!(r["sql"].as_str().unwrap().contains("COUNT(DISTINCT"));

    // Naming the workspace the token grants is the same as leaving it out.
    let (status, named) = api
        .query(
            Some(&token("analyst", &["acme"])),
            json!({"dsl": dau(), "workspace": "acme"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(named["data"], r["data"]);
}

#[tokio::test]
async fn policy_refusals_are_200_with_no_data() {
    let api = start().await;
    let mrr = json!({"kind":"metric","metrics":["mrr"],"period":{"preset":"last_week"},"compare":"previous_period"});
    let (status, r) = api
        .query(
            Some(&token("support_agent", &["acme"])),
            json!({"dsl": mrr}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["outcome"], "refused");
    assert_eq!(r["data"], Value::Null);
    assert!(r["refusal"]["code"].is_string());

    let pii = json!({"kind":"list","entity":"customer","fields":["company_name","contact_email"]});
    for role in ["analyst", "support_agent", "executive"] {
        let (status, r) = api
            .query(Some(&token(role, &["acme"])), json!({"dsl": pii}))
            .await;
        assert_eq!(status, StatusCode::OK, "{role}: {r}");
        assert_eq!(r["outcome"], "refused", "{role}");
        assert_eq!(r["refusal"]["code"], "pii_not_permitted", "{role}");
        assert_eq!(r["data"], Value::Null, "{role}");
    }
}

#[tokio::test]
async fn invalid_dsl_is_400_with_diagnostics() {
    let api = start().await;
    let (status, r) = api
        .query(
            Some(&token("analyst", &["acme"])),
            json!({"dsl": {"kind":"metric","metrics":["daily_active_userz"],"period":{"preset":"last_week"}}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{r}");
    assert_eq!(r["code"], "invalid_query");
    assert_eq!(r["outcome"], "invalid");
    let diagnostics = r["diagnostics"].as_array().unwrap();
    assert!(!diagnostics.is_empty());
    assert!(diagnostics[0]["code"].is_string());
    assert!(diagnostics[0]["pointer"].is_string());
}

#[tokio::test]
async fn bad_or_missing_tokens_are_401_with_the_failed_check() {
    let api = start().await;
    let body = json!({"dsl": dau()});
    let good = claims("analyst", &["acme"]);
    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        c[k] = v;
        c
    };
    let without = |k: &str| {
        let mut c = good.clone();
        c.as_object_mut().unwrap().remove(k);
        c
    };
    let valid = sign(&good, Algorithm::HS256, SECRET);
    let (valid_header, _) = valid.split_once('.').unwrap();
    let valid_signature = valid.rsplit('.').next().unwrap();
    // The payload of another role and workspace with the original signature.
    let tampered = format!(
        "{valid_header}.{}.{valid_signature}",
        b64(&claims("analyst", &["acme", "globex"]))
    );
    let alg_none = format!(
        "{}.{}.",
        b64(&json!({"alg":"none","typ":"JWT"})),
        b64(&good)
    );
    let cases: Vec<(&str, Option<String>, &str)> = vec![
        ("no token", None, "missing_token"),
        ("garbage", Some("not-a-jwt".into()), "malformed_token"),
        ("alg none", Some(alg_none), "algorithm_not_allowed"),
        (
            "HS512 with the right secret",
            Some(sign(&good, Algorithm::HS512, SECRET)),
            "algorithm_not_allowed",
        ),
        (
            "wrong secret",
            Some(sign(
                &good,
                Algorithm::HS256,
                "another-secret-0123456789abcdef0123456789",
            )),
            "bad_signature",
        ),
        (
            "expired",
            Some(sign(
                &with("exp", json!(now() - 3600)),
                Algorithm::HS256,
                SECRET,
            )),
            "expired",
        ),
        (
            "no exp",
            Some(sign(&without("exp"), Algorithm::HS256, SECRET)),
            "missing_claim",
        ),
        (
            "not yet valid",
            Some(sign(
                &with("nbf", json!(now() + 3600)),
                Algorithm::HS256,
                SECRET,
            )),
            "not_yet_valid",
        ),
        (
            "wrong iss",
            Some(sign(
                &with("iss", json!("someone-else")),
                Algorithm::HS256,
                SECRET,
            )),
            "wrong_issuer",
        ),
        (
            "wrong aud",
            Some(sign(
                &with("aud", json!("another-api")),
                Algorithm::HS256,
                SECRET,
            )),
            "wrong_audience",
        ),
        (
            "no workspaces claim",
            Some(sign(&without("workspaces"), Algorithm::HS256, SECRET)),
            "invalid_claims",
        ),
        ("tampered payload", Some(tampered), "bad_signature"),
    ];
    for (name, token, reason) in cases {
        let (status, r) = api.query(token.as_deref(), body.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {r}");
        assert_eq!(r["code"], "unauthorized", "{name}");
        assert_eq!(r["reason"], reason, "{name}");
        assert!(!r.to_string().contains(SECRET), "{name}");
    }

    // A scheme other than Bearer.
    let res = api
        .client
        .get(format!("{}/v1/catalog", api.base))
        .header("authorization", format!("Basic {valid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers().contains_key("www-authenticate"));
    let r: Value = res.json().await.unwrap();
    assert_eq!(r["reason"], "not_bearer");

    // The untampered token works, so the cases above failed for the reason they name.
    let (status, _) = api.query(Some(&valid), body).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn roles_outside_the_catalog_and_workspaces_outside_the_token_are_403() {
    let api = start().await;
    let (status, r) = api
        .query(Some(&token("superuser", &["acme"])), json!({"dsl": dau()}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{r}");
    assert_eq!(r["code"], "unknown_role");

    let (status, r) = api
        .query(
            Some(&token("analyst", &["acme"])),
            json!({"dsl": dau(), "workspace": "globex"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{r}");
    assert_eq!(r["code"], "workspace_forbidden");

    // Two workspaces and none named: the server does not pick one.
    let two = token("analyst", &["acme", "globex"]);
    let (status, r) = api.query(Some(&two), json!({"dsl": dau()})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{r}");
    assert_eq!(r["code"], "workspace_required");
    let (status, r) = api
        .query(Some(&two), json!({"dsl": dau(), "workspace": "globex"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["outcome"], "answered");
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_and_malformed_json_is_400() {
    let api = start().await;
    let t = token("analyst", &["acme"]);
    let padding = "x".repeat(65 * 1024);
    let big = json!({"dsl": dau(), "workspace": padding}).to_string();
    let (status, r) = api.post("/v1/query", Some(&t), big.into_bytes()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{r}");
    assert_eq!(r["code"], "body_too_large");

    let (status, r) = api
        .post("/v1/query", Some(&t), b"{\"dsl\": {".to_vec())
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{r}");
    assert_eq!(r["code"], "malformed_json");

    // JSON, but not the request's shape.
    let (status, r) = api
        .query(Some(&t), json!({"dsl": dau(), "role": "admin"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{r}");
    assert_eq!(r["code"], "invalid_request");

    let (status, r) = api.get("/v1/nowhere", Some(&t)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(r["code"], "not_found");
    let (status, r) = api.get("/v1/query", Some(&t)).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r["code"], "method_not_allowed");
}

#[tokio::test]
async fn compile_gives_sql_per_dialect_only_to_roles_that_see_sql() {
    let api = start().await;
    let body = json!({"dsl": dau()}).to_string().into_bytes();
    let (status, r) = api
        .post(
            "/v1/compile",
            Some(&token("analyst", &["acme"])),
            body.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["outcome"], "compiled");
    for dialect in ["sqlite", "postgres", "mysql"] {
        let sql = r["sql"][dialect].as_str().unwrap_or_default();
        assert!(sql.contains("SELECT"), "{dialect}: {sql}");
    }
    let one = json!({"dsl": dau(), "dialect": "postgres"})
        .to_string()
        .into_bytes();
    let (status, r) = api
        .post("/v1/compile", Some(&token("analyst", &["acme"])), one)
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["sql"].as_object().unwrap().len(), 1);

    let (status, r) = api
        .post(
            "/v1/compile",
            Some(&token("support_agent", &["acme"])),
            body,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{r}");
    assert_eq!(r["code"], "sql_not_permitted");
}

/// Every string in a JSON value.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.iter().for_each(|(k, x)| {
            out.push(k.clone());
            strings(x, out)
        }),
        _ => {}
    }
}

#[tokio::test]
async fn schema_and_catalog_are_narrowed_to_the_role_and_never_name_pii() {
    let api = start().await;
    let (status, analyst) = api
        .get("/v1/schema", Some(&token("analyst", &["acme"])))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, support) = api
        .get("/v1/schema", Some(&token("support_agent", &["acme"])))
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut a = Vec::new();
    strings(&analyst, &mut a);
    let mut s = Vec::new();
    strings(&support, &mut s);
    assert!(a.iter().any(|x| x == "mrr"), "analysts may ask for mrr");
    assert!(!s.iter().any(|x| x == "mrr"), "support agents may not");
    assert!(a.iter().any(|x| x == "list"));
    assert!(!s.iter().any(|x| x == "list"));
    assert!(!a.iter().any(|x| x == "contact_email"));

    for role in ["analyst", "support_agent", "executive", "admin"] {
        let (status, c) = api.get("/v1/catalog", Some(&token(role, &["acme"]))).await;
        assert_eq!(status, StatusCode::OK, "{role}: {c}");
        assert_eq!(c["role"]["name"], role);
        let text = c.to_string();
        assert!(!text.contains("contact_email"), "{role}");
        assert!(!text.contains("\"pii\""), "{role}");
    }
    let (_, c) = api
        .get("/v1/catalog", Some(&token("analyst", &["acme"])))
        .await;
    let dau = c["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "dau")
        .unwrap();
    assert!(dau["label"].is_string() && dau["format"].is_string());
    let customer = &c["entities"][0];
    assert_eq!(customer["name"], "customer");
    assert!(customer["fields"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["name"] == "mrr"));
    let (_, c) = api
        .get("/v1/catalog", Some(&token("support_agent", &["acme"])))
        .await;
    assert_eq!(c["entities"], json!([]));
    assert!(!c["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["name"] == "mrr"));
    assert!(c["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["name"] == "country" && d["values"].as_array().is_some()));

    let (status, r) = api.get("/v1/catalog", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(r["code"], "unauthorized");
}

#[tokio::test]
async fn health_and_readiness_answer_without_a_token() {
    let api = start().await;
    let (status, r) = api.get("/healthz", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(r["status"], "ok");
    let (status, r) = api.get("/readyz", None).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "ready");

    let res = api
        .client
        .get(format!("{}/healthz", api.base))
        .send()
        .await
        .unwrap();
    assert!(
        res.headers().contains_key("x-request-id"),
        "every response carries a request id"
    );
}
