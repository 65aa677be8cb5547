//! `JsonBody<T>`: a JSON request body whose failures are `ApiError`s (413, `malformed_json`,
//! `invalid_request`) instead of axum's plain-text rejections. Content type is not required, so
//! `curl -d` works as typed.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::AppState;

pub(crate) struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::BodyTooLarge {
                    limit: state.limits.body_bytes,
                }
            } else {
                ApiError::UnreadableBody
            }
        })?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| match e.classify() {
                serde_json::error::Category::Data => ApiError::InvalidRequest(e.to_string()),
                _ => ApiError::MalformedJson(e.to_string()),
            })
    }
}
