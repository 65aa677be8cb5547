//! Runs the stages in order and returns the response and a trace of every stage's output.
//! This is the main test boundary: golden tests snapshot the trace.
//!
//! Invariants: nothing after `check` calls a translator or an LLM. The same DSL, data and clock
//! give the same response bytes, except `query_id` and `timings_ms`.

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use serde_json::Value;

use crate::answer::{self, Source};
use crate::catalog::Catalog;
use crate::check::{CheckedQuery, Checker, Diagnostic, DiagnosticCode, Refusal, Rejection, Repair};
use crate::dsl::Query;
use crate::exec::{ExecError, Limits, ResultCache, Rows, Warehouse};
use crate::metrics_api::{Attempt, MetricsApis};
use crate::plan::{self, Clock, Plan, WorkspaceId};
use crate::result::{self, QueryResult};
use crate::rollup::{self, Rollups};
use crate::sql::{self, CompileError, Dialect, Statement};
use crate::translate::rules::Rules;
use crate::translate::{
    Clarification, TranslateRequest, Translated, Translation, TranslatorKind, Translators,
};

/// Questions longer than this are refused before translation.
pub const MAX_QUESTION_CHARS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[derive(strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum Outcome {
    Answered,
    Refused,
    NeedsClarification,
    Invalid,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Translator {
    Rules,
    Llm,
    /// The caller sent DSL.
    None,
}

/// The response contract (DESIGN §7).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
// `Response` is every generated client's own HTTP response type.
#[schemars(rename = "QueryResponse")]
pub struct Response {
    pub query_id: String,
    pub outcome: Outcome,
    pub answer: String,
    pub translator: Translator,
    pub executed_dsl: Option<Query>,
    /// Only for roles that may see SQL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    pub data: Option<QueryResult>,
    pub chart: Option<Value>,
    pub refusal: Option<Refusal>,
    /// Only for `needs_clarification`: what could not be mapped and what to ask instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clarification: Option<Clarification>,
    /// Only for `invalid`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<Diagnostic>,
    /// Deterministic repairs applied to the DSL (synonyms, case).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub repairs: Vec<Repair>,
    /// Why the translator is not the configured one (an LLM over budget or unavailable).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub sources: Vec<Source>,
    /// What the numbers were read from: `warehouse`, `rollup:NAME`, or both joined by `+`, or
    /// `metrics_api:NAME`; `catalog` for a definition (only for answered queries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Why a query a metrics API would have answered was answered from the warehouse ("the
    /// metrics API `kpi` timed out after 300 ms; answered from the warehouse").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_note: Option<String>,
    pub catalog_version: String,
    /// Every statement's rows came from the result cache (no warehouse time; at most the
    /// cache's time to live old).
    pub cached: bool,
    pub timings_ms: Timings,
}

#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct Timings {
    pub translate: f64,
    pub check: f64,
    pub plan: f64,
    pub compile: f64,
    pub execute: f64,
    pub answer: f64,
    pub total: f64,
}

/// Every stage's output, for tests and debugging.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    pub plan: Option<Plan>,
    pub statements: Vec<Statement>,
    pub rows: Vec<Rows>,
    pub result: Option<QueryResult>,
    /// Which translator answered, why not the LLM, and its tokens and cost (for the audit).
    pub translation: Option<Translated>,
}

/// A stage that finished, for answers streamed as they are made. Carries no result values.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The question became DSL (`None`: the translator asked for clarification).
    Translated {
        translator: Translator,
        dsl: Option<Value>,
        ms: f64,
    },
    /// The DSL was checked against the role.
    Validated { outcome: Validation, ms: f64 },
    /// The statements ran.
    Executed {
        statements: usize,
        rows: usize,
        ms: f64,
    },
}

impl Stage {
    /// How long the stage took.
    pub fn ms(&self) -> f64 {
        match self {
            Stage::Translated { ms, .. }
            | Stage::Validated { ms, .. }
            | Stage::Executed { ms, .. } => *ms,
        }
    }

    /// The event name (`translated`, `validated`, `executed`).
    pub fn name(&self) -> &'static str {
        match self {
            Stage::Translated { .. } => "translated",
            Stage::Validated { .. } => "validated",
            Stage::Executed { .. } => "executed",
        }
    }
}

/// How checking the DSL against the role ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Validation {
    Valid,
    Refused,
    Invalid,
}

/// Told about each stage as it finishes.
pub type Progress<'a> = &'a (dyn Fn(Stage) + Send + Sync);

/// Failures of the machinery, not of the question (HTTP 5xx, CLI exit 1).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error(transparent)]
    Compile(#[from] CompileError),
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::Exec(e) => e.code(),
            Error::Compile(e) => e.code(),
        }
    }
}

/// Why `Engine::open` made no engine (CLI exit 1); `code()` is the warehouse's own code.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The warehouse could not be opened (unreachable, unreadable, an unknown URL scheme).
    #[error(transparent)]
    Warehouse(ExecError),
    /// Reading the values of the catalog's `values = "discover"` dimensions failed.
    #[error("discovering dimension values: {0}")]
    Discovery(ExecError),
}

impl OpenError {
    pub fn code(&self) -> &'static str {
        match self {
            OpenError::Warehouse(e) | OpenError::Discovery(e) => e.code(),
        }
    }
}

/// One turn of a conversation: its last DSL and what it has spent on the LLM so far.
#[derive(Debug, Clone, Copy, Default)]
pub struct Turn<'a> {
    pub previous: Option<&'a Value>,
    pub spent_usd: f64,
}

/// The catalog, its checker and a warehouse: everything a query needs. Made by `Engine::new`
/// and set up with the `with_…` methods; read through its accessors.
pub struct Engine {
    catalog: Arc<Catalog>,
    checker: Checker,
    rules: Arc<Rules>,
    /// The translators `ask` uses: rules only unless an LLM is set up (`Translators::from_env`).
    translators: Translators,
    warehouse: Warehouse,
    limits: Limits,
    /// Statement results kept for repeated questions (`None`: every question runs).
    cache: Option<ResultCache>,
    /// A multi-tenant catalog's `values = "discover"`: an engine per workspace whose catalog
    /// holds that workspace's values (`None`: every workspace uses `catalog`).
    views: Option<moka::future::Cache<String, Arc<Engine>>>,
    /// The rollup store, when one is set up: units it serves exactly are read from it.
    rollups: Option<Arc<Rollups>>,
    /// The catalog's Metrics APIs (`[sources.*]`), asked first for what they answer exactly.
    metrics_apis: Option<Arc<MetricsApis>>,
}

/// How long a workspace's discovered values are kept before they are read again.
pub const DISCOVERY_REFRESH: std::time::Duration = std::time::Duration::from_secs(600);

fn ms(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1e6).round() / 1e3
}

/// A new opaque query id.
pub fn new_query_id() -> String {
    use sha2::{Digest, Sha256};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = Sha256::new();
    h.update(std::process::id().to_le_bytes());
    h.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    h.update(nanos.to_le_bytes());
    let digest = h.finalize();
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("q_{hex}")
}

impl Engine {
    pub fn new(catalog: Arc<Catalog>, warehouse: Warehouse, limits: Limits) -> Engine {
        let rules = Arc::new(Rules::new(&catalog));
        let metrics_apis = MetricsApis::new(&catalog).map(Arc::new);
        Engine {
            checker: Checker::new(catalog.clone()),
            translators: Translators::rules_only(catalog.clone(), rules.clone()),
            rules,
            catalog,
            warehouse,
            limits,
            cache: None,
            views: None,
            rollups: None,
            metrics_apis,
        }
    }

    /// The engine on the warehouse at `url` (`sqlite://FILE`, `postgres://…`, `mysql://…`)
    /// for `catalog`, reading discovered values per workspace (`with_discovery` at
    /// `DISCOVERY_REFRESH`). A single-tenant catalog's `values = "discover"` dimensions are
    /// read here, once, before anything reads the catalog's values (`inspect::discover`).
    pub async fn open(
        catalog: Arc<Catalog>,
        url: &str,
        limits: Limits,
    ) -> Result<Engine, OpenError> {
        let warehouse = Warehouse::open(url).await.map_err(OpenError::Warehouse)?;
        let catalog = if catalog.dimensions.values().any(|d| d.discover) {
            let found = crate::inspect::discover(&catalog, &warehouse, &limits)
                .await
                .map_err(OpenError::Discovery)?;
            Arc::new(found)
        } else {
            catalog
        };
        Ok(Engine::new(catalog, warehouse, limits).with_discovery(DISCOVERY_REFRESH))
    }

    /// Runs each request's statements one after another (a one-shot CLI run: see
    /// `Warehouse::one_at_a_time`).
    pub fn one_statement_at_a_time(mut self) -> Engine {
        self.warehouse = self.warehouse.one_at_a_time();
        self
    }

    /// The time limit and row cap of every statement.
    pub fn with_limits(mut self, limits: Limits) -> Engine {
        self.limits = limits;
        self
    }

    /// Answers the units a built rollup serves from `rollups` (`None`: the warehouse only).
    pub fn with_rollups(mut self, rollups: Option<Arc<Rollups>>) -> Engine {
        self.rollups = rollups;
        self
    }

    /// The rollup store, if one is set up.
    pub fn rollups(&self) -> Option<&Arc<Rollups>> {
        self.rollups.as_ref()
    }

    /// The Metrics APIs asked before the warehouse (`Engine::new` sets up the catalog's
    /// `[sources.*]`; `None`: the warehouse only, as the reference server's own engine).
    pub fn with_metrics_apis(mut self, apis: Option<Arc<MetricsApis>>) -> Engine {
        self.metrics_apis = apis;
        self
    }

    /// The catalog's Metrics APIs, their breakers and counters.
    pub fn metrics_apis(&self) -> Option<&Arc<MetricsApis>> {
        self.metrics_apis.as_ref()
    }

    /// Keeps statement results for repeated questions (`None`: every question runs).
    pub fn with_cache(mut self, cache: Option<ResultCache>) -> Engine {
        self.cache = cache;
        self
    }

    /// The translators `ask` uses. Made for this engine's catalog, they bring their rule
    /// lexicon along; made for another (the catalog before its values were discovered), they
    /// keep their mode and LLM and read this engine's catalog.
    pub fn with_translators(mut self, translators: Translators) -> Engine {
        if Arc::ptr_eq(translators.catalog(), &self.catalog) {
            self.rules = translators.rules().clone();
            self.translators = translators;
        } else {
            self.translators = translators.with_catalog(self.catalog.clone(), self.rules.clone());
        }
        self
    }

    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }
    pub fn checker(&self) -> &Checker {
        &self.checker
    }
    /// The rule translator's lexicon for this engine's catalog.
    pub fn rules(&self) -> &Arc<Rules> {
        &self.rules
    }
    pub fn translators(&self) -> &Translators {
        &self.translators
    }
    pub fn warehouse(&self) -> &Warehouse {
        &self.warehouse
    }
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Reads the catalog's `values = "discover"` dimensions per workspace: on a workspace's
    /// first request, and again once `refresh` has passed (a single-tenant catalog's one
    /// workspace likewise, after the read at start: `inspect::discover`). No-op for a catalog
    /// without such dimensions.
    pub fn with_discovery(mut self, refresh: std::time::Duration) -> Engine {
        let wanted = self.catalog.dimensions.values().any(|d| d.discover);
        self.views = wanted.then(|| {
            moka::future::Cache::builder()
                .time_to_live(refresh)
                .max_capacity(10_000)
                .build()
        });
        self
    }

    /// The engine for `workspace` when its catalog view differs from `catalog` (discovered
    /// values), read once per refresh; `None` to use `self`. A discovery that fails is logged
    /// and the workspace is served as if the values were not listed.
    async fn view(&self, workspace: &str) -> Option<Arc<Engine>> {
        let views = self.views.as_ref()?;
        let w = WorkspaceId::parse(workspace).ok()?;
        let found = views
            .try_get_with(workspace.to_string(), async {
                let catalog =
                    crate::inspect::discover_in(&self.catalog, &self.warehouse, &w, &self.limits)
                        .await?;
                Ok::<_, ExecError>(Arc::new(self.with_catalog(Arc::new(catalog))))
            })
            .await;
        match found {
            Ok(engine) => Some(engine),
            Err(e) => {
                tracing::warn!(workspace, error = %e, "discovering dimension values failed");
                None
            }
        }
    }

    /// This engine reading `catalog` instead (same warehouse, limits, cache and translators).
    fn with_catalog(&self, catalog: Arc<Catalog>) -> Engine {
        let rules = Arc::new(Rules::new(&catalog));
        Engine {
            checker: Checker::new(catalog.clone()),
            translators: self
                .translators
                .with_catalog(catalog.clone(), rules.clone()),
            rules,
            catalog,
            warehouse: self.warehouse.clone(),
            limits: self.limits,
            cache: self.cache.clone(),
            views: None,
            rollups: self.rollups.clone(),
            metrics_apis: self.metrics_apis.clone(),
        }
    }

    /// The catalog as `workspace` sees it (with its discovered values).
    pub async fn catalog_in(&self, workspace: &str) -> Arc<Catalog> {
        match self.view(workspace).await {
            Some(e) => e.catalog.clone(),
            None => self.catalog.clone(),
        }
    }

    fn base(&self, outcome: Outcome, answer: String) -> Response {
        base(&self.catalog, outcome, answer)
    }

    /// An answered query's response, whichever source answered: the answer's text, chart and
    /// sources, the data, the DSL that ran and its repairs.
    fn answered(
        &self,
        checked: &CheckedQuery,
        answer: answer::Answer,
        result: &QueryResult,
    ) -> Response {
        let mut response = self.base(Outcome::Answered, answer.text);
        response.executed_dsl = Some(checked.query().clone());
        response.data = Some(result.clone());
        response.chart = answer.chart;
        response.sources = answer.sources;
        response.repairs = checked.repairs().to_vec();
        response
    }

    /// Answers a question in English as the first turn of a conversation (nothing spent yet).
    /// `previous` is the conversation's last DSL, for follow-ups ("and by country?").
    pub async fn ask(
        &self,
        question: &str,
        role: &str,
        workspace: &str,
        clock: &Clock,
        previous: Option<&Value>,
    ) -> Result<(Response, Trace), Error> {
        let turn = Turn {
            previous,
            spent_usd: 0.0,
        };
        self.ask_in_conversation(question, role, workspace, clock, turn)
            .await
    }

    /// Answers a question in English: `self.translators`, then the same pipeline as DSL.
    /// `trace.translation` says which translator answered and what it cost; add its
    /// `usage.cost_usd` to the conversation's spend for the next turn.
    pub async fn ask_in_conversation(
        &self,
        question: &str,
        role: &str,
        workspace: &str,
        clock: &Clock,
        turn: Turn<'_>,
    ) -> Result<(Response, Trace), Error> {
        self.ask_with_progress(question, role, workspace, clock, turn, &|_| {})
            .await
    }

    /// `ask_in_conversation`, telling `progress` as each stage finishes (for streamed answers).
    pub async fn ask_with_progress(
        &self,
        question: &str,
        role: &str,
        workspace: &str,
        clock: &Clock,
        turn: Turn<'_>,
        progress: Progress<'_>,
    ) -> Result<(Response, Trace), Error> {
        if let Some(view) = self.view(workspace).await {
            return Box::pin(
                view.ask_with_progress(question, role, workspace, clock, turn, progress),
            )
            .await;
        }
        let started = Instant::now();
        // Tabs and line breaks are spacing in a question; any other control character is
        // refused, as in DSL strings.
        if let Some(c) = question
            .chars()
            .find(|c| crate::check::is_control(*c) && !matches!(c, '\t' | '\n' | '\r'))
        {
            let mut r = rejection_response(
                &self.catalog,
                Rejection::Invalid {
                    diagnostics: vec![Diagnostic::new(
                        DiagnosticCode::ControlCharacter,
                        "/question",
                        format!(
                            "the question holds the control character U+{:04X}; remove it",
                            c as u32
                        ),
                    )],
                },
            );
            r.translator = Translator::Rules;
            return Ok((r, Trace::default()));
        }
        if question.chars().count() > MAX_QUESTION_CHARS {
            let mut r = rejection_response(
                &self.catalog,
                Rejection::Invalid {
                    diagnostics: vec![Diagnostic::new(
                        DiagnosticCode::TooLarge,
                        "/question",
                        format!("the question is longer than {MAX_QUESTION_CHARS} characters"),
                    )],
                },
            );
            r.translator = Translator::Rules;
            return Ok((r, Trace::default()));
        }
        let t = Instant::now();
        let translated = self
            .translators
            .translate(&TranslateRequest {
                question,
                role,
                today: clock.today(),
                previous: turn.previous,
                spent_usd: turn.spent_usd,
            })
            .await;
        let translate_ms = ms(t);
        let translator = match translated.translator {
            TranslatorKind::Rules => Translator::Rules,
            TranslatorKind::Llm => Translator::Llm,
        };
        progress(Stage::Translated {
            translator,
            dsl: match &translated.translation {
                Translation::Dsl { dsl } => Some(dsl.clone()),
                Translation::Clarify(_) => None,
            },
            ms: translate_ms,
        });
        let (mut r, mut trace) = match &translated.translation {
            Translation::Clarify(c) => {
                let text = answer::clarification_text(&c.message, &c.suggestions);
                let mut r = self.base(Outcome::NeedsClarification, text);
                r.clarification = Some(c.clone());
                (r, Trace::default())
            }
            Translation::Dsl { dsl } => {
                let raw = serde_json::to_vec(dsl).expect("translations serialize");
                let (mut r, trace) = self
                    .run_with_progress(&raw, role, workspace, clock, progress)
                    .await?;
                if r.outcome == Outcome::Invalid {
                    // The translator's own slip, not the user's: ask rather than blame.
                    r.outcome = Outcome::NeedsClarification;
                    r.answer = answer::translation_invalid_text(&r.answer);
                }
                (r, trace)
            }
        };
        r.translator = translator;
        r.note = translated.note.clone();
        r.timings_ms.translate = translate_ms;
        r.timings_ms.total = ms(started);
        trace.translation = Some(translated);
        Ok((r, trace))
    }

    fn rejected(&self, rejection: Rejection) -> Response {
        rejection_response(&self.catalog, rejection)
    }
}

fn base(catalog: &Catalog, outcome: Outcome, answer: String) -> Response {
    Response {
        query_id: new_query_id(),
        outcome,
        answer,
        translator: Translator::None,
        executed_dsl: None,
        sql: None,
        data: None,
        chart: None,
        refusal: None,
        clarification: None,
        diagnostics: Vec::new(),
        repairs: Vec::new(),
        note: None,
        sources: Vec::new(),
        source: None,
        source_note: None,
        cached: false,
        catalog_version: catalog.version.clone(),
        timings_ms: Timings::default(),
    }
}

impl Engine {
    /// Runs raw DSL as `role` in `workspace`.
    pub async fn run(
        &self,
        raw: &[u8],
        role: &str,
        workspace: &str,
        clock: &Clock,
    ) -> Result<(Response, Trace), Error> {
        self.run_with_progress(raw, role, workspace, clock, &|_| {})
            .await
    }

    /// `run`, telling `progress` as each stage finishes.
    pub async fn run_with_progress(
        &self,
        raw: &[u8],
        role: &str,
        workspace: &str,
        clock: &Clock,
        progress: Progress<'_>,
    ) -> Result<(Response, Trace), Error> {
        if let Some(view) = self.view(workspace).await {
            return Box::pin(view.run_with_progress(raw, role, workspace, clock, progress)).await;
        }
        let started = Instant::now();
        let mut trace = Trace::default();
        let mut timings = Timings::default();

        let t = Instant::now();
        let checked = self.checker.check_bytes(raw, role);
        timings.check = ms(t);
        progress(Stage::Validated {
            outcome: match &checked {
                Ok(_) => Validation::Valid,
                Err(Rejection::Refused { .. }) => Validation::Refused,
                Err(Rejection::Invalid { .. }) => Validation::Invalid,
            },
            ms: timings.check,
        });
        let checked = match checked {
            Ok(c) => c,
            Err(rejection) => {
                let mut r = self.rejected(rejection);
                timings.total = ms(started);
                r.timings_ms = timings;
                return Ok((r, trace));
            }
        };

        let t = Instant::now();
        let workspace = WorkspaceId::parse(workspace).and_then(|w| plan::plan(&checked, &w, clock));
        timings.plan = ms(t);
        let mut plan = match workspace {
            Ok(p) => p,
            Err(e) => {
                let mut r = rejection_response(
                    &self.catalog,
                    Rejection::Invalid {
                        diagnostics: vec![plan_diagnostic(&e)],
                    },
                );
                r.executed_dsl = Some(checked.query().clone());
                timings.total = ms(started);
                r.timings_ms = timings;
                return Ok((r, trace));
            }
        };

        if let Some(r) = &self.rollups {
            rollup::route(&mut plan, &r.built());
        }

        let t = Instant::now();
        let statements = sql::compile(&plan, self.warehouse.dialect())?;
        timings.compile = ms(t);

        let mut source_note = None;
        // Time spent on a Metrics API that failed counts as execution.
        let mut api_ms = 0.0;
        if let Some(apis) = &self.metrics_apis {
            let t = Instant::now();
            match apis.answer(&plan).await {
                Attempt::NotRouted => {}
                Attempt::FellBack(f) => {
                    source_note = Some(f.note());
                    api_ms = ms(t);
                }
                Attempt::Answered(a) => {
                    if let Some(result) = result::from_values(&plan, &a.values) {
                        timings.execute = ms(t);
                        progress(Stage::Executed {
                            statements: 0,
                            rows: a.points,
                            ms: timings.execute,
                        });
                        if a.verify {
                            self.check_drift(apis, &a.source, &plan, statements, &result);
                        }
                        let t = Instant::now();
                        let answer = answer::answer(&plan, &result);
                        timings.answer = ms(t);
                        let mut response = self.answered(&checked, answer, &result);
                        response.source = Some(format!("metrics_api:{}", a.source));
                        timings.total = ms(started);
                        response.timings_ms = timings;
                        trace.plan = Some(plan);
                        trace.result = Some(result);
                        return Ok((response, trace));
                    }
                }
            }
        }

        let t = Instant::now();
        let (rows, cached) = self.execute(&statements).await?;
        timings.execute = api_ms + ms(t);
        progress(Stage::Executed {
            statements: statements.len(),
            rows: rows.iter().map(|r| r.rows.len()).sum(),
            ms: timings.execute,
        });

        let t = Instant::now();
        let result = result::assemble(&plan, &result::unit_rows(&statements, &rows));
        let answer = answer::answer(&plan, &result);
        timings.answer = ms(t);

        let see_sql = checked.role().see_sql;
        let mut response = self.answered(&checked, answer, &result);
        response.sql = (see_sql && !statements.is_empty()).then(|| sql::render(&statements));
        response.cached = cached;
        response.source = Some(match &plan.body {
            // A definition is read from the catalog and its docs, not the warehouse.
            plan::PlanBody::Define(d) if d.then.is_some() => {
                format!("catalog+{}", rollup::source(&statements))
            }
            plan::PlanBody::Define(_) => "catalog".to_string(),
            _ => rollup::source(&statements),
        });
        response.source_note = source_note;
        timings.total = ms(started);
        response.timings_ms = timings;

        trace.plan = Some(plan);
        trace.statements = statements;
        trace.rows = rows;
        trace.result = Some(result);
        Ok((response, trace))
    }
}

impl Engine {
    /// The drift check of an answer a metrics API gave: `statements` run on the warehouse in a
    /// background task (the response does not wait), their result compared with the API's;
    /// a disagreement is counted and logged by `apis`.
    fn check_drift(
        &self,
        apis: &Arc<MetricsApis>,
        source: &str,
        plan: &Plan,
        statements: Vec<Statement>,
        api: &QueryResult,
    ) {
        let apis = apis.clone();
        let warehouse = self.warehouse.clone();
        let rollups = self.rollups.clone();
        let limits = self.limits;
        let (source, plan, api) = (source.to_string(), plan.clone(), api.clone());
        let running = apis.checking();
        tokio::spawn(async move {
            let _running = running;
            let ran = execute_on(&warehouse, rollups.as_deref(), None, &statements, &limits).await;
            match ran {
                Ok((rows, _)) => {
                    let sql = result::assemble(&plan, &result::unit_rows(&statements, &rows));
                    let mismatches = crate::metrics_api::compare(&api, &sql);
                    apis.record_drift(&source, plan.workspace.as_str(), &mismatches);
                }
                Err(e) => {
                    tracing::warn!(source, error = %e, "the drift check could not read the warehouse")
                }
            }
        });
    }

    /// Runs each statement where it reads from (the warehouse, or the rollup store), through the
    /// result cache when there is one; says whether every one was cached. Rows come back in
    /// statement order.
    async fn execute(&self, statements: &[Statement]) -> Result<(Vec<Rows>, bool), ExecError> {
        execute_on(
            &self.warehouse,
            self.rollups.as_deref(),
            self.cache.as_ref(),
            statements,
            &self.limits,
        )
        .await
    }
}

/// `Engine::execute` on given parts (the drift check's task owns clones of them).
async fn execute_on(
    warehouse: &Warehouse,
    rollups: Option<&Rollups>,
    cache: Option<&ResultCache>,
    statements: &[Statement],
    limits: &Limits,
) -> Result<(Vec<Rows>, bool), ExecError> {
    let mut rows: Vec<Option<Rows>> = vec![None; statements.len()];
    let mut all_cached = cache.is_some();
    let stored = |s: &Statement| s.rollup.is_some();
    let targets = [
        (false, warehouse),
        (true, rollups.map_or(warehouse, |r| r.store())),
    ];
    for (on_store, warehouse) in targets {
        let (at, these): (Vec<usize>, Vec<Statement>) = statements
            .iter()
            .enumerate()
            .filter(|(_, s)| stored(s) == on_store)
            .map(|(i, s)| (i, s.clone()))
            .unzip();
        if these.is_empty() {
            continue;
        }
        let (got, cached) = match cache {
            Some(cache) => cache.run_all(warehouse, &these, limits).await?,
            None => (warehouse.run_all(&these, limits).await?, false),
        };
        all_cached &= cached;
        for (i, r) in at.into_iter().zip(got) {
            rows[i] = Some(r);
        }
    }
    Ok((
        rows.into_iter()
            .map(|r| r.expect("every statement ran"))
            .collect(),
        all_cached,
    ))
}

/// The response for a rejected query; needs no warehouse.
pub fn rejection_response(catalog: &Catalog, rejection: Rejection) -> Response {
    match rejection {
        Rejection::Invalid { diagnostics } => {
            let mut r = base(
                catalog,
                Outcome::Invalid,
                answer::invalid_text(&diagnostics),
            );
            r.diagnostics = diagnostics;
            r
        }
        Rejection::Refused { refusal, .. } => {
            let mut r = base(
                catalog,
                Outcome::Refused,
                answer::refused_text(&refusal, catalog),
            );
            r.refusal = Some(*refusal);
            r
        }
    }
}

/// A planning error as a diagnostic: the workspace, or a period that cannot be served.
pub fn plan_diagnostic(e: &plan::PlanError) -> Diagnostic {
    let (code, pointer) = match e {
        plan::PlanError::InvalidWorkspace(_) | plan::PlanError::WorkspaceNotServed { .. } => {
            (DiagnosticCode::InvalidValue, "/workspace")
        }
        plan::PlanError::TooManyPoints { .. } | plan::PlanError::TooManyCohorts { .. } => {
            (DiagnosticCode::TooManyPoints, "/granularity")
        }
        plan::PlanError::FuturePeriod { .. } => (DiagnosticCode::InvalidPeriod, "/period"),
    };
    Diagnostic::new(code, pointer, e.to_string())
}

/// Checks and compiles raw DSL without executing it (`tally compile`, `POST /v1/compile`).
pub fn compile_only(
    checker: &Checker,
    raw: &[u8],
    role: &str,
    workspace: &str,
    clock: &Clock,
    dialect: Dialect,
) -> Result<Vec<Statement>, CompileOnlyError> {
    let checked = checker
        .check_bytes(raw, role)
        .map_err(CompileOnlyError::Rejected)?;
    let w = WorkspaceId::parse(workspace).map_err(CompileOnlyError::Plan)?;
    let p = plan::plan(&checked, &w, clock).map_err(CompileOnlyError::Plan)?;
    sql::compile(&p, dialect).map_err(CompileOnlyError::Compile)
}

#[derive(Debug)]
pub enum CompileOnlyError {
    Rejected(Rejection),
    Plan(plan::PlanError),
    Compile(CompileError),
}
