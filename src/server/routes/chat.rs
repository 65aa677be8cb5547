//! `POST /v1/chat`: a question in English, translated (rules, or an LLM when configured), then
//! the same pipeline and status mapping as `POST /v1/query`. Conversations belong to the user
//! who started them, in one workspace; a follow-up edits the conversation's last DSL, and the
//! translator's spend accumulates per conversation (the LLM budget).
//!
//! With `Accept: text/event-stream` the answer streams as server-sent events: `translated`,
//! `validated`, `executed` as each stage finishes, then `answer` and `response` (the full body)
//! — or `error`. Stage events carry only the stage's time (`{"ms": …}`): nothing derived from
//! the query (its DSL, outcome or row count) leaves before the request's audit row is
//! committed. If the row cannot be written, `error` is sent instead of the answer.

use std::convert::Infallible;
use std::time::Instant;

use axum::extract::State;
use axum::http::header::ACCEPT;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::post;
use axum::{Extension, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::outcome::{record, reply, status_of, ChatResponse, Shape};
use crate::pipeline::{Outcome, Progress, Response, Stage, Trace, Turn};
use crate::server::audit::RequestFacts;
use crate::server::body::JsonBody;
use crate::server::error::ApiError;
use crate::server::metrics::Streamed;
use crate::server::{AppState, Caller};
use crate::store::{Conversation, TurnUsage};

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/v1/chat", post(chat))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChatRequest {
    /// The question, in English (at most 1000 characters; no control characters but tabs and
    /// line breaks).
    #[schemars(
        length(max = 1000),
        regex(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$")
    )]
    pub question: String,
    /// Continue this conversation (yours, in the same workspace); omit to start one.
    #[serde(default)]
    pub conversation_id: Option<String>,
    /// Default: the token's only workspace.
    #[serde(default)]
    pub workspace: Option<String>,
}

fn new_conversation_id() -> String {
    let mut raw = [0u8; 12];
    // A clock-derived id would do as well; randomness only makes ids unguessable.
    if getrandom::fill(&mut raw).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        raw.copy_from_slice(&nanos.to_le_bytes()[..12]);
    }
    format!(
        "c_{}",
        raw.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// The caller's conversation `id` in `workspace`, or a new one.
async fn conversation(
    state: &AppState,
    caller: &Caller,
    workspace: &str,
    id: Option<&str>,
) -> Result<Conversation, ApiError> {
    match id {
        Some(id) => {
            let c = state
                .store
                .conversation(id)
                .await?
                .ok_or(ApiError::ConversationNotFound)?;
            // Someone else's conversation, or another workspace's, does not exist for you.
            if c.subject != caller.subject || c.workspace != workspace {
                return Err(ApiError::ConversationNotFound);
            }
            Ok(c)
        }
        None => Ok(state
            .store
            .create_conversation(&new_conversation_id(), &caller.subject, workspace)
            .await?),
    }
}

fn wants_events(headers: &HeaderMap) -> bool {
    headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"))
}

async fn chat(
    State(state): State<AppState>,
    caller: Caller,
    facts: Option<Extension<RequestFacts>>,
    headers: HeaderMap,
    JsonBody(request): JsonBody<ChatRequest>,
) -> Result<HttpResponse, ApiError> {
    let started = Instant::now();
    let workspace = caller.workspace(request.workspace.as_deref())?;
    caller.audit.workspace(&workspace);
    caller
        .audit
        .question(&request.question, request.conversation_id.as_deref());
    let conv = conversation(
        &state,
        &caller,
        &workspace,
        request.conversation_id.as_deref(),
    )
    .await?;
    caller.audit.question(&request.question, Some(&conv.id));
    match (wants_events(&headers), facts) {
        (true, Some(Extension(facts))) => {
            caller.audit.defer_to_handler();
            let mut http = stream(
                state,
                caller,
                workspace,
                conv,
                request.question,
                facts,
                started,
            )
            .into_response();
            // The stream records itself in /metrics once it has ended.
            http.extensions_mut().insert(Streamed);
            Ok(http)
        }
        _ => {
            let (response, trace) = answer(
                &state,
                &caller,
                &workspace,
                &conv,
                &request.question,
                &|_| {},
            )
            .await?;
            reply(
                &caller,
                &workspace,
                response,
                &trace,
                Shape::Chat {
                    conversation_id: &conv.id,
                },
            )
        }
    }
}

/// Translates and runs one turn, then records it on the conversation (its DSL for the next
/// follow-up, its spend for the budget) and its usage on the audit row.
async fn answer(
    state: &AppState,
    caller: &Caller,
    workspace: &str,
    conv: &Conversation,
    question: &str,
    progress: Progress<'_>,
) -> Result<(Response, Trace), ApiError> {
    let previous: Option<Value> = conv
        .last_dsl
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok());
    let clock = state.today.clock();
    let turn = Turn {
        previous: previous.as_ref(),
        spent_usd: conv.cost_usd,
    };
    let (response, trace) = state
        .engine
        .ask_with_progress(question, &caller.role, workspace, &clock, turn, progress)
        .await?;
    let usage = trace
        .translation
        .as_ref()
        .map(|t| TurnUsage {
            tokens_in: t.usage.prompt_tokens as i64,
            tokens_out: t.usage.completion_tokens as i64,
            cost_usd: t.usage.cost_usd,
        })
        .unwrap_or_default();
    caller
        .audit
        .usage(usage.tokens_in, usage.tokens_out, usage.cost_usd);
    // A follow-up builds on the last query that ran (answered or refused), not on a
    // clarification.
    let dsl = matches!(response.outcome, Outcome::Answered | Outcome::Refused)
        .then(|| response.executed_dsl.as_ref())
        .flatten()
        .map(|q| serde_json::to_string(q).expect("DSL serializes"));
    state
        .store
        .record_turn(&conv.id, dsl.as_deref(), usage)
        .await?;
    Ok((response, trace))
}

fn event(name: &str, data: &Value) -> Result<Event, Infallible> {
    Ok(Event::default().event(name).data(data.to_string()))
}

fn stream(
    state: AppState,
    caller: Caller,
    workspace: String,
    conv: Conversation,
    question: String,
    facts: RequestFacts,
    started: Instant,
) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Result<Event, Infallible>>();
    tokio::spawn(async move {
        let stages = tx.clone();
        let progress = move |stage: Stage| {
            // Only the stage and its time: the DSL, the outcome and the row count are derived
            // from the query, and nothing derived leaves before the audit row is committed.
            let data = json!({"ms": stage.ms()});
            // A client that went away stops receiving; the work and its audit row go on.
            let _ = stages.send(event(stage.name(), &data));
        };
        let outcome = answer(&state, &caller, &workspace, &conv, &question, &progress).await;
        if let Ok((response, trace)) = &outcome {
            record(&caller, &workspace, response, trace);
        }
        let mut entry = caller.audit.gathered();
        let (status, code) = status_of(&outcome);
        facts.complete(&mut entry, status, code);
        let written = state.store.append(&entry).await;
        // What /metrics counts: the outcome and stage timings of an answer that was sent, none
        // for an error event (as a non-streamed request that failed).
        let counted = match (&outcome, &written) {
            (Ok((response, _)), Ok(_)) => Some((response.outcome, response.timings_ms.clone())),
            _ => None,
        };
        let events: Vec<(&str, Value)> = match (&outcome, written) {
            (outcome, Err(e)) => {
                tracing::error!(error = %e, "audit row not written; refusing");
                let e = match outcome {
                    Ok(_) => ApiError::Unrecorded(e),
                    Err(_) => ApiError::Store(e),
                };
                vec![(
                    "error",
                    json!({"code": e.code(), "message": e.public_message()}),
                )]
            }
            (Ok((response, _)), Ok(_)) => {
                let mut events = vec![("answer", json!({"text": response.answer}))];
                let body = ChatResponse {
                    response,
                    conversation_id: &conv.id,
                };
                events.push(("response", serde_json::to_value(body).expect("serializes")));
                events
            }
            (Err(e), Ok(_)) => vec![(
                "error",
                json!({"code": e.code(), "message": e.public_message()}),
            )],
        };
        for (name, data) in events {
            if tx.send(event(name, &data)).is_err() {
                break; // The client went away; the audit row is already written.
            }
        }
        state.metrics.streamed(
            "/v1/chat",
            200,
            counted.as_ref().map(|(o, _)| *o),
            started.elapsed().as_secs_f64(),
            counted.as_ref().map(|(_, t)| t),
        );
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
