//! The route table: one router function per module, merged here.

pub(super) mod admin;
pub(super) mod catalog;
pub(super) mod chat;
mod health;
mod ops;
pub(super) mod outcome;
mod page;
pub(super) mod queries;
pub(super) mod query;

use axum::Router;

use super::error::ApiError;
use super::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .merge(query::router())
        .merge(queries::router())
        .merge(chat::router())
        .merge(admin::router())
        .merge(catalog::router())
        .merge(health::router())
        .merge(page::router())
        .merge(ops::router())
}

pub(super) async fn not_found() -> ApiError {
    ApiError::NotFound
}

pub(super) async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
