//! Question → untrusted DSL JSON. The translator never sees data; its output goes through
//! `check/` like any other input, so a bad translation can at worst be refused or clarified.
//!
//! Invariants: no SQL, no warehouse, no role decisions (refusals come from `check/`). The rule
//! translator is offline and deterministic and maps a question only when every content word is
//! understood; otherwise it asks for clarification and says what it could not map.

pub mod eval;
pub mod rules;

use serde::Serialize;
use serde_json::Value;

/// What a translator produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Translation {
    /// DSL to validate and run.
    Dsl { dsl: Value },
    /// The question could not be mapped without guessing.
    Clarify(Clarification),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Clarification {
    pub message: String,
    /// Words of the question that mean nothing to the catalog.
    pub unmapped: Vec<String>,
    /// Nearest metric names and example phrasings.
    pub suggestions: Vec<String>,
}
