//! The defects found by attacking the running server (issue 11), each reproduced as it was
//! found, against a real listener on 127.0.0.1 with real stores and engines, and kept fixed:
//! cross-tenant revocation, failed-auth floods, a store that did not heal, NUL in values, the
//! admin rerun's data leak, stream events before the audit row, requests queued behind a dead
//! store, `tally audit verify` gaps, panics, audit hygiene and differencing attacks on
//! small-group suppression. (JWT hardening is in `http_auth.rs`.)

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Datelike;
use common::engines::{reach, Kind, Proxy};
use common::http::{start, start_with, Api, AUDIENCE, ISSUER};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::{ConnectOptions, Row};
use tally::server::{self, AppState, AuthConfig, Caller, DevSecret, RateLimitConfig};
use tally::store::{AuditFilter, AuditRow, Store, StoreOptions};

const SECRET: &str = "hardening-test-secret-0123456789abcdef0123";

fn auth() -> AuthConfig {
    AuthConfig::hs256(&DevSecret::new(SECRET).unwrap(), ISSUER, AUDIENCE)
}

fn token_for(subject: &str, role: &str, workspaces: &[&str]) -> String {
    let ws: Vec<String> = workspaces.iter().map(|w| w.to_string()).collect();
    server::mint_dev_token(
        &DevSecret::new(SECRET).unwrap(),
        ISSUER,
        AUDIENCE,
        subject,
        role,
        &ws,
        Duration::from_secs(600),
    )
    .unwrap()
}

fn jti_of(token: &str) -> String {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    let claims: Value = serde_json::from_slice(&bytes).unwrap();
    claims["jti"].as_str().unwrap().to_string()
}

fn dau() -> Value {
    json!({"kind":"metric","metrics":["dau"],"period":{"preset":"last_week"}})
}

/// A server on the demo warehouse and a fresh SQLite store, and its state.
async fn serve(configure: impl FnOnce(AppState) -> AppState) -> (Api, AppState) {
    let mut kept = None;
    let api = start(auth(), |state: AppState| {
        let state = configure(state);
        kept = Some(state.clone());
        state
    })
    .await;
    (api, kept.unwrap())
}

async fn all_rows(store: &Store) -> Vec<AuditRow> {
    store
        .audit_rows(&AuditFilter {
            after_seq: None,
            limit: 1000,
            workspaces: None,
        })
        .await
        .unwrap()
}

fn detail(row: &AuditRow) -> Value {
    row.entry
        .detail
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or(Value::Null)
}

// ---------------------------------------------------------------------------------------------
// 1. Revocation is scoped to the admin's workspaces.

#[tokio::test]
async fn an_admin_revokes_only_in_their_own_workspaces() {
    let (api, _) = serve(|s| s).await;
    let ana = token_for("ana", "analyst", &["acme"]);
    let ana_globex = token_for("ana", "analyst", &["globex"]);
    let bea_both = token_for("bea", "analyst", &["acme", "globex"]);
    let globex_admin = token_for("gina", "admin", &["globex"]);
    let acme_admin = token_for("adam", "admin", &["acme"]);
    // Ana's acme token is used, so the log knows where it belongs.
    assert_eq!(
        api.get("/v1/catalog", Some(&ana)).await.status,
        StatusCode::OK
    );

    // Globex's admin cannot revoke acme's token: it does not exist for them.
    let r = api
        .post(
            "/v1/admin/revoke",
            Some(&globex_admin),
            &json!({"jti": jti_of(&ana)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(r.body["code"], "token_not_found");
    assert_eq!(
        api.get("/v1/catalog", Some(&ana)).await.status,
        StatusCode::OK
    );

    // A subject revoke by globex's admin applies in globex only.
    let r = api
        .post(
            "/v1/admin/revoke",
            Some(&globex_admin),
            &json!({"subject": "ana"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["workspaces"], json!(["globex"]));
    assert_eq!(
        api.get("/v1/catalog", Some(&ana)).await.status,
        StatusCode::OK
    );
    let r = api.get("/v1/catalog", Some(&ana_globex)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["reason"], "revoked");

    // A token granting both workspaces keeps the one not revoked.
    let r = api
        .post(
            "/v1/admin/revoke",
            Some(&globex_admin),
            &json!({"subject": "bea"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let in_acme = api
        .post(
            "/v1/query",
            Some(&bea_both),
            &json!({"dsl": dau(), "workspace": "acme"}),
        )
        .await;
    assert_eq!(in_acme.status, StatusCode::OK, "{}", in_acme.text);
    let in_globex = api
        .post(
            "/v1/query",
            Some(&bea_both),
            &json!({"dsl": dau(), "workspace": "globex"}),
        )
        .await;
    assert_eq!(in_globex.status, StatusCode::UNAUTHORIZED);
    assert_eq!(in_globex.body["reason"], "revoked");

    // Acme's admin can revoke acme's token.
    let r = api
        .post(
            "/v1/admin/revoke",
            Some(&acme_admin),
            &json!({"jti": jti_of(&ana)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = api.get("/v1/catalog", Some(&ana)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["reason"], "revoked");
}

// ---------------------------------------------------------------------------------------------
// 2. Failed-auth floods are limited per address and coalesced in the log.

#[tokio::test]
async fn garbage_tokens_are_limited_per_address_and_audited_in_coalesced_rows() {
    let (api, state) = serve(|s| {
        s.with_rate_limit(RateLimitConfig {
            requests: 5,
            per_secs: 60,
            unauthenticated_requests: 10,
            ..RateLimitConfig::default()
        })
        .unwrap()
        .with_coalesce_interval(Duration::from_secs(3600))
    })
    .await;
    let mut statuses = Vec::new();
    for i in 0..40 {
        let r = api.get("/v1/catalog", Some(&format!("garbage-{i}"))).await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            assert!(r.headers.contains_key("retry-after"));
            assert_eq!(r.body["code"], "rate_limited", "{}", r.text);
        }
        statuses.push(r.status);
    }
    let unauthorized = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((unauthorized, limited), (10, 30), "{statuses:?}");
    // No store work per failed request: nothing was written yet.
    let written = all_rows(&state.store).await;
    assert!(written.is_empty(), "{written:?}");

    // A user with a valid token from the same address is not limited by the flood; past its
    // own budget it is limited, and those 429s are coalesced too.
    let ana = token_for("ana", "analyst", &["acme"]);
    let mut ok = 0;
    for _ in 0..7 {
        if api.get("/v1/catalog", Some(&ana)).await.status == StatusCode::OK {
            ok += 1;
        }
    }
    assert_eq!(ok, 5);
    assert_eq!(
        all_rows(&state.store).await.len(),
        5,
        "answered requests are written at once"
    );

    assert_eq!(state.coalescer.pending_requests(), 42);
    assert_eq!(state.flush_audit().await.unwrap(), 3);
    let rows = all_rows(&state.store).await;
    let coalesced: Vec<(Option<i64>, Value)> = rows
        .iter()
        .filter(|r| detail(r)["coalesced"].is_u64())
        .map(|r| (r.entry.status, detail(r)))
        .collect();
    let count = |status: i64, source: &str| {
        coalesced
            .iter()
            .find(|(s, d)| *s == Some(status) && d["source"].get(source).is_some())
            .map(|(_, d)| d["coalesced"].as_u64().unwrap())
    };
    assert_eq!(count(401, "address"), Some(10));
    assert_eq!(count(429, "address"), Some(30));
    assert_eq!(count(429, "subject"), Some(2));
    let failed = coalesced
        .iter()
        .find(|(s, _)| *s == Some(401))
        .map(|(_, d)| d.clone())
        .unwrap();
    assert_eq!(failed["reasons"], json!({"malformed_token": 10}));
    assert!(state.store.verify_chain().await.unwrap().ok);
    assert_eq!(state.coalescer.pending_requests(), 0);
}

// ---------------------------------------------------------------------------------------------
// 3. A store that was read-only heals; readiness checks writes and real reads.

/// `chattr +i` / `-i` (the test runs as root, for whom file modes do not stop writes). `None`
/// when this machine cannot (then the test skips, or fails in CI).
fn immutable(paths: &[PathBuf], on: bool) -> Option<()> {
    let flag = if on { "+i" } else { "-i" };
    for p in paths.iter().filter(|p| p.exists()) {
        let ok = Command::new("chattr")
            .arg(flag)
            .arg(p)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let message = format!("chattr {flag} {} does not work here", p.display());
            if std::env::var_os("CI").is_some() {
                panic!("{message} (CI is set)");
            }
            eprintln!("SKIPPED: {message}");
            return None;
        }
    }
    Some(())
}

/// The database file only: SQLite's WAL index (`-shm`) is memory-mapped, and a mapping that
/// cannot grow is a SIGBUS in SQLite itself, not a state a store can heal from.
fn store_files(dir: &Path) -> Vec<PathBuf> {
    ["store.db"].iter().map(|f| dir.join(f)).collect()
}

#[tokio::test]
async fn a_store_that_was_read_only_for_a_moment_heals_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let store = Store::open(
        &format!("sqlite://{}", path.join("store.db").display()),
        StoreOptions {
            lock_timeout: Duration::from_millis(500),
            ..StoreOptions::default()
        },
    )
    .await
    .unwrap();
    let engine = common::engine().await;
    let api = start_with(engine, store, dir, auth(), |s| {
        s.with_rate_limit(RateLimitConfig {
            requests: 10_000,
            ..RateLimitConfig::default()
        })
        .unwrap()
    })
    .await;
    let ana = token_for("ana", "analyst", &["acme"]);
    assert_eq!(api.get("/readyz", None).await.status, StatusCode::OK);

    if immutable(&store_files(&path), true).is_none() {
        return;
    }
    // Concurrent requests make the pool open connections while the file cannot be written.
    let burst = |n: usize| {
        let api = &api;
        let ana = &ana;
        async move {
            let requests = (0..n).map(|_| api.get("/v1/catalog", Some(ana)));
            futures_util::future::join_all(requests)
                .await
                .into_iter()
                .map(|r| r.status)
                .collect::<Vec<_>>()
        }
    };
    let during = burst(8).await;
    let ready_during = api.get("/readyz", None).await.status;
    immutable(&store_files(&path), false).unwrap();
    assert!(
        during.contains(&StatusCode::SERVICE_UNAVAILABLE),
        "the store could not be written: {during:?}"
    );
    assert_eq!(
        ready_during,
        StatusCode::SERVICE_UNAVAILABLE,
        "readyz writes to the store"
    );

    // Writable again: once the readiness probe (a write) passes, every request is answered and
    // no connection stays read-only.
    let deadline = Instant::now() + Duration::from_secs(10);
    while api.get("/readyz", None).await.status != StatusCode::OK {
        assert!(
            Instant::now() < deadline,
            "the store never became ready again"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut after = Vec::new();
    for _ in 0..5 {
        after.extend(burst(8).await);
    }
    assert!(
        after.iter().all(|s| *s == StatusCode::OK),
        "every request after the store healed: {after:?}"
    );
    assert_eq!(api.get("/readyz", None).await.status, StatusCode::OK);
}

/// A private copy of the demo warehouse.
async fn warehouse_copy(dir: &Path) -> PathBuf {
    let demo = common::demo_db().await;
    let path = dir.join("warehouse.db");
    std::fs::copy(demo, &path).unwrap();
    path
}

async fn engine_on_file(path: &Path) -> tally::pipeline::Engine {
    let warehouse = tally::exec::Warehouse::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    common::engines::engine_on(warehouse)
}

async fn serve_on_warehouse(path: &Path) -> Api {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        &format!("sqlite://{}", dir.path().join("store.db").display()),
        StoreOptions::default(),
    )
    .await
    .unwrap();
    start_with(engine_on_file(path).await, store, dir, auth(), |s| s).await
}

#[tokio::test]
async fn readiness_reads_the_warehouse_file_and_a_corrupt_file_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let path = warehouse_copy(dir.path()).await;
    let original = std::fs::read(&path).unwrap();
    let api = serve_on_warehouse(&path).await;
    let ready = api.get("/readyz", None).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text);
    assert_eq!(ready.body["store"], "ok");

    // Truncated in place (open connections still hold the file).
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(original.len() as u64 / 2)
        .unwrap();
    let r = api.get("/readyz", None).await;
    assert_eq!(
        r.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "truncated: {}",
        r.text
    );
    std::fs::write(&path, &original).unwrap();
    assert_eq!(api.get("/readyz", None).await.status, StatusCode::OK);

    // Gone (open connections would still read the deleted file).
    std::fs::remove_file(&path).unwrap();
    let r = api.get("/readyz", None).await;
    assert_eq!(
        r.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "missing: {}",
        r.text
    );
    assert_eq!(r.body["code"], "not_ready");

    // Corrupt pages: a query is 503 `warehouse_unavailable`, never 500 `internal`.
    let mut corrupt = original.clone();
    let start = corrupt.len() / 4;
    for b in &mut corrupt[start..] {
        *b = 0x5a;
    }
    std::fs::write(&path, &corrupt).unwrap();
    let api = serve_on_warehouse(&path).await;
    let ana = token_for("ana", "analyst", &["acme"]);
    let mut statuses = Vec::new();
    for dsl in [
        dau(),
        json!({"kind":"metric","metrics":["tickets_opened"],"period":{"preset":"last_month"}}),
        json!({"kind":"list","entity":"customer","fields":["company_name","mrr"]}),
    ] {
        let r = api
            .post("/v1/query", Some(&ana), &json!({"dsl": dsl}))
            .await;
        assert_ne!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.text);
        statuses.push((r.status, r.body["code"].clone()));
    }
    assert!(
        statuses
            .iter()
            .any(|(s, c)| *s == StatusCode::SERVICE_UNAVAILABLE && c == "warehouse_unavailable"),
        "{statuses:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Control characters are refused the same way on every engine.

fn with_nul_filter() -> Value {
    json!({"kind":"metric","metrics":["mrr"],"period":{"preset":"last_month"},
           "filters":[{"dimension":"plan_tier","op":"eq","values":["pro\u{0}"]}]})
}

#[tokio::test]
async fn nul_and_control_characters_are_a_400_with_a_stable_code() {
    let (api, state) = serve(|s| s).await;
    let ana = token_for("ana", "analyst", &["acme"]);
    let r = api
        .post("/v1/query", Some(&ana), &json!({"dsl": with_nul_filter()}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.body["code"], "invalid_query");
    assert_eq!(r.body["diagnostics"][0]["code"], "control_character");
    assert_eq!(r.body["diagnostics"][0]["pointer"], "/filters/0/values/0");
    assert!(r.body["data"].is_null(), "no number for a NUL filter");
    for bad in [
        "signups last week\u{0}",
        "dau\u{1b}[31m last week",
        "mrr\u{7f}",
    ] {
        let r = api
            .post("/v1/chat", Some(&ana), &json!({"question": bad}))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad:?}: {}", r.text);
        assert_eq!(r.body["diagnostics"][0]["code"], "control_character");
    }
    // A line break is spacing, not a control to refuse.
    let r = api
        .post(
            "/v1/chat",
            Some(&ana),
            &json!({"question": "What was our DAU\nlast week?"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let rows = all_rows(&state.store).await;
    assert_eq!(rows.len(), 5, "every request is audited");
    assert!(rows[..4]
        .iter()
        .all(|r| r.entry.code.as_deref() == Some("control_character")));
}

/// The same outcome on PostgreSQL and MariaDB as on SQLite.
#[tokio::test]
#[ignore = "needs PostgreSQL and MariaDB on 127.0.0.1: cargo test -- --ignored"]
async fn nul_and_control_characters_are_refused_alike_on_every_engine() {
    let (_, state) = serve(|s| s).await;
    let raw = serde_json::to_vec(&with_nul_filter()).unwrap();
    let clock = tally::plan::Clock::fixed(common::date(common::TODAY));
    let (sqlite, _) = state
        .engine
        .run(&raw, "analyst", "acme", &clock)
        .await
        .unwrap();
    assert_eq!(sqlite.outcome.as_str(), "invalid");
    for kind in [Kind::Postgres, Kind::Mysql] {
        let reached = reach(kind).await;
        common::engines::ensure_loaded(kind, &reached.url).await;
        let engine = common::engines::engine_on(reached.warehouse);
        let (r, _) = engine.run(&raw, "analyst", "acme", &clock).await.unwrap();
        assert_eq!(r.outcome.as_str(), "invalid", "{}", kind.name());
        assert_eq!(
            serde_json::to_value(&r.diagnostics).unwrap(),
            serde_json::to_value(&sqlite.diagnostics).unwrap(),
            "{}",
            kind.name()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 5. An admin's rerun reports; it never returns the data.

#[tokio::test]
async fn a_rerun_reports_the_outcome_and_a_result_hash_never_values_or_sql() {
    let (api, state) = serve(|s| s).await;
    let ana = token_for("ana", "analyst", &["acme"]);
    let admin = token_for("adam", "admin", &["acme"]);
    let list = json!({"kind":"list","entity":"customer","fields":["company_name","mrr"],
                      "sort":{"field":"mrr","order":"desc"},"limit":10});
    let asked = api
        .post("/v1/query", Some(&ana), &json!({"dsl": list}))
        .await;
    assert_eq!(asked.body["outcome"], "answered", "{}", asked.text);
    let names: Vec<String> = asked.body["data"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["company_name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 10);
    let id = asked.body["query_id"].as_str().unwrap();

    let r = api
        .post(
            &format!("/v1/admin/queries/{id}/rerun"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["outcome"], "answered");
    assert_eq!(r.body["row_count"], 10);
    assert_eq!(r.body["matches_original"], true);
    assert_eq!(r.body["role"], "analyst");
    for name in &names {
        assert!(
            !r.text.contains(name.as_str()),
            "{name} leaked to the admin"
        );
    }
    let top_mrr = asked.body["data"]["rows"][0]["mrr"].to_string();
    assert!(!r.text.contains(&format!(":{top_mrr}")), "{}", r.text);
    assert!(r.body.get("sql").is_none() && r.body.get("data").is_none());

    // Both runs' audit rows carry the same result hash.
    let rows = all_rows(&state.store).await;
    let hashes: Vec<&str> = rows
        .iter()
        .filter_map(|r| r.entry.result_hash.as_deref())
        .collect();
    assert_eq!(hashes.len(), 2, "{rows:?}");
    assert_eq!(hashes[0], hashes[1]);
    assert_eq!(hashes[0].len(), 64);
    assert_eq!(r.body["result_hash"], hashes[0]);
}

// ---------------------------------------------------------------------------------------------
// 6. Nothing derived from the query leaves before its audit row.

/// Makes the store refuse audit rows (a fault in the audit table only: conversations and
/// revocations still work, so a request gets as far as its audit row).
async fn audit_fault(store: &Store, on: bool) {
    let path = store
        .display_url()
        .strip_prefix("sqlite://")
        .unwrap()
        .to_string();
    let mut raw = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .connect()
        .await
        .unwrap();
    let sql = if on {
        "CREATE TRIGGER audit_fault BEFORE INSERT ON audit \
         BEGIN SELECT RAISE(ABORT, 'disk quota exceeded'); END"
    } else {
        "DROP TRIGGER audit_fault"
    };
    sqlx::query(sql).execute(&mut raw).await.unwrap();
}

#[tokio::test]
async fn a_stream_sends_nothing_derived_before_its_audit_row_and_says_what_ran() {
    let (api, state) = serve(|s| s).await;
    let ana = token_for("ana", "analyst", &["acme"]);
    audit_fault(&state.store, true).await;
    let text = api
        .client
        .post(format!("{}/v1/chat", api.base))
        .bearer_auth(&ana)
        .header("accept", "text/event-stream")
        .json(&json!({"question": "signups last week by country"}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut events: Vec<(String, Value)> = Vec::new();
    let mut name = String::new();
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("event: ") {
            name = n.to_string();
        } else if let Some(d) = line.strip_prefix("data: ") {
            events.push((name.clone(), serde_json::from_str(d).unwrap()));
        }
    }
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["translated", "validated", "executed", "error"],
        "{text}"
    );
    for (n, data) in &events[..3] {
        let keys: Vec<&String> = data.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["ms"], "{n} carries only its time: {data}");
    }
    let error = &events[3].1;
    assert_eq!(error["code"], "store_unavailable");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("withheld") && !message.contains("nothing was run"),
        "{message}"
    );
    assert!(
        !text.contains("country") && !text.contains("signups"),
        "{text}"
    );

    // Not streamed: the query ran, so the 503 says its answer is withheld, not that nothing ran.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let r = api
        .post("/v1/query", Some(&ana), &json!({"dsl": dau()}))
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    let message = r.body["message"].as_str().unwrap();
    assert!(message.contains("withheld"), "{message}");
    assert!(r.body.get("data").is_none());
    // Right after, the store is known down: nothing runs, and the message says so.
    let r = api
        .post("/v1/query", Some(&ana), &json!({"dsl": dau()}))
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.body["message"]
        .as_str()
        .unwrap()
        .contains("nothing was run"));
    audit_fault(&state.store, false).await;
}

// ---------------------------------------------------------------------------------------------
// 7. A store found down fails fast; requests do not queue behind it.

#[tokio::test]
#[ignore = "needs PostgreSQL on 127.0.0.1: cargo test -- --ignored"]
async fn requests_fail_fast_while_the_postgresql_store_is_down_and_recover_after() {
    let reached = reach(Kind::Postgres).await;
    let schema = format!("tally_hardening_{}", std::process::id());
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&reached.url)
        .await
        .unwrap();
    for sql in [
        format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
        format!("CREATE SCHEMA {schema}"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&admin)
            .await
            .unwrap();
    }
    let upstream = common::engines::upstream_of(&reached.url);
    let proxy = Proxy::start(&upstream, 0).await;
    let port = proxy.addr.port();
    let through = common::engines::via(&reached.url, port);
    let sep = if through.contains('?') { '&' } else { '?' };
    let url = format!("{through}{sep}options=-c%20search_path%3D{schema}");
    let store = Store::open(&url, StoreOptions::default()).await.unwrap();
    let engine = common::engine().await;
    let api = start_with(engine, store, tempfile::tempdir().unwrap(), auth(), |s| {
        s.with_rate_limit(RateLimitConfig {
            requests: 10_000,
            ..RateLimitConfig::default()
        })
        .unwrap()
    })
    .await;
    let ana = token_for("ana", "analyst", &["acme"]);
    assert_eq!(
        api.get("/v1/catalog", Some(&ana)).await.status,
        StatusCode::OK
    );

    let (port, upstream) = proxy.kill().await;
    let first = api.get("/v1/catalog", Some(&ana)).await;
    assert_eq!(
        first.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        first.text
    );
    // Now known down: four parallel requests each fail at once instead of 5 s in series.
    let started = Instant::now();
    let parallel =
        futures_util::future::join_all((0..4).map(|_| api.get("/v1/catalog", Some(&ana)))).await;
    let took = started.elapsed();
    assert!(parallel
        .iter()
        .all(|r| r.status == StatusCode::SERVICE_UNAVAILABLE
            && r.body["code"] == "store_unavailable"));
    assert!(took < Duration::from_secs(2), "four requests took {took:?}");

    // Back: within the longest backoff (5 s) requests are answered again.
    let proxy = Proxy::start(&upstream, port).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = api.get("/v1/catalog", Some(&ana)).await;
        if r.status == StatusCode::OK {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the store never came back: {}",
            r.text
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    proxy.kill().await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&admin)
        .await
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// 8. `tally audit verify` fails on a missing store and on deleted newest rows.

fn tally(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(args)
        .env_remove("TALLY_STORE")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn audit_verify_fails_on_a_missing_store_and_on_deleted_newest_rows() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here.db");
    let missing_url = format!("sqlite://{}", missing.display());
    let (code, out, err) = tally(&["audit", "verify", "--store", &missing_url]);
    assert_ne!(code, 0, "{out}{err}");
    assert!(err.contains("no store"), "{err}");
    assert!(!missing.exists(), "verify created an empty store");
    let (code, _, err) = tally(&["audit", "head", "--store", &missing_url]);
    assert_ne!(code, 0, "{err}");

    let path = dir.path().join("store.db");
    let url = format!("sqlite://{}", path.display());
    let store = Store::open(&url, StoreOptions::default()).await.unwrap();
    for n in 0..5 {
        store
            .append(&tally::store::AuditEntry {
                event: "request".into(),
                subject: Some(format!("user{n}")),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let (code, head, err) = tally(&["audit", "head", "--store", &url]);
    assert_eq!(code, 0, "{err}");
    let head = head.trim().to_string();
    assert!(head.starts_with("5:") && head.len() == 2 + 64, "{head}");
    let (code, out, err) = tally(&["audit", "verify", "--store", &url, "--head", &head]);
    assert_eq!(code, 0, "{out}{err}");

    // Someone with database access drops the guard and deletes the two newest rows.
    let mut raw = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .connect()
        .await
        .unwrap();
    for sql in [
        "DROP TRIGGER audit_no_delete",
        "DELETE FROM audit WHERE seq > 3",
    ] {
        sqlx::query(sql).execute(&mut raw).await.unwrap();
    }
    let (code, out, _) = tally(&["audit", "verify", "--store", &url]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("head mismatch"), "{out}");
    // And covers their tracks in the store's own head: the kept head still tells.
    sqlx::query(
        "UPDATE audit_head SET head_seq = 3, head_hash = (SELECT hash FROM audit WHERE seq = 3)",
    )
    .execute(&mut raw)
    .await
    .unwrap();
    let (code, out, _) = tally(&["audit", "verify", "--store", &url]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = tally(&["audit", "verify", "--store", &url, "--head", &head]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("rows were deleted"), "{out}");
    let (code, _, err) = tally(&["audit", "verify", "--store", &url, "--head", "five"]);
    assert_eq!(code, 2, "{err}");
}

// ---------------------------------------------------------------------------------------------
// 11. A panic is a 500 with an audit row; a stored follow-up naming a lost entity is no panic.

async fn boom(_caller: Caller) -> &'static str {
    panic!("a handler bug")
}

#[tokio::test]
async fn a_panicking_handler_is_an_audited_500_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        &format!("sqlite://{}", dir.path().join("store.db").display()),
        StoreOptions::default(),
    )
    .await
    .unwrap();
    let state = AppState::new(Arc::new(common::engine().await), auth(), Arc::new(store));
    let router = server::with_layers(
        axum::Router::new().route("/v1/boom", axum::routing::get(boom)),
        state.clone(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(server::serve_router(
        listener,
        router,
        state.clone(),
        std::future::pending(),
    ));
    let client = reqwest::Client::new();
    let ana = token_for("ana", "analyst", &["acme"]);
    for _ in 0..2 {
        let r = client
            .get(format!("{base}/v1/boom"))
            .bearer_auth(&ana)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["code"], "internal");
        assert!(!body.to_string().contains("handler bug"), "{body}");
    }
    let rows = all_rows(&state.store).await;
    assert_eq!(rows.len(), 2);
    assert!(rows
        .iter()
        .all(|r| r.entry.status == Some(500) && r.entry.code.as_deref() == Some("internal")));
}

#[tokio::test]
async fn a_follow_up_on_a_stored_list_whose_entity_is_gone_is_answered_not_a_panic() {
    let (api, state) = serve(|s| s).await;
    let ana = token_for("ana", "analyst", &["acme"]);
    let first = api
        .post(
            "/v1/chat",
            Some(&ana),
            &json!({"question": "list customers by mrr"}),
        )
        .await;
    let conversation = first.body["conversation_id"].as_str().unwrap().to_string();
    // The catalog changed since: the stored list's entity no longer exists.
    state
        .store
        .record_turn(
            &conversation,
            Some(r#"{"kind":"list","version":1,"entity":"ghost","fields":["name"]}"#),
            tally::store::TurnUsage::default(),
        )
        .await
        .unwrap();
    for question in ["and sort by mrr", "only the newest", "with their plan"] {
        let r = api
            .post(
                "/v1/chat",
                Some(&ana),
                &json!({"question": question, "conversation_id": conversation}),
            )
            .await;
        assert!(
            r.status == StatusCode::OK || r.status == StatusCode::BAD_REQUEST,
            "{question}: {} {}",
            r.status,
            r.text
        );
        assert!(r.body["outcome"].is_string(), "{question}: {}", r.text);
    }
}

// ---------------------------------------------------------------------------------------------
// 12. Request ids, personal data in questions, an incremental audit page.

#[tokio::test]
async fn request_ids_are_bounded_and_personal_data_in_questions_is_redacted() {
    let (api, state) = serve(|s| s).await;
    let ana = token_for("ana", "analyst", &["acme"]);
    let long = "x".repeat(300);
    let mut sent_and_got = Vec::new();
    for id in ["ok-id_1.2:3", "has spaces in it", long.as_str(), "<script>"] {
        let r = api
            .send(
                api.client
                    .get(format!("{}/v1/catalog", api.base))
                    .bearer_auth(&ana)
                    .header("x-request-id", id),
            )
            .await;
        let got = r.headers["x-request-id"].to_str().unwrap().to_string();
        sent_and_got.push((id.to_string(), got));
    }
    assert_eq!(sent_and_got[0].1, "ok-id_1.2:3", "a plain id is kept");
    for (sent, got) in &sent_and_got[1..] {
        assert_ne!(got, sent);
        assert_eq!(got.len(), 36, "a generated UUID replaces {sent:?}");
    }
    let rows = all_rows(&state.store).await;
    let ids: Vec<&str> = rows
        .iter()
        .filter_map(|r| r.entry.request_id.as_deref())
        .collect();
    let got: Vec<&str> = sent_and_got.iter().map(|(_, g)| g.as_str()).collect();
    assert_eq!(ids, got, "audit rows carry the id the response carries");

    let r = api
        .post(
            "/v1/chat",
            Some(&ana),
            &json!({"question": "what is the mrr of jane.doe@example.com, phone +1 415 555 0134?"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let id = r.body["query_id"].as_str().unwrap();
    let row = all_rows(&state.store)
        .await
        .into_iter()
        .find(|r| r.entry.query_id.as_deref() == Some(id))
        .unwrap();
    let question = row.entry.question.clone().unwrap();
    assert_eq!(question, "what is the mrr of [email], phone [number]?");
    assert_eq!(row.entry.redacted, Some(true));
    let past = api.get(&format!("/v1/queries/{id}"), Some(&ana)).await;
    assert!(!past.text.contains("jane.doe"), "{}", past.text);
    assert!(state.store.verify_chain().await.unwrap().ok);
}

#[tokio::test]
async fn the_audit_page_verifies_only_new_rows_and_still_sees_a_new_break() {
    let (api, state) = serve(|s| s).await;
    let admin = token_for("adam", "admin", &["acme"]);
    let ana = token_for("ana", "analyst", &["acme"]);
    for _ in 0..5 {
        api.get("/v1/catalog", Some(&ana)).await;
    }
    let page = api.get("/v1/admin/audit", Some(&admin)).await;
    assert_eq!(page.body["chain"]["ok"], true, "{}", page.text);
    assert_eq!(page.body["chain"]["rows"], 5);
    let page = api.get("/v1/admin/audit", Some(&admin)).await;
    assert_eq!(page.body["chain"]["ok"], true);
    assert_eq!(
        page.body["chain"]["rows"], 6,
        "the first page's own row is counted"
    );

    // A row appended after the checkpoint and then edited is found.
    api.get("/v1/catalog", Some(&ana)).await;
    let path = state
        .store
        .display_url()
        .strip_prefix("sqlite://")
        .unwrap()
        .to_string();
    let mut raw = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .connect()
        .await
        .unwrap();
    for sql in [
        "DROP TRIGGER audit_no_update",
        "UPDATE audit SET subject = 'mallory' WHERE seq = (SELECT MAX(seq) FROM audit)",
    ] {
        sqlx::query(sql).execute(&mut raw).await.unwrap();
    }
    let page = api.get("/v1/admin/audit", Some(&admin)).await;
    assert_eq!(page.body["chain"]["ok"], false, "{}", page.text);
    let problems = page.body["chain"]["breaks"].to_string();
    assert!(problems.contains("edited"), "{problems}");
    // And stays reported.
    let page = api.get("/v1/admin/audit", Some(&admin)).await;
    assert_eq!(page.body["chain"]["ok"], false);
}

// ---------------------------------------------------------------------------------------------
// 13. Differencing: a filtered total whose filter removes a small group is withheld too.

#[tokio::test]
async fn a_total_that_would_reveal_a_withheld_group_by_subtraction_is_withheld() {
    let pool = common::hand_pool().await;
    // A month, category and priority where that priority covers 1-4 customers of the category
    // and the rest of the category 5 or more: the attack of the report (8 - 7 = the withheld 1).
    let found = sqlx::query(
        "WITH t AS (SELECT customer_id, category, priority, substr(opened_at, 1, 7) AS month \
         FROM support_tickets WHERE workspace_id = 'acme' AND opened_at >= '2026-01-01' \
         AND opened_at < '2026-11-01') \
         SELECT a.month, a.category, a.priority, \
           (SELECT COUNT(DISTINCT customer_id) FROM t WHERE t.month = a.month \
              AND t.category = a.category AND t.priority = a.priority) AS small, \
           (SELECT COUNT(DISTINCT customer_id) FROM t WHERE t.month = a.month \
              AND t.category = a.category AND t.priority <> a.priority) AS rest, \
           (SELECT COUNT(*) FROM t WHERE t.month = a.month AND t.category = a.category \
              AND t.priority = a.priority) AS tickets \
         FROM (SELECT DISTINCT month, category, priority FROM t) a \
         WHERE small BETWEEN 1 AND 4 AND rest >= 5 ORDER BY a.month, a.category, a.priority \
         LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .expect("the demo has a small priority group within a category");
    let month: String = found.get("month");
    let category: String = found.get("category");
    let priority: String = found.get("priority");
    let tickets: i64 = found.get("tickets");
    assert!(tickets >= 1);
    let start = format!("{month}-01");
    let end = {
        let d = chrono::NaiveDate::parse_from_str(&start, "%Y-%m-%d").unwrap();
        let next = if d.month0() == 11 {
            chrono::NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
        } else {
            chrono::NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
        }
        .unwrap();
        (next - chrono::Days::new(1)).to_string()
    };
    let query = |filters: Value| {
        json!({"kind":"metric","metrics":["tickets_opened"],
               "period":{"between":{"start": start, "end": end}}, "filters": filters})
    };
    let (api, _) = serve(|s| s).await;
    let sam = token_for("sam", "support_agent", &["acme"]);
    let whole = api
        .post(
            "/v1/query",
            Some(&sam),
            &json!({"dsl": query(json!([{"dimension":"category","op":"eq","values":[category]}]))}),
        )
        .await;
    assert_eq!(whole.body["outcome"], "answered", "{}", whole.text);
    let whole_value = &whole.body["data"]["summary"][0]["value"];
    assert!(
        whole_value.is_number(),
        "the category's total is shown: {}",
        whole.text
    );
    let rest = api
        .post(
            "/v1/query",
            Some(&sam),
            &json!({"dsl": query(json!([
                {"dimension":"category","op":"eq","values":[category]},
                {"dimension":"priority","op":"neq","values":[priority]}
            ]))}),
        )
        .await;
    assert_eq!(rest.body["outcome"], "answered", "{}", rest.text);
    let row = &rest.body["data"]["summary"][0];
    assert!(
        row["value"].is_null() && row["suppressed"] == true,
        "{category} without {priority} in {month} covers 5+ customers, but shown beside the \
         category's total it reveals the {tickets} withheld ticket(s): {}",
        rest.text
    );
    // An analyst (no minimum group size) sees both, and they differ by the small group.
    let ana = token_for("ana", "analyst", &["acme"]);
    let shown = api
        .post(
            "/v1/query",
            Some(&ana),
            &json!({"dsl": query(json!([
                {"dimension":"category","op":"eq","values":[category]},
                {"dimension":"priority","op":"neq","values":[priority]}
            ]))}),
        )
        .await;
    let rest_value = shown.body["data"]["summary"][0]["value"].as_f64().unwrap();
    assert_eq!(whole_value.as_f64().unwrap() - rest_value, tickets as f64);
}

// ---------------------------------------------------------------------------------------------
// Group commit loses no acknowledged row when the server is killed.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_under_load_loses_no_acknowledged_audit_row() {
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let store_url = format!("sqlite://{}", dir.path().join("store.db").display());
    let config = dir.path().join("tally.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\naddr = \"127.0.0.1:{port}\"\ntoday = \"2026-11-23\"\n\
             [rate_limit]\nrequests = 1000000\n\
             [store]\nurl = \"{store_url}\"\n\
             [warehouse]\nurl = \"sqlite://{}\"\n",
            common::demo_db().await.display()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["serve", "--config"])
        .arg(&config)
        .env("TALLY_DEV_SECRET", SECRET)
        .env("TALLY_HOME", dir.path())
        .env_remove("TALLY_STORE")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.get(format!("{base}/readyz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // "tally" is the default issuer and audience of `tally serve`.
    let token = server::mint_dev_token(
        &DevSecret::new(SECRET).unwrap(),
        "tally",
        "tally",
        "ana",
        "analyst",
        &["acme".to_string()],
        Duration::from_secs(600),
    )
    .unwrap();
    let acknowledged = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut workers = Vec::new();
    for _ in 0..16 {
        let (client, base, token, acknowledged) = (
            client.clone(),
            base.clone(),
            token.clone(),
            acknowledged.clone(),
        );
        workers.push(tokio::spawn(async move {
            loop {
                let Ok(r) = client
                    .get(format!("{base}/v1/catalog"))
                    .bearer_auth(&token)
                    .send()
                    .await
                else {
                    return;
                };
                if r.status() == StatusCode::OK {
                    let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
                    acknowledged.lock().unwrap().push(id);
                }
            }
        }));
    }
    while acknowledged.lock().unwrap().len() < 300 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap(); // SIGKILL: no shutdown, no flush
    child.wait().unwrap();
    for w in workers {
        let _ = w.await;
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    let store = Store::open_existing(&store_url, StoreOptions::default())
        .await
        .unwrap();
    let report = store.verify_chain().await.unwrap();
    assert!(report.ok, "{report:?}");
    let ids: std::collections::BTreeSet<String> = all_rows(&store)
        .await
        .into_iter()
        .filter_map(|r| r.entry.request_id)
        .collect();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !ids.contains(*id))
        .collect();
    assert!(acknowledged.len() >= 300);
    assert!(
        lost.is_empty(),
        "{} acknowledged rows lost: {lost:?}",
        lost.len()
    );
}
