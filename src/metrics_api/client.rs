//! The client side of the catalog's Metrics APIs: one reqwest client per source (its timeout,
//! its bearer token read once from `token_env`, no redirects), its circuit breaker, the share of
//! answers sampled for the drift check, and the counters `GET /metrics` exports.
//!
//! Invariants: a call goes only to its source's URL; nothing the API sends is used before
//! `protocol::validate` accepts it; no result value and no token is logged except the drift
//! warning's two aggregate values (the point of the check).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use crate::catalog::{Catalog, MetricsApiSource};
use crate::plan::{DateRange, Plan};
use crate::result::QueryResult;

use super::breaker::Breaker;
use super::protocol::{self, Expected, Grain};
use super::{route, Call, Routed};

/// The largest answer body read (a year of days is a few kilobytes).
const MAX_BODY_BYTES: usize = 4 << 20;

/// Why a query routed to an API was answered from the warehouse after all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fallback {
    Timeout { source: String, ms: u128 },
    Unavailable { source: String },
    Status { source: String, status: u16 },
    Invalid { source: String, why: String },
    BreakerOpen { source: String, failures: u32 },
}

impl Fallback {
    /// Stable code (the `reason` label of `tally_metrics_api_fallbacks_total`).
    pub fn code(&self) -> &'static str {
        match self {
            Fallback::Timeout { .. } => "timeout",
            Fallback::Unavailable { .. } => "unavailable",
            Fallback::Status { .. } => "http_status",
            Fallback::Invalid { .. } => "invalid_response",
            Fallback::BreakerOpen { .. } => "breaker_open",
        }
    }

    /// The response's `source_note`.
    pub fn note(&self) -> String {
        let why = match self {
            Fallback::Timeout { source, ms } => {
                format!("the metrics API `{source}` timed out after {ms} ms")
            }
            Fallback::Unavailable { source } => {
                format!("the metrics API `{source}` could not be reached")
            }
            Fallback::Status { source, status } => {
                format!("the metrics API `{source}` answered HTTP {status}")
            }
            Fallback::Invalid { source, why } => {
                format!("the metrics API `{source}` sent an unusable answer: {why}")
            }
            Fallback::BreakerOpen { source, failures } => format!(
                "the metrics API `{source}` is not being called after {failures} failed queries in a row (circuit breaker open)"
            ),
        };
        format!("{why}; answered from the warehouse")
    }
}

/// A plan the API answered: the value of every (metric, range) its result holds.
#[derive(Debug, Clone)]
pub struct Answered {
    pub source: String,
    pub values: BTreeMap<(String, DateRange), Option<f64>>,
    pub calls: usize,
    pub points: usize,
    /// Sampled for the drift check: re-run on the warehouse in the background and compare.
    pub verify: bool,
}

/// What asking the catalog's Metrics APIs for a plan came to.
#[derive(Debug, Clone)]
pub enum Attempt {
    /// No source can answer it exactly: the warehouse answers, no note.
    NotRouted,
    Answered(Answered),
    FellBack(Fallback),
}

/// A value the API and the warehouse disagree on.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    pub metric: String,
    /// The period or bucket, `START..END`.
    pub period: String,
    pub api: Option<f64>,
    pub warehouse: Option<f64>,
}

/// Every value of two results of one plan that differ (beyond float noise), summary rows and
/// their previous values first, then series points.
pub fn compare(api: &QueryResult, warehouse: &QueryResult) -> Vec<Mismatch> {
    let same = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0),
        _ => false,
    };
    let span = |p: &Option<crate::result::PeriodOut>| {
        p.as_ref()
            .map(|p| format!("{}..{}", p.start, p.end))
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for (a, w) in api.summary.iter().zip(&warehouse.summary) {
        let pairs = [
            (a.value, w.value, span(&api.period)),
            (a.previous, w.previous, span(&api.previous_period)),
        ];
        for (x, y, period) in pairs {
            let (x, y) = (x.map(|n| n.0), y.map(|n| n.0));
            if !same(x, y) {
                out.push(Mismatch {
                    metric: a.metric.clone(),
                    period,
                    api: x,
                    warehouse: y,
                });
            }
        }
    }
    for (a, w) in api.timeseries.iter().zip(&warehouse.timeseries) {
        let pairs = [
            (a.value, w.value, Some(a.date.clone())),
            (a.previous, w.previous, a.previous_date.clone()),
        ];
        for (x, y, date) in pairs {
            let (x, y) = (x.map(|n| n.0), y.map(|n| n.0));
            if !same(x, y) {
                out.push(Mismatch {
                    metric: a.metric.clone(),
                    period: format!("bucket of {}", date.unwrap_or_default()),
                    api: x,
                    warehouse: y,
                });
            }
        }
    }
    if api.summary.len() != warehouse.summary.len()
        || api.timeseries.len() != warehouse.timeseries.len()
    {
        out.push(Mismatch {
            metric: String::new(),
            period: "the result's shape".into(),
            api: None,
            warehouse: None,
        });
    }
    out
}

/// Every Metrics API of a catalog, with its breaker and counters.
#[derive(Debug)]
pub struct MetricsApis {
    apis: BTreeMap<String, Api>,
    /// Drift checks still running (`settle` waits for none).
    checking: AtomicUsize,
    idle: tokio::sync::Notify,
}

#[derive(Debug)]
struct Api {
    source: MetricsApiSource,
    http: reqwest::Client,
    token: Option<String>,
    breaker: Mutex<Breaker>,
    /// Accumulated `verify` share: an answer is checked each time it reaches one.
    sampled: Mutex<f64>,
    calls: Mutex<BTreeMap<&'static str, u64>>,
    fallbacks: Mutex<BTreeMap<&'static str, u64>>,
    answered: AtomicU64,
    drift_checks: AtomicU64,
    drift: AtomicU64,
}

/// One call's failure.
enum Failed {
    Timeout,
    Unavailable,
    Status(u16),
    Invalid(String),
    BreakerOpen,
}

impl Failed {
    fn outcome(&self) -> Option<&'static str> {
        match self {
            Failed::Timeout => Some("timeout"),
            Failed::Unavailable => Some("unavailable"),
            Failed::Status(_) => Some("http_status"),
            Failed::Invalid(_) => Some("invalid_response"),
            Failed::BreakerOpen => None,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl MetricsApis {
    /// The catalog's sources, each with a client; `None` when it declares none. A source whose
    /// `token_env` is unset calls without a token (and logs that once).
    pub fn new(catalog: &Catalog) -> Option<MetricsApis> {
        if catalog.sources.is_empty() {
            return None;
        }
        let apis = catalog
            .sources
            .values()
            .map(|s| {
                let http = reqwest::Client::builder()
                    .timeout(s.timeout)
                    .connect_timeout(s.timeout)
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .expect("a client with a timeout builds");
                let token = s.token_env.as_ref().and_then(|var| {
                    let t = std::env::var(var).ok().filter(|t| !t.is_empty());
                    if t.is_none() {
                        tracing::warn!(source = %s.name, variable = %var, "the metrics API's token variable is not set; calling without a token");
                    }
                    t
                });
                let api = Api {
                    source: s.clone(),
                    http,
                    token,
                    breaker: Mutex::new(Breaker::new(s.breaker)),
                    sampled: Mutex::new(0.0),
                    calls: Mutex::default(),
                    fallbacks: Mutex::default(),
                    answered: AtomicU64::new(0),
                    drift_checks: AtomicU64::new(0),
                    drift: AtomicU64::new(0),
                };
                (s.name.clone(), api)
            })
            .collect();
        Some(MetricsApis {
            apis,
            checking: AtomicUsize::new(0),
            idle: tokio::sync::Notify::new(),
        })
    }

    /// Asks the first source that answers `plan` exactly; on any failure of any call, the
    /// reason to fall back.
    pub async fn answer(&self, plan: &Plan) -> Attempt {
        let Ok(routed) = route(plan) else {
            return Attempt::NotRouted;
        };
        let Some(api) = self.apis.get(&routed.source) else {
            return Attempt::NotRouted;
        };
        let workspace = plan.workspace.as_str();
        // The breaker judges queries, not calls: a query whose calls partly time out fails as a
        // whole, so a slow API that answers some calls still opens it.
        if !lock(&api.breaker).admit(Instant::now()) {
            let fallback = api.fallback(Failed::BreakerOpen);
            *lock(&api.fallbacks).entry(fallback.code()).or_insert(0) += 1;
            return Attempt::FellBack(fallback);
        }
        let got = futures_util::future::join_all(
            routed
                .calls
                .iter()
                .map(|c| api.fetch(c, workspace, &plan.catalog)),
        )
        .await;
        let failed = got.iter().any(Result::is_err);
        {
            let mut breaker = lock(&api.breaker);
            if failed {
                breaker.failed(Instant::now());
            } else {
                breaker.succeeded();
            }
        }
        let mut points = Vec::with_capacity(got.len());
        for r in got {
            match r {
                Ok(p) => points.push(p),
                Err(f) => {
                    let fallback = api.fallback(f);
                    *lock(&api.fallbacks).entry(fallback.code()).or_insert(0) += 1;
                    return Attempt::FellBack(fallback);
                }
            }
        }
        api.answered.fetch_add(1, Ordering::Relaxed);
        Attempt::Answered(Answered {
            source: routed.source.clone(),
            values: Routed::values(&routed, &points),
            calls: routed.calls.len(),
            points: points.iter().map(Vec::len).sum(),
            verify: api.sample(),
        })
    }

    /// Counts a drift check of `source`'s answer and, when values differ, the mismatch and one
    /// warning line per metric (its first differing value).
    pub fn record_drift(&self, source: &str, workspace: &str, mismatches: &[Mismatch]) {
        let Some(api) = self.apis.get(source) else {
            return;
        };
        api.drift_checks.fetch_add(1, Ordering::Relaxed);
        if mismatches.is_empty() {
            return;
        }
        api.drift.fetch_add(1, Ordering::Relaxed);
        let mut said: Vec<&str> = Vec::new();
        for m in mismatches {
            if said.contains(&m.metric.as_str()) {
                continue;
            }
            said.push(&m.metric);
            tracing::warn!(
                source,
                metric = %m.metric,
                workspace,
                period = %m.period,
                api = ?m.api,
                warehouse = ?m.warehouse,
                "the metrics API and the warehouse disagree"
            );
        }
    }

    /// Marks a drift check as running until the returned guard drops (take it before
    /// spawning the check, so `settle` cannot miss it).
    pub fn checking(self: &std::sync::Arc<Self>) -> CheckGuard {
        self.checking.fetch_add(1, Ordering::SeqCst);
        CheckGuard(self.clone())
    }

    /// Waits until no drift check is running (tests; shutdown).
    pub async fn settle(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.checking.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }

    /// `source`'s breaker now.
    pub fn breaker_state(&self, source: &str) -> Option<super::BreakerState> {
        self.apis
            .get(source)
            .map(|a| lock(&a.breaker).state(Instant::now()))
    }

    /// Drift checks that found a disagreement, per source.
    pub fn drift_count(&self, source: &str) -> u64 {
        self.apis
            .get(source)
            .map_or(0, |a| a.drift.load(Ordering::Relaxed))
    }

    /// The Prometheus text of every source's counters and breaker.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP tally_metrics_api_calls_total Calls to a metrics API by outcome (ok, timeout, unavailable, http_status, invalid_response).\n");
        out.push_str("# TYPE tally_metrics_api_calls_total counter\n");
        for (name, a) in &self.apis {
            for (outcome, n) in lock(&a.calls).iter() {
                let _ = writeln!(
                    out,
                    "tally_metrics_api_calls_total{{source=\"{name}\",outcome=\"{outcome}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP tally_metrics_api_answers_total Queries a metrics API answered.\n");
        out.push_str("# TYPE tally_metrics_api_answers_total counter\n");
        for (name, a) in &self.apis {
            let n = a.answered.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "tally_metrics_api_answers_total{{source=\"{name}\"}} {n}"
            );
        }
        out.push_str("# HELP tally_metrics_api_fallbacks_total Queries routed to a metrics API and answered from the warehouse instead, by reason (timeout, unavailable, http_status, invalid_response, breaker_open).\n");
        out.push_str("# TYPE tally_metrics_api_fallbacks_total counter\n");
        for (name, a) in &self.apis {
            for (reason, n) in lock(&a.fallbacks).iter() {
                let _ = writeln!(
                    out,
                    "tally_metrics_api_fallbacks_total{{source=\"{name}\",reason=\"{reason}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP tally_metrics_api_breaker_state A metrics API's circuit breaker: 0 closed, 1 open (not called), 2 half-open (one probe).\n");
        out.push_str("# TYPE tally_metrics_api_breaker_state gauge\n");
        for (name, a) in &self.apis {
            let s = lock(&a.breaker).state(Instant::now()).gauge();
            let _ = writeln!(
                out,
                "tally_metrics_api_breaker_state{{source=\"{name}\"}} {s}"
            );
        }
        out.push_str("# HELP tally_metrics_api_drift_checks_total Metrics API answers re-run on the warehouse (the `verify` share).\n");
        out.push_str("# TYPE tally_metrics_api_drift_checks_total counter\n");
        for (name, a) in &self.apis {
            let n = a.drift_checks.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "tally_metrics_api_drift_checks_total{{source=\"{name}\"}} {n}"
            );
        }
        out.push_str("# HELP tally_metrics_api_drift_total Drift checks whose warehouse numbers differed from the metrics API's.\n");
        out.push_str("# TYPE tally_metrics_api_drift_total counter\n");
        for (name, a) in &self.apis {
            let n = a.drift.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "tally_metrics_api_drift_total{{source=\"{name}\"}} {n}"
            );
        }
        out
    }
}

/// A running drift check; dropping it ends it.
pub struct CheckGuard(std::sync::Arc<MetricsApis>);

impl Drop for CheckGuard {
    fn drop(&mut self) {
        if self.0.checking.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Api {
    fn sample(&self) -> bool {
        let mut acc = lock(&self.sampled);
        *acc += self.source.verify;
        if *acc >= 1.0 - 1e-9 {
            *acc -= 1.0;
            true
        } else {
            false
        }
    }

    fn fallback(&self, f: Failed) -> Fallback {
        let source = self.source.name.clone();
        match f {
            Failed::Timeout => Fallback::Timeout {
                source,
                ms: self.source.timeout.as_millis(),
            },
            Failed::Unavailable => Fallback::Unavailable { source },
            Failed::Status(status) => Fallback::Status { source, status },
            Failed::Invalid(why) => Fallback::Invalid { source, why },
            Failed::BreakerOpen => Fallback::BreakerOpen {
                source,
                failures: self.source.breaker.failures,
            },
        }
    }

    /// One call: made, validated, its outcome counted.
    async fn fetch(
        &self,
        call: &Call,
        workspace: &str,
        catalog: &Catalog,
    ) -> Result<Vec<Option<f64>>, Failed> {
        let result = self.request(call, workspace, catalog).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(f) => f.outcome().unwrap_or("breaker_open"),
        };
        *lock(&self.calls).entry(outcome).or_insert(0) += 1;
        result
    }

    async fn request(
        &self,
        call: &Call,
        workspace: &str,
        catalog: &Catalog,
    ) -> Result<Vec<Option<f64>>, Failed> {
        // Every part is from a checked set (a catalog name, a workspace id of `[A-Za-z0-9_.-]`,
        // ISO dates, a grain): nothing needs escaping.
        let url = format!(
            "{}/v1/metrics/{}?workspace={workspace}&start={}&end={}&grain={}",
            self.source.url,
            call.metric,
            call.range.start,
            call.range.end,
            Grain::of(call.grain).as_str()
        );
        let mut request = self.http.get(url);
        if let Some(t) = &self.token {
            request = request.bearer_auth(t);
        }
        let failed = |e: reqwest::Error| {
            if e.is_timeout() {
                Failed::Timeout
            } else {
                Failed::Unavailable
            }
        };
        let mut response = request.send().await.map_err(failed)?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(Failed::Status(response.status().as_u16()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failed)? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_BODY_BYTES {
                return Err(Failed::Invalid(format!(
                    "the body is larger than {MAX_BODY_BYTES} bytes"
                )));
            }
        }
        let dates = call.dates();
        protocol::validate(
            &body,
            Expected {
                metric: &call.metric,
                grain: call.grain,
                dates: &dates,
                counts: super::counts(catalog, &call.metric),
                may_be_undefined: super::may_be_undefined(catalog, &call.metric),
            },
        )
        .map_err(Failed::Invalid)
    }
}
