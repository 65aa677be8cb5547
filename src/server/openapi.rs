//! The OpenAPI 3.1 document served at `GET /openapi.json`, generated from the request and
//! response types themselves (`schemars` draft 2020-12 schemas, which OpenAPI 3.1 takes as is).
//!
//! Invariants: every route the router serves has an operation here (`tests/it/http_ops.rs` scans
//! the route modules and fails on a missing one); request bodies are described as they are
//! deserialized and responses as they are serialized; every error status points at the one
//! `ErrorBody` shape and lists the stable codes it carries (`Code::status`). The request `dsl` is
//! the served catalog's validation schema (`dsl::schema`, `Names::of_catalog`), one component per
//! query kind; what one role may send is narrower and served by `GET /v1/schema`. Code generators
//! take it as is: no boolean schema but `additionalProperties: false`, no inline object schema
//! where a component can be named, no component named like a generated client's own types
//! (`Response`, `Client`, …), and every request body has examples (made from the catalog's own
//! names) that the server answers.

use schemars::generate::{Contract, SchemaSettings};
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{json, Map, Value};

use super::error::{Code, ErrorBody, InvalidQueryBody};
use super::routes::admin::{AuditPage, AuditParams, RerunReport, RevokeRequest, RevokeResponse};
use super::routes::catalog::CatalogView;
use super::routes::chat::ChatRequest;
use super::routes::outcome::ChatResponse;
use super::routes::queries::QueryRecord;
use super::routes::query::{CompileRequest, CompileResponse, QueryRequest};
use crate::catalog::{Catalog, Sensitivity};
use crate::dsl::schema::{self as dsl_schema, Form, Names};
use crate::pipeline::Response;

/// Builds the OpenAPI 3.1 document for a server of `catalog`.
pub fn document(catalog: &Catalog) -> Value {
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
    let catalog_view = responses.of::<CatalogView>();
    let query_request = requests.of::<QueryRequest>();
    let compile_request = requests.of::<CompileRequest>();
    let chat_request = requests.of::<ChatRequest>();
    let chat_response = responses.of::<ChatResponse<'static>>();
    let revoke_request = requests.of::<RevokeRequest>();
    let mut audit_params = query_parameters::<AuditParams>();
    for parameter in audit_params.as_array_mut().expect("parameters are a list") {
        let example = match parameter["name"].as_str() {
            Some("after") => json!(50),
            Some("limit") => json!(100),
            _ => continue,
        };
        parameter["example"] = example;
    }
    let revoked = responses.of::<RevokeResponse>();
    let audit_page = responses.of::<AuditPage>();
    let record = responses.of::<QueryRecord>();
    let rerun_report = responses.of::<RerunReport>();

    let json_of = |schema: Value| json!({"application/json": {"schema": schema}});
    let component = |name: &str| json!({"$ref": format!("#/components/schemas/{name}")});
    let id = json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string"},
                     "example": "q_f4429c760ed29c29",
                     "description": "A `query_id` from an earlier response"}]);
    let examples = Examples::of(catalog);

    let ops = [
        Op::post("/v1/query", "runQuery", "Run a DSL query", "query")
            .body(query_request, examples.query())
            .ok("The answer, or a policy refusal", json_of(response.clone()))
            .errors(&[400, 401, 403, 413, 429, 500, 503, 504]),
        Op::post(
            "/v1/compile",
            "compileQuery",
            "SQL per dialect, no execution (roles with `see_sql`)",
            "query",
        )
        .body(compile_request, examples.compile())
        .ok(
            "The SQL per dialect, or a policy refusal",
            json_of(component("CompileOutcome")),
        )
        .errors(&[400, 401, 403, 413, 429, 500, 503]),
        Op::post(
            "/v1/chat",
            "chat",
            "Ask a question in English; with `Accept: text/event-stream` the stages stream as \
             events before the final response",
            "query",
        )
        .body(chat_request, examples.chat())
        .ok(
            "The answer, a refusal or a clarification. As `text/event-stream`: one event per \
             stage (`translated`, `validated`, `executed`; data `ChatStageEvent`), then \
             `answer` (data `ChatAnswerEvent`) and `response` (data `ChatResponse`), or one \
             `error` (data `ErrorBody`) instead of those two",
            json!({
                "application/json": {"schema": chat_response},
                "text/event-stream": {"schema": {"type": "string"}},
            }),
        )
        .errors(&[400, 401, 403, 404, 413, 429, 500, 503, 504]),
        Op::get(
            "/v1/schema",
            "roleSchema",
            "The DSL JSON Schema the caller's role may send",
            "catalog",
        )
        .ok(
            "A JSON Schema (draft 2020-12)",
            json_of(component("RoleDslSchema")),
        )
        .errors(&[401, 403, 429, 500, 503]),
        Op::get(
            "/v1/catalog",
            "roleCatalog",
            "What the caller's role may ask about",
            "catalog",
        )
        .ok("Metrics, dimensions and entities", json_of(catalog_view))
        .errors(&[401, 403, 429, 500, 503]),
        Op::get(
            "/v1/queries/{id}",
            "getQuery",
            "One of the caller's own past queries",
            "query",
        )
        .params(id.clone())
        .ok("The query as recorded", json_of(record))
        .errors(&[401, 403, 404, 429, 500, 503]),
        Op::get(
            "/v1/queries/{id}/answer",
            "answerQuery",
            "One of the caller's own past queries run again under the caller's role, as of the \
             day it was asked (the page's permalink `/q/{id}`)",
            "query",
        )
        .params(id.clone())
        .ok("The answer, or a policy refusal", json_of(response.clone()))
        .errors(&[400, 401, 403, 404, 409, 429, 500, 503, 504]),
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
        .errors(&[401, 403, 404, 409, 429, 500, 503, 504]),
        Op::post(
            "/v1/admin/revoke",
            "revoke",
            "Revoke a token (`jti`) or every token of a subject (admin)",
            "admin",
        )
        .body(revoke_request, examples.revoke())
        .ok(
            "What was revoked, and in which workspaces",
            json_of(revoked),
        )
        .errors(&[400, 401, 403, 404, 413, 429, 500, 503]),
        Op::get(
            "/v1/admin/audit",
            "audit",
            "Audit rows, newest first (admin)",
            "admin",
        )
        .params(audit_params)
        .ok("Audit rows and the hash chain's check", json_of(audit_page))
        .errors(&[400, 401, 403, 429, 500, 503]),
        Op::get("/healthz", "health", "The process answers", "ops")
            .public()
            .ok("Alive", json_of(component("HealthStatus")))
            .errors(&[500]),
        Op::get("/readyz", "ready", "The warehouse and store answer", "ops")
            .public()
            .ok("Ready", json_of(component("ReadyStatus")))
            .errors(&[500, 503]),
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
        )
        .errors(&[500]),
        Op::get("/openapi.json", "openapi", "This document", "ops")
            .public()
            .ok("OpenAPI 3.1", json_of(component("OpenApiDocument")))
            .errors(&[500]),
        Op::get(
            "/",
            "page",
            "The chat page (question box, answer, chart, inspector)",
            "page",
        )
        .public()
        .ok("HTML", json!({"text/html": {"schema": {"type": "string"}}}))
        .errors(&[500]),
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
        .params(json!([{"name": "path", "in": "path", "required": true,
                        "schema": {"type": "string"}, "example": "app.js",
                        "description": "A file of the page, e.g. `app.js`"}]))
        .ok(
            "The file (script, style sheet, image or text)",
            json!({
                "text/javascript": {"schema": {"type": "string"}},
                "text/css": {"schema": {"type": "string"}},
                "image/svg+xml": {"schema": {"type": "string"}},
                "text/plain": {"schema": {"type": "string"}},
            }),
        )
        .not_modified()
        .errors(&[404, 500]),
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
    dsl_components(&mut schemas, catalog);
    for (name, schema) in plain_components(compiled, response) {
        schemas.insert(name.into(), schema);
    }
    let mut schemas = Value::Object(schemas);
    for_generators(&mut schemas);
    let Value::Object(mut schemas) = schemas else {
        unreachable!("components are an object")
    };
    schemas.sort_keys();

    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Tally",
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!(
                "Exact answers to analytics questions: a typed query DSL compiled to SQL, or an \
                 honest refusal. Every error body has a stable `code` (`ErrorCode`); any path \
                 answers 404 `not_found` when unknown and 405 `method_not_allowed` for a method \
                 it does not serve. This document is for the catalog `{}` (version {}): `dsl` \
                 names its metrics, dimensions and funnels.",
                catalog.name, catalog.version
            ),
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "servers": [{
            "url": "/",
            "description": "The server this document is served from (`tally serve`)",
        }],
        "security": [{"bearer": []}],
        "tags": [
            {"name": "query", "description": "Questions, DSL queries and their history"},
            {"name": "catalog", "description": "What the caller's role may ask about"},
            {"name": "admin", "description": "Reruns, revocations and the audit log (admin role)"},
            {"name": "ops", "description": "Probes, metrics and this document (no token)"},
            {"name": "page", "description": "The chat page (no token)"},
        ],
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

/// One reusable response per error status, each listing the stable codes it carries.
fn error_responses(error: &Value, invalid: &Value) -> Value {
    let body = |status: u16, description: &str| {
        let codes: Vec<String> = <Code as strum::IntoEnumIterator>::iter()
            .filter(|c| c.status().as_u16() == status)
            .map(|c| format!("`{}`", <&'static str>::from(c)))
            .collect();
        json!({
            "description": format!("{description}. Codes: {}", codes.join(", ")),
            "content": {"application/json": {"schema": error}},
        })
    };
    let retry_after = json!({
        "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}
    });
    let mut bad_request = body(
        400,
        "Invalid request; an invalid query carries the response contract with diagnostics \
         (`InvalidQueryBody`)",
    );
    bad_request["content"]["application/json"]["schema"] = json!({"oneOf": [invalid, error]});
    let mut unauthorized = body(
        401,
        "Missing or rejected token; `reason` names the failed check",
    );
    unauthorized["headers"] = json!({"WWW-Authenticate": {"schema": {"type": "string"}}});
    let mut too_many = body(
        429,
        "Over the caller's rate limit, or over the client address's limit for requests without \
         a valid token",
    );
    too_many["headers"] = retry_after.clone();
    let mut unavailable = body(
        503,
        "The warehouse, the store or the identity provider's keys are unavailable, or (for \
         `/readyz`) not ready",
    );
    unavailable["headers"] = retry_after;
    json!({
        "BadRequest": bad_request,
        "Unauthorized": unauthorized,
        "Forbidden": body(403, "The token does not grant this (workspace, role, admin, SQL)"),
        "NotFound": body(404, "No such route or resource"),
        "Conflict": body(409, "The stored query never had valid DSL"),
        "PayloadTooLarge": body(413, "The body is over the limit"),
        "TooManyRequests": too_many,
        "InternalServerError": body(
            500,
            "The server failed to answer; the failure is logged, the body says nothing more"
        ),
        "ServiceUnavailable": unavailable,
        "GatewayTimeout": body(504, "The query ran past its time limit"),
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
        500 => "InternalServerError",
        503 => "ServiceUnavailable",
        504 => "GatewayTimeout",
        other => panic!("no error response is defined for status {other}"),
    }
}

/// The catalog's DSL (validation form) as components: `DslQuery` is one of a component per
/// query kind (`MetricQuery`, …), `Period` one of `PresetPeriod`, `LastNPeriod`, …; the names'
/// enums (`MetricName`, …) are the catalog's. The catalog-free `Query` the type generators made
/// is replaced (responses' `executed_dsl` points at `DslQuery` too: it is checked DSL).
fn dsl_components(schemas: &mut Map<String, Value>, catalog: &Catalog) {
    let mut dsl = dsl_schema::schema(&Names::of_catalog(catalog), Form::Validation);
    rewrite_refs(&mut dsl, &|r| {
        r.strip_prefix("#/$defs/")
            .map(|name| format!("#/components/schemas/{name}"))
    });
    let Value::Object(mut dsl) = dsl else {
        unreachable!("the DSL schema is an object")
    };
    if let Some(Value::Object(defs)) = dsl.remove("$defs") {
        for (name, def) in defs {
            schemas.insert(name, def);
        }
    }
    let branches = dsl.remove("anyOf").unwrap_or_else(|| json!([]));
    schemas.remove("Query");
    let mut query = json!({
        "anyOf": branches,
        "description": "A DSL v1 document: one query kind (`kind`) with its fields. Names are \
                        the catalog's; `GET /v1/schema` narrows them to the caller's role.",
    });
    lift_branches(schemas, &mut query, |b| {
        b.pointer("/properties/kind/enum/0")
            .and_then(Value::as_str)
            .map(|kind| format!("{}Query", camel(kind)))
    });
    schemas.insert("DslQuery".into(), query);
    if let Some(mut period) = schemas.remove("Period") {
        lift_branches(schemas, &mut period, |b| {
            let required = b.get("required")?.as_array()?;
            match required.as_slice() {
                [Value::String(key)] => Some(format!("{}Period", camel(key))),
                _ => None,
            }
        });
        schemas.insert("Period".into(), period);
    }
    let mut all = Value::Object(std::mem::take(schemas));
    rewrite_refs(&mut all, &|r| {
        (r == "#/components/schemas/Query").then(|| "#/components/schemas/DslQuery".to_string())
    });
    let Value::Object(all) = all else {
        unreachable!("components are an object")
    };
    *schemas = all;
}

/// Moves each inline branch of `schema`'s `anyOf`/`oneOf` into a component named by `name`.
fn lift_branches(
    schemas: &mut Map<String, Value>,
    schema: &mut Value,
    name: impl Fn(&Value) -> Option<String>,
) {
    for key in ["anyOf", "oneOf"] {
        let Some(Value::Array(branches)) = schema.get_mut(key) else {
            continue;
        };
        for branch in branches.iter_mut() {
            if branch.get("$ref").is_some() {
                continue;
            }
            let Some(component) = name(branch) else {
                continue;
            };
            let lifted = std::mem::replace(
                branch,
                json!({"$ref": format!("#/components/schemas/{component}")}),
            );
            let previous = schemas.insert(component.clone(), lifted);
            assert!(
                previous.is_none(),
                "two schemas would be named `{component}`"
            );
        }
    }
}

/// `last_n` → `LastN`.
fn camel(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn rewrite_refs(v: &mut Value, to: &dyn Fn(&str) -> Option<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get_mut("$ref") {
                if let Some(new) = to(r) {
                    *r = new;
                }
            }
            m.values_mut().for_each(|x| rewrite_refs(x, to));
        }
        Value::Array(a) => a.iter_mut().for_each(|x| rewrite_refs(x, to)),
        _ => {}
    }
}

/// Components that no Rust type describes: the probes' bodies, the documents served as JSON,
/// the chat stream's event data and what `POST /v1/compile` answers.
fn plain_components(compiled: Value, response: Value) -> Vec<(&'static str, Value)> {
    let status = |fields: &[&str], status: &str| {
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
    };
    vec![
        ("HealthStatus", status(&["status"], "`ok`")),
        (
            "ReadyStatus",
            status(
                &["status", "warehouse", "store"],
                "`ready`; the others `ok`",
            ),
        ),
        (
            "RoleDslSchema",
            json!({"type": "object", "description": "A JSON Schema (draft 2020-12) of the DSL \
                   the caller's role may send, in OpenAI's strict structured-output form (root \
                   `{\"query\": …}`)"}),
        ),
        (
            "OpenApiDocument",
            json!({"type": "object", "description": "An OpenAPI 3.1 document"}),
        ),
        (
            "CompileOutcome",
            json!({"oneOf": [compiled, response], "description": "The SQL per dialect, or (for \
                   a refused query) the response contract with the refusal"}),
        ),
        (
            "ChatStageEvent",
            json!({
                "type": "object",
                "description": "The data of a `translated`, `validated` or `executed` event of \
                                the chat stream: how long the stage took",
                "properties": {"ms": {"type": "number", "description": "Milliseconds"}},
                "required": ["ms"],
            }),
        ),
        (
            "ChatAnswerEvent",
            json!({
                "type": "object",
                "description": "The data of the chat stream's `answer` event (sent once the \
                                audit row is written, before `response`)",
                "properties": {"text": {"type": "string"}},
                "required": ["text"],
            }),
        ),
    ]
}

/// What code generators need on top of JSON Schema 2020-12: no boolean schemas (`true` becomes
/// `{}`, `additionalProperties: true` is the default and goes; `additionalProperties: false`,
/// which every generator reads, stays), and a `oneOf`/`anyOf` of plain string enums becomes one
/// enum whose values' descriptions move into the schema's description.
fn for_generators(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if m.get("additionalProperties") == Some(&Value::Bool(true)) {
                m.remove("additionalProperties");
            }
            for key in ["items", "not", "if", "then", "else", "contains"] {
                if let Some(b @ Value::Bool(true)) = m.get_mut(key) {
                    *b = json!({});
                }
            }
            for key in ["properties", "patternProperties", "$defs", "schemas"] {
                if let Some(Value::Object(children)) = m.get_mut(key) {
                    for child in children.values_mut() {
                        if *child == Value::Bool(true) {
                            *child = json!({});
                        }
                    }
                }
            }
            merge_string_enums(m);
            m.values_mut().for_each(for_generators);
        }
        Value::Array(a) => a.iter_mut().for_each(for_generators),
        _ => {}
    }
}

fn merge_string_enums(m: &mut Map<String, Value>) {
    for key in ["oneOf", "anyOf"] {
        let Some(Value::Array(branches)) = m.get(key) else {
            continue;
        };
        let mut values = Vec::new();
        let mut notes = Vec::new();
        for b in branches {
            if b.get("type").and_then(Value::as_str) != Some("string") {
                return;
            }
            let these: Vec<Value> = match (b.get("enum"), b.get("const")) {
                (Some(Value::Array(e)), None) => e.clone(),
                (None, Some(c)) => vec![c.clone()],
                _ => return,
            };
            if let Some(d) = b.get("description").and_then(Value::as_str) {
                let named: Vec<String> = these
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|s| format!("`{s}`"))
                    .collect();
                notes.push(format!("{}: {}", named.join(", "), d));
            }
            values.extend(these);
        }
        m.remove(key);
        m.insert("type".into(), json!("string"));
        m.insert("enum".into(), Value::Array(values));
        if !notes.is_empty() {
            let mut description = m
                .get("description")
                .and_then(Value::as_str)
                .map(|d| format!("{d}\n\n"))
                .unwrap_or_default();
            description.push_str(&notes.join("\n"));
            m.insert("description".into(), json!(description));
        }
    }
}

/// One named example of a request body: (name, summary, value).
type Example = (&'static str, &'static str, Value);

/// Example request bodies made from the catalog's own names (the source names none): the first
/// public metric that breaks down, its first public dimension, the first funnel if there is one,
/// and the catalog's first example questions.
struct Examples {
    metric: Option<String>,
    dimension: Option<String>,
    funnel: Option<String>,
    questions: Vec<String>,
}

impl Examples {
    fn of(catalog: &Catalog) -> Examples {
        // The catalog's maps are in name order.
        let metric = catalog
            .metrics
            .values()
            .filter(|m| m.sensitivity == Sensitivity::Public)
            .find(|m| !catalog.dimensions_for_metric(&m.name).is_empty())
            .map(|m| m.name.clone());
        let dimension = metric.as_deref().and_then(|m| {
            catalog
                .dimensions_for_metric(m)
                .into_iter()
                .filter_map(|d| catalog.dimensions.get(d))
                .filter(|d| d.sensitivity == Sensitivity::Public && !d.entity)
                .map(|d| d.name.clone())
                .min()
        });
        Examples {
            metric,
            dimension,
            funnel: catalog.funnels.keys().next().cloned(),
            questions: catalog.example_questions.iter().take(3).cloned().collect(),
        }
    }

    fn query(&self) -> Vec<Example> {
        let mut out = vec![(
            "overview",
            "The role's KPIs last week against the week before",
            json!({"dsl": {"kind": "overview", "period": {"preset": "last_week"},
                           "compare": "previous_period"}}),
        )];
        if let Some(m) = &self.metric {
            out.push((
                "series",
                "One metric over the last 28 days, by week",
                json!({"dsl": {"kind": "metric", "metrics": [m],
                               "period": {"last_n": {"count": 28, "unit": "day"}},
                               "granularity": "week"}}),
            ));
            if let Some(d) = &self.dimension {
                out.push((
                    "breakdown",
                    "One metric last month, the top five of a dimension",
                    json!({"dsl": {"kind": "metric", "metrics": [m],
                                   "period": {"preset": "last_month"},
                                   "group_by": [d], "top_n": 5}}),
                ));
            }
        }
        if let Some(f) = &self.funnel {
            out.push((
                "funnel",
                "A catalog funnel over the last 30 days",
                json!({"dsl": {"kind": "funnel", "funnel": f,
                               "period": {"last_n": {"count": 30, "unit": "day"}}}}),
            ));
        }
        out
    }

    fn compile(&self) -> Vec<Example> {
        self.query()
            .into_iter()
            .take(2)
            .map(|(name, summary, mut body)| {
                body["dialect"] = json!("postgres");
                (name, summary, body)
            })
            .collect()
    }

    fn chat(&self) -> Vec<Example> {
        const NAMES: [&str; 3] = ["question", "another_question", "third_question"];
        let mut out: Vec<Example> = self
            .questions
            .iter()
            .zip(NAMES)
            .map(|(q, name)| {
                (
                    name,
                    "One of the catalog's example questions",
                    json!({"question": q}),
                )
            })
            .collect();
        if out.is_empty() {
            // A catalog without example questions: the overview, which every catalog has.
            out.push((
                "question",
                "The role's KPIs",
                json!({"question": "How are we doing?"}),
            ));
        }
        out
    }

    fn revoke(&self) -> Vec<Example> {
        vec![
            (
                "token",
                "One token, by its `jti` claim",
                json!({"jti": "0b5e2c1a-5d7f-4c1e-9a57-3f2d1c0b9a88"}),
            ),
            (
                "subject",
                "Every token of a subject issued up to now",
                json!({"subject": "user-42"}),
            ),
        ]
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
    body: Option<(Value, Vec<Example>)>,
    ok: Option<(&'static str, Value)>,
    not_modified: bool,
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
            not_modified: false,
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

    /// The request body's schema and its examples (name, summary, value).
    fn body(mut self, schema: Value, examples: Vec<Example>) -> Op {
        assert!(
            !examples.is_empty(),
            "{}: a body needs an example",
            self.path
        );
        self.body = Some((schema, examples));
        self
    }

    /// Answers 304 to a matching `If-None-Match`.
    fn not_modified(mut self) -> Op {
        self.not_modified = true;
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
        if self.not_modified {
            responses.insert(
                "304".into(),
                json!({"description": "Not modified: the `If-None-Match` tag is current"}),
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
        if let Some((schema, examples)) = self.body {
            let examples: Map<String, Value> = examples
                .into_iter()
                .map(|(name, summary, value)| {
                    (name.into(), json!({"summary": summary, "value": value}))
                })
                .collect();
            op["requestBody"] = json!({
                "required": true,
                "content": {"application/json": {"schema": schema, "examples": examples}},
            });
        }
        (self.path.to_string(), self.method, op)
    }
}
