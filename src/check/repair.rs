//! Deterministic repairs of unambiguous slips before validation: case, spacing, and catalog
//! synonyms for metric, dimension, entity and field names and for known dimension values.
//! A repair never guesses: a name is rewritten only when exactly one catalog name matches.

use serde::Serialize;
use serde_json::Value;

use super::nearest::normalise;
use crate::catalog::Catalog;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Repair {
    pub pointer: String,
    pub from: String,
    pub to: String,
}

/// Resolves `input` to the single catalog name it unambiguously means.
fn resolve<'a>(input: &str, names: &[(&'a str, &[String])]) -> Option<&'a str> {
    let n = normalise(input);
    if let Some((name, _)) = names.iter().find(|(name, _)| *name == n) {
        return Some(name);
    }
    let matches: Vec<&str> = names
        .iter()
        .filter(|(_, synonyms)| synonyms.iter().any(|s| normalise(s) == n))
        .map(|(name, _)| *name)
        .collect();
    match matches.as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

fn fix(value: &mut Value, pointer: &str, names: &[(&str, &[String])], out: &mut Vec<Repair>) {
    let Some(slot) = value.pointer_mut(pointer) else {
        return;
    };
    let Some(input) = slot.as_str() else { return };
    if let Some(to) = resolve(input, names) {
        if to != input {
            out.push(Repair {
                pointer: pointer.to_string(),
                from: input.to_string(),
                to: to.to_string(),
            });
            *slot = Value::String(to.to_string());
        }
    }
}

fn len(value: &Value, pointer: &str) -> usize {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}

pub(super) fn repair(value: &mut Value, catalog: &Catalog) -> Vec<Repair> {
    let mut out = Vec::new();
    let metrics: Vec<(&str, &[String])> = catalog
        .metrics
        .values()
        .map(|m| (m.name.as_str(), m.synonyms.as_slice()))
        .collect();
    let dimensions: Vec<(&str, &[String])> = catalog
        .dimensions
        .values()
        .map(|d| (d.name.as_str(), d.synonyms.as_slice()))
        .collect();
    let entities: Vec<(&str, &[String])> = catalog
        .entities
        .values()
        .map(|e| (e.name.as_str(), e.synonyms.as_slice()))
        .collect();

    for i in 0..len(value, "/metrics") {
        fix(value, &format!("/metrics/{i}"), &metrics, &mut out);
    }
    for i in 0..len(value, "/group_by") {
        fix(value, &format!("/group_by/{i}"), &dimensions, &mut out);
    }
    fix(value, "/entity", &entities, &mut out);
    let entity = value
        .get("entity")
        .and_then(Value::as_str)
        .and_then(|e| catalog.entities.get(e));
    let fields: Vec<(&str, &[String])> = entity
        .map(|e| {
            e.fields
                .values()
                .map(|f| (f.name.as_str(), f.synonyms.as_slice()))
                .collect()
        })
        .unwrap_or_default();
    if entity.is_some() {
        for i in 0..len(value, "/fields") {
            fix(value, &format!("/fields/{i}"), &fields, &mut out);
        }
        fix(value, "/sort/field", &fields, &mut out);
        fix(value, "/time_field", &fields, &mut out);
    }
    for i in 0..len(value, "/filters") {
        if entity.is_some() {
            fix(value, &format!("/filters/{i}/field"), &fields, &mut out);
            continue;
        }
        fix(
            value,
            &format!("/filters/{i}/dimension"),
            &dimensions,
            &mut out,
        );
        // Known values: case and value synonyms ("Germany" → "DE").
        let dim = value
            .pointer(&format!("/filters/{i}/dimension"))
            .and_then(Value::as_str)
            .and_then(|d| catalog.dimensions.get(d));
        let Some(dim) = dim else { continue };
        if dim.values.is_empty() {
            continue;
        }
        let known: Vec<(&str, &[String])> = dim
            .values
            .iter()
            .map(|v| {
                (
                    v.as_str(),
                    dim.value_synonyms.get(v).map_or(&[][..], Vec::as_slice),
                )
            })
            .collect();
        for j in 0..len(value, &format!("/filters/{i}/values")) {
            let pointer = format!("/filters/{i}/values/{j}");
            // Values are matched case-insensitively against the known list, synonyms too.
            let Some(input) = value.pointer(&pointer).and_then(Value::as_str) else {
                continue;
            };
            let lowered = input.trim().to_lowercase();
            let exact = known
                .iter()
                .find(|(v, _)| v.to_lowercase() == lowered)
                .map(|(v, _)| *v);
            let to = exact.or_else(|| {
                let m: Vec<&str> = known
                    .iter()
                    .filter(|(_, syn)| syn.iter().any(|s| s.to_lowercase() == lowered))
                    .map(|(v, _)| *v)
                    .collect();
                (m.len() == 1).then(|| m[0])
            });
            if let Some(to) = to {
                if to != input {
                    out.push(Repair {
                        pointer: pointer.clone(),
                        from: input.to_string(),
                        to: to.to_string(),
                    });
                    *value.pointer_mut(&pointer).expect("exists") = Value::String(to.into());
                }
            }
        }
    }
    out
}
