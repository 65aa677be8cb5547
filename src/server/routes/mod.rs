//! The route table: one router function per module, merged here.

mod catalog;
mod health;
mod page;
mod query;

use axum::Router;

use super::error::ApiError;
use super::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .merge(query::router())
        .merge(catalog::router())
        .merge(health::router())
        .merge(page::router())
}

pub(super) async fn not_found() -> ApiError {
    ApiError::NotFound
}

pub(super) async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
