//! The LLM translator: any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, llama.cpp
//! server, Ollama's `/v1`) asked for strict `json_schema` output at temperature 0.
//!
//! Invariants: its output is untrusted and goes through `check::Checker` for the caller's role;
//! validator diagnostics go back for at most `MAX_REPAIRS` repairs, then the user is asked to
//! clarify. A policy refusal is a *successful* translation (the pipeline refuses it honestly).
//! Transport failures are reported, never hidden: `Translators` falls back to the rule translator
//! and says why. Prompts and replies are never logged (they hold users' questions); the API key
//! is never logged or shown.

mod config;
mod guard;
mod prompt;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::catalog::Catalog;
use crate::check::{Checker, DiagnosticCode, Rejection};

pub use config::{ApiKey, ConfigError, LlmConfig};
pub use prompt::{FewShot, PromptExamples};

use super::{Clarification, Translation, Usage};
use guard::{Breaker, CacheKey, Lru};

/// Repair turns after the first answer.
pub const MAX_REPAIRS: usize = 2;

/// Replies larger than this are not read (a query is a few hundred bytes).
const MAX_REPLY_BYTES: usize = 1 << 20;

/// One question for the model.
#[derive(Debug, Clone, Copy)]
pub struct LlmRequest<'a> {
    pub question: &'a str,
    pub role: &'a str,
    pub today: NaiveDate,
    pub previous: Option<&'a Value>,
    /// What the conversation has spent on the LLM so far.
    pub spent_usd: f64,
}

/// A translation the model produced (possibly a clarification), with what it cost.
#[derive(Debug, Clone)]
pub struct LlmAnswer {
    pub translation: Translation,
    pub usage: Usage,
    pub cached: bool,
}

/// Why the model was not used, with what was spent before giving up.
#[derive(Debug, Clone)]
pub struct LlmFailure {
    pub reason: Unavailable,
    pub usage: Usage,
}

/// Why no translation came from the model. `Display` is safe to show users: no URL, no key,
/// no upstream body.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Unavailable {
    #[error("the conversation's language-model budget is spent (${} of ${})", usd(*.spent), usd(*.budget))]
    BudgetSpent { spent: f64, budget: f64 },
    #[error("the language model is paused after {failures} failed requests in a row (retrying in {retry_in_s} s)")]
    BreakerOpen { failures: u32, retry_in_s: u64 },
    #[error("the language model timed out ({attempts} attempts)")]
    Timeout { attempts: u32 },
    #[error("the language model could not be reached ({attempts} attempts)")]
    Unreachable { attempts: u32 },
    #[error("the language model answered HTTP {status} ({attempts} attempts)")]
    Status { status: u16, attempts: u32 },
    #[error("the language model sent a response that is not a chat completion")]
    BadResponse,
}

/// The configured model, its prompt, cache and breaker. Cheap to share behind an `Arc`.
pub struct Llm {
    config: LlmConfig,
    client: reqwest::Client,
    checker: Arc<Checker>,
    schema: Value,
    /// The system message (the rules, with the follow-up phrasings it was given).
    instructions: String,
    data_message: String,
    /// Example phrasings offered when a question cannot be translated.
    example_questions: Vec<String>,
    cache: Mutex<Lru>,
    breaker: Mutex<Breaker>,
}

impl Llm {
    /// Whether the circuit breaker is open now: questions go to the rule translator only.
    pub fn breaker_open(&self) -> bool {
        self.breaker
            .lock()
            .expect("breaker lock")
            .open_for(Instant::now())
            .is_some()
    }
}

impl std::fmt::Debug for Llm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Llm")
            .field("base_url", &self.config.base_url)
            .field("model", &self.config.model)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("invalid few-shot examples: {0}")]
    FewShot(String),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

impl Llm {
    /// A translator for `catalog`, shown `shown`. Few-shot examples that no longer fit the
    /// catalog are dropped (with a warning) rather than taught.
    pub fn new(
        config: LlmConfig,
        catalog: Arc<Catalog>,
        shown: PromptExamples<'_>,
    ) -> Result<Llm, LlmError> {
        config.validate()?;
        let fewshot = FewShot::parse_jsonl(shown.fewshot).map_err(LlmError::FewShot)?;
        let checker = Arc::new(Checker::new(catalog.clone()));
        let examples: Vec<FewShot> = fewshot
            .into_iter()
            .filter(|e| {
                let fits = e.fits(&checker);
                if !fits {
                    tracing::warn!(question = %e.question, "few-shot example does not fit the catalog; dropped");
                }
                fits
            })
            .collect();
        let client = reqwest::Client::builder()
            .timeout(config.timeout())
            .connect_timeout(config.timeout().min(Duration::from_secs(10)))
            .build()
            .map_err(|e| LlmError::Client(e.to_string()))?;
        Ok(Llm {
            schema: prompt::response_schema(&catalog),
            instructions: prompt::instructions(&shown.followups()),
            data_message: prompt::data_message(&catalog, &examples),
            example_questions: examples
                .iter()
                .filter(|e| e.previous.is_none())
                .take(3)
                .map(|e| e.question.clone())
                .collect(),
            cache: Mutex::new(Lru::new(config.cache_size)),
            breaker: Mutex::new(Breaker::new(
                config.breaker_threshold,
                Duration::from_millis(config.breaker_cooldown_ms),
            )),
            checker,
            client,
            config,
        })
    }

    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    /// The request body for the first turn: what `translate` sends (tests snapshot it).
    pub fn request_body(&self, req: &LlmRequest<'_>) -> Value {
        self.body(&self.first_messages(req))
    }

    /// Translates one question: cache, budget and breaker first, then the model with up to
    /// `MAX_REPAIRS` repair turns.
    pub async fn translate(&self, req: &LlmRequest<'_>) -> Result<LlmAnswer, LlmFailure> {
        let catalog = self.checker.catalog();
        let key = CacheKey::new(
            req.question,
            req.role,
            &catalog.version,
            req.today,
            req.previous,
        );
        if let Some(translation) = self.cache.lock().expect("cache lock").get(&key) {
            return Ok(LlmAnswer {
                translation,
                usage: Usage::default(),
                cached: true,
            });
        }
        let mut usage = Usage::default();
        let fail = |reason, usage| Err(LlmFailure { reason, usage });
        if req.spent_usd >= self.config.budget_usd {
            return fail(self.budget_spent(req.spent_usd), usage);
        }
        {
            let breaker = self.breaker.lock().expect("breaker lock");
            if let Some(left) = breaker.open_for(Instant::now()) {
                return fail(
                    Unavailable::BreakerOpen {
                        failures: breaker.consecutive_failures(),
                        retry_in_s: left.as_secs_f64().ceil() as u64,
                    },
                    usage,
                );
            }
        }

        let mut messages = self.first_messages(req);
        for turn in 0..=MAX_REPAIRS {
            let spent = req.spent_usd + usage.cost_usd;
            if turn > 0 && spent >= self.config.budget_usd {
                return fail(self.budget_spent(spent), usage);
            }
            let reply = match self.call(&messages, &mut usage).await {
                Ok(reply) => {
                    self.breaker.lock().expect("breaker lock").succeeded();
                    reply
                }
                Err(reason) => {
                    self.breaker
                        .lock()
                        .expect("breaker lock")
                        .failed(Instant::now());
                    return fail(reason, usage);
                }
            };
            let content = match reply {
                Reply::Refusal => {
                    // The model's own refusal is not Tally's policy: ask, and say nothing it wrote.
                    let translation = self.clarify(
                        "The language model declined to translate that question. Rephrase it as a question about the catalog's metrics.",
                        Vec::new(),
                    );
                    return Ok(LlmAnswer {
                        translation,
                        usage,
                        cached: false,
                    });
                }
                Reply::Content(c) => c,
            };
            match self.judge(&content, req.role) {
                Verdict::Dsl(dsl) => {
                    let translation = Translation::Dsl { dsl };
                    self.cache
                        .lock()
                        .expect("cache lock")
                        .put(key, translation.clone());
                    return Ok(LlmAnswer {
                        translation,
                        usage,
                        cached: false,
                    });
                }
                Verdict::Unmappable => {
                    let translation = self.clarify(
                        "I could not read that question without guessing.",
                        Vec::new(),
                    );
                    return Ok(LlmAnswer {
                        translation,
                        usage,
                        cached: false,
                    });
                }
                Verdict::Problems(list, nearest) => {
                    if turn == MAX_REPAIRS {
                        let shown: Vec<&str> = list.iter().take(3).map(String::as_str).collect();
                        let translation = self.clarify(
                            &format!(
                                "I could not turn that into a valid query after {MAX_REPAIRS} corrections: {}.",
                                shown.join("; ")
                            ),
                            nearest,
                        );
                        return Ok(LlmAnswer {
                            translation,
                            usage,
                            cached: false,
                        });
                    }
                    messages.push(json!({"role": "assistant", "content": content}));
                    messages
                        .push(json!({"role": "user", "content": prompt::repair_message(&list)}));
                }
            }
        }
        unreachable!("the last turn returns")
    }

    fn budget_spent(&self, spent: f64) -> Unavailable {
        Unavailable::BudgetSpent {
            spent,
            budget: self.config.budget_usd,
        }
    }

    fn clarify(&self, message: &str, mut suggestions: Vec<String>) -> Translation {
        suggestions.extend(self.example_questions.iter().cloned());
        suggestions.dedup();
        Translation::Clarify(Clarification {
            message: message.to_string(),
            unmapped: Vec::new(),
            suggestions,
        })
    }

    fn first_messages(&self, req: &LlmRequest<'_>) -> Vec<Value> {
        vec![
            json!({"role": "system", "content": self.instructions}),
            json!({"role": "user", "content": self.data_message}),
            json!({"role": "user", "content": prompt::context_message(req.today, req.previous)}),
            json!({"role": "user", "content": prompt::question_message(req.question)}),
        ]
    }

    fn body(&self, messages: &[Value]) -> Value {
        json!({
            "model": self.config.model,
            "messages": messages,
            "temperature": 0,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "tally_query", "strict": true, "schema": self.schema},
            },
        })
    }

    /// Reads the model's content: a query to run (valid, or refused by policy), "cannot map", or
    /// the problems to send back.
    fn judge(&self, content: &str, role: &str) -> Verdict {
        let value: Value = match serde_json::from_str(content) {
            Ok(v) => v,
            Err(e) => {
                return Verdict::Problems(
                    vec![format!("malformed_json at /: not valid JSON: {e}")],
                    Vec::new(),
                )
            }
        };
        // Servers that ignore `strict` sometimes drop the wrapper; a bare query is still a query.
        let query = match value {
            Value::Object(mut o) if o.contains_key("query") => {
                o.remove("query").unwrap_or(Value::Null)
            }
            Value::Object(o) if o.contains_key("kind") => Value::Object(o),
            _ => {
                return Verdict::Problems(
                    vec!["missing_field at /: reply with one object {\"query\": ...}".into()],
                    Vec::new(),
                )
            }
        };
        if query.is_null() {
            return Verdict::Unmappable;
        }
        match self.checker.check_value(query.clone(), role) {
            Ok(_) | Err(Rejection::Refused { .. }) => Verdict::Dsl(query),
            Err(Rejection::Invalid { diagnostics }) => {
                // Not the model's fault: the pipeline reports an unknown role itself.
                if diagnostics
                    .iter()
                    .any(|d| d.code == DiagnosticCode::UnknownRole)
                {
                    return Verdict::Dsl(query);
                }
                let nearest = diagnostics
                    .iter()
                    .filter_map(|d| d.nearest.clone())
                    .collect();
                Verdict::Problems(diagnostics.iter().map(|d| d.to_string()).collect(), nearest)
            }
        }
    }

    /// One chat completion with retries: timeouts, connection errors, 429 and 5xx are retried
    /// with exponential backoff (or the server's Retry-After, whichever is longer, capped);
    /// other statuses are final.
    async fn call(&self, messages: &[Value], usage: &mut Usage) -> Result<Reply, Unavailable> {
        let body = self.body(messages);
        let url = self.config.completions_url();
        let mut last = Unavailable::Unreachable { attempts: 0 };
        for attempt in 0..=self.config.max_retries {
            let attempts = attempt + 1;
            usage.llm_calls += 1;
            let mut request = self.client.post(&url).json(&body);
            if let Some(key) = &self.config.api_key {
                request = request.bearer_auth(key.expose());
            }
            let retry_after = match request.send().await {
                Ok(response) if response.status().is_success() => match read_body(response).await {
                    Ok(bytes) => return self.parse_completion(&bytes, usage),
                    Err(e) if e.is_timeout() => {
                        last = Unavailable::Timeout { attempts };
                        None
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "LLM response body unreadable");
                        return Err(Unavailable::BadResponse);
                    }
                },
                Ok(response) => {
                    let status = response.status().as_u16();
                    tracing::warn!(status, attempt = attempts, "LLM request failed");
                    last = Unavailable::Status { status, attempts };
                    if status != 429 && !response.status().is_server_error() {
                        return Err(last);
                    }
                    retry_after_header(response.headers())
                }
                Err(e) => {
                    tracing::warn!(
                        timeout = e.is_timeout(),
                        connect = e.is_connect(),
                        attempt = attempts,
                        "LLM request failed"
                    );
                    last = if e.is_timeout() {
                        Unavailable::Timeout { attempts }
                    } else {
                        Unavailable::Unreachable { attempts }
                    };
                    None
                }
            };
            if attempt == self.config.max_retries {
                break;
            }
            let backoff = Duration::from_millis(
                self.config
                    .retry_base_ms
                    .saturating_mul(1u64 << attempt.min(16)),
            );
            let wait = backoff
                .max(retry_after.unwrap_or_default())
                .min(Duration::from_millis(self.config.retry_max_ms));
            tokio::time::sleep(wait).await;
        }
        Err(last)
    }

    fn parse_completion(&self, bytes: &[u8], usage: &mut Usage) -> Result<Reply, Unavailable> {
        let completion: Completion = serde_json::from_slice(bytes).map_err(|e| {
            tracing::warn!(error = %e, "LLM response is not a chat completion");
            Unavailable::BadResponse
        })?;
        if let Some(u) = completion.usage {
            usage.prompt_tokens += u.prompt_tokens;
            usage.completion_tokens += u.completion_tokens;
            usage.cost_usd += self.config.cost_usd(u.prompt_tokens, u.completion_tokens);
        }
        let message = completion
            .choices
            .into_iter()
            .next()
            .ok_or(Unavailable::BadResponse)?
            .message;
        match (message.content, message.refusal) {
            (_, Some(r)) if !r.trim().is_empty() => Ok(Reply::Refusal),
            (Some(c), _) => Ok(Reply::Content(c)),
            (None, _) => Ok(Reply::Content(String::new())),
        }
    }
}

/// Dollars with cents, or with four decimals below ten cents (test and local budgets are tiny).
fn usd(x: f64) -> String {
    if x >= 0.1 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
    }
}

async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        out.extend_from_slice(&chunk);
        if out.len() > MAX_REPLY_BYTES {
            break;
        }
    }
    Ok(out)
}

/// `Retry-After` in seconds (the form OpenAI and proxies send); dates are ignored.
fn retry_after_header(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let secs: f64 = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

enum Reply {
    Content(String),
    Refusal,
}

enum Verdict {
    Dsl(Value),
    Unmappable,
    /// Problems to send back, and nearest names to suggest if repairs run out.
    Problems(Vec<String>, Vec<String>),
}

/// The parts of a chat completion Tally reads.
#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<CompletionUsage>,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Deserialize)]
struct CompletionUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}
