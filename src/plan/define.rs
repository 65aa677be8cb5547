//! A `define` plan: the catalog entries asked about and the passages of the catalog's docs that
//! match the search text and their names, less those that name what the role may not ask
//! about. Reads no warehouse: a define plan has no units.
//!
//! Invariant: a passage is quoted to a role only if neither its heading nor its text names a
//! metric or dimension the role may not ask about (`dsl::schema::Names::of_role`: its lists,
//! its sensitivity, record level, never PII). A passage names an entry when it holds, as whole
//! words in order (case and punctuation ignored, `_` read as a space, no stemming), the entry's
//! name, its label, or one of its synonyms of two words or more: a one-word synonym ("revenue",
//! "users") is too common a word to say which entry a passage means, while an entry's own name
//! and label are what a passage about it says.

use std::collections::BTreeSet;

use crate::catalog::{docs::plain_words, Catalog, Passage, Role};
use crate::dsl::schema::Names;
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
    /// Passages that matched but were not quoted: they name an entry the role may not ask
    /// about (counted once each, however many lookups found them).
    pub withheld: usize,
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

pub(super) fn define_plan(catalog: &Catalog, role: &Role, q: &DefineQuery) -> DefinePlan {
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
    let (unaskable, askable) = terms(catalog, role);
    let quotable = |p: &Passage| !unaskable.iter().any(|term| p.names_outside(term, &askable));
    let mut passages: Vec<Retrieved> = Vec::new();
    let mut withheld: BTreeSet<(String, String)> = BTreeSet::new();
    for (text, limit) in lookups {
        // Every match, so that a withheld passage never takes a quotable one's place.
        let mut taken = 0;
        for (p, score) in catalog.docs.search(&text, usize::MAX) {
            if taken == limit {
                break;
            }
            if !quotable(p) {
                withheld.insert((p.file.clone(), p.heading.clone()));
                continue;
            }
            taken += 1;
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
        withheld: withheld.len(),
        then: None,
    }
}

/// The words that name a metric or dimension the role may not ask about: its name, its label
/// and its synonyms of two words or more (see the module's invariant).
///
/// Also, as words, the names, labels and synonyms of what the role may ask about: an unaskable
/// term inside a longer one of those ("active users" in "daily active users") is not a mention.
fn terms(catalog: &Catalog, role: &Role) -> (Vec<String>, Vec<Vec<String>>) {
    let names = Names::of_role(catalog, role);
    let (mut unaskable, mut askable): (Vec<String>, Vec<Vec<String>>) = (Vec::new(), Vec::new());
    let multi_word = |s: &&String| plain_words(s).len() >= 2;
    for m in catalog.metrics.values() {
        if names.metrics.contains(&m.name) {
            askable.extend(
                [&m.name, &m.label]
                    .into_iter()
                    .chain(&m.synonyms)
                    .map(|t| plain_words(t)),
            );
        } else {
            unaskable.push(m.name.clone());
            unaskable.push(m.label.clone());
            unaskable.extend(m.synonyms.iter().filter(multi_word).cloned());
        }
    }
    for d in catalog.dimensions.values() {
        if names.dimensions.contains(&d.name) {
            askable.extend(
                std::iter::once(&d.name)
                    .chain(&d.synonyms)
                    .map(|t| plain_words(t)),
            );
        } else {
            unaskable.push(d.name.clone());
            unaskable.extend(d.synonyms.iter().filter(multi_word).cloned());
        }
    }
    (unaskable, askable)
}
