//! `LlmConfig`: where the model is, what it costs and how hard to try. Read from a config file
//! section (serde) or from the environment; the API key never reaches a log or a `Debug` string.

use std::time::Duration;

use serde::Deserialize;

/// An OpenAI-compatible chat-completions endpoint and the limits Tally keeps around it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmConfig {
    /// The API root, up to and including `/v1` (`https://api.openai.com/v1`,
    /// `http://127.0.0.1:8000/v1` for vLLM or llama.cpp, `http://127.0.0.1:11434/v1` for Ollama).
    pub base_url: String,
    pub model: String,
    /// Sent as `Authorization: Bearer …` when present; local servers need none.
    #[serde(default)]
    pub api_key: Option<ApiKey>,
    /// One HTTP request, connect to last byte.
    #[serde(default = "defaults::timeout_ms")]
    pub timeout_ms: u64,
    /// Further attempts after a timeout, a connection error, a 429 or a 5xx.
    #[serde(default = "defaults::max_retries")]
    pub max_retries: u32,
    /// The first backoff; each retry doubles it, up to `retry_max_ms` (also the cap on Retry-After).
    #[serde(default = "defaults::retry_base_ms")]
    pub retry_base_ms: u64,
    #[serde(default = "defaults::retry_max_ms")]
    pub retry_max_ms: u64,
    /// USD per million prompt tokens. The defaults price like a large hosted model, so an
    /// unconfigured price overestimates cost and the budget errs on the side of stopping.
    #[serde(default = "defaults::input_usd_per_mtok")]
    pub input_usd_per_mtok: f64,
    /// USD per million completion tokens.
    #[serde(default = "defaults::output_usd_per_mtok")]
    pub output_usd_per_mtok: f64,
    /// Spend per conversation after which only the rule translator answers.
    #[serde(default = "defaults::budget_usd")]
    pub budget_usd: f64,
    /// Translations kept in memory (least recently used evicted); 0 turns the cache off.
    #[serde(default = "defaults::cache_size")]
    pub cache_size: usize,
    /// Consecutive failed translations that open the circuit breaker.
    #[serde(default = "defaults::breaker_threshold")]
    pub breaker_threshold: u32,
    /// How long an open breaker keeps the LLM out of the path before one trial call.
    #[serde(default = "defaults::breaker_cooldown_ms")]
    pub breaker_cooldown_ms: u64,
}

mod defaults {
    pub fn timeout_ms() -> u64 {
        20_000
    }
    pub fn max_retries() -> u32 {
        2
    }
    pub fn retry_base_ms() -> u64 {
        250
    }
    pub fn retry_max_ms() -> u64 {
        8_000
    }
    pub fn input_usd_per_mtok() -> f64 {
        2.50
    }
    pub fn output_usd_per_mtok() -> f64 {
        10.00
    }
    pub fn budget_usd() -> f64 {
        0.50
    }
    pub fn cache_size() -> usize {
        256
    }
    pub fn breaker_threshold() -> u32 {
        5
    }
    pub fn breaker_cooldown_ms() -> u64 {
        30_000
    }
}

impl LlmConfig {
    /// A configuration with every limit at its default.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> LlmConfig {
        LlmConfig {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            timeout_ms: defaults::timeout_ms(),
            max_retries: defaults::max_retries(),
            retry_base_ms: defaults::retry_base_ms(),
            retry_max_ms: defaults::retry_max_ms(),
            input_usd_per_mtok: defaults::input_usd_per_mtok(),
            output_usd_per_mtok: defaults::output_usd_per_mtok(),
            budget_usd: defaults::budget_usd(),
            cache_size: defaults::cache_size(),
            breaker_threshold: defaults::breaker_threshold(),
            breaker_cooldown_ms: defaults::breaker_cooldown_ms(),
        }
    }

    /// From the environment: `TALLY_LLM_BASE_URL`, `TALLY_LLM_MODEL`, `TALLY_LLM_API_KEY` (else
    /// `OPENAI_API_KEY`), and optionally `TALLY_LLM_BUDGET_USD`, `TALLY_LLM_INPUT_USD_PER_MTOK`,
    /// `TALLY_LLM_OUTPUT_USD_PER_MTOK`, `TALLY_LLM_TIMEOUT_MS`. `Ok(None)` unless both a base URL
    /// and a model are set: an API key alone never sends questions anywhere.
    pub fn from_env() -> Result<Option<LlmConfig>, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// `from_env` over any lookup (tests pass a map instead of mutating the process environment).
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<LlmConfig>, ConfigError> {
        let set = |name: &str| {
            get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let (Some(base_url), Some(model)) = (set("TALLY_LLM_BASE_URL"), set("TALLY_LLM_MODEL"))
        else {
            return Ok(None);
        };
        let mut config = LlmConfig::new(base_url, model);
        config.api_key = set("TALLY_LLM_API_KEY")
            .or_else(|| set("OPENAI_API_KEY"))
            .map(ApiKey::new);
        let number = |name: &'static str| -> Result<Option<f64>, ConfigError> {
            match set(name) {
                None => Ok(None),
                Some(v) => match v.parse::<f64>() {
                    Ok(n) if n.is_finite() && n >= 0.0 => Ok(Some(n)),
                    _ => Err(ConfigError::Invalid { name, value: v }),
                },
            }
        };
        if let Some(v) = number("TALLY_LLM_BUDGET_USD")? {
            config.budget_usd = v;
        }
        if let Some(v) = number("TALLY_LLM_INPUT_USD_PER_MTOK")? {
            config.input_usd_per_mtok = v;
        }
        if let Some(v) = number("TALLY_LLM_OUTPUT_USD_PER_MTOK")? {
            config.output_usd_per_mtok = v;
        }
        if let Some(v) = number("TALLY_LLM_TIMEOUT_MS")? {
            config.timeout_ms = v as u64;
        }
        config.validate()?;
        Ok(Some(config))
    }

    /// Rejects values that would make the client misbehave rather than fail.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = self.base_url.trim_end_matches('/');
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ConfigError::Invalid {
                name: "base_url",
                value: self.base_url.clone(),
            });
        }
        if self.timeout_ms == 0 {
            return Err(ConfigError::Invalid {
                name: "timeout_ms",
                value: "0".into(),
            });
        }
        for (name, v) in [
            ("input_usd_per_mtok", self.input_usd_per_mtok),
            ("output_usd_per_mtok", self.output_usd_per_mtok),
            ("budget_usd", self.budget_usd),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(ConfigError::Invalid {
                    name,
                    value: v.to_string(),
                });
            }
        }
        Ok(())
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// USD for one call's tokens at the configured prices.
    pub fn cost_usd(&self, prompt_tokens: u64, completion_tokens: u64) -> f64 {
        (prompt_tokens as f64 * self.input_usd_per_mtok
            + completion_tokens as f64 * self.output_usd_per_mtok)
            / 1e6
    }

    /// The chat-completions URL under `base_url`.
    pub fn completions_url(&self) -> String {
        format!("{}/chat/completions", self.base_url.trim_end_matches('/'))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid LLM setting {name}: `{value}`")]
    Invalid { name: &'static str, value: String },
}

/// A secret: shown as `ApiKey(…)` by `Debug`, never serialized.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }
    /// The key itself, for the `Authorization` header only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn env_needs_a_base_url_and_a_model() {
        let none = LlmConfig::from_lookup(lookup(&[("OPENAI_API_KEY", "sk-secret")])).unwrap();
        assert_eq!(none, None);
        let c = LlmConfig::from_lookup(lookup(&[
            ("TALLY_LLM_BASE_URL", "http://127.0.0.1:8000/v1/"),
            ("TALLY_LLM_MODEL", "qwen"),
            ("OPENAI_API_KEY", "sk-secret"),
            ("TALLY_LLM_BUDGET_USD", "0.25"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            c.completions_url(),
            "http://127.0.0.1:8000/v1/chat/completions"
        );
        assert_eq!(c.api_key.as_ref().map(ApiKey::expose), Some("sk-secret"));
        assert_eq!(c.budget_usd, 0.25);
        assert_eq!(c.max_retries, 2);
    }

    #[test]
    fn tally_key_wins_and_bad_numbers_are_errors() {
        let c = LlmConfig::from_lookup(lookup(&[
            ("TALLY_LLM_BASE_URL", "https://api.openai.com/v1"),
            ("TALLY_LLM_MODEL", "gpt-4o-mini"),
            ("TALLY_LLM_API_KEY", "sk-tally"),
            ("OPENAI_API_KEY", "sk-openai"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(c.api_key.as_ref().map(ApiKey::expose), Some("sk-tally"));
        let err = LlmConfig::from_lookup(lookup(&[
            ("TALLY_LLM_BASE_URL", "https://api.openai.com/v1"),
            ("TALLY_LLM_MODEL", "gpt-4o-mini"),
            ("TALLY_LLM_BUDGET_USD", "lots"),
        ]))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid LLM setting TALLY_LLM_BUDGET_USD: `lots`"
        );
    }

    #[test]
    fn debug_never_shows_the_key() {
        let mut c = LlmConfig::new("https://api.openai.com/v1", "gpt-4o-mini");
        c.api_key = Some(ApiKey::new("sk-very-secret"));
        let shown = format!("{c:?}");
        assert!(!shown.contains("sk-very-secret"), "{shown}");
        assert!(shown.contains("ApiKey(…)"), "{shown}");
    }

    #[test]
    fn file_config_fills_defaults_and_refuses_unknown_keys() {
        let c: LlmConfig = toml::from_str(
            "base_url = \"http://localhost:11434/v1\"\nmodel = \"llama3.1\"\nbudget_usd = 1.0\n",
        )
        .unwrap();
        assert_eq!(c.budget_usd, 1.0);
        assert_eq!(c.cache_size, 256);
        assert_eq!(c.api_key, None);
        let err = toml::from_str::<LlmConfig>("base_url = \"x\"\nmodel = \"m\"\ntemprature = 0\n")
            .unwrap_err();
        assert!(
            err.to_string().contains("unknown field `temprature`"),
            "{err}"
        );
    }
}
