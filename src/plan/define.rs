//! A `define` plan: the catalog entries asked about and the passages of the catalog's docs that
//! match the search text and their names. Reads no warehouse: a define plan has no units.

use crate::catalog::{Catalog, Passage};
use crate::dsl::DefineQuery;

/// The most passages a define answer quotes.
pub const MAX_PASSAGES: usize = 5;
/// Passages taken for the search text, and for each metric or dimension named.
const PER_SEARCH: usize = 3;
const PER_NAME: usize = 2;

/// What a define query describes: catalog names (checked, and visible to the role) and the
/// passages retrieved for them, best first.
#[derive(Debug, Clone)]
pub struct DefinePlan {
    pub metrics: Vec<String>,
    pub dimensions: Vec<String>,
    pub search: Option<String>,
    pub passages: Vec<Retrieved>,
    /// The plan of the query asked with the definition (`then`), run as if asked alone.
    pub then: Option<Box<super::Plan>>,
}

/// A passage and what found it.
#[derive(Debug, Clone, PartialEq)]
pub struct Retrieved {
    pub passage: Passage,
    /// The BM25 score for the text that found it.
    pub score: f32,
    /// The text it was found for (the search text, or a metric's label).
    pub found_for: String,
}

pub(super) fn define_plan(catalog: &Catalog, q: &DefineQuery) -> DefinePlan {
    let metrics: Vec<String> = q.metrics.iter().map(|m| m.as_str().to_string()).collect();
    let dimensions: Vec<String> = q
        .dimensions
        .iter()
        .map(|d| d.as_str().to_string())
        .collect();
    let mut lookups: Vec<(String, usize)> = Vec::new();
    if let Some(s) = &q.search {
        lookups.push((s.clone(), PER_SEARCH));
    }
    for m in &metrics {
        if let Some(metric) = catalog.metrics.get(m) {
            lookups.push((metric.label.clone(), PER_NAME));
        }
    }
    for d in &dimensions {
        lookups.push((d.replace('_', " "), PER_NAME));
    }
    let mut passages: Vec<Retrieved> = Vec::new();
    for (text, limit) in lookups {
        for (p, score) in catalog.docs.search(&text, limit) {
            let seen = passages
                .iter()
                .any(|r| r.passage.file == p.file && r.passage.heading == p.heading);
            if !seen && passages.len() < MAX_PASSAGES {
                passages.push(Retrieved {
                    passage: p.clone(),
                    score,
                    found_for: text.clone(),
                });
            }
        }
    }
    DefinePlan {
        metrics,
        dimensions,
        search: q.search.clone(),
        passages,
        then: None,
    }
}
