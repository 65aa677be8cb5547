//! JSON Schema for the DSL, generated from the Rust types and specialised to a catalog (and
//! optionally narrowed to a role).
//!
//! Two forms come from one generator:
//! - `Form::Validation` accepts what users and translators send: optional fields may be absent or
//!   `null`. `check/` validates raw JSON against it.
//! - `Form::Strict` is accepted by OpenAI structured outputs in strict mode: the root is an object
//!   `{"query": …}` (strict mode needs an object root), `anyOf` instead of `oneOf`, every property
//!   required (optional ones nullable), `additionalProperties: false` everywhere, no `title`,
//!   `default`, `const` or non-standard `format`. `dsl-spec/` holds these, one per role.

use serde_json::{json, Map, Value};

use super::Query;
use crate::catalog::{Catalog, Role, Sensitivity};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Validation,
    Strict,
}

/// Formats that strict mode accepts; others are dropped.
const STRICT_FORMATS: &[&str] = &[
    "date-time",
    "time",
    "date",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uuid",
];

/// The names a schema offers.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub kinds: Vec<String>,
    pub metrics: Vec<String>,
    pub dimensions: Vec<String>,
    pub entities: Vec<String>,
    pub fields: Vec<String>,
    pub funnels: Vec<String>,
    /// Event names ad-hoc funnel steps may match.
    pub steps: Vec<String>,
    pub retentions: Vec<String>,
}

impl Names {
    /// Everything the catalog has (the translators' schema: they must be able to say what was asked).
    pub fn of_catalog(catalog: &Catalog) -> Names {
        let mut fields: Vec<String> = catalog
            .entities
            .values()
            .flat_map(|e| e.fields.keys().cloned())
            .collect();
        fields.sort();
        fields.dedup();
        Names {
            kinds: supported_kinds(),
            metrics: catalog.metrics.keys().cloned().collect(),
            dimensions: catalog.dimensions.keys().cloned().collect(),
            entities: catalog.entities.keys().cloned().collect(),
            fields,
            funnels: catalog.funnels.keys().cloned().collect(),
            steps: catalog.event_names(),
            retentions: catalog.retention.keys().cloned().collect(),
        }
    }

    /// What `role` may use: for `GET /v1/schema`, docs and suggestions.
    pub fn of_role(catalog: &Catalog, role: &Role) -> Names {
        let visible = |s: Sensitivity| s <= role.max_sensitivity && s < Sensitivity::Pii;
        let kinds = supported_kinds()
            .into_iter()
            .filter(|k| role.kinds.iter().any(|r| r.as_str() == k))
            .collect();
        let metrics = catalog
            .metrics
            .values()
            .filter(|m| role.metrics.allows(&m.name) && visible(m.sensitivity))
            .map(|m| m.name.clone())
            .collect();
        let dimensions = catalog
            .dimensions
            .values()
            .filter(|d| {
                role.dimensions.allows(&d.name)
                    && visible(d.sensitivity)
                    && (role.record_level || !d.entity)
            })
            .map(|d| d.name.clone())
            .collect();
        let record_level = role.record_level && role.kinds.iter().any(|k| k.as_str() == "list");
        let entities = if record_level {
            catalog.entities.keys().cloned().collect()
        } else {
            Vec::new()
        };
        let mut fields: Vec<String> = if record_level {
            catalog
                .entities
                .values()
                .flat_map(|e| e.fields.values())
                .filter(|f| visible(f.sensitivity))
                .map(|f| f.name.clone())
                .collect()
        } else {
            Vec::new()
        };
        fields.sort();
        fields.dedup();
        let funnel = role.kinds.iter().any(|k| k.as_str() == "funnel");
        let (funnels, steps) = if funnel {
            (
                catalog.funnels.keys().cloned().collect(),
                catalog.event_names(),
            )
        } else {
            (Vec::new(), Vec::new())
        };
        let retentions = if role.kinds.iter().any(|k| k.as_str() == "retention") {
            catalog.retention.keys().cloned().collect()
        } else {
            Vec::new()
        };
        Names {
            kinds,
            metrics,
            dimensions,
            entities,
            fields,
            funnels,
            steps,
            retentions,
        }
    }
}

fn supported_kinds() -> Vec<String> {
    crate::dsl::Kind::all_supported()
        .into_iter()
        .map(|k| k.as_str().to_string())
        .collect()
}

/// The DSL schema over `names` in the requested form.
pub fn schema(names: &Names, form: Form) -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let mut root = generator.into_root_schema_for::<Query>().to_value();
    let root_obj = root.as_object_mut().expect("schemars returns an object");
    root_obj.remove("$schema");
    root_obj.remove("title");
    root_obj.remove("description");

    let mut defs = root_obj
        .remove("$defs")
        .and_then(|d| match d {
            Value::Object(m) => Some(m),
            _ => None,
        })
        .unwrap_or_default();
    set_enum(
        &mut defs,
        "MetricName",
        &names.metrics,
        "A metric name from the catalog.",
    );
    set_enum(
        &mut defs,
        "DimensionName",
        &names.dimensions,
        "A dimension name from the catalog.",
    );
    set_enum(
        &mut defs,
        "EntityName",
        &names.entities,
        "An entity that `list` can return.",
    );
    set_enum(
        &mut defs,
        "FieldName",
        &names.fields,
        "A field of a `list` entity.",
    );
    set_enum(
        &mut defs,
        "FunnelName",
        &names.funnels,
        "A funnel from the catalog.",
    );
    set_enum(
        &mut defs,
        "StepName",
        &names.steps,
        "An event name a funnel step matches.",
    );
    set_enum(
        &mut defs,
        "RetentionName",
        &names.retentions,
        "A retention definition from the catalog.",
    );

    // Keep only the kinds on offer, in the declared order.
    let branches: Vec<Value> = root_obj
        .remove("oneOf")
        .and_then(|v| match v {
            Value::Array(a) => Some(a),
            _ => None,
        })
        .unwrap_or_default()
        .into_iter()
        .filter(|b| {
            let kind = b
                .pointer("/properties/kind/const")
                .or_else(|| b.pointer("/properties/kind/enum/0"))
                .and_then(Value::as_str)
                .unwrap_or("");
            names.kinds.iter().any(|k| k == kind)
        })
        .collect();

    // `define`'s `then` is a query of another kind, checked on its own (`check` takes it out
    // first); the strict form (the LLM's) leaves it out: the model answers one part.
    let branches: Vec<Value> = branches
        .into_iter()
        .map(|mut b| {
            let kind = b
                .pointer("/properties/kind/const")
                .or_else(|| b.pointer("/properties/kind/enum/0"))
                .and_then(Value::as_str);
            if kind == Some("define") {
                if let Some(props) = b.get_mut("properties").and_then(Value::as_object_mut) {
                    match form {
                        Form::Validation => {
                            props.insert(
                                "then".into(),
                                json!({"type": ["object", "null"], "description": "A query of another kind asked in the same question, checked and run as if sent alone; its data is `data.then`."}),
                            );
                        }
                        Form::Strict => {
                            props.remove("then");
                        }
                    }
                }
            }
            b
        })
        .collect();

    let mut out = match form {
        Form::Validation => json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "anyOf": branches,
        }),
        Form::Strict => json!({
            "type": "object",
            "properties": {"query": {"anyOf": branches}},
            "required": ["query"],
            "additionalProperties": false,
        }),
    };
    let obj = out.as_object_mut().expect("object");
    if !defs.is_empty() {
        obj.insert("$defs".into(), Value::Object(defs));
    }
    transform(&mut out, form);
    out
}

/// The per-kind subschema (with `$defs`), so validation errors point inside the right variant.
pub fn kind_schema(full: &Value, kind: &str) -> Option<Value> {
    let branches = full.get("anyOf")?.as_array()?;
    let branch = branches
        .iter()
        .find(|b| b.pointer("/properties/kind/enum/0").and_then(Value::as_str) == Some(kind))?;
    let mut out = branch.clone();
    if let (Some(obj), Some(defs)) = (out.as_object_mut(), full.get("$defs")) {
        obj.insert("$defs".into(), defs.clone());
        obj.insert(
            "$schema".into(),
            Value::String("https://json-schema.org/draft/2020-12/schema".into()),
        );
    }
    Some(out)
}

fn set_enum(defs: &mut Map<String, Value>, name: &str, values: &[String], description: &str) {
    // An empty enum is invalid JSON Schema for strict mode; a never-matching pattern says the same.
    let schema = if values.is_empty() {
        json!({"type": "string", "description": format!("{description} (none available)"), "enum": [""] })
    } else {
        json!({"type": "string", "description": description, "enum": values})
    };
    defs.insert(name.into(), schema);
}

fn is_nullable(v: &Value) -> bool {
    match v {
        Value::Object(o) => {
            o.get("type").is_some_and(|t| match t {
                Value::String(s) => s == "null",
                Value::Array(a) => a.iter().any(|x| x == "null"),
                _ => false,
            }) || o
                .get("anyOf")
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(is_nullable))
        }
        _ => false,
    }
}

fn make_nullable(v: &mut Value) {
    if is_nullable(v) {
        return;
    }
    if let Some(Value::String(t)) = v.get("type").cloned() {
        if v.get("enum").is_none() {
            v["type"] = json!([t, "null"]);
            return;
        }
    }
    let inner = std::mem::take(v);
    *v = json!({"anyOf": [inner, {"type": "null"}]});
}

fn transform(v: &mut Value, form: Form) {
    match v {
        Value::Array(items) => items.iter_mut().for_each(|i| transform(i, form)),
        Value::Object(o) => {
            if let Some(one_of) = o.remove("oneOf") {
                o.insert("anyOf".into(), one_of);
            }
            if let Some(c) = o.remove("const") {
                o.insert("enum".into(), json!([c]));
            }
            o.remove("title");
            o.remove("default");
            if let Some(Value::String(f)) = o.get("format") {
                if !STRICT_FORMATS.contains(&f.as_str()) {
                    o.remove("format");
                }
            }
            // Unsigned integers: schemars adds `minimum: 0` with a format; keep the bound only.
            let is_object = o.get("type").and_then(Value::as_str) == Some("object")
                || o.contains_key("properties");
            if is_object {
                o.insert("additionalProperties".into(), Value::Bool(false));
                if form == Form::Strict {
                    let required: Vec<String> = o
                        .get("required")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(|s| s.as_str().map(String::from))
                                .collect()
                        })
                        .unwrap_or_default();
                    if let Some(Value::Object(props)) = o.get_mut("properties") {
                        let keys: Vec<String> = props.keys().cloned().collect();
                        for k in &keys {
                            if !required.contains(k) {
                                let p = props.get_mut(k).expect("key");
                                // Defaulted lists stay lists: the model sends [] rather than null.
                                if p.get("type").and_then(Value::as_str) != Some("array") {
                                    make_nullable(p);
                                }
                            }
                        }
                        o.insert("required".into(), json!(keys));
                    }
                }
            }
            for (_, child) in o.iter_mut() {
                transform(child, form);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk<'a>(v: &'a Value, path: String, out: &mut Vec<(String, &'a Value)>) {
        out.push((path.clone(), v));
        match v {
            Value::Object(o) => o
                .iter()
                .for_each(|(k, c)| walk(c, format!("{path}/{k}"), out)),
            Value::Array(a) => a
                .iter()
                .enumerate()
                .for_each(|(i, c)| walk(c, format!("{path}/{i}"), out)),
            _ => {}
        }
    }

    #[test]
    fn strict_schema_follows_openai_rules() {
        let catalog = Catalog::embedded_default();
        let s = schema(&Names::of_catalog(&catalog), Form::Strict);
        assert_eq!(s["type"], "object");
        let mut nodes = Vec::new();
        walk(&s, String::new(), &mut nodes);
        for (path, node) in nodes {
            let Value::Object(o) = node else { continue };
            if path.ends_with("/properties") || path.ends_with("/$defs") {
                continue;
            }
            for banned in ["oneOf", "allOf", "not", "if", "const", "default", "title"] {
                assert!(!o.contains_key(banned), "{banned} at {path}");
            }
            if let Some(f) = o.get("format").and_then(Value::as_str) {
                assert!(STRICT_FORMATS.contains(&f), "format {f} at {path}");
            }
            if let Some(Value::Object(props)) = o.get("properties") {
                assert_eq!(o["additionalProperties"], false, "at {path}");
                let required: Vec<&str> = o["required"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect();
                for k in props.keys() {
                    assert!(required.contains(&k.as_str()), "{k} not required at {path}");
                }
            }
        }
    }

    #[test]
    fn role_schema_narrows_names() {
        let catalog = Catalog::embedded_default();
        let role = catalog.role("support_agent").unwrap();
        let s = schema(&Names::of_role(&catalog, role), Form::Strict);
        let metrics = s
            .pointer("/$defs/MetricName/enum")
            .unwrap()
            .as_array()
            .unwrap();
        assert!(metrics.iter().any(|m| m == "dau"));
        assert!(!metrics.iter().any(|m| m == "mrr"), "mrr is confidential");
        let dims = s
            .pointer("/$defs/DimensionName/enum")
            .unwrap()
            .as_array()
            .unwrap();
        assert!(!dims.iter().any(|d| d == "company_name"));
        let kinds: Vec<&str> = s
            .pointer("/properties/query/anyOf")
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                b.pointer("/properties/kind/enum/0")
                    .unwrap()
                    .as_str()
                    .unwrap()
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                "metric",
                "overview",
                "funnel",
                "explain",
                "retention",
                "anomalies",
                "define"
            ]
        );
    }
}
