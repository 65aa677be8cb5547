//! The audit trail of the API: every `/v1/…` request leaves a row in the store. A request with
//! a verified caller gets its own row, written before the response leaves; when the row cannot
//! be written the caller gets 503 `store_unavailable` instead of the answer (fail closed).
//! Requests that never authenticated (missing, forged, expired or revoked tokens, unknown
//! routes) and requests over a rate limit carry no data: they are counted per client address
//! (or subject) and written as one row per source per interval (`Coalescer`), so a flood of
//! garbage tokens costs no fsync per request and cannot flood the log, and nothing is lost.
//! Traffic without a verified caller also spends its address's budget (429 past it).
//!
//! The middleware hands each request an `AuditSlot`; the `Caller` extractor fills in who called
//! (or, for a failed login, who the token claimed to be and why it failed) and handlers fill in
//! what ran. Rows carry the DSL, hashes, counts and timings: never result values. Personal data
//! typed into a question (e-mail addresses, phone and card numbers, IBANs) is replaced before
//! the row is stored, and the row says so.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response as HttpResponse};

use super::error::{ApiError, AuthFailure, ErrorCode};
use super::AppState;
use crate::pipeline::{Response, Trace, Translator};
use crate::store::{sha256_hex, AuditEntry, AuditEvent, Store};

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
    /// A token verified and was not revoked: the row is written on its own, before the answer.
    verified: bool,
}

impl AuditSlot {
    fn with<R>(&self, f: impl FnOnce(&mut Gathered) -> R) -> R {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut g)
    }

    /// The verified caller: its subject, role, token and granted workspaces.
    pub fn caller(&self, subject: &str, role: &str, token_id: &str, workspaces: &[String]) {
        self.with(|g| {
            g.entry.subject = Some(subject.to_string());
            g.entry.role = Some(role.to_string());
            g.entry.token_id = Some(token_id.to_string());
            if let [only] = workspaces {
                g.entry.workspace = Some(only.clone());
            }
            g.verified = true;
        });
    }

    /// A failed login: who the token claimed to be, and the check it failed.
    pub fn auth_failed(&self, claimed_subject: Option<String>, failure: AuthFailure) {
        self.with(|g| {
            g.verified = false;
            g.entry.event = AuditEvent::AuthFailed.as_str().into();
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

    /// An event other than a plain request (a revocation), with what it did.
    pub fn event(&self, event: AuditEvent, detail: String) {
        self.with(|g| {
            g.entry.event = event.as_str().into();
            g.entry.detail = Some(detail);
        });
    }

    /// The question as asked, with personal data replaced (`[email]`, `[phone]`, …).
    pub fn question(&self, question: &str, conversation_id: Option<&str>) {
        let (kept, redacted) = redact_personal_data(question);
        self.with(|g| {
            g.entry.question = Some(kept);
            g.entry.redacted = redacted.then_some(true);
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
            e.result_hash = result_hash(response);
            e.source = response.source.clone();
            e.source_note = response.source_note.clone();
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

/// SHA-256 of an answered response's data: what an admin's rerun compares, never the values.
pub fn result_hash(response: &Response) -> Option<String> {
    let data = response.data.as_ref()?;
    let text = serde_json::to_string(data).expect("results serialize");
    Some(sha256_hex(&text))
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
            entry.event = AuditEvent::Request.as_str().into();
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

/// The client address a request came from (the TCP peer), or the unspecified address when the
/// server was not started with connection info (a router called directly).
fn client_address(request: &Request) -> IpAddr {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
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
    let address = client_address(&request);
    let facts = RequestFacts {
        // The request-id layer has already replaced a missing or unusable id with a fresh one.
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
    let mut response = next.run(request).await;
    let (mut entry, written, verified) = slot.with(|g| (g.entry.clone(), g.written, g.verified));
    if written {
        return response;
    }
    if !verified {
        // No valid token: this address's budget pays, and the row is coalesced.
        if let Err(wait) = state.rate_limiter.check_unauthenticated(address).await {
            response = ApiError::RateLimited {
                retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
            }
            .into_response();
        }
    }
    let code = response.extensions().get::<ErrorCode>().map(|c| c.0);
    facts.complete(&mut entry, response.status().as_u16(), code);
    if !verified {
        state.coalescer.add(Source::Address(address), &entry, code);
        return response;
    }
    if response.status() == axum::http::StatusCode::TOO_MANY_REQUESTS {
        let subject = entry.subject.clone().unwrap_or_default();
        state.coalescer.add(Source::Subject(subject), &entry, code);
        return response;
    }
    match state.store.append(&entry).await {
        Ok(_) => response,
        Err(e) => {
            // Fail closed: the answer is dropped because its audit row could not be written.
            tracing::error!(error = %e, route = %facts.route, "audit row not written; refusing");
            if response.status().is_success() {
                ApiError::Unrecorded(e).into_response()
            } else {
                ApiError::Store(e).into_response()
            }
        }
    }
}

/// Whom a coalesced row counts: a client address (no valid token) or a verified subject (over
/// its rate limit).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    Address(IpAddr),
    Subject(String),
}

/// One row's worth of coalesced requests.
#[derive(Debug)]
struct Pending {
    /// The first request's row, completed with the count when flushed.
    first: AuditEntry,
    count: u64,
    /// Requests by reason (the failed check, or the error code).
    reasons: BTreeMap<String, u64>,
    first_at: String,
    last_at: String,
}

/// Failed logins and rate-limited requests, counted per source, event and status until the next
/// flush writes one row for each (`detail`: the count, the reasons, the first and last time).
#[derive(Debug)]
pub struct Coalescer {
    interval: Duration,
    pending: Mutex<BTreeMap<(Source, String, i64), Pending>>,
}

/// How often coalesced rows are written by default.
pub const DEFAULT_COALESCE_INTERVAL: Duration = Duration::from_secs(10);

/// At most this many distinct sources are held between flushes; past it, requests are still
/// counted, under one catch-all source, so an attacker cycling addresses cannot grow memory.
const MAX_PENDING_SOURCES: usize = 10_000;

impl Coalescer {
    pub fn new(interval: Duration) -> Coalescer {
        Coalescer {
            interval,
            pending: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    fn add(&self, source: Source, entry: &AuditEntry, code: Option<&str>) {
        let reason = entry
            .detail
            .clone()
            .or_else(|| code.map(str::to_string))
            .unwrap_or_else(|| "unknown".into());
        let (now, _) = crate::store::now();
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let mut key = (source, entry.event.clone(), entry.status.unwrap_or(0));
        if pending.len() >= MAX_PENDING_SOURCES && !pending.contains_key(&key) {
            key.0 = Source::Address(IpAddr::V4(Ipv4Addr::BROADCAST));
        }
        let slot = pending.entry(key).or_insert_with(|| Pending {
            first: entry.clone(),
            count: 0,
            reasons: BTreeMap::new(),
            first_at: now.clone(),
            last_at: now.clone(),
        });
        slot.count += 1;
        *slot.reasons.entry(reason).or_insert(0) += 1;
        slot.last_at = now;
    }

    /// Writes one row per pending source. Rows the store refuses are kept for the next flush
    /// (their counts merge with new ones), so an outage loses nothing.
    pub async fn flush(&self, store: &Store) -> Result<usize, crate::store::StoreError> {
        let batch = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        let mut written = 0;
        let mut failed = None;
        let mut unwritten = Vec::new();
        for (key, p) in batch {
            if failed.is_some() {
                unwritten.push((key, p));
                continue;
            }
            match store.append(&coalesced_row(&key.0, &p)).await {
                Ok(_) => written += 1,
                Err(e) => {
                    failed = Some(e);
                    unwritten.push((key, p));
                }
            }
        }
        if !unwritten.is_empty() {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            for (key, old) in unwritten {
                match pending.get_mut(&key) {
                    Some(new) => {
                        new.count += old.count;
                        for (reason, n) in old.reasons {
                            *new.reasons.entry(reason).or_insert(0) += n;
                        }
                        new.first = old.first;
                        new.first_at = old.first_at;
                    }
                    None => {
                        pending.insert(key, old);
                    }
                }
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(written),
        }
    }

    /// Requests counted and not yet written.
    pub fn pending_requests(&self) -> u64 {
        let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.values().map(|p| p.count).sum()
    }
}

fn coalesced_row(source: &Source, p: &Pending) -> AuditEntry {
    let mut row = p.first.clone();
    let (kind, id) = match source {
        Source::Address(a) => ("address", a.to_string()),
        Source::Subject(s) => ("subject", s.clone()),
    };
    row.detail = Some(
        serde_json::json!({
            "coalesced": p.count,
            "source": {kind: id},
            "reasons": p.reasons,
            "first": p.first_at,
            "last": p.last_at,
        })
        .to_string(),
    );
    row
}

/// Replaces personal data a user typed into a question before it is stored: e-mail addresses,
/// phone and card numbers (runs of 9 or more digits, with the usual separators) and IBANs.
/// Returns the kept text and whether anything was replaced.
pub fn redact_personal_data(question: &str) -> (String, bool) {
    let mut out = String::with_capacity(question.len());
    let mut redacted = false;
    for (i, word) in question.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let core = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '+');
        let replacement = if is_email(core) {
            Some("[email]")
        } else if is_iban(core) {
            Some("[iban]")
        } else {
            None
        };
        match replacement {
            Some(r) => {
                redacted = true;
                out.push_str(&word.replace(core, r));
            }
            None => out.push_str(word),
        }
    }
    let (out, numbers) = redact_long_numbers(&out);
    (out, redacted || numbers)
}

fn is_email(word: &str) -> bool {
    match word.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        }
        None => false,
    }
}

fn is_iban(word: &str) -> bool {
    let b = word.as_bytes();
    (15..=34).contains(&b.len())
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..4].iter().all(u8::is_ascii_digit)
        && b[4..]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// Replaces each run of digits and separators (space, `-`, `.`, `(`, `)`, `/`, a leading `+`)
/// holding 9 or more digits with `[number]`: phone, card and account numbers. Dates (8 digits)
/// and the numbers of a question ("top 10", "over 1000") stay.
fn redact_long_numbers(text: &str) -> (String, bool) {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut redacted = false;
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i].is_ascii_digit()
            || (chars[i] == '+' && chars.get(i + 1).is_some_and(char::is_ascii_digit));
        if !starts {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let mut j = i;
        let mut digits = 0;
        let mut last_digit = i;
        while j < chars.len() {
            let c = chars[j];
            if c.is_ascii_digit() {
                digits += 1;
                last_digit = j;
            } else if !(matches!(c, ' ' | '-' | '.' | '(' | ')' | '/') || (c == '+' && j == i)) {
                break;
            }
            j += 1;
        }
        if digits >= 9 {
            out.push_str("[number]");
            redacted = true;
        } else {
            out.extend(&chars[i..=last_digit]);
        }
        i = last_digit + 1;
    }
    (out, redacted)
}

/// Keeps a client's `x-request-id` only when it is short and plain (at most 128 characters of
/// letters, digits and `-_.:`); otherwise the id layer generates one. Logs and audit rows then
/// never carry a client's long or odd bytes.
pub async fn sanitize_request_id(mut request: Request, next: Next) -> HttpResponse {
    let usable = request
        .headers()
        .get("x-request-id")
        .map(|v| is_usable_request_id(v.as_bytes()));
    if usable == Some(false) {
        request.headers_mut().remove("x-request-id");
    }
    next.run(request).await
}

fn is_usable_request_id(id: &[u8]) -> bool {
    (1..=128).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_data_in_questions_is_replaced_and_flagged() {
        let cases = [
            (
                "customers like jane.doe@example.com?",
                "customers like [email]?",
                true,
            ),
            ("who is +44 20 7946 0958", "who is [number]", true),
            (
                "card 4111-1111-1111-1111 please",
                "card [number] please",
                true,
            ),
            ("account DE89370400440532013000", "account [iban]", true),
            (
                "signups between 2026-11-01 and 2026-11-30",
                "signups between 2026-11-01 and 2026-11-30",
                false,
            ),
            (
                "top 10 customers with mrr over 1000",
                "top 10 customers with mrr over 1000",
                false,
            ),
            (
                "DAU last week vs the week before?",
                "DAU last week vs the week before?",
                false,
            ),
            ("email me @ noon", "email me @ noon", false),
        ];
        for (question, kept, flagged) in cases {
            assert_eq!(
                redact_personal_data(question),
                (kept.to_string(), flagged),
                "{question}"
            );
        }
    }

    #[test]
    fn request_ids_are_short_and_plain() {
        assert!(is_usable_request_id(b"3f2a-11:x_y.z"));
        assert!(!is_usable_request_id(b""));
        assert!(!is_usable_request_id(&[b'a'; 129]));
        assert!(!is_usable_request_id(b"a b"));
        assert!(!is_usable_request_id("é".as_bytes()));
        assert!(!is_usable_request_id(b"a\nb"));
    }
}
