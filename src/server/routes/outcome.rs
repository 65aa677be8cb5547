//! How a pipeline outcome becomes an HTTP answer, in one place for `POST /v1/query`, `POST
//! /v1/chat` and the chat's event stream: what the request's audit row and log line say
//! (`record`), which status and stable code it has (`status_of`), and the body (`reply`).
//! Answered, refused and needs-clarification are 200; invalid is 400 `invalid_query`.

use axum::response::{IntoResponse, Response as HttpResponse};
use axum::Json;
use serde::Serialize;

use crate::pipeline::{Outcome, Response, Trace};
use crate::server::error::{ApiError, Code};
use crate::server::Caller;

/// The response contract plus the conversation it belongs to (`POST /v1/chat`).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub(crate) struct ChatResponse<'a> {
    #[serde(flatten)]
    pub response: &'a Response,
    pub conversation_id: &'a str,
}

/// Which body shape a reply takes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Shape<'a> {
    /// The response contract (`POST /v1/query`).
    Query,
    /// The contract with its conversation (`POST /v1/chat`).
    Chat { conversation_id: &'a str },
}

/// Records how a query ended in the request's audit row and the log (never result values).
pub(super) fn record(caller: &Caller, workspace: &str, response: &Response, trace: &Trace) {
    caller.audit.response(response, trace);
    tracing::info!(
        subject = %caller.subject,
        role = %caller.role,
        workspace,
        query_id = %response.query_id,
        outcome = response.outcome.as_str(),
        refusal = response.refusal.as_ref().map(|r| r.code.as_str()),
        total_ms = response.timings_ms.total,
        "query"
    );
}

/// The status and stable code a finished (or failed) query is answered with.
pub(super) fn status_of(
    outcome: &Result<(Response, Trace), ApiError>,
) -> (u16, Option<&'static str>) {
    match outcome {
        Ok((r, _)) if r.outcome == Outcome::Invalid => (400, Some(Code::InvalidQuery.into())),
        Ok(_) => (200, None),
        Err(e) => (e.status().as_u16(), Some(e.code())),
    }
}

/// `record`, then the HTTP answer: invalid is an `ApiError` (400), anything else 200 with the
/// body in `shape`. The outcome and timings ride in the response extensions for the metrics
/// middleware.
pub(super) fn reply(
    caller: &Caller,
    workspace: &str,
    response: Response,
    trace: &Trace,
    shape: Shape<'_>,
) -> Result<HttpResponse, ApiError> {
    record(caller, workspace, &response, trace);
    if response.outcome == Outcome::Invalid {
        return Err(ApiError::InvalidQuery(Box::new(response)));
    }
    let (outcome, timings) = (response.outcome, response.timings_ms.clone());
    let mut http = match shape {
        Shape::Chat { conversation_id } => Json(ChatResponse {
            response: &response,
            conversation_id,
        })
        .into_response(),
        Shape::Query => Json(&response).into_response(),
    };
    http.extensions_mut().insert(outcome);
    http.extensions_mut().insert(timings);
    Ok(http)
}
