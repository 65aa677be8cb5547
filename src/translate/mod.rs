//! Question → untrusted DSL JSON. The translator never sees data; its output goes through
//! `check/` like any other input, so a bad translation can at worst be refused or clarified.
//!
//! Invariants: no SQL, no warehouse, no role decisions (refusals come from `check/`). The rule
//! translator is offline and deterministic and maps a question only when every content word is
//! understood; otherwise it asks for clarification and says what it could not map. The LLM
//! translator (`llm`) talks to a chat-completions endpoint; `hybrid::Translators` chooses between
//! them (rules first when they map the whole question) and accounts for tokens and cost.

pub mod eval;
pub mod hybrid;
pub mod llm;
pub mod rules;

pub use hybrid::{Mode, TranslateRequest, Translated, TranslatorKind, Translators};

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

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Clarification {
    pub message: String,
    /// Words of the question that mean nothing to the catalog.
    pub unmapped: Vec<String>,
    /// Nearest metric names and example phrasings.
    pub suggestions: Vec<String>,
}

/// What translating one question cost on the LLM (all zero for the rule translator and for
/// cache hits). Audited per query; summed per conversation against the budget.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost_usd: f64,
    /// HTTP requests sent, retries and repairs included.
    pub llm_calls: u32,
}
