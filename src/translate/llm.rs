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
pub mod select;

use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::catalog::{AggFunc, Catalog, MetricDef, TimeBasis};
use crate::check::{Checker, DiagnosticCode, Rejection};
use crate::translate::rules::{Concept, Rules};

pub use config::{ApiKey, ConfigError, LlmConfig};
pub use prompt::{FewShot, PromptExamples};

use super::{Clarification, Translation, Usage};
use guard::{Breaker, CacheKey, Lru};
use select::{estimate_tokens, EntryIndex, EntryKind, Selection, PROMPT_BUDGET_TOKENS};

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
    /// The system message (the rules, with the follow-up phrasings it was given).
    instructions: String,
    prompt: Prompt,
    /// Estimated tokens of a first request carrying the whole catalog (and an empty question).
    whole_tokens: usize,
    /// Example phrasings offered when a question cannot be translated.
    example_questions: Vec<String>,
    cache: Mutex<Lru>,
    breaker: Mutex<Breaker>,
}

/// What the data message and the response schema carry.
enum Prompt {
    /// The whole catalog, built once: it fits `PROMPT_BUDGET_TOKENS`.
    Whole { schema: Value, data_message: String },
    /// A catalog too large for one prompt: each question's entries are selected.
    Selected(Box<Large>),
}

/// A large catalog's entry index and what selecting needs.
struct Large {
    index: EntryIndex,
    /// For the entries the lexicon finds in a question (typos corrected), which BM25 misses.
    rules: Rules,
    examples: Vec<FewShot>,
    /// Estimated tokens of a first request carrying no entry and an empty question.
    fixed_tokens: usize,
}

/// The most entries the rule translator's lexicon may force into one prompt (a word such as
/// "revenue" may name many).
const MAX_MENTIONS: usize = 20;

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
        let instructions = prompt::instructions(&shown.followups());
        let (prompt, whole_tokens) =
            Prompt::for_catalog(&catalog, &instructions, &config.model, examples.clone());
        if matches!(prompt, Prompt::Selected(_)) {
            tracing::info!(
                whole_tokens,
                budget = PROMPT_BUDGET_TOKENS,
                "the catalog does not fit one prompt; each question carries the entries selected for it"
            );
        }
        Ok(Llm {
            instructions,
            prompt,
            whole_tokens,
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
        let (messages, schema) = self.first_turn(req);
        self.body(&messages, &schema)
    }

    /// Whether each question's prompt carries only the entries selected for it (the whole
    /// catalog's prompt would exceed `PROMPT_BUDGET_TOKENS`).
    pub fn selects_entries(&self) -> bool {
        matches!(self.prompt, Prompt::Selected(_))
    }

    /// Estimated tokens (`select::estimate_tokens`) of a first request carrying the whole
    /// catalog and an empty question: what every question would cost without selection.
    pub fn whole_catalog_tokens(&self) -> usize {
        self.whole_tokens
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

        let (mut messages, schema) = self.first_turn(req);
        for turn in 0..=MAX_REPAIRS {
            let spent = req.spent_usd + usage.cost_usd;
            if turn > 0 && spent >= self.config.budget_usd {
                return fail(self.budget_spent(spent), usage);
            }
            let reply = match self.call(&messages, &schema, &mut usage).await {
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

    /// The first turn's messages and response schema: the whole catalog's, or for a large
    /// catalog the entries selected for this question, trimmed until the request fits.
    fn first_turn(&self, req: &LlmRequest<'_>) -> (Vec<Value>, Cow<'_, Value>) {
        let context = prompt::context_message(req.today, req.previous);
        let question = prompt::question_message(req.question);
        let large = match &self.prompt {
            Prompt::Whole {
                schema,
                data_message,
            } => {
                let messages = first_messages(&self.instructions, data_message, context, question);
                return (messages, Cow::Borrowed(schema));
            }
            Prompt::Selected(large) => large,
        };
        let catalog = self.checker.catalog();
        let mut forced = Vec::new();
        if let Some(previous) = req.previous {
            forced.extend(select::named_in(&large.index, previous));
        }
        let mentioned = large.rules.mentions(req.question, catalog, req.today);
        forced.extend(
            mentioned
                .concepts
                .iter()
                .flat_map(|c| entries_of(c, catalog))
                .take(MAX_MENTIONS),
        );
        forced.extend(select::generalisations(&large.index, &forced));
        // A period's words ("last week", "daily") name no entry; left in, they rank every entry
        // whose name or description says "week" or "daily".
        let mut search = req.question.to_string();
        for words in &mentioned.time_words {
            if let Some(at) = search.find(words.as_str()) {
                search.replace_range(at..at + words.len(), " ");
            }
        }
        // JSON escaping of the question and previous query is the estimate's slack.
        let room = PROMPT_BUDGET_TOKENS.saturating_sub(
            large.fixed_tokens + estimate_tokens(&context) + estimate_tokens(&question),
        );
        let mut selection = large.index.select(&search, forced, room);
        let turn = |s: &Selection| {
            let data = prompt::data_message_with(&s.digest(catalog), &large.examples);
            let schema = prompt::response_schema_over(&s.names(catalog));
            let messages =
                first_messages(&self.instructions, &data, context.clone(), question.clone());
            (messages, schema)
        };
        let (messages, schema) = large.index.trim(&mut selection, |s| {
            let (messages, schema) = turn(s);
            let fits =
                estimate_tokens(&self.body(&messages, &schema).to_string()) <= PROMPT_BUDGET_TOKENS;
            ((messages, schema), fits)
        });
        (messages, Cow::Owned(schema))
    }

    fn body(&self, messages: &[Value], schema: &Value) -> Value {
        request_body(&self.config.model, messages, schema)
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
    async fn call(
        &self,
        messages: &[Value],
        schema: &Value,
        usage: &mut Usage,
    ) -> Result<Reply, Unavailable> {
        let body = self.body(messages, schema);
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

impl Prompt {
    /// The whole catalog's prompt if its first request fits the budget, else an entry index;
    /// with the whole catalog's estimated tokens.
    fn for_catalog(
        catalog: &Catalog,
        instructions: &str,
        model: &str,
        examples: Vec<FewShot>,
    ) -> (Prompt, usize) {
        let schema = prompt::response_schema(catalog);
        let data_message = prompt::data_message(catalog, &examples);
        let empty = |data: &str, schema: &Value| {
            let messages = first_messages(
                instructions,
                data,
                prompt::context_message(NaiveDate::from_ymd_opt(2000, 1, 1).expect("a date"), None),
                prompt::question_message(""),
            );
            estimate_tokens(&request_body(model, &messages, schema).to_string())
        };
        let whole = empty(&data_message, &schema);
        if whole <= PROMPT_BUDGET_TOKENS {
            let prompt = Prompt::Whole {
                schema,
                data_message,
            };
            return (prompt, whole);
        }
        let text = schema.to_string();
        let mentions = |kind: EntryKind| {
            let first = match kind {
                EntryKind::Metric => catalog.metrics.keys().next(),
                EntryKind::Dimension => catalog.dimensions.keys().next(),
                EntryKind::Entity => catalog.entities.keys().next(),
                EntryKind::Funnel => catalog.funnels.keys().next(),
            };
            first.map_or(0, |name| text.matches(&format!("\"{name}\"")).count())
        };
        let index = EntryIndex::build(catalog, mentions);
        let none = Selection::default();
        let fixed_tokens = empty(
            &prompt::data_message_with(&none.digest(catalog), &examples),
            &prompt::response_schema_over(&none.names(catalog)),
        );
        let large = Large {
            index,
            rules: Rules::new(catalog),
            examples,
            fixed_tokens,
        };
        (Prompt::Selected(Box::new(large)), whole)
    }
}

/// The entries a lexicon concept stands for, and the metric it implies as the rule translator
/// reads it: a value's dimension and the plain count of the tables it is bound to ("page views"
/// counts events), an entity and its count metric, a field's entities and the count of their
/// records dated by it ("customers signed up" counts new customers).
fn entries_of(concept: &Concept, catalog: &Catalog) -> Vec<(EntryKind, String)> {
    let plain_counts = |table: &str, dated: Option<&str>| -> Vec<(EntryKind, String)> {
        let own = catalog.tables.get(table).and_then(|t| t.time.as_deref());
        catalog
            .metrics
            .values()
            .filter(|m| {
                matches!(&m.def, MetricDef::Aggregate(a)
                    if a.table == table && a.func == AggFunc::Count && a.filters.is_empty()
                        && matches!(&a.time, TimeBasis::Column(c) if Some(c.as_str()) == dated.or(own)))
            })
            .map(|m| (EntryKind::Metric, m.name.clone()))
            .collect()
    };
    match concept {
        Concept::Metric(m) => vec![(EntryKind::Metric, m.clone())],
        Concept::Dimension(d) => vec![(EntryKind::Dimension, d.clone())],
        Concept::Value { dimension, .. } => {
            let mut out = vec![(EntryKind::Dimension, dimension.clone())];
            if let Some(d) = catalog.dimensions.get(dimension) {
                for (table, _) in &d.bindings {
                    out.extend(plain_counts(table, None));
                }
            }
            out
        }
        Concept::Entity(e) => {
            let mut out = vec![(EntryKind::Entity, e.clone())];
            if let Some(m) = catalog.entities.get(e).and_then(|e| e.count_metric.clone()) {
                out.push((EntryKind::Metric, m));
            }
            out
        }
        Concept::Field(f) => catalog
            .entities
            .values()
            .filter(|e| e.fields.contains_key(f))
            .flat_map(|e| {
                let mut out = vec![(EntryKind::Entity, e.name.clone())];
                out.extend(plain_counts(&e.table, Some(f)));
                out
            })
            .collect(),
        Concept::Funnel(f) => vec![(EntryKind::Funnel, f.clone())],
    }
}

/// The first turn: instructions, then the data, the context and the question.
fn first_messages(instructions: &str, data: &str, context: String, question: String) -> Vec<Value> {
    vec![
        json!({"role": "system", "content": instructions}),
        json!({"role": "user", "content": data}),
        json!({"role": "user", "content": context}),
        json!({"role": "user", "content": question}),
    ]
}

fn request_body(model: &str, messages: &[Value], schema: &Value) -> Value {
    json!({
        "model": model,
        "messages": messages,
        "temperature": 0,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "tally_query", "strict": true, "schema": schema},
        },
    })
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
