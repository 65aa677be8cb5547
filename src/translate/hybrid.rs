//! `Translators`: the rule translator, the LLM translator, or both (rules first when they map
//! the whole question). Falls back to rules, with a note saying why, whenever the LLM is over
//! budget, paused by its circuit breaker or failing.

use std::sync::Arc;

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::Value;

use super::llm::{Llm, LlmConfig, LlmError, LlmRequest, PromptExamples, Unavailable};
use super::rules::Rules;
use super::{Translation, Usage};
use crate::catalog::Catalog;

/// Which translators answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[derive(strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum Mode {
    /// The offline rule translator only.
    Rules,
    /// The LLM for every question (rules only as the fallback).
    Llm,
    /// Rules when they map the whole question, the LLM otherwise. The default with an LLM.
    Hybrid,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Which translator produced a translation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TranslatorKind {
    Rules,
    Llm,
}

/// One question to translate, with its conversation's state.
#[derive(Debug, Clone, Copy)]
pub struct TranslateRequest<'a> {
    pub question: &'a str,
    pub role: &'a str,
    pub today: NaiveDate,
    /// The conversation's last DSL, for follow-ups.
    pub previous: Option<&'a Value>,
    /// What the conversation has spent on the LLM so far (USD).
    pub spent_usd: f64,
}

/// A translation and its provenance: who made it, why not the LLM (when it was skipped or
/// failed), what it cost, whether it came from the cache.
#[derive(Debug, Clone, Serialize)]
pub struct Translated {
    pub translation: Translation,
    pub translator: TranslatorKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub usage: Usage,
    pub cached: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum TranslatorsError {
    #[error("the {} translator needs an LLM: set TALLY_LLM_BASE_URL and TALLY_LLM_MODEL", .0.as_str())]
    NoLlm(Mode),
    #[error(transparent)]
    Llm(#[from] LlmError),
}

/// The translators of one engine. Cheap to clone.
#[derive(Clone)]
pub struct Translators {
    mode: Mode,
    catalog: Arc<Catalog>,
    rules: Arc<Rules>,
    llm: Option<Arc<Llm>>,
}

impl std::fmt::Debug for Translators {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Translators")
            .field("mode", &self.mode)
            .field("llm", &self.llm)
            .finish_non_exhaustive()
    }
}

impl Translators {
    /// The same translators (mode, LLM) reading `catalog`: a workspace's view of the catalog
    /// with its discovered values. The LLM's prompt stays the one it was built with.
    pub fn with_catalog(&self, catalog: Arc<Catalog>, rules: Arc<Rules>) -> Translators {
        Translators {
            mode: self.mode,
            catalog,
            rules,
            llm: self.llm.clone(),
        }
    }

    /// The rule translator alone (no network).
    pub fn rules_only(catalog: Arc<Catalog>, rules: Arc<Rules>) -> Translators {
        Translators {
            mode: Mode::Rules,
            catalog,
            rules,
            llm: None,
        }
    }

    /// `mode` over the rule translator and `llm`; `Llm` and `Hybrid` need an LLM.
    pub fn new(
        mode: Mode,
        catalog: Arc<Catalog>,
        rules: Arc<Rules>,
        llm: Option<Arc<Llm>>,
    ) -> Result<Translators, TranslatorsError> {
        if mode != Mode::Rules && llm.is_none() {
            return Err(TranslatorsError::NoLlm(mode));
        }
        Ok(Translators {
            mode,
            catalog,
            rules,
            llm,
        })
    }

    /// An LLM for `catalog`, shown `examples` (the caller's pick: an example's few-shot and
    /// follow-up phrasings, or none).
    pub fn llm_for(
        config: LlmConfig,
        catalog: &Arc<Catalog>,
        examples: PromptExamples<'_>,
    ) -> Result<Llm, LlmError> {
        Llm::new(config, catalog.clone(), examples)
    }

    /// From the environment (`LlmConfig::from_env`): `mode` if given, else hybrid when an LLM is
    /// configured and rules otherwise; an LLM is shown `examples`.
    pub fn from_env(
        catalog: Arc<Catalog>,
        rules: Arc<Rules>,
        mode: Option<Mode>,
        examples: PromptExamples<'_>,
    ) -> Result<Translators, TranslatorsError> {
        if mode == Some(Mode::Rules) {
            return Ok(Translators::rules_only(catalog, rules));
        }
        let config = LlmConfig::from_env().map_err(LlmError::from)?;
        let llm = match config {
            Some(c) => Some(Arc::new(Translators::llm_for(c, &catalog, examples)?)),
            None => None,
        };
        let mode = mode.unwrap_or(if llm.is_some() {
            Mode::Hybrid
        } else {
            Mode::Rules
        });
        Translators::new(mode, catalog, rules, llm)
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The catalog the translators read.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// The rule translator's lexicon.
    pub fn rules(&self) -> &Arc<Rules> {
        &self.rules
    }

    pub fn llm(&self) -> Option<&Arc<Llm>> {
        self.llm.as_ref()
    }

    /// The LLM budget per conversation, when an LLM is in use.
    pub fn budget_usd(&self) -> Option<f64> {
        self.llm
            .as_ref()
            .filter(|_| self.mode != Mode::Rules)
            .map(|l| l.config().budget_usd)
    }

    /// Translates one question.
    pub async fn translate(&self, req: &TranslateRequest<'_>) -> Translated {
        let rules = || {
            self.rules
                .translate(req.question, &self.catalog, req.today, req.previous)
        };
        let llm = match (&self.llm, self.mode) {
            (Some(llm), Mode::Llm | Mode::Hybrid) => llm,
            _ => return by_rules(rules(), None, Usage::default()),
        };
        let from_rules = if self.mode == Mode::Hybrid {
            let t = rules();
            if matches!(t, Translation::Dsl { .. }) {
                return by_rules(t, None, Usage::default());
            }
            Some(t)
        } else {
            None
        };
        let request = LlmRequest {
            question: req.question,
            role: req.role,
            today: req.today,
            previous: req.previous,
            spent_usd: req.spent_usd,
        };
        match llm.translate(&request).await {
            Ok(answer) => Translated {
                translation: answer.translation,
                translator: TranslatorKind::Llm,
                note: None,
                usage: answer.usage,
                cached: answer.cached,
            },
            Err(failure) => {
                let translation = from_rules.unwrap_or_else(rules);
                by_rules(
                    translation,
                    Some(fallback_note(&failure.reason)),
                    failure.usage,
                )
            }
        }
    }
}

fn by_rules(translation: Translation, note: Option<String>, usage: Usage) -> Translated {
    Translated {
        translation,
        translator: TranslatorKind::Rules,
        note,
        usage,
        cached: false,
    }
}

fn fallback_note(reason: &Unavailable) -> String {
    format!("Translated by the rule translator: {reason}.")
}
