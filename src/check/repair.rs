//! Deterministic repairs of unambiguous slips before validation: case, spacing, and catalog
//! synonyms for metric, dimension, entity and field names and for known dimension values.
//! A repair never guesses: a name is rewritten only when exactly one catalog name matches.

use serde::Serialize;
use serde_json::Value;

use super::nearest::normalise;
use crate::catalog::{Catalog, Dimension};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Repair {
    pub pointer: String,
    pub from: String,
    pub to: String,
}

/// Names and their synonyms, as a lookup for one kind of catalog name.
trait Names {
    /// The canonical name `input` unambiguously means, if any.
    fn resolve(&self, input: &str) -> Option<&str>;
}

struct Lookup<'a, F: Fn(&str) -> Option<&'a [String]>, I: Iterator<Item = &'a str> + Clone> {
    exact: F,
    all: I,
}

impl<'a, F, I> Names for Lookup<'a, F, I>
where
    F: Fn(&str) -> Option<&'a [String]>,
    I: Iterator<Item = &'a str> + Clone,
{
    fn resolve(&self, input: &str) -> Option<&str> {
        // The common case: already canonical, no allocation.
        if (self.exact)(input).is_some() {
            return self.all.clone().find(|n| *n == input);
        }
        let n = normalise(input);
        if let Some(name) = self.all.clone().find(|name| *name == n) {
            return Some(name);
        }
        let mut matches = self.all.clone().filter(|name| {
            (self.exact)(name).is_some_and(|syn| syn.iter().any(|s| normalise(s) == n))
        });
        match (matches.next(), matches.next()) {
            (Some(one), None) => Some(one),
            _ => None,
        }
    }
}

/// Repairs the string at `slot` (reached as `pointer`) to its canonical name.
fn fix(
    slot: Option<&mut Value>,
    pointer: impl FnOnce() -> String,
    names: &dyn Names,
    out: &mut Vec<Repair>,
) {
    let Some(slot) = slot else { return };
    let Some(input) = slot.as_str() else { return };
    if let Some(to) = names.resolve(input) {
        if to != input {
            out.push(Repair {
                pointer: pointer(),
                from: input.to_string(),
                to: to.to_string(),
            });
            *slot = Value::String(to.to_string());
        }
    }
}

pub(super) fn repair(value: &mut Value, catalog: &Catalog) -> Vec<Repair> {
    let mut out = Vec::new();
    let metrics = Lookup {
        exact: |n: &str| catalog.metrics.get(n).map(|m| m.synonyms.as_slice()),
        all: catalog.metrics.keys().map(String::as_str),
    };
    let dimensions = Lookup {
        exact: |n: &str| catalog.dimensions.get(n).map(|d| d.synonyms.as_slice()),
        all: catalog.dimensions.keys().map(String::as_str),
    };
    let entities = Lookup {
        exact: |n: &str| catalog.entities.get(n).map(|e| e.synonyms.as_slice()),
        all: catalog.entities.keys().map(String::as_str),
    };
    let Some(obj) = value.as_object_mut() else {
        return out;
    };

    if let Some(Value::Array(list)) = obj.get_mut("metrics") {
        for (i, v) in list.iter_mut().enumerate() {
            fix(Some(v), || format!("/metrics/{i}"), &metrics, &mut out);
        }
    }
    fix(
        obj.get_mut("metric"),
        || "/metric".into(),
        &metrics,
        &mut out,
    );
    if let Some(Value::Array(list)) = obj.get_mut("group_by") {
        for (i, v) in list.iter_mut().enumerate() {
            fix(Some(v), || format!("/group_by/{i}"), &dimensions, &mut out);
        }
    }
    // `define` names the dimensions it describes.
    if let Some(Value::Array(list)) = obj.get_mut("dimensions") {
        for (i, v) in list.iter_mut().enumerate() {
            fix(
                Some(v),
                || format!("/dimensions/{i}"),
                &dimensions,
                &mut out,
            );
        }
    }
    fix(
        obj.get_mut("entity"),
        || "/entity".into(),
        &entities,
        &mut out,
    );
    let funnels = Lookup {
        exact: |n: &str| catalog.funnels.get(n).map(|f| f.synonyms.as_slice()),
        all: catalog.funnels.keys().map(String::as_str),
    };
    fix(
        obj.get_mut("funnel"),
        || "/funnel".into(),
        &funnels,
        &mut out,
    );
    let entity = obj
        .get("entity")
        .and_then(Value::as_str)
        .and_then(|e| catalog.entities.get(e));

    if let Some(entity) = entity {
        let fields = Lookup {
            exact: |n: &str| entity.fields.get(n).map(|f| f.synonyms.as_slice()),
            all: entity.fields.keys().map(String::as_str),
        };
        if let Some(Value::Array(list)) = obj.get_mut("fields") {
            for (i, v) in list.iter_mut().enumerate() {
                fix(Some(v), || format!("/fields/{i}"), &fields, &mut out);
            }
        }
        if let Some(sort) = obj.get_mut("sort").and_then(Value::as_object_mut) {
            fix(
                sort.get_mut("field"),
                || "/sort/field".into(),
                &fields,
                &mut out,
            );
        }
        fix(
            obj.get_mut("time_field"),
            || "/time_field".into(),
            &fields,
            &mut out,
        );
        if let Some(Value::Array(list)) = obj.get_mut("filters") {
            for (i, f) in list.iter_mut().enumerate() {
                let slot = f.as_object_mut().and_then(|f| f.get_mut("field"));
                fix(slot, || format!("/filters/{i}/field"), &fields, &mut out);
            }
        }
        return out;
    }

    if let Some(Value::Array(list)) = obj.get_mut("filters") {
        for (i, f) in list.iter_mut().enumerate() {
            let Some(f) = f.as_object_mut() else { continue };
            fix(
                f.get_mut("dimension"),
                || format!("/filters/{i}/dimension"),
                &dimensions,
                &mut out,
            );
            let dim = f
                .get("dimension")
                .and_then(Value::as_str)
                .and_then(|d| catalog.dimensions.get(d));
            if let (Some(dim), Some(Value::Array(values))) = (dim, f.get_mut("values")) {
                for (j, v) in values.iter_mut().enumerate() {
                    known_value(dim, v, || format!("/filters/{i}/values/{j}"), &mut out);
                }
            }
        }
    }
    out
}

/// Known values are matched case-insensitively, and through value synonyms ("Germany" → "DE").
fn known_value(
    dim: &Dimension,
    v: &mut Value,
    pointer: impl FnOnce() -> String,
    out: &mut Vec<Repair>,
) {
    let Some(input) = v.as_str() else { return };
    if dim.values.is_empty() || dim.values.iter().any(|k| k == input) {
        return;
    }
    let lowered = input.trim().to_lowercase();
    let exact = dim.values.iter().find(|k| k.to_lowercase() == lowered);
    let to = exact.or_else(|| {
        let mut m = dim.values.iter().filter(|k| {
            dim.value_synonyms
                .get(*k)
                .is_some_and(|syn| syn.iter().any(|s| s.to_lowercase() == lowered))
        });
        match (m.next(), m.next()) {
            (Some(one), None) => Some(one),
            _ => None,
        }
    });
    if let Some(to) = to {
        out.push(Repair {
            pointer: pointer(),
            from: input.to_string(),
            to: to.clone(),
        });
        *v = Value::String(to.clone());
    }
}
