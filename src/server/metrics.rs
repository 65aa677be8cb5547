//! Prometheus metrics: requests by route template, method, status and pipeline outcome; request
//! latency by route; pipeline stage latencies. A middleware records every request; `GET /metrics`
//! renders the text exposition format.
//!
//! Invariants: labels come only from bounded sets (route templates, never raw paths; known
//! methods; status codes; `Outcome`), so a client cannot grow the registry; nothing about a
//! question, a caller or a result is recorded. Handlers report the outcome and stage timings by
//! inserting `pipeline::Outcome` and `pipeline::Timings` into the response extensions; the
//! middleware reads them and leaves them in place. A streamed answer (`POST /v1/chat` as
//! server-sent events) sends its head before the query has run: its response carries
//! `Streamed`, the middleware leaves it alone, and the stream records itself (`streamed`) once
//! its last event is sent, with its outcome, its stage timings and the time to that event.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use crate::pipeline::{Outcome, Timings};

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The pipeline stages, in `Timings` order.
const STAGES: [&str; 7] = [
    "translate",
    "check",
    "plan",
    "compile",
    "execute",
    "answer",
    "total",
];

/// A fixed-bucket histogram of seconds.
#[derive(Default)]
struct Histogram {
    /// Non-cumulative counts per bucket; the last is +Inf.
    counts: [AtomicU64; BUCKETS.len() + 1],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Histogram {
    fn observe(&self, seconds: f64) {
        let i = BUCKETS
            .iter()
            .position(|&b| seconds <= b)
            .unwrap_or(BUCKETS.len());
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_nanos
            .fetch_add((seconds * 1e9) as u64, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (i, bound) in BUCKETS.iter().enumerate() {
            cumulative += self.counts[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}"
            );
        }
        cumulative += self.counts[BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {cumulative}"
        );
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {sum}");
        let _ = writeln!(out, "{name}_count{braces} {cumulative}");
    }
}

/// One request counter's labels.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct RequestKey {
    route: String,
    method: &'static str,
    status: u16,
    outcome: &'static str,
}

/// The registry behind `GET /metrics`.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<RequestKey, u64>>,
    latency: Mutex<BTreeMap<String, Arc<Histogram>>>,
    stages: [Histogram; STAGES.len()],
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics(…)")
    }
}

/// Marks a response whose request is recorded later, by its stream (`Metrics::streamed`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Streamed;

/// Route label of requests no route matched (404s for arbitrary paths share one series).
const UNMATCHED: &str = "unmatched";

fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// Records one finished request.
    fn record(
        &self,
        route: &str,
        method: &'static str,
        status: u16,
        outcome: Option<Outcome>,
        seconds: f64,
        timings: Option<&Timings>,
    ) {
        let key = RequestKey {
            route: route.to_string(),
            method,
            status,
            outcome: outcome.map(Outcome::as_str).unwrap_or("none"),
        };
        *self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_insert(0) += 1;
        let histogram = self
            .latency
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(route.to_string())
            .or_default()
            .clone();
        histogram.observe(seconds);
        if let Some(t) = timings {
            self.observe_stages(t);
        }
    }

    /// Records a streamed request once its last event is sent: `route` is its template, the
    /// status is the one its head carried, `seconds` the time to its last event, and the
    /// outcome `None` when it ended in an error event.
    pub(crate) fn streamed(
        &self,
        route: &str,
        status: u16,
        outcome: Option<Outcome>,
        seconds: f64,
        timings: Option<&Timings>,
    ) {
        self.record(route, "POST", status, outcome, seconds, timings);
    }

    /// Stages that did not run report 0 ms and are left out, so they do not drag the
    /// histograms down; `total` is always observed.
    fn observe_stages(&self, t: &Timings) {
        let values = [
            t.translate,
            t.check,
            t.plan,
            t.compile,
            t.execute,
            t.answer,
            t.total,
        ];
        for (i, ms) in values.into_iter().enumerate() {
            let is_total = i == STAGES.len() - 1;
            if (ms > 0.0 || is_total) && ms.is_finite() {
                self.stages[i].observe(ms.max(0.0) / 1000.0);
            }
        }
    }

    /// The Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP tally_http_requests_total HTTP requests by route template, method, status and pipeline outcome.\n");
        out.push_str("# TYPE tally_http_requests_total counter\n");
        for (k, n) in self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "tally_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\",outcome=\"{}\"}} {n}",
                escape(&k.route),
                k.method,
                k.status,
                k.outcome
            );
        }
        out.push_str("# HELP tally_http_request_duration_seconds Time to the response head (for a streamed chat, to its last event), by route template.\n");
        out.push_str("# TYPE tally_http_request_duration_seconds histogram\n");
        let latency: Vec<(String, Arc<Histogram>)> = self
            .latency
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(r, h)| (r.clone(), h.clone()))
            .collect();
        for (route, h) in latency {
            h.render(
                &mut out,
                "tally_http_request_duration_seconds",
                &format!("route=\"{}\"", escape(&route)),
            );
        }
        out.push_str(
            "# HELP tally_stage_duration_seconds Pipeline stage latency (stages that ran).\n",
        );
        out.push_str("# TYPE tally_stage_duration_seconds histogram\n");
        for (stage, h) in STAGES.iter().zip(&self.stages) {
            h.render(
                &mut out,
                "tally_stage_duration_seconds",
                &format!("stage=\"{stage}\""),
            );
        }
        out
    }
}

/// Escapes a label value (backslash, quote, newline).
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Middleware: records every request with its route template, status, outcome and timings.
pub(crate) async fn record(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string());
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    if response.extensions().get::<Streamed>().is_some() {
        return response;
    }
    metrics.record(
        route.as_deref().unwrap_or(UNMATCHED),
        method,
        response.status().as_u16(),
        response.extensions().get::<Outcome>().copied(),
        started.elapsed().as_secs_f64(),
        response.extensions().get::<Timings>(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_histograms() {
        let m = Metrics::new();
        let t = Timings {
            check: 0.2,
            plan: 0.1,
            compile: 0.3,
            execute: 4.0,
            answer: 0.05,
            total: 4.7,
            ..Timings::default()
        };
        m.record(
            "/v1/query",
            "POST",
            200,
            Some(Outcome::Answered),
            0.004,
            Some(&t),
        );
        m.record("/v1/query", "POST", 401, None, 0.0001, None);
        m.record("/v1/query", "POST", 200, Some(Outcome::Answered), 2.0, None);
        let text = m.render();
        assert!(text.contains(
            "tally_http_requests_total{route=\"/v1/query\",method=\"POST\",status=\"200\",outcome=\"answered\"} 2\n"
        ));
        assert!(text.contains(
            "tally_http_requests_total{route=\"/v1/query\",method=\"POST\",status=\"401\",outcome=\"none\"} 1\n"
        ));
        assert!(text.contains(
            "tally_http_request_duration_seconds_bucket{route=\"/v1/query\",le=\"0.005\"} 2\n"
        ));
        assert!(text.contains(
            "tally_http_request_duration_seconds_bucket{route=\"/v1/query\",le=\"+Inf\"} 3\n"
        ));
        assert!(text.contains("tally_http_request_duration_seconds_count{route=\"/v1/query\"} 3\n"));
        // The translator did not run: no observation; execute took 4 ms.
        assert!(text.contains("tally_stage_duration_seconds_count{stage=\"translate\"} 0\n"));
        assert!(text
            .contains("tally_stage_duration_seconds_bucket{stage=\"execute\",le=\"0.0025\"} 0\n"));
        assert!(text
            .contains("tally_stage_duration_seconds_bucket{stage=\"execute\",le=\"0.005\"} 1\n"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
