//! The audit trail of the API: every `/v1/…` request leaves one row in the store, written
//! before the response leaves; when the row cannot be written the caller gets 503
//! `store_unavailable` instead of the answer (fail closed).
//!
//! The middleware hands each request an `AuditSlot`; the `Caller` extractor fills in who called
//! (or, for a failed login, who the token claimed to be and why it failed) and handlers fill in
//! what ran. Rows carry the DSL, hashes, counts and timings: never result values.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response as HttpResponse};

use super::auth::Caller;
use super::error::{ApiError, AuthFailure, ErrorCode};
use super::AppState;
use crate::pipeline::{Response, Trace, Translator};
use crate::store::{sha256_hex, AuditEntry};

/// Longest DSL text kept in an audit row (an invalid document is kept as sent, up to this).
const MAX_DSL_CHARS: usize = 16 * 1024;

/// The audit row being gathered for one request.
#[derive(Debug, Clone, Default)]
pub struct AuditSlot(Arc<Mutex<Gathered>>);

#[derive(Debug, Default)]
struct Gathered {
    entry: AuditEntry,
    /// A handler wrote the row itself (streamed responses); the middleware must not.
    written: bool,
}

impl AuditSlot {
    fn with<R>(&self, f: impl FnOnce(&mut Gathered) -> R) -> R {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut g)
    }

    /// The verified caller.
    pub fn caller(&self, caller: &Caller) {
        self.with(|g| {
            g.entry.subject = Some(caller.subject.clone());
            g.entry.role = Some(caller.role.clone());
            g.entry.token_id = Some(caller.token_id.clone());
            if let [only] = caller.workspaces.as_slice() {
                g.entry.workspace = Some(only.clone());
            }
        });
    }

    /// A failed login: who the token claimed to be, and the check it failed.
    pub fn auth_failed(&self, claimed_subject: Option<String>, failure: AuthFailure) {
        self.with(|g| {
            g.entry.event = "auth_failed".into();
            g.entry.subject = claimed_subject;
            g.entry.detail = Some(failure.reason().to_string());
        });
    }

    /// The workspace the request runs in.
    pub fn workspace(&self, workspace: &str) {
        self.with(|g| g.entry.workspace = Some(workspace.to_string()));
    }

    /// The role a query ran under, when it is not the caller's (an admin's rerun).
    pub fn ran_as(&self, role: &str, detail: String) {
        self.with(|g| {
            g.entry.role = Some(role.to_string());
            g.entry.detail = Some(detail);
        });
    }

    /// An event other than a plain request (`revoke`), with what it did.
    pub fn event(&self, event: &str, detail: String) {
        self.with(|g| {
            g.entry.event = event.to_string();
            g.entry.detail = Some(detail);
        });
    }

    pub fn question(&self, question: &str, conversation_id: Option<&str>) {
        self.with(|g| {
            g.entry.question = Some(question.to_string());
            g.entry.conversation_id = conversation_id.map(str::to_string);
        });
    }

    /// The DSL as sent, before it is checked (kept for invalid documents).
    pub fn submitted_dsl(&self, dsl: &serde_json::Value) {
        let text = dsl.to_string();
        self.with(|g| {
            g.entry.dsl_hash = Some(sha256_hex(&text));
            g.entry.dsl = Some(text.chars().take(MAX_DSL_CHARS).collect());
        });
    }

    /// How a query ended: the executed DSL, outcome, refusal, counts, hashes and timings.
    pub fn response(&self, response: &Response, trace: &Trace) {
        let executed = response
            .executed_dsl
            .as_ref()
            .map(|q| serde_json::to_string(q).expect("DSL serializes"));
        // The SQL as rendered for roles that see it; rendered here only for those that do not.
        let sql = response.sql.clone().or_else(|| {
            (!trace.statements.is_empty()).then(|| crate::sql::render(&trace.statements))
        });
        let rows: usize = trace.rows.iter().map(|r| r.rows.len()).sum();
        self.with(|g| {
            let e = &mut g.entry;
            e.query_id = Some(response.query_id.clone());
            e.outcome = Some(response.outcome.as_str().to_string());
            e.translator = Some(
                match response.translator {
                    Translator::Rules => "rules",
                    Translator::Llm => "llm",
                    Translator::None => "none",
                }
                .to_string(),
            );
            if let Some(text) = executed {
                e.dsl_hash = Some(sha256_hex(&text));
                e.dsl = Some(text);
            }
            e.sql_hash = sql.as_deref().map(sha256_hex);
            e.code = response
                .refusal
                .as_ref()
                .map(|r| r.code.as_str().to_string())
                .or_else(|| {
                    response
                        .diagnostics
                        .first()
                        .map(|d| d.code.as_str().to_string())
                });
            e.row_count = trace.result.is_some().then_some(rows as i64);
        });
    }

    /// Tokens and cost the translator spent on this request.
    pub fn usage(&self, tokens_in: i64, tokens_out: i64, cost_usd: f64) {
        self.with(|g| {
            g.entry.tokens_in = Some(tokens_in);
            g.entry.tokens_out = Some(tokens_out);
            g.entry.cost_usd = Some(cost_usd);
        });
    }

    /// Tells the middleware this handler writes the row itself (a streamed response, whose
    /// row is written when the stream has its answer, before the final event).
    pub fn defer_to_handler(&self) {
        self.with(|g| g.written = true);
    }

    /// The gathered row, for a handler that writes it itself.
    pub fn gathered(&self) -> AuditEntry {
        self.with(|g| g.entry.clone())
    }
}

/// Request facts the middleware knows, for rows a handler writes itself.
#[derive(Debug, Clone)]
pub struct RequestFacts {
    pub request_id: Option<String>,
    pub method: String,
    pub route: String,
    pub started: Instant,
}

impl RequestFacts {
    /// Completes `entry` as the middleware would.
    pub fn complete(&self, entry: &mut AuditEntry, status: u16, code: Option<&str>) {
        if entry.event.is_empty() {
            entry.event = "request".into();
        }
        entry.request_id = self.request_id.clone();
        entry.method = Some(self.method.clone());
        entry.route = Some(self.route.clone());
        entry.status = Some(i64::from(status));
        if entry.code.is_none() {
            entry.code = code.map(str::to_string);
        }
        entry.latency_ms = Some((self.started.elapsed().as_secs_f64() * 1e6).round() / 1e3);
    }
}

/// Audits every `/v1/…` request; other paths (health, metrics, the page) pass through.
pub async fn audit(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> HttpResponse {
    if !request.uri().path().starts_with("/v1/") {
        return next.run(request).await;
    }
    let facts = RequestFacts {
        request_id: request
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        method: request.method().to_string(),
        route: request
            .extensions()
            .get::<MatchedPath>()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "unmatched".into()),
        started: Instant::now(),
    };
    let slot = AuditSlot::default();
    request.extensions_mut().insert(slot.clone());
    request.extensions_mut().insert(facts.clone());
    let response = next.run(request).await;
    let (mut entry, written) = slot.with(|g| (g.entry.clone(), g.written));
    if written {
        return response;
    }
    let code = response.extensions().get::<ErrorCode>().map(|c| c.0);
    facts.complete(&mut entry, response.status().as_u16(), code);
    match state.store.append(&entry).await {
        Ok(_) => response,
        Err(e) => {
            // Fail closed: the answer is dropped because its audit row could not be written.
            tracing::error!(error = %e, route = %facts.route, "audit row not written; refusing");
            ApiError::Store(e).into_response()
        }
    }
}
