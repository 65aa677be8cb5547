//! `GET /v1/schema` (the caller's role's strict DSL schema) and `GET /v1/catalog` (what the caller
//! may ask about). Both are narrowed to the role; neither ever names a PII field.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::Value;

use crate::catalog::{Catalog, Format, Sensitivity, ValueType};
use crate::dsl::schema::{self, Form, Names};
use crate::server::error::ApiError;
use crate::server::{AppState, Caller};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/schema", get(role_schema))
        .route("/v1/catalog", get(role_catalog))
}

async fn role_schema(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let catalog = state.engine.catalog();
    let role = catalog.role(&caller.role).ok_or(ApiError::UnknownRole)?;
    Ok(Json(schema::schema(
        &Names::of_role(catalog, role),
        Form::Strict,
    )))
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub(crate) struct CatalogView {
    catalog: CatalogInfo,
    role: RoleInfo,
    metrics: Vec<MetricInfo>,
    dimensions: Vec<DimensionInfo>,
    entities: Vec<EntityInfo>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
struct CatalogInfo {
    name: String,
    version: String,
    description: String,
    /// Questions this catalog answers well (the page offers them as examples).
    example_questions: Vec<String>,
    /// Who to ask for personal data, which Tally never returns (null: the catalog names none).
    data_access_contact: Option<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
struct RoleInfo {
    name: String,
    description: String,
    kinds: Vec<String>,
    record_level: bool,
    see_sql: bool,
    overview: Vec<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
struct MetricInfo {
    name: String,
    label: String,
    description: String,
    format: &'static str,
    /// A fall is good news (the catalog's `lower_is_better`): the page colours changes so.
    lower_is_better: bool,
    /// The dimensions this metric can be broken down or filtered by, for this role.
    dimensions: Vec<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
struct DimensionInfo {
    name: String,
    description: String,
    #[serde(rename = "type")]
    ty: &'static str,
    values: Vec<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
struct EntityInfo {
    name: String,
    description: String,
    fields: Vec<FieldInfo>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
struct FieldInfo {
    name: String,
    #[serde(rename = "type")]
    ty: &'static str,
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    format: Option<&'static str>,
}

fn type_name(t: ValueType) -> &'static str {
    t.as_str()
}

/// Serialized catalog views, one per (workspace, role), each with the catalog it was built from:
/// a view is served again only while the workspace's catalog is that same one.
#[derive(Clone)]
pub(crate) struct CatalogViews(moka::future::Cache<(String, String), Arc<View>>);

/// A serialized view and the catalog it was built from.
type View = (Arc<Catalog>, Bytes);

impl Default for CatalogViews {
    fn default() -> Self {
        CatalogViews(
            moka::future::Cache::builder()
                .weigher(|_, v: &Arc<View>| u32::try_from(v.1.len()).unwrap_or(u32::MAX))
                .max_capacity(VIEW_CACHE_BYTES)
                .build(),
        )
    }
}

impl std::fmt::Debug for CatalogViews {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatalogViews")
            .field("entries", &self.0.entry_count())
            .finish()
    }
}

/// At most this many bytes of serialized views are kept.
const VIEW_CACHE_BYTES: u64 = 8 * 1024 * 1024;

async fn role_catalog(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    // Discovered values are the token's workspace's own (with several, none are shown).
    let workspace = caller.workspace(None).ok();
    let catalog = match &workspace {
        Some(w) => state.engine.catalog_in(w).await,
        None => state.engine.catalog().clone(),
    };
    let key = (workspace.unwrap_or_default(), caller.role.clone());
    let body = match state.catalog_views.0.get(&key).await {
        Some(hit) if Arc::ptr_eq(&hit.0, &catalog) => hit.1.clone(),
        _ => {
            let view = catalog_view(&catalog, &caller.role)?;
            // Strings, booleans and lists of them: serializing cannot fail.
            let body = Bytes::from(serde_json::to_vec(&view).unwrap_or_default());
            state
                .catalog_views
                .0
                .insert(key, Arc::new((catalog, body.clone())))
                .await;
            body
        }
    };
    Ok(([(CONTENT_TYPE, "application/json")], body).into_response())
}

/// What `role` may ask about in `catalog`.
fn catalog_view(catalog: &Catalog, role: &str) -> Result<CatalogView, ApiError> {
    let role = catalog.role(role).ok_or(ApiError::UnknownRole)?;
    let names = Names::of_role(catalog, role);
    let metrics = names
        .metrics
        .iter()
        .filter_map(|n| catalog.metrics.get(n))
        .map(|m| MetricInfo {
            name: m.name.clone(),
            label: m.label.clone(),
            description: m.description.clone(),
            format: m.format.as_str(),
            lower_is_better: m.lower_is_better,
            dimensions: catalog
                .dimensions_for_metric(&m.name)
                .into_iter()
                .filter(|d| names.dimensions.iter().any(|n| n == d))
                .map(str::to_string)
                .collect(),
        })
        .collect();
    let dimensions = names
        .dimensions
        .iter()
        .filter_map(|n| catalog.dimensions.get(n))
        .map(|d| DimensionInfo {
            name: d.name.clone(),
            description: d.description.clone(),
            ty: type_name(d.ty),
            values: d.values.clone(),
        })
        .collect();
    // Fields are judged one by one (a name shared by two entities must not borrow visibility).
    let visible = |s: Sensitivity| s <= role.max_sensitivity && s < Sensitivity::Pii;
    let entities = names
        .entities
        .iter()
        .filter_map(|n| catalog.entities.get(n))
        .map(|e| EntityInfo {
            name: e.name.clone(),
            description: e.description.clone(),
            fields: e
                .fields
                .values()
                .filter(|f| visible(f.sensitivity))
                .map(|f| FieldInfo {
                    name: f.name.clone(),
                    ty: type_name(f.ty),
                    description: f.description.clone(),
                    format: f.format.map(Format::as_str),
                })
                .collect(),
        })
        .collect();
    Ok(CatalogView {
        catalog: CatalogInfo {
            name: catalog.name.clone(),
            version: catalog.version.clone(),
            description: catalog.description.clone(),
            example_questions: catalog.example_questions.clone(),
            data_access_contact: catalog.data_access_contact.clone(),
        },
        role: RoleInfo {
            name: role.name.clone(),
            description: role.description.clone(),
            kinds: names.kinds.clone(),
            record_level: role.record_level,
            see_sql: role.see_sql,
            overview: role.overview.clone(),
        },
        metrics,
        dimensions,
        entities,
    })
}
