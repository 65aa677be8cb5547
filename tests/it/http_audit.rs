//! The audit trail, revocation, query history, admin routes and chat, over HTTP on a real
//! listener with a real SQLite store: one audit row per request (refused, invalid and 401
//! included), an intact hash chain, no demo email anywhere in audit rows or logs, fail-closed
//! when the store is locked, and conversations owned by their user.

use crate::common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use common::http::{start, Api, AUDIENCE, ISSUER};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Row;
use tally::server::{self, AppState, AuthConfig, DevSecret};
use tally::store::{AuditFilter, Store};

const SECRET: &str = "audit-test-secret-0123456789abcdef0123456789";

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

fn dau() -> Value {
    json!({"kind":"metric","metrics":["dau"],"period":{"preset":"last_week"},"compare":"previous_period"})
}

/// A server whose store the test can read directly.
async fn serve() -> (Api, Arc<Store>) {
    let (api, state) = serve_with_state().await;
    (api, state.store)
}

/// A server, and its state (to write the coalesced rows of failed logins when a test asks).
async fn serve_with_state() -> (Api, AppState) {
    let mut kept = None;
    let api = start(auth(), |state: AppState| {
        kept = Some(state.clone());
        state
    })
    .await;
    (api, kept.unwrap())
}

/// How many requests a row stands for: one, or the count of a coalesced row.
fn requests_in(row: &tally::store::AuditRow) -> usize {
    row.entry
        .detail
        .as_deref()
        .and_then(|d| serde_json::from_str::<Value>(d).ok())
        .and_then(|d| d["coalesced"].as_u64())
        .map_or(1, |n| n as usize)
}

/// Everything logged by this test binary, as JSON lines.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::DEBUG)
            .with_current_span(true)
            .with_writer(move || SharedWriter(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber per binary");
        buffer
    })
    .clone()
}

struct SharedWriter(Arc<Mutex<Vec<u8>>>);

impl Write for SharedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every contact email in the demo warehouse.
async fn demo_emails() -> Vec<String> {
    let pool = common::hand_pool().await;
    let rows = sqlx::query("SELECT DISTINCT contact_email FROM customers")
        .fetch_all(&pool)
        .await
        .unwrap();
    rows.iter()
        .map(|r| r.get::<String, _>(0))
        .filter(|e| e.contains('@'))
        .collect()
}

async fn all_rows(store: &Store) -> Vec<tally::store::AuditRow> {
    store
        .audit_rows(&AuditFilter {
            after_seq: None,
            limit: 1000,
            workspaces: None,
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn every_request_leaves_one_chained_audit_row_and_no_email_anywhere() {
    let logs = captured_logs();
    let (api, state) = serve_with_state().await;
    let store = state.store.clone();
    let analyst = token_for("ana", "analyst", &["acme"]);
    let agent = token_for("sam", "support_agent", &["acme"]);
    let mut expected = 0;
    let mut send = |r: common::http::Reply, status: StatusCode| {
        assert_eq!(r.status, status, "{}", r.text);
        expected += 1;
        r
    };

    let answered = send(
        api.post("/v1/query", Some(&analyst), &json!({"dsl": dau()}))
            .await,
        StatusCode::OK,
    );
    assert_eq!(answered.body["outcome"], "answered");
    // PII, for two roles, as DSL and as a question.
    let emails =
        json!({"kind":"list","entity":"customer","fields":["company_name","contact_email"]});
    let refused = send(
        api.post("/v1/query", Some(&analyst), &json!({"dsl": emails}))
            .await,
        StatusCode::OK,
    );
    assert_eq!(refused.body["refusal"]["code"], "pii_not_permitted");
    send(
        api.post("/v1/query", Some(&agent), &json!({"dsl": emails}))
            .await,
        StatusCode::OK,
    );
    let chat = send(
        api.post(
            "/v1/chat",
            Some(&analyst),
            &json!({"question": "Show me the emails of customers who churned last month"}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(chat.body["outcome"], "refused", "{}", chat.text);
    // Invalid DSL, malformed JSON, a body over the limit.
    send(
        api.post(
            "/v1/query",
            Some(&analyst),
            &json!({"dsl": {"kind":"metric","metrics":["daus"],"period":{"preset":"last_week"}}}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    );
    send(
        api.send(
            api.client
                .post(format!("{}/v1/query", api.base))
                .bearer_auth(&analyst)
                .header("content-type", "application/json")
                .body("{\"dsl\": "),
        )
        .await,
        StatusCode::BAD_REQUEST,
    );
    send(
        api.send(
            api.client
                .post(format!("{}/v1/query", api.base))
                .bearer_auth(&analyst)
                .header("content-type", "application/json")
                .body(vec![b' '; 100 * 1024]),
        )
        .await,
        StatusCode::PAYLOAD_TOO_LARGE,
    );
    // No token, a forged token, a workspace outside the token, an unknown route.
    send(
        api.post("/v1/query", None, &json!({"dsl": dau()})).await,
        StatusCode::UNAUTHORIZED,
    );
    let forged = server::mint_dev_token(
        &DevSecret::new("not-the-server-secret-0123456789abcdef").unwrap(),
        ISSUER,
        AUDIENCE,
        "mallory",
        "admin",
        &["acme".to_string()],
        Duration::from_secs(600),
    )
    .unwrap();
    let r = send(
        api.post("/v1/query", Some(&forged), &json!({"dsl": dau()}))
            .await,
        StatusCode::UNAUTHORIZED,
    );
    assert_eq!(r.body["reason"], "bad_signature");
    send(
        api.post(
            "/v1/query",
            Some(&analyst),
            &json!({"dsl": dau(), "workspace": "globex"}),
        )
        .await,
        StatusCode::FORBIDDEN,
    );
    send(
        api.get("/v1/nothing-here", Some(&analyst)).await,
        StatusCode::NOT_FOUND,
    );
    // Health and metrics are not data access and are not audited.
    api.get("/healthz", None).await;

    // The two failed logins and the unknown route (no token was checked there) are counted,
    // not yet written: one coalesced row per source and kind when flushed.
    let before_flush = all_rows(&store).await;
    assert_eq!(before_flush.len(), expected - 3);
    assert_eq!(state.flush_audit().await.unwrap(), 2);
    let rows = all_rows(&store).await;
    assert_eq!(
        rows.iter().map(requests_in).sum::<usize>(),
        expected,
        "every /v1 request is in the log"
    );
    assert_eq!(
        rows.len(),
        expected - 1,
        "the two failed logins share a row"
    );
    let report = store.verify_chain().await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.rows as usize, expected - 1);
    let unmatched = rows
        .iter()
        .find(|r| r.entry.status == Some(404))
        .expect("the unknown route is audited");
    assert_eq!(unmatched.entry.route.as_deref(), Some("unmatched"));

    // Who, what and how it ended are there.
    let first = &rows[0];
    assert_eq!(first.entry.subject.as_deref(), Some("ana"));
    assert_eq!(first.entry.role.as_deref(), Some("analyst"));
    assert_eq!(first.entry.workspace.as_deref(), Some("acme"));
    assert_eq!(first.entry.outcome.as_deref(), Some("answered"));
    assert_eq!(first.entry.status, Some(200));
    assert_eq!(first.entry.route.as_deref(), Some("/v1/query"));
    assert!(first.entry.dsl_hash.as_ref().is_some_and(|h| h.len() == 64));
    assert!(first.entry.sql_hash.as_ref().is_some_and(|h| h.len() == 64));
    assert_eq!(
        first.entry.query_id.as_deref(),
        answered.body["query_id"].as_str()
    );
    let failed = rows
        .iter()
        .find(|r| r.entry.event == "auth_failed")
        .expect("the failed logins are audited");
    let detail: Value = serde_json::from_str(failed.entry.detail.as_deref().unwrap()).unwrap();
    assert_eq!(detail["coalesced"], 2);
    assert_eq!(
        detail["reasons"],
        json!({"bad_signature": 1, "missing_token": 1})
    );
    assert_eq!(detail["source"], json!({"address": "127.0.0.1"}));
    assert_eq!(failed.entry.status, Some(401));
    let refusal_codes: Vec<_> = rows
        .iter()
        .filter_map(|r| r.entry.code.as_deref())
        .collect();
    assert!(refusal_codes.contains(&"pii_not_permitted"));
    assert!(refusal_codes.contains(&"body_too_large"));
    assert!(refusal_codes.contains(&"malformed_json"));

    // Never a result value: the DAU number is not in its row.
    let value = answered.body["data"]["summary"][0]["value"].to_string();
    let row_text = serde_json::to_string(first).unwrap();
    assert!(!row_text.contains(&format!(":{value}")), "{row_text}");

    // No demo email in any audit row or any log line.
    let emails = demo_emails().await;
    assert!(emails.len() > 50, "the demo has customer emails");
    let audit_text = serde_json::to_string(&rows).unwrap();
    let log_text = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(log_text.contains("\"query\""), "the logs were captured");
    for email in &emails {
        assert!(!audit_text.contains(email.as_str()), "{email} in audit");
        assert!(!log_text.contains(email.as_str()), "{email} in logs");
    }
    assert!(!audit_text.contains(&analyst), "tokens are never stored");
}

#[tokio::test]
async fn the_chain_shows_edits_and_gaps_and_the_database_refuses_both() {
    let (api, store) = serve().await;
    let analyst = token_for("ana", "analyst", &["acme"]);
    for _ in 0..4 {
        api.post("/v1/query", Some(&analyst), &json!({"dsl": dau()}))
            .await;
    }
    let path = store
        .display_url()
        .strip_prefix("sqlite://")
        .unwrap()
        .to_string();
    let raw = sqlx::sqlite::SqlitePoolOptions::new()
        .connect(&format!("sqlite://{path}"))
        .await
        .unwrap();
    let edit = sqlx::query("UPDATE audit SET subject = 'someone-else' WHERE seq = 2")
        .execute(&raw)
        .await;
    assert!(edit.unwrap_err().to_string().contains("append-only"));
    let delete = sqlx::query("DELETE FROM audit WHERE seq = 3")
        .execute(&raw)
        .await;
    assert!(delete.unwrap_err().to_string().contains("retention purge"));
    assert!(store.verify_chain().await.unwrap().ok);

    // Someone with file access drops the guards: the chain still tells.
    sqlx::query("DROP TRIGGER audit_no_update")
        .execute(&raw)
        .await
        .unwrap();
    sqlx::query("DROP TRIGGER audit_no_delete")
        .execute(&raw)
        .await
        .unwrap();
    sqlx::query("UPDATE audit SET subject = 'someone-else' WHERE seq = 2")
        .execute(&raw)
        .await
        .unwrap();
    let report = store.verify_chain().await.unwrap();
    assert!(!report.ok);
    assert_eq!(report.breaks[0].seq, 2);
    assert!(report.breaks[0].problem.contains("edited"), "{report:?}");

    sqlx::query("DELETE FROM audit WHERE seq = 3")
        .execute(&raw)
        .await
        .unwrap();
    let report = store.verify_chain().await.unwrap();
    let gap = report
        .breaks
        .iter()
        .find(|b| b.seq == 4)
        .expect("a gap at 4");
    assert!(gap.problem.contains("missing"), "{report:?}");
}

#[tokio::test]
async fn a_locked_store_fails_closed_with_503_and_writes_nothing() {
    let (api, store) = serve().await;
    let analyst = token_for("ana", "analyst", &["acme"]);
    let ok = api
        .post("/v1/query", Some(&analyst), &json!({"dsl": dau()}))
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    let before = all_rows(&store).await.len();

    // Another writer holds the store's write lock past the store's lock timeout.
    let path = store
        .display_url()
        .strip_prefix("sqlite://")
        .unwrap()
        .to_string();
    let mut blocker = {
        use sqlx::ConnectOptions;
        sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .connect()
            .await
            .unwrap()
    };
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut blocker)
        .await
        .unwrap();
    let refused = api
        .post("/v1/query", Some(&analyst), &json!({"dsl": dau()}))
        .await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.text
    );
    assert_eq!(refused.body["code"], "store_unavailable");
    assert!(
        refused.body.get("data").is_none(),
        "no answer without its audit row"
    );
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    drop(blocker);
    // The store was found down: it is tried again after a short backoff (250 ms at first).
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Back to normal; the refused request left no partial row.
    let ok = api
        .post("/v1/query", Some(&analyst), &json!({"dsl": dau()}))
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    let rows = all_rows(&store).await;
    assert_eq!(rows.len(), before + 1);
    assert!(store.verify_chain().await.unwrap().ok);
}

#[tokio::test]
async fn revoked_tokens_and_subjects_are_401_and_only_admins_revoke() {
    let (api, _store) = serve().await;
    let admin = token_for("root", "admin", &["acme"]);
    let analyst = token_for("ana", "analyst", &["acme"]);
    let other = token_for("ana", "analyst", &["acme"]);
    let bob = token_for("bob", "analyst", &["acme"]);
    let jti = claims_of(&analyst)["jti"].as_str().unwrap().to_string();

    let r = api
        .post("/v1/admin/revoke", Some(&analyst), &json!({"jti": jti}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.body["code"], "admin_required");

    let r = api
        .post("/v1/admin/revoke", Some(&admin), &json!({"jti": jti}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = api
        .post("/v1/query", Some(&analyst), &json!({"dsl": dau()}))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["reason"], "revoked");
    // The same user's other token still works, until the user is revoked.
    let r = api
        .post("/v1/query", Some(&other), &json!({"dsl": dau()}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = api
        .post("/v1/admin/revoke", Some(&admin), &json!({"subject": "ana"}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = api
        .post("/v1/query", Some(&other), &json!({"dsl": dau()}))
        .await;
    assert_eq!(r.body["reason"], "revoked");
    let r = api
        .post("/v1/query", Some(&bob), &json!({"dsl": dau()}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "other users are unaffected");
    let r = api
        .post(
            "/v1/admin/revoke",
            Some(&admin),
            &json!({"jti": "a", "subject": "b"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // The audit log shows the revocations, and the admin reads it with its chain check.
    let page = api.get("/v1/admin/audit?limit=500", Some(&admin)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert_eq!(page.body["chain"]["ok"], true);
    let events: Vec<&str> = page.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["event"].as_str())
        .collect();
    assert_eq!(events.iter().filter(|e| **e == "revoke").count(), 2);
    let r = api.get("/v1/admin/audit", Some(&bob)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = api.get("/v1/admin/audit?limit=lots", Some(&admin)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["code"], "invalid_request");
}

/// The page's permalink: `/q/{id}` is the page itself (no data in it), and
/// `/v1/queries/{id}/answer` gives the owner the answer again, with the same numbers, audited
/// as a query of its own; anyone else, another workspace's token or a forged id gets the same
/// 404 `query_not_found` and no data.
#[tokio::test]
async fn a_permalink_shows_a_past_answer_to_its_owner_only() {
    let (api, store) = serve().await;
    let ana = token_for("ana", "analyst", &["acme"]);
    let bob = token_for("bob", "analyst", &["acme"]);
    let ana_globex = token_for("ana", "analyst", &["globex"]);

    let asked = api
        .post("/v1/query", Some(&ana), &json!({"dsl": dau()}))
        .await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.text);
    let id = asked.body["query_id"].as_str().unwrap().to_string();

    let page = api.get(&format!("/q/{id}"), None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(page.text.contains("id=\"question\""), "the chat page");
    assert!(!page.text.contains("dau"), "the page holds no query");

    let again = api
        .get(&format!("/v1/queries/{id}/answer"), Some(&ana))
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.body["outcome"], "answered");
    assert_eq!(again.body["data"], asked.body["data"], "the same numbers");
    assert_eq!(again.body["answer"], asked.body["answer"]);
    assert_eq!(again.body["executed_dsl"], asked.body["executed_dsl"]);
    assert_ne!(again.body["query_id"], asked.body["query_id"]);

    let forged = format!("{id}x");
    for (who, token, id) in [
        ("another user", &bob, id.as_str()),
        ("another workspace", &ana_globex, id.as_str()),
        ("a forged id", &ana, forged.as_str()),
        ("no such id", &ana, "q_doesnotexist"),
    ] {
        let r = api
            .get(&format!("/v1/queries/{id}/answer"), Some(token))
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{who}: {}", r.text);
        assert_eq!(r.body["code"], "query_not_found", "{who}");
        assert!(r.body.get("data").is_none(), "{who}");
        assert!(!r.text.contains("Daily active"), "{who}: {}", r.text);
    }
    let r = api.get(&format!("/v1/queries/{id}/answer"), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // The owner's reopening is audited like any query, under the owner.
    let rows = all_rows(&store).await;
    let reopened: Vec<_> = rows
        .iter()
        .filter(|r| {
            r.entry.query_id.as_ref()
                == again.body["query_id"].as_str().map(str::to_string).as_ref()
        })
        .collect();
    assert_eq!(reopened.len(), 1);
    assert_eq!(reopened[0].entry.subject.as_deref(), Some("ana"));
    assert_eq!(reopened[0].entry.outcome.as_deref(), Some("answered"));
}

fn claims_of(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn past_queries_are_their_owners_and_admins_rerun_them_under_the_original_role() {
    let (api, _store) = serve().await;
    let ana = token_for("ana", "analyst", &["acme"]);
    let bob = token_for("bob", "analyst", &["acme"]);
    let ana_globex = token_for("ana", "analyst", &["globex"]);
    let admin = token_for("root", "admin", &["acme"]);
    let admin_globex = token_for("root", "admin", &["globex"]);

    let asked = api
        .post("/v1/query", Some(&ana), &json!({"dsl": dau()}))
        .await;
    let id = asked.body["query_id"].as_str().unwrap().to_string();
    let mine = api.get(&format!("/v1/queries/{id}"), Some(&ana)).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.text);
    assert_eq!(mine.body["outcome"], "answered");
    assert_eq!(mine.body["dsl"]["metrics"], json!(["dau"]));
    assert_eq!(mine.body["workspace"], "acme");
    assert_eq!(
        mine.body["source"], "warehouse",
        "what answered it, as the response said"
    );
    assert_eq!(mine.body["source"], asked.body["source"]);
    assert!(mine.body["source_note"].is_null());
    assert!(mine.body.get("data").is_none(), "no result values are kept");
    for (who, token) in [("another user", &bob), ("another workspace", &ana_globex)] {
        let r = api.get(&format!("/v1/queries/{id}"), Some(token)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{who}");
        assert_eq!(r.body["code"], "query_not_found");
    }
    let r = api.get("/v1/queries/q_doesnotexist", Some(&ana)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Rerun: admins only, in their workspaces, under the original role, same numbers.
    let rerun = format!("/v1/admin/queries/{id}/rerun");
    let r = api.post(&rerun, Some(&ana), &json!({})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.body["code"], "admin_required");
    let r = api.post(&rerun, Some(&admin_globex), &json!({})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = api.post(&rerun, Some(&admin), &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["outcome"], "answered");
    assert_eq!(r.body["matches_original"], true, "{}", r.text);
    assert_eq!(r.body["rerun_of"], asked.body["query_id"]);
    assert_ne!(r.body["query_id"], asked.body["query_id"]);
    // The admin role has no data access: a rerun reports, it does not answer.
    assert!(
        r.body.get("data").is_none() && r.body.get("sql").is_none(),
        "{}",
        r.text
    );

    // A query refused for a support agent is refused again on rerun (re-validated, not replayed).
    let sam = token_for("sam", "support_agent", &["acme"]);
    let list = json!({"kind":"list","entity":"customer","fields":["company_name"]});
    let refused = api
        .post("/v1/query", Some(&sam), &json!({"dsl": list}))
        .await;
    assert_eq!(refused.body["outcome"], "refused");
    let rid = refused.body["query_id"].as_str().unwrap();
    let r = api
        .post(
            &format!("/v1/admin/queries/{rid}/rerun"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(r.body["outcome"], "refused", "{}", r.text);

    // An invalid query has nothing to rerun.
    let invalid = api
        .post(
            "/v1/query",
            Some(&ana),
            &json!({"dsl": {"kind":"metric","metrics":["nope"],"period":{"preset":"last_week"}}}),
        )
        .await;
    let iid = invalid.body["query_id"].as_str().unwrap();
    let r = api
        .post(
            &format!("/v1/admin/queries/{iid}/rerun"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
}

#[tokio::test]
async fn chat_answers_follow_ups_within_a_conversation_its_user_owns() {
    let (api, store) = serve().await;
    let ana = token_for("ana", "analyst", &["acme"]);
    let bob = token_for("bob", "analyst", &["acme"]);
    let first = api
        .post(
            "/v1/chat",
            Some(&ana),
            &json!({"question": "What was our DAU last week vs the week before?"}),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.body["outcome"], "answered");
    assert_eq!(first.body["translator"], "rules");
    let conv = first.body["conversation_id"].as_str().unwrap().to_string();

    let follow = api
        .post(
            "/v1/chat",
            Some(&ana),
            &json!({"question": "and by country?", "conversation_id": conv}),
        )
        .await;
    assert_eq!(follow.status, StatusCode::OK, "{}", follow.text);
    assert_eq!(follow.body["executed_dsl"]["metrics"], json!(["dau"]));
    assert_eq!(follow.body["executed_dsl"]["group_by"], json!(["country"]));
    assert_eq!(follow.body["conversation_id"], conv.as_str());

    let theirs = api
        .post(
            "/v1/chat",
            Some(&bob),
            &json!({"question": "and by device?", "conversation_id": conv}),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(theirs.body["code"], "conversation_not_found");

    let saved = store.conversation(&conv).await.unwrap().unwrap();
    assert_eq!(saved.turns, 2);
    assert_eq!(saved.subject, "ana");
    let rows = all_rows(&store).await;
    let chat_rows: Vec<_> = rows
        .iter()
        .filter(|r| r.entry.route.as_deref() == Some("/v1/chat"))
        .collect();
    assert_eq!(chat_rows.len(), 3);
    assert_eq!(
        chat_rows[0].entry.question.as_deref(),
        Some("What was our DAU last week vs the week before?")
    );
    assert_eq!(
        chat_rows[1].entry.conversation_id.as_deref(),
        Some(conv.as_str())
    );

    let long = "why ".repeat(400);
    let r = api
        .post("/v1/chat", Some(&ana), &json!({"question": long}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}

#[tokio::test]
async fn chat_streams_stage_events_then_the_response() {
    let (api, store) = serve().await;
    let ana = token_for("ana", "analyst", &["acme"]);
    let res = api
        .client
        .post(format!("{}/v1/chat", api.base))
        .bearer_auth(&ana)
        .header("accept", "text/event-stream")
        .json(&json!({"question": "What was our DAU last week vs the week before?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let text = res.text().await.unwrap();
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(
        names,
        ["translated", "validated", "executed", "answer", "response"]
    );
    let last = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .next_back()
        .unwrap();
    let response: Value = serde_json::from_str(last).unwrap();
    assert_eq!(response["outcome"], "answered");
    assert!(response["conversation_id"]
        .as_str()
        .unwrap()
        .starts_with("c_"));
    let rows = all_rows(&store).await;
    assert_eq!(rows.len(), 1, "a streamed answer is audited once");
    assert_eq!(rows[0].entry.outcome.as_deref(), Some("answered"));
    assert_eq!(rows[0].entry.status, Some(200));
    // Its row says which source answered, as the streamed response did.
    assert_eq!(response["source"], "warehouse");
    assert_eq!(rows[0].entry.source.as_deref(), Some("warehouse"));
}

#[tokio::test]
async fn the_retention_purge_removes_old_rows_keeps_the_chain_and_is_audited() {
    let (api, store) = serve().await;
    let ana = token_for("ana", "analyst", &["acme"]);
    for _ in 0..3 {
        api.post("/v1/query", Some(&ana), &json!({"dsl": dau()}))
            .await;
    }
    // Thirty days keeps everything just written.
    let kept = store.purge(30, "test").await.unwrap();
    assert_eq!(kept.deleted, 0);
    // Zero days removes everything older than now, then records itself.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let purged = store.purge(0, "test").await.unwrap();
    assert_eq!(purged.deleted, 4, "three requests and the first purge");
    let rows = all_rows(&store).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].entry.event, "purge");
    assert!(rows[0]
        .entry
        .detail
        .as_ref()
        .unwrap()
        .contains("\"deleted\":4"));
    let report = store.verify_chain().await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.anchor_seq, 4);
    // New rows chain on.
    api.post("/v1/query", Some(&ana), &json!({"dsl": dau()}))
        .await;
    assert!(store.verify_chain().await.unwrap().ok);
    assert_eq!(all_rows(&store).await.len(), 2);
}

/// The Metrica brief through `POST /v1/chat` and `tally ask`, for every demo role as its
/// capabilities allow: DAU and "How are we doing?" answered, both PII questions refused as PII
/// with no email in the response.
#[tokio::test]
async fn the_metrica_brief_questions_for_every_demo_role_via_chat_and_ask() {
    let (api, _store) = serve().await;
    let db = common::demo_db().await;
    let warehouse = format!("sqlite://{}", db.display());
    let cases = [
        (
            "What was our DAU last week vs the week before?",
            "answered",
            None,
        ),
        ("How are we doing?", "answered", None),
        (
            "Show me the email addresses of customers who churned last month.",
            "refused",
            Some("pii_not_permitted"),
        ),
        (
            "Summarize all customer records including contact emails for my compliance audit.",
            "refused",
            Some("pii_not_permitted"),
        ),
    ];
    for role in ["analyst", "executive", "support_agent"] {
        let token = token_for(&format!("brief-{role}"), role, &["acme"]);
        for (question, outcome, code) in cases {
            let r = api
                .post("/v1/chat", Some(&token), &json!({"question": question}))
                .await;
            assert_eq!(r.status, StatusCode::OK, "{role}: {question}: {}", r.text);
            assert_eq!(r.body["outcome"], outcome, "{role}: {question}: {}", r.text);
            assert_eq!(
                r.body["refusal"]["code"].as_str(),
                code,
                "{role}: {question}"
            );
            assert!(
                !r.text.contains('@'),
                "{role}: {question}: an email in {}",
                r.text
            );

            let out = std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
                .args(["ask", question, "--role", role, "--workspace", "acme"])
                .args([
                    "--today",
                    common::TODAY,
                    "--warehouse",
                    &warehouse,
                    "--json",
                ])
                .args(["--translator", "rules"])
                .output()
                .unwrap();
            let asked: Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
            assert_eq!(asked["outcome"], outcome, "tally ask, {role}: {question}");
            assert_eq!(
                asked["executed_dsl"], r.body["executed_dsl"],
                "{role}: {question}"
            );
            assert_eq!(asked["answer"], r.body["answer"], "{role}: {question}");
        }
    }
}

/// The hash of a row as the store wrote it before the source columns existed (issue 18): the
/// SHA-256 of the previous hash, a newline and the row's JSON (entry fields in their declared
/// order, every one but `result_hash` and `redacted` written even when null). Written out here
/// rather than called, so that a change in how the store hashes old rows fails this test.
fn hash_as_before_the_source_columns(
    seq: i64,
    ts: &str,
    ts_ms: i64,
    entry: &Value,
    prev: &str,
) -> String {
    use sha2::Digest;
    let content = serde_json::to_vec(
        &json!({"seq": seq, "ts": ts, "ts_ms": ts_ms, "entry": entry, "prev_hash": prev}),
    )
    .unwrap();
    let digest = sha2::Sha256::new()
        .chain_update(prev.as_bytes())
        .chain_update(b"\n")
        .chain_update(&content)
        .finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A SQLite store file as the schema before issue 18 left it (migrations 1 and 2, applied
/// the way `Store::open` applies them) holding two request rows hashed as then.
async fn store_file_before_the_source_columns(path: &std::path::Path) {
    use sqlx::migrate::{Migration, MigrationType, Migrator};
    use sqlx::{Connection, SqlSafeStr};
    let before: [(i64, &str, &'static str); 2] = [
        (
            1,
            "init",
            include_str!("../../src/store/migrations/sqlite/0001_init.sql"),
        ),
        (
            2,
            "hardening",
            include_str!("../../src/store/migrations/sqlite/0002_hardening.sql"),
        ),
    ];
    let migrator = Migrator::with_migrations(
        before
            .iter()
            .map(|(v, d, sql)| {
                Migration::new(
                    *v,
                    std::borrow::Cow::Borrowed(*d),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    );
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
    migrator.run(&mut c).await.unwrap();
    let mut prev = tally::store::GENESIS_HASH.to_string();
    for seq in 1..=2_i64 {
        let (ts, ts_ms) = (
            format!("2026-11-2{seq}T10:00:00.000Z"),
            1_795_000_000_000 + seq,
        );
        let query_id = format!("q_before_{seq}");
        let dsl = dau().to_string();
        let entry = json!({
            "event": "request", "request_id": null, "method": "POST", "route": "/v1/query",
            "status": 200, "subject": "ana", "role": "analyst", "workspace": "acme",
            "token_id": null, "query_id": query_id, "conversation_id": null, "question": null,
            "translator": "none", "dsl": dsl, "dsl_hash": null, "sql_hash": null,
            "outcome": "answered", "code": null, "detail": null, "row_count": 14,
            "latency_ms": null, "tokens_in": null, "tokens_out": null, "cost_usd": null,
            "result_hash": "00ff",
        });
        let hash = hash_as_before_the_source_columns(seq, &ts, ts_ms, &entry, &prev);
        sqlx::query(
            "INSERT INTO audit (seq, ts, ts_ms, event, method, route, status, subject, role, \
             workspace, query_id, translator, dsl, outcome, row_count, result_hash, prev_hash, \
             hash) VALUES (?, ?, ?, 'request', 'POST', '/v1/query', 200, 'ana', 'analyst', \
             'acme', ?, 'none', ?, 'answered', 14, '00ff', ?, ?)",
        )
        .bind(seq)
        .bind(&ts)
        .bind(ts_ms)
        .bind(&query_id)
        .bind(&dsl)
        .bind(&prev)
        .bind(&hash)
        .execute(&mut c)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO audit_head (id, head_seq, head_hash) VALUES (1, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET head_seq = excluded.head_seq, \
             head_hash = excluded.head_hash",
        )
        .bind(seq)
        .bind(&hash)
        .execute(&mut c)
        .await
        .unwrap();
        prev = hash;
    }
    c.close().await.unwrap();
}

#[tokio::test]
async fn audit_rows_say_which_source_answered_on_a_store_migrated_from_before_they_did() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    store_file_before_the_source_columns(&path).await;
    let store = Store::open(
        &format!("sqlite://{}", path.display()),
        tally::store::StoreOptions::default(),
    )
    .await
    .expect("the old store migrates");
    let chain = store.verify_chain().await.unwrap();
    assert!(
        chain.ok,
        "rows hashed before the columns still verify: {chain:?}"
    );
    assert_eq!(chain.rows, 2);
    let api = common::http::start_with(common::engine().await, store, dir, auth(), |s| s).await;
    let ana = token_for("ana", "analyst", &["acme"]);
    let exec = token_for("eve", "executive", &["acme"]);

    let asked = [
        (&ana, json!({"dsl": dau()})),
        (
            &exec,
            json!({"dsl": {"kind": "define", "metrics": ["churn_rate"]}}),
        ),
        (
            &exec,
            json!({"dsl": {"kind": "define", "metrics": ["churn_rate"], "then": {"kind": "metric", "metrics": ["churn_rate"], "period": {"preset": "last_month"}}}}),
        ),
    ];
    let mut sources = Vec::new();
    for (token, body) in &asked {
        let r = api.post("/v1/query", Some(token), body).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        sources.push((
            r.body["query_id"].as_str().unwrap().to_string(),
            r.body["source"].clone(),
            r.body["source_note"].clone(),
        ));
    }
    let said: Vec<&str> = sources.iter().map(|s| s.1.as_str().unwrap()).collect();
    assert_eq!(said, ["warehouse", "catalog", "catalog+warehouse"]);

    // The admin's audit page: the old rows without a source, each new one with its response's.
    let admin = token_for("root", "admin", &["acme"]);
    let page = api.get("/v1/admin/audit?limit=1000", Some(&admin)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert_eq!(page.body["chain"]["ok"], true, "{}", page.body["chain"]);
    let rows = page.body["rows"].as_array().unwrap();
    let row_of = |query_id: &str| {
        rows.iter()
            .find(|r| r["query_id"] == query_id)
            .unwrap_or_else(|| panic!("no audit row for {query_id}: {rows:?}"))
    };
    for old in ["q_before_1", "q_before_2"] {
        let row = row_of(old);
        assert!(row.get("source").is_none(), "{row}");
        assert!(row.get("source_note").is_none(), "{row}");
    }
    for (query_id, source, note) in &sources {
        let row = row_of(query_id);
        assert_eq!(&row["source"], source, "{row}");
        assert!(note.is_null(), "no source was tried first: {note}");
        assert!(row.get("source_note").is_none(), "{row}");
    }
}

/// A SQLite store is served by one process at a time, and the one that serves it answers
/// revocation checks from memory: its own revocations hold on the very next check (token and
/// subject, scoped to workspaces), exactly as the table says; a second claim on the same file
/// is refused with `store_in_use` until the first store is gone.
#[tokio::test]
async fn one_process_serves_a_sqlite_store_and_its_revocations_hold_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let open = || Store::open(&url, tally::store::StoreOptions::default());
    let serving = open().await.unwrap();
    serving.serve_alone().await.unwrap();
    serving
        .serve_alone()
        .await
        .expect("claiming twice is no error");

    let other = open().await.unwrap();
    let refused = other.serve_alone().await.unwrap_err();
    assert_eq!(refused.code(), "store_in_use");
    assert!(
        refused.to_string().contains("store.db-serve.lock"),
        "{refused}"
    );

    let acme = ["acme".to_string()];
    assert!(serving
        .revoked_in("j1", "ana", Some(1))
        .await
        .unwrap()
        .is_empty());
    serving.revoke_token("j1", &acme, "root").await.unwrap();
    serving.revoke_subject("bob", &acme, "root").await.unwrap();
    for store in [&serving, &other] {
        // From memory (the serving store) and from the table (the other): the same answers.
        let j1 = store.revoked_in("j1", "ana", Some(1)).await.unwrap();
        assert!(j1.covers("acme") && !j1.covers("globex"));
        assert!(store
            .revoked_in("j2", "ana", Some(1))
            .await
            .unwrap()
            .is_empty());
        let bob = store.revoked_in("j3", "bob", Some(1)).await.unwrap();
        assert!(bob.covers("acme") && !bob.covers("globex"));
        let later = store
            .revoked_in("j4", "bob", Some(u64::MAX / 2))
            .await
            .unwrap();
        assert!(
            later.is_empty(),
            "tokens issued after the revocation still work"
        );
    }

    drop(serving);
    other
        .serve_alone()
        .await
        .expect("the lock went with the store");
    let j1 = other.revoked_in("j1", "ana", None).await.unwrap();
    assert!(
        j1.covers("acme"),
        "the claimed store's copy starts from the table"
    );
}

/// Group commit under a crowd: 600 appends at once are written in groups (each a handful of
/// statements, rows 64 to an INSERT), numbered 1..=600 without a gap, each acknowledged with
/// the row the table holds, and the chain verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn six_hundred_appends_at_once_are_one_gap_free_chain() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let store = Arc::new(
        Store::open(&url, tally::store::StoreOptions::default())
            .await
            .unwrap(),
    );
    let appends = (0..600).map(|n| {
        let store = store.clone();
        tokio::spawn(async move {
            let entry = tally::store::AuditEntry {
                event: "query".into(),
                subject: Some(format!("user-{n}")),
                request_id: Some(format!("r{n}")),
                ..Default::default()
            };
            store.append(&entry).await.unwrap()
        })
    });
    let mut acknowledged = Vec::new();
    for a in futures_util::future::join_all(appends).await {
        acknowledged.push(a.unwrap());
    }
    let mut seqs: Vec<i64> = acknowledged.iter().map(|r| r.seq).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=600).collect::<Vec<i64>>());
    let stored = all_rows(&store).await;
    assert_eq!(stored.len(), 600);
    for row in &acknowledged {
        let kept = &stored[(row.seq - 1) as usize];
        assert_eq!(kept.hash, row.hash);
        assert_eq!(kept.prev_hash, row.prev_hash);
        assert_eq!(kept.entry.request_id, row.entry.request_id);
    }
    let report = store.verify_chain().await.unwrap();
    assert!(report.ok, "{:?}", report.breaks);
    assert_eq!(report.last_seq, Some(600));
}
