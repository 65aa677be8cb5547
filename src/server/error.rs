//! `ApiError`: every failure an HTTP caller can see, with a stable `code` and a client-safe
//! message. Details of server-side failures go to the logs, never into a 5xx body.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::Json;
use serde::Serialize;

use crate::exec::ExecError;
use crate::pipeline::{self, Response};
use crate::store::StoreError;

/// Why a bearer token was not accepted. The `reason` names the check that failed, never a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumIter)]
pub enum AuthFailure {
    MissingToken,
    NotBearer,
    Malformed,
    AlgorithmNotAllowed,
    BadSignature,
    Expired,
    NotYetValid,
    WrongIssuer,
    WrongAudience,
    MissingClaim,
    InvalidClaims,
    /// An RS256/ES256 token without a `kid`.
    MissingKeyId,
    /// The `kid` names no key of the JWKS (after a refresh, at most once per interval).
    UnknownKey,
    /// The JWKS could not be fetched and no earlier copy is cached (503).
    KeysUnavailable,
    /// The token's `jti`, or every token of its subject issued before now, was revoked.
    Revoked,
    /// The token is longer than `auth::MAX_TOKEN_BYTES`.
    TooLarge,
    /// The header names critical extensions (`crit`), none of which Tally implements.
    UnsupportedCritical,
    /// `exp - iat` is longer than the server's maximum token lifetime.
    LifetimeTooLong,
}

impl AuthFailure {
    pub fn reason(self) -> &'static str {
        match self {
            AuthFailure::MissingToken => "missing_token",
            AuthFailure::NotBearer => "not_bearer",
            AuthFailure::Malformed => "malformed_token",
            AuthFailure::AlgorithmNotAllowed => "algorithm_not_allowed",
            AuthFailure::BadSignature => "bad_signature",
            AuthFailure::Expired => "expired",
            AuthFailure::NotYetValid => "not_yet_valid",
            AuthFailure::WrongIssuer => "wrong_issuer",
            AuthFailure::WrongAudience => "wrong_audience",
            AuthFailure::MissingClaim => "missing_claim",
            AuthFailure::InvalidClaims => "invalid_claims",
            AuthFailure::MissingKeyId => "missing_kid",
            AuthFailure::Revoked => "revoked",
            AuthFailure::UnknownKey => "unknown_key",
            AuthFailure::KeysUnavailable => "keys_unavailable",
            AuthFailure::TooLarge => "token_too_large",
            AuthFailure::UnsupportedCritical => "unsupported_crit",
            AuthFailure::LifetimeTooLong => "lifetime_too_long",
        }
    }

    fn message(self) -> &'static str {
        match self {
            AuthFailure::MissingToken => "send `Authorization: Bearer <token>`",
            AuthFailure::NotBearer => "the Authorization header must use the Bearer scheme",
            AuthFailure::Malformed => "the token is not a well-formed JWT",
            AuthFailure::AlgorithmNotAllowed => "the token's signing algorithm is not accepted",
            AuthFailure::BadSignature => "the token's signature does not verify",
            AuthFailure::Expired => "the token has expired",
            AuthFailure::NotYetValid => "the token is not valid yet",
            AuthFailure::WrongIssuer => {
                "the token was issued by an issuer this server does not trust"
            }
            AuthFailure::WrongAudience => "the token is not meant for this server",
            AuthFailure::MissingClaim => "the token lacks a required claim (exp, iat, iss, aud)",
            AuthFailure::InvalidClaims => {
                "the token's claims are not valid (need sub, role, workspaces, jti)"
            }
            AuthFailure::MissingKeyId => "the token's header lacks a `kid`",
            AuthFailure::Revoked => "the token has been revoked",
            AuthFailure::UnknownKey => "the token's `kid` names no key this server trusts",
            AuthFailure::KeysUnavailable => {
                "the identity provider's keys cannot be fetched; try again shortly"
            }
            AuthFailure::TooLarge => "the token is longer than 8192 bytes",
            AuthFailure::UnsupportedCritical => {
                "the token's header names critical extensions (`crit`) this server does not implement"
            }
            AuthFailure::LifetimeTooLong => {
                "the token is valid for longer than this server accepts (exp - iat)"
            }
        }
    }
}

/// A failure as the HTTP caller sees it.
#[derive(Debug)]
pub enum ApiError {
    /// 401: no token, or a token that failed a check.
    Unauthorized(AuthFailure),
    /// 403: the token's role is not in the catalog.
    UnknownRole,
    /// 403: the requested workspace is not among the token's workspaces.
    WorkspaceForbidden,
    /// 400: the token carries several workspaces and the request named none.
    WorkspaceRequired,
    /// 403: the role may not see SQL (`POST /v1/compile`).
    SqlNotPermitted,
    /// 413: the body is over the limit.
    BodyTooLarge { limit: usize },
    /// 400: the body is not JSON.
    MalformedJson(String),
    /// 400: JSON, but not the request's shape (unknown or missing fields, wrong types).
    InvalidRequest(String),
    /// 400: the request body could not be read.
    UnreadableBody,
    /// 400: the DSL is not a valid query; the body is the response contract with diagnostics.
    InvalidQuery(Box<Response>),
    /// 5xx: the machinery failed (warehouse, compiler).
    Pipeline(pipeline::Error),
    /// 503: a readiness dependency does not answer.
    NotReady,
    /// 404: no such route.
    NotFound,
    /// 405: the route exists with another method.
    MethodNotAllowed,
    /// 429: the caller is over its rate limit; retry after this many seconds.
    RateLimited { retry_after_secs: u64 },
    /// 503: the app store (audit, revocations, conversations) failed before anything ran.
    Store(StoreError),
    /// 503: the request was answered, but its audit row could not be written, so the answer is
    /// withheld (fail closed).
    Unrecorded(StoreError),
    /// 404: no token with that id was used in the admin's workspaces.
    TokenNotFound,
    /// 500: a handler panicked; the panic is logged, the request audited.
    Panicked,
    /// 403: an admin route called without the admin role.
    AdminRequired,
    /// 404: no query with that id that this caller may see.
    QueryNotFound,
    /// 404: no conversation with that id owned by this caller.
    ConversationNotFound,
    /// 409: the stored query has no DSL to run again (it was never valid).
    NotRerunnable,
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Store(e)
    }
}

/// The stable code of an error response, for the audit middleware.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

impl From<pipeline::Error> for ApiError {
    fn from(e: pipeline::Error) -> Self {
        ApiError::Pipeline(e)
    }
}

/// Every stable code an error body carries, listed as an enum in the OpenAPI document. One
/// failure has one code on every surface: the CLI prints the same (`error[execution_failed]`).
// (No doc comments on the variants: they would turn the schema's enum into a `oneOf`.)
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    schemars::JsonSchema,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::EnumIter,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[schemars(rename = "ErrorCode")]
pub enum Code {
    AuthUnavailable,
    Unauthorized,
    UnknownRole,
    WorkspaceForbidden,
    WorkspaceRequired,
    SqlNotPermitted,
    BodyTooLarge,
    MalformedJson,
    InvalidRequest,
    UnreadableBody,
    InvalidQuery,
    WarehouseUnavailable,
    Timeout,
    ExecutionFailed,
    CompileFailed,
    UnsupportedWarehouse,
    NotReady,
    NotFound,
    MethodNotAllowed,
    RateLimited,
    StoreUnavailable,
    TokenNotFound,
    Internal,
    AdminRequired,
    QueryNotFound,
    ConversationNotFound,
    NotRerunnable,
}

impl Code {
    /// The HTTP status of every error with this code (the OpenAPI document lists the codes of
    /// each status from it).
    pub fn status(self) -> StatusCode {
        match self {
            // The server cannot check the token: not the caller's fault, so retryable.
            Code::AuthUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Code::Unauthorized => StatusCode::UNAUTHORIZED,
            Code::UnknownRole
            | Code::WorkspaceForbidden
            | Code::SqlNotPermitted
            | Code::AdminRequired => StatusCode::FORBIDDEN,
            Code::WorkspaceRequired
            | Code::MalformedJson
            | Code::InvalidRequest
            | Code::UnreadableBody
            | Code::InvalidQuery => StatusCode::BAD_REQUEST,
            Code::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Code::WarehouseUnavailable | Code::NotReady | Code::StoreUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Code::Timeout => StatusCode::GATEWAY_TIMEOUT,
            Code::ExecutionFailed
            | Code::CompileFailed
            | Code::UnsupportedWarehouse
            | Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Code::NotFound
            | Code::TokenNotFound
            | Code::QueryNotFound
            | Code::ConversationNotFound => StatusCode::NOT_FOUND,
            Code::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Code::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Code::NotRerunnable => StatusCode::CONFLICT,
        }
    }
}

/// The body of every error except `invalid_query`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub(crate) struct ErrorBody {
    /// A stable, machine-readable code (`unauthorized`, `rate_limited`, …).
    code: Code,
    /// A sentence for people; server-side failures say only what the caller can act on.
    message: String,
    /// For `unauthorized` (and `auth_unavailable`): the check the token failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "auth_reasons")]
    reason: Option<&'static str>,
}

/// Every `reason` an error body may carry, as an enum (it is never `null`: absent instead).
fn auth_reasons(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let reasons: Vec<&str> = <AuthFailure as strum::IntoEnumIterator>::iter()
        .map(AuthFailure::reason)
        .collect();
    schemars::json_schema!({"type": "string", "enum": reasons})
}

/// `invalid_query`: the response contract with a top-level `code`.
#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct InvalidQueryBody<'a> {
    code: Code,
    #[serde(flatten)]
    response: &'a Response,
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        self.stable_code().into()
    }

    pub fn stable_code(&self) -> Code {
        match self {
            ApiError::Unauthorized(AuthFailure::KeysUnavailable) => Code::AuthUnavailable,
            ApiError::Unauthorized(_) => Code::Unauthorized,
            ApiError::UnknownRole => Code::UnknownRole,
            ApiError::WorkspaceForbidden => Code::WorkspaceForbidden,
            ApiError::WorkspaceRequired => Code::WorkspaceRequired,
            ApiError::SqlNotPermitted => Code::SqlNotPermitted,
            ApiError::BodyTooLarge { .. } => Code::BodyTooLarge,
            ApiError::MalformedJson(_) => Code::MalformedJson,
            ApiError::InvalidRequest(_) => Code::InvalidRequest,
            ApiError::UnreadableBody => Code::UnreadableBody,
            ApiError::InvalidQuery(_) => Code::InvalidQuery,
            // The pipeline's own code (the CLI prints the same); the message stays fixed.
            ApiError::Pipeline(e) => e.code().parse().unwrap_or(Code::Internal),
            ApiError::NotReady => Code::NotReady,
            ApiError::NotFound => Code::NotFound,
            ApiError::MethodNotAllowed => Code::MethodNotAllowed,
            ApiError::RateLimited { .. } => Code::RateLimited,
            ApiError::Store(_) | ApiError::Unrecorded(_) => Code::StoreUnavailable,
            ApiError::TokenNotFound => Code::TokenNotFound,
            ApiError::Panicked => Code::Internal,
            ApiError::AdminRequired => Code::AdminRequired,
            ApiError::QueryNotFound => Code::QueryNotFound,
            ApiError::ConversationNotFound => Code::ConversationNotFound,
            ApiError::NotRerunnable => Code::NotRerunnable,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.stable_code().status()
    }

    /// What the caller is told. Server-side failures get a fixed sentence; their detail is logged.
    pub fn public_message(&self) -> String {
        match self {
            ApiError::Unauthorized(f) => f.message().to_string(),
            ApiError::UnknownRole => "the token's role is not defined in the catalog".into(),
            ApiError::WorkspaceForbidden => "the token does not grant that workspace".into(),
            ApiError::WorkspaceRequired => {
                "the token grants several workspaces: name one in `workspace`".into()
            }
            ApiError::SqlNotPermitted => "this role may not see SQL".into(),
            ApiError::BodyTooLarge { limit } => {
                format!("the request body is larger than the limit of {limit} bytes")
            }
            ApiError::MalformedJson(detail) => format!("the body is not valid JSON: {detail}"),
            ApiError::InvalidRequest(detail) => format!("the request is not valid: {detail}"),
            ApiError::UnreadableBody => "the request body could not be read".into(),
            ApiError::InvalidQuery(r) => r.answer.clone(),
            ApiError::Pipeline(e) => match e {
                pipeline::Error::Exec(ExecError::Unavailable(_)) => {
                    "the warehouse is unavailable; try again shortly".into()
                }
                pipeline::Error::Exec(ExecError::Timeout(d)) => {
                    format!("the query ran past its time limit of {} s", d.as_secs())
                }
                _ => "the server failed to answer; the failure has been logged".into(),
            },
            ApiError::NotReady => "the service is not ready".into(),
            ApiError::NotFound => "no such route".into(),
            ApiError::MethodNotAllowed => "this route does not accept that method".into(),
            ApiError::RateLimited { retry_after_secs } => {
                format!("too many requests: try again in {retry_after_secs} s")
            }
            ApiError::Store(_) => {
                "the audit store is unavailable, so nothing was run; try again shortly".into()
            }
            ApiError::Unrecorded(_) => "the request ran, but the audit store could not record \
                it, so its answer is withheld; try again shortly"
                .into(),
            ApiError::TokenNotFound => {
                "no token with that id has been used in your workspaces".into()
            }
            ApiError::Panicked => "the server failed to answer; the failure has been logged".into(),
            ApiError::AdminRequired => "this route needs the admin role".into(),
            ApiError::QueryNotFound => "no query with that id is visible to you".into(),
            ApiError::ConversationNotFound => {
                "no conversation with that id is visible to you".into()
            }
            ApiError::NotRerunnable => {
                "that query never had valid DSL, so there is nothing to run again".into()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> HttpResponse {
        let status = self.status();
        let stable = self.stable_code();
        let code: &'static str = stable.into();
        if status.is_server_error() {
            // The detail stays here: the body says only what the caller can act on.
            match &self {
                ApiError::Pipeline(e) => tracing::error!(code, error = %e, "request failed"),
                ApiError::Store(e) | ApiError::Unrecorded(e) => {
                    tracing::error!(code, error = %e, "store failed")
                }
                _ => tracing::warn!(code, "request failed"),
            }
        }
        if let ApiError::Unauthorized(f) = &self {
            tracing::info!(reason = f.reason(), "authentication failed");
        }
        let mut response = match &self {
            ApiError::InvalidQuery(r) => (
                status,
                Json(InvalidQueryBody {
                    code: stable,
                    response: r,
                }),
            )
                .into_response(),
            ApiError::Unauthorized(f) => (
                status,
                Json(ErrorBody {
                    code: stable,
                    message: self.public_message(),
                    reason: Some(f.reason()),
                }),
            )
                .into_response(),
            _ => (
                status,
                Json(ErrorBody {
                    code: stable,
                    message: self.public_message(),
                    reason: None,
                }),
            )
                .into_response(),
        };
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"tally\""),
            );
        }
        if let ApiError::RateLimited { retry_after_secs } = &self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        }
        // For the metrics middleware: an invalid query is a pipeline outcome with timings.
        if let ApiError::InvalidQuery(r) = &self {
            response.extensions_mut().insert(r.outcome);
            response.extensions_mut().insert(r.timings_ms.clone());
        }
        response.extensions_mut().insert(ErrorCode(code));
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code the pipeline can fail with is one of the stable codes (else it would be
    /// served as `internal`, and the CLI and HTTP would disagree).
    #[test]
    fn every_pipeline_failure_has_its_stable_code() {
        let errors = [
            pipeline::Error::Exec(ExecError::Unavailable("x".into())),
            pipeline::Error::Exec(ExecError::Timeout(std::time::Duration::from_secs(1))),
            pipeline::Error::Exec(ExecError::Failed("x".into())),
            pipeline::Error::Exec(ExecError::UnsupportedUrl("x".into())),
            pipeline::Error::Compile(crate::sql::CompileError::UnsupportedValue("x".into())),
        ];
        for e in errors {
            let code = e.code();
            let api = ApiError::Pipeline(e);
            assert_eq!(api.code(), code);
            assert_ne!(api.stable_code(), Code::Internal);
        }
    }
}
