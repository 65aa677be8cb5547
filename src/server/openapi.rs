//! The OpenAPI 3.1 document served at `GET /openapi.json`, generated from the request and
//! response types themselves (`schemars` draft 2020-12 schemas, which OpenAPI 3.1 takes as is).
//!
//! Invariants: every route the router serves has an operation here (`tests/it/http_ops.rs` scans
//! the route modules and fails on a missing one); request bodies are described as they are
//! deserialized and responses as they are serialized; every error status points at the one
//! `ErrorBody` shape. The document names no catalog: the DSL a role may send is served per role
//! by `GET /v1/schema`.

use std::sync::OnceLock;

use schemars::generate::{Contract, SchemaSettings};
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{json, Map, Value};

use super::error::{ErrorBody, InvalidQueryBody};
use super::routes::admin::{AuditPage, AuditParams, RerunReport, RevokeRequest, RevokeResponse};
use super::routes::catalog::CatalogView;
use super::routes::chat::ChatRequest;
use super::routes::outcome::ChatResponse;
use super::routes::queries::QueryRecord;
use super::routes::query::{CompileRequest, CompileResponse, QueryRequest};
use crate::pipeline::Response;

/// The document, built once.
pub(crate) fn cached() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(document)
}

/// Builds the OpenAPI 3.1 document.
pub fn document() -> Value {
    let settings = |contract| {
        SchemaSettings::draft2020_12().with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
            s.contract = contract;
        })
    };
    let mut requests = Schemas(settings(Contract::Deserialize).into_generator());
    let mut responses = Schemas(settings(Contract::Serialize).into_generator());

    let error = responses.of::<ErrorBody>();
    let invalid = responses.of::<InvalidQueryBody<'static>>();
    let response = responses.of::<Response>();
    let compiled = responses.of::<CompileResponse>();
    let catalog = responses.of::<CatalogView>();
    let query_request = requests.of::<QueryRequest>();
    let compile_request = requests.of::<CompileRequest>();
    let chat_request = requests.of::<ChatRequest>();
    let chat_response = responses.of::<ChatResponse<'static>>();
    let revoke_request = requests.of::<RevokeRequest>();
    let audit_params = query_parameters::<AuditParams>();
    let revoked = responses.of::<RevokeResponse>();
    let audit_page = responses.of::<AuditPage>();
    let record = responses.of::<QueryRecord>();
    let rerun_report = responses.of::<RerunReport>();

    let object = |description: &str| json!({"type": "object", "description": description});
    let json_of = |schema: Value| json!({"application/json": {"schema": schema}});
    let id = json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}]);

    let ops = [
        Op::post("/v1/query", "runQuery", "Run a DSL query", "query")
            .body(query_request)
            .ok("The answer, or a policy refusal", json_of(response.clone()))
            .errors(&[400, 401, 403, 413, 429, 503, 504]),
        Op::post(
            "/v1/compile",
            "compileQuery",
            "SQL per dialect, no execution (roles with `see_sql`)",
            "query",
        )
        .body(compile_request)
        .ok(
            "The SQL per dialect, or a policy refusal",
            json_of(json!({"oneOf": [compiled, response.clone()]})),
        )
        .errors(&[400, 401, 403, 413, 429, 503]),
        Op::post(
            "/v1/chat",
            "chat",
            "Ask a question in English; with `Accept: text/event-stream` the stages stream as \
             events before the final response",
            "query",
        )
        .body(chat_request)
        .ok(
            "The answer, a refusal or a clarification",
            json!({
                "application/json": {"schema": chat_response},
                "text/event-stream": {"schema": {"type": "string"}},
            }),
        )
        .errors(&[400, 401, 403, 404, 413, 429, 503, 504]),
        Op::get(
            "/v1/schema",
            "roleSchema",
            "The DSL JSON Schema the caller's role may send",
            "catalog",
        )
        .ok(
            "A JSON Schema (draft 2020-12)",
            json_of(object("a JSON Schema")),
        )
        .errors(&[401, 403, 429, 503]),
        Op::get(
            "/v1/catalog",
            "roleCatalog",
            "What the caller's role may ask about",
            "catalog",
        )
        .ok("Metrics, dimensions and entities", json_of(catalog))
        .errors(&[401, 403, 429, 503]),
        Op::get(
            "/v1/queries/{id}",
            "getQuery",
            "One of the caller's own past queries",
            "query",
        )
        .params(id.clone())
        .ok("The query as recorded", json_of(record))
        .errors(&[401, 403, 404, 429, 503]),
        Op::get(
            "/v1/queries/{id}/answer",
            "answerQuery",
            "One of the caller's own past queries run again under the caller's role, as of the \
             day it was asked (the page's permalink `/q/{id}`)",
            "query",
        )
        .params(id.clone())
        .ok("The answer, or a policy refusal", json_of(response.clone()))
        .errors(&[400, 401, 403, 404, 409, 429, 503, 504]),
        Op::post(
            "/v1/admin/queries/{id}/rerun",
            "rerunQuery",
            "Re-validate and rerun a stored query under its original caller's role and workspace \
             (admin)",
            "admin",
        )
        .params(id.clone())
        .ok(
            "How the rerun ended and whether its result equals the original's (never the \
             values or the SQL)",
            json_of(rerun_report),
        )
        .errors(&[401, 403, 404, 409, 429, 503, 504]),
        Op::post(
            "/v1/admin/revoke",
            "revoke",
            "Revoke a token (`jti`) or every token of a subject (admin)",
            "admin",
        )
        .body(revoke_request)
        .ok(
            "What was revoked, and in which workspaces",
            json_of(revoked),
        )
        .errors(&[400, 401, 403, 404, 413, 429, 503]),
        Op::get(
            "/v1/admin/audit",
            "audit",
            "Audit rows, newest first (admin)",
            "admin",
        )
        .params(audit_params)
        .ok("Audit rows and the hash chain's check", json_of(audit_page))
        .errors(&[400, 401, 403, 429, 503]),
        Op::get("/healthz", "health", "The process answers", "ops")
            .public()
            .ok("Alive", json_of(status_schema(&["status"], "`ok`"))),
        Op::get("/readyz", "ready", "The warehouse and store answer", "ops")
            .public()
            .ok(
                "Ready",
                json_of(status_schema(&["status", "warehouse"], "`ready`")),
            )
            .errors(&[503]),
        Op::get(
            "/metrics",
            "metrics",
            "Prometheus metrics: requests by route, status and outcome; stage latency histograms",
            "ops",
        )
        .public()
        .ok(
            "Prometheus text format 0.0.4",
            json!({"text/plain": {"schema": {"type": "string"}}}),
        ),
        Op::get("/openapi.json", "openapi", "This document", "ops")
            .public()
            .ok("OpenAPI 3.1", json_of(object("an OpenAPI 3.1 document"))),
        Op::get(
            "/",
            "page",
            "The chat page (question box, answer, chart, inspector)",
            "page",
        )
        .public()
        .ok("HTML", json!({"text/html": {"schema": {"type": "string"}}})),
        Op::get(
            "/q/{id}",
            "permalink",
            "The chat page showing one of the caller's past answers (the page asks \
             `/v1/queries/{id}/answer` with the caller's token)",
            "page",
        )
        .public()
        .params(id)
        .ok("HTML", json!({"text/html": {"schema": {"type": "string"}}})),
        Op::get(
            "/assets/{path}",
            "asset",
            "The chat page's static files",
            "page",
        )
        .public()
        .params(
            json!([{"name": "path", "in": "path", "required": true, "schema": {"type": "string"}}]),
        )
        .ok("The file", json!({"*/*": {"schema": {"type": "string"}}}))
        .errors(&[404]),
    ];

    let mut paths = Map::new();
    for op in ops {
        let (path, method, operation) = op.build();
        paths
            .entry(path)
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("a path item is an object")
            .insert(method.to_string(), operation);
    }

    let mut schemas = requests.0.take_definitions(true);
    for (name, schema) in responses.0.take_definitions(true) {
        match schemas.get(&name) {
            Some(existing) if *existing != schema => panic!(
                "the schema `{name}` differs between requests and responses: give one of the \
                 types another name"
            ),
            _ => {
                schemas.insert(name, schema);
            }
        }
    }
    schemas.sort_keys();

    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Tally",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Exact answers to analytics questions: a typed query DSL compiled to \
                            SQL, or an honest refusal. Every error body has a stable `code`.",
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "HS256 dev tokens (`tally token`) or RS256/ES256 tokens from \
                                    the configured JWKS; claims `sub`, `role`, `workspaces`, \
                                    `jti`, `iss`, `aud`, `exp`",
                }
            },
            "responses": error_responses(&error, &invalid),
        },
    })
}

/// Schemas by reference into `#/components/schemas`.
struct Schemas(SchemaGenerator);

impl Schemas {
    fn of<T: JsonSchema>(&mut self) -> Value {
        self.0.subschema_for::<T>().to_value()
    }
}

/// The fields of a `Query<T>` extractor's type as OpenAPI query parameters.
fn query_parameters<T: JsonSchema>() -> Value {
    let schema = SchemaSettings::draft2020_12()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut parameters = Vec::new();
    if let Some(properties) = schema["properties"].as_object() {
        for (name, property) in properties {
            let mut property = property.clone();
            let description = property
                .as_object_mut()
                .and_then(|p| p.remove("description"));
            let mut parameter = json!({
                "name": name,
                "in": "query",
                "required": required.contains(&name.as_str()),
                "schema": property,
            });
            if let Some(d) = description {
                parameter["description"] = d;
            }
            parameters.push(parameter);
        }
    }
    Value::Array(parameters)
}

fn status_schema(fields: &[&str], status: &str) -> Value {
    let properties: Map<String, Value> = fields
        .iter()
        .map(|f| (f.to_string(), json!({"type": "string"})))
        .collect();
    json!({
        "type": "object",
        "description": format!("`status` is {status}"),
        "properties": properties,
        "required": fields,
    })
}

/// One reusable response per error status.
fn error_responses(error: &Value, invalid: &Value) -> Value {
    let body = |description: &str| json!({"description": description, "content": {"application/json": {"schema": error}}});
    let retry_after = json!({
        "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}
    });
    let mut unauthorized = body("Missing or rejected token; `reason` names the failed check");
    unauthorized["headers"] = json!({"WWW-Authenticate": {"schema": {"type": "string"}}});
    let mut too_many = body(
        "Over the caller's rate limit, or over the client address's limit for requests without \
         a valid token (`rate_limited`)",
    );
    too_many["headers"] = retry_after.clone();
    let mut unavailable =
        body("The warehouse, the store or the identity provider's keys are unavailable");
    unavailable["headers"] = retry_after;
    json!({
        "BadRequest": {
            "description": "Invalid request; an invalid query carries the response contract \
                            with diagnostics (`invalid_query`)",
            "content": {"application/json": {"schema": {"oneOf": [invalid, error]}}},
        },
        "Unauthorized": unauthorized,
        "Forbidden": body("The token does not grant this (workspace, role, admin, SQL)"),
        "NotFound": body("No such route or resource"),
        "Conflict": body("The stored query never had valid DSL (`not_rerunnable`)"),
        "PayloadTooLarge": body("The body is over the limit"),
        "TooManyRequests": too_many,
        "ServiceUnavailable": unavailable,
        "GatewayTimeout": body("The query ran past its time limit"),
    })
}

fn error_response_name(status: u16) -> &'static str {
    match status {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        409 => "Conflict",
        413 => "PayloadTooLarge",
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        504 => "GatewayTimeout",
        other => panic!("no error response is defined for status {other}"),
    }
}

/// One operation, built step by step.
struct Op {
    method: &'static str,
    path: &'static str,
    operation_id: &'static str,
    summary: &'static str,
    tag: &'static str,
    public: bool,
    params: Option<Value>,
    body: Option<Value>,
    ok: Option<(&'static str, Value)>,
    errors: &'static [u16],
}

impl Op {
    fn new(
        method: &'static str,
        path: &'static str,
        operation_id: &'static str,
        summary: &'static str,
        tag: &'static str,
    ) -> Op {
        Op {
            method,
            path,
            operation_id,
            summary,
            tag,
            public: false,
            params: None,
            body: None,
            ok: None,
            errors: &[],
        }
    }

    fn get(path: &'static str, id: &'static str, summary: &'static str, tag: &'static str) -> Op {
        Op::new("get", path, id, summary, tag)
    }

    fn post(path: &'static str, id: &'static str, summary: &'static str, tag: &'static str) -> Op {
        Op::new("post", path, id, summary, tag)
    }

    /// No token needed.
    fn public(mut self) -> Op {
        self.public = true;
        self
    }

    fn params(mut self, params: Value) -> Op {
        self.params = Some(params);
        self
    }

    fn body(mut self, schema: Value) -> Op {
        self.body = Some(schema);
        self
    }

    fn ok(mut self, description: &'static str, content: Value) -> Op {
        self.ok = Some((description, content));
        self
    }

    fn errors(mut self, statuses: &'static [u16]) -> Op {
        self.errors = statuses;
        self
    }

    fn build(self) -> (String, &'static str, Value) {
        let mut responses = Map::new();
        if let Some((description, content)) = self.ok {
            responses.insert(
                "200".into(),
                json!({"description": description, "content": content}),
            );
        }
        for &status in self.errors {
            responses.insert(
                status.to_string(),
                json!({"$ref": format!("#/components/responses/{}", error_response_name(status))}),
            );
        }
        let mut op = json!({
            "operationId": self.operation_id,
            "summary": self.summary,
            "tags": [self.tag],
            "responses": responses,
        });
        if self.public {
            op["security"] = json!([]);
        }
        if let Some(params) = self.params {
            op["parameters"] = params;
        }
        if let Some(schema) = self.body {
            op["requestBody"] = json!({
                "required": true,
                "content": {"application/json": {"schema": schema}},
            });
        }
        (self.path.to_string(), self.method, op)
    }
}
