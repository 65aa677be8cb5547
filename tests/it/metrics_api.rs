//! The Metrics API source end to end, every server a real one on 127.0.0.1: the reference
//! server (`tally metrics-api serve`'s router on the demo warehouse) answers the demo KPIs with
//! the warehouse's own numbers; a slow server times out, a failing one opens the breaker (its
//! hits counted), gapped and malformed answers fall back, each with the same numbers as the
//! warehouse and a note saying why; a server with wrong numbers is caught by the drift check;
//! grouped, filtered and small-group-suppressed queries never reach an API; each request's
//! audit row says which source answered and why not the API; and `tally metrics-api serve
//! --warehouse` on PostgreSQL and MariaDB (`#[ignore]`d) answers as their warehouse does.

use crate::common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use tally::catalog::{Catalog, Window};
use tally::exec::{Limits, Warehouse};
use tally::metrics_api::BreakerState;
use tally::pipeline::{Engine, Response};
use tally::plan::time::windows;
use tally::plan::{Clock, DateRange};
use tally::server::metrics_api::{reference_router, ReferenceServer};

/// The KPIs the test source serves (the executive's), and a role whose overview it can answer.
const SERVED: &str = r#"["dau", "wau", "mau", "signups", "active_customers", "new_customers", "churned_customers", "churn_rate", "mrr", "checkout_conversion"]"#;

const KPI_ROLE: &str = r#"
[roles.kpi_viewer]
description = "Company KPIs an API answers"
kinds = ["metric", "overview"]
metrics = ["dau", "signups", "new_customers", "mrr"]
dimensions = ["country"]
max_sensitivity = "confidential"
record_level = false
see_sql = false
min_group_size = 0
overview = ["dau", "signups", "new_customers", "mrr"]
"#;

/// The default catalog with the test role and a source at `url` (`extra`: more source keys).
fn catalog_with(url: &str, extra: &str) -> Arc<Catalog> {
    let base = tally::examples::default_example().catalog_toml;
    let text = format!(
        "{base}\n{KPI_ROLE}\n[sources.kpi]\nkind = \"metrics_api\"\nurl = \"{url}\"\nmetrics = {SERVED}\n{extra}\n"
    );
    Arc::new(Catalog::from_toml(&text, "metrics-api-test.toml").expect("the test catalog loads"))
}

async fn warehouse() -> Warehouse {
    Warehouse::open(&format!("sqlite://{}", common::demo_db().await.display()))
        .await
        .expect("open the demo warehouse")
}

/// The engine asking the source at `url` first.
async fn with_api(url: &str, extra: &str) -> Engine {
    Engine::new(
        catalog_with(url, extra),
        warehouse().await,
        Limits::default(),
    )
}

/// The same catalog (the test role too), the warehouse only.
async fn warehouse_only() -> Engine {
    with_api("http://127.0.0.1:9", "")
        .await
        .with_metrics_apis(None)
}

async fn listen(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

/// The reference server on the demo warehouse, answering as the executive.
async fn reference(token: Option<&str>) -> String {
    reference_as("executive", token).await
}

/// The reference server on the demo warehouse, answering as `role`.
async fn reference_as(role: &str, token: Option<&str>) -> String {
    let engine = Engine::new(
        Arc::new(Catalog::embedded_default()),
        warehouse().await,
        Limits::default(),
    )
    .with_metrics_apis(None);
    listen(reference_router(ReferenceServer {
        engine: Arc::new(engine),
        role: role.into(),
        today: Some(common::date(common::TODAY)),
        token: token.map(str::to_string),
    }))
    .await
}

type Params = HashMap<String, String>;

/// The bucket starts a request asks for.
fn dates(p: &Params) -> Vec<String> {
    let grain = match p["grain"].as_str() {
        "day" => Window::Day,
        "week" => Window::Week,
        _ => Window::Month,
    };
    let range = DateRange::new(common::date(&p["start"]), common::date(&p["end"]));
    windows(&range, grain)
        .iter()
        .map(|b| b.start.to_string())
        .collect()
}

/// A server answering every request with `answer(metric, params)` after `delay`, and its hits.
async fn fake(
    delay: Duration,
    answer: impl Fn(&str, &Params) -> (StatusCode, String) + Clone + Send + Sync + 'static,
) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let router = Router::new().route(
        "/v1/metrics/{name}",
        get(move |Path(name): Path<String>, Query(p): Query<Params>| {
            let answer = answer.clone();
            let hits = counted.clone();
            async move {
                hits.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                answer(&name, &p)
            }
        }),
    );
    (listen(router).await, hits)
}

/// A well-formed answer with `value` for every bucket but those `skip` drops.
fn series(metric: &str, p: &Params, value: f64, skip: usize) -> (StatusCode, String) {
    let points: Vec<Value> = dates(p)
        .into_iter()
        .skip(skip)
        .map(|d| json!({"date": d, "value": value}))
        .collect();
    let body = json!({"metric": metric, "grain": p["grain"], "points": points, "as_of": "2026-11-23T00:00:00Z"});
    (StatusCode::OK, body.to_string())
}

async fn run(engine: &Engine, role: &str, dsl: &Value) -> Response {
    let clock = Clock::fixed(common::date(common::TODAY));
    let raw = serde_json::to_vec(dsl).unwrap();
    let (r, _) = engine.run(&raw, role, "acme", &clock).await.unwrap();
    assert_eq!(r.outcome.as_str(), "answered", "{dsl}: {}", r.answer);
    r
}

/// The response's numbers and words, which must not depend on who answered.
fn said(r: &Response) -> Value {
    json!({"data": r.data, "answer": r.answer, "chart": r.chart})
}

fn kpi_queries() -> Vec<(&'static str, Value)> {
    vec![
        (
            "executive",
            json!({"kind": "metric", "metrics": ["dau", "signups", "new_customers", "churned_customers"], "period": {"preset": "last_week"}, "granularity": "day", "compare": "previous_period"}),
        ),
        (
            "executive",
            json!({"kind": "metric", "metrics": ["churn_rate", "mrr", "active_customers", "checkout_conversion"], "period": {"preset": "last_month"}, "compare": "previous_period"}),
        ),
        (
            "executive",
            json!({"kind": "metric", "metrics": ["wau"], "period": {"last_n": {"count": 4, "unit": "week"}}, "granularity": "week", "compare": "previous_period"}),
        ),
        (
            "executive",
            json!({"kind": "metric", "metrics": ["mau", "dau", "signups"], "period": {"between": {"start": "2026-01-01", "end": "2026-10-31"}}, "granularity": "month"}),
        ),
        (
            "executive",
            json!({"kind": "metric", "metrics": ["signups"], "period": {"last_n": {"count": 30, "unit": "day"}}}),
        ),
        (
            "kpi_viewer",
            json!({"kind": "overview", "period": {"preset": "last_week"}, "compare": "previous_period"}),
        ),
        (
            "kpi_viewer",
            json!({"kind": "overview", "period": {"preset": "last_month"}}),
        ),
    ]
}

#[tokio::test]
async fn the_reference_server_answers_the_demo_kpis_with_the_warehouse_numbers() {
    let url = reference(None).await;
    // A debug build reading a year of days: the timeout is no test of speed here.
    let api = with_api(&url, "timeout_ms = 20000").await;
    let plain = warehouse_only().await;
    for (role, dsl) in kpi_queries() {
        let from_api = run(&api, role, &dsl).await;
        let from_sql = run(&plain, role, &dsl).await;
        assert_eq!(
            from_api.source.as_deref(),
            Some("metrics_api:kpi"),
            "{dsl}: {:?}",
            from_api.source_note
        );
        assert_eq!(from_api.source_note, None);
        assert_eq!(from_sql.source.as_deref(), Some("warehouse"));
        assert_eq!(said(&from_api), said(&from_sql), "{dsl}");
    }
    let text = api.metrics_apis().unwrap().render();
    assert!(
        text.contains("tally_metrics_api_answers_total{source=\"kpi\"} 7"),
        "{text}"
    );
    assert!(
        text.contains("tally_metrics_api_breaker_state{source=\"kpi\"} 0"),
        "{text}"
    );
    assert!(!text.contains("outcome=\"timeout\""), "{text}");
}

#[tokio::test]
async fn the_reference_server_speaks_the_protocol_and_refuses_what_it_cannot_answer() {
    let url = reference(Some("s3cret")).await;
    let http = reqwest::Client::new();
    let get = |path: &str, token: Option<&str>| {
        let mut r = http.get(format!("{url}{path}"));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        async move {
            let r = r.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = get(
        "/v1/metrics/signups?workspace=acme&start=2026-11-16&end=2026-11-22&grain=day",
        Some("s3cret"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["metric"], "signups");
    assert_eq!(body["grain"], "day");
    let points = body["points"].as_array().unwrap();
    assert_eq!(points.len(), 7);
    assert_eq!(points[0]["date"], "2026-11-16");
    assert!(points.iter().all(|p| p["value"].as_f64().unwrap() >= 0.0));
    let week = get(
        "/v1/metrics/signups?workspace=acme&start=2026-11-16&end=2026-11-22&grain=week",
        Some("s3cret"),
    )
    .await
    .1;
    let sum: f64 = points.iter().map(|p| p["value"].as_f64().unwrap()).sum();
    assert_eq!(week["points"][0]["value"].as_f64().unwrap(), sum);
    for (path, token, status, code) in [
        (
            "/v1/metrics/signups?workspace=acme&start=2026-11-16&end=2026-11-22&grain=day",
            None,
            401,
            "unauthorized",
        ),
        (
            "/v1/metrics/signups?workspace=acme&start=2026-11-17&end=2026-11-22&grain=week",
            Some("s3cret"),
            400,
            "not_whole_buckets",
        ),
        (
            "/v1/metrics/signups?workspace=acme&start=2026-11-01&end=2026-11-22&grain=month",
            Some("s3cret"),
            400,
            "not_whole_buckets",
        ),
        (
            "/v1/metrics/nope?workspace=acme&start=2026-11-16&end=2026-11-22&grain=day",
            Some("s3cret"),
            404,
            "unknown_metric",
        ),
        (
            "/v1/metrics/signups?workspace=acme&start=2026-11-16&end=2026-11-22&grain=year",
            Some("s3cret"),
            400,
            "invalid_grain",
        ),
        (
            "/v1/metrics/signups?workspace=acme&start=2026-11-16&grain=day",
            Some("s3cret"),
            400,
            "missing_parameter",
        ),
        // The executive may not ask for sessions.
        (
            "/v1/metrics/sessions?workspace=acme&start=2026-11-16&end=2026-11-22&grain=day",
            Some("s3cret"),
            403,
            "refused",
        ),
    ] {
        let (got, body) = get(path, token).await;
        assert_eq!(
            (got, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{path}: {body}"
        );
    }
}

#[tokio::test]
async fn a_slow_api_times_out_and_the_warehouse_answers_with_a_note() {
    let (url, hits) = fake(Duration::from_secs(5), |m, p| series(m, p, 1.0, 0)).await;
    let api = with_api(&url, "timeout_ms = 100").await;
    let plain = warehouse_only().await;
    let (role, dsl) = kpi_queries().remove(0);
    let r = run(&api, role, &dsl).await;
    assert_eq!(r.source.as_deref(), Some("warehouse"));
    assert_eq!(
        r.source_note.as_deref(),
        Some("the metrics API `kpi` timed out after 100 ms; answered from the warehouse")
    );
    assert_eq!(said(&r), said(&run(&plain, role, &dsl).await));
    assert!(hits.load(Ordering::SeqCst) >= 1);
    let text = api.metrics_apis().unwrap().render();
    assert!(
        text.contains("tally_metrics_api_fallbacks_total{source=\"kpi\",reason=\"timeout\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("tally_metrics_api_calls_total{source=\"kpi\",outcome=\"timeout\"}"),
        "{text}"
    );
}

#[tokio::test]
async fn a_failing_api_opens_the_breaker_and_is_no_longer_called() {
    let (url, hits) = fake(Duration::ZERO, |_, _| {
        (StatusCode::INTERNAL_SERVER_ERROR, "boom".into())
    })
    .await;
    let api = with_api(&url, "breaker_failures = 3").await;
    let plain = warehouse_only().await;
    // One call per query: a week's signups is one weekly point.
    let dsl = json!({"kind": "metric", "metrics": ["signups"], "period": {"preset": "last_week"}});
    let expected = said(&run(&plain, "executive", &dsl).await);
    let mut notes = Vec::new();
    for _ in 0..6 {
        let r = run(&api, "executive", &dsl).await;
        assert_eq!(r.source.as_deref(), Some("warehouse"));
        assert_eq!(said(&r), expected);
        notes.push(r.source_note.unwrap());
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        3,
        "the breaker opened after three failures"
    );
    assert!(
        notes[..3].iter().all(|n| n.contains("answered HTTP 500")),
        "{notes:?}"
    );
    assert!(
        notes[3..]
            .iter()
            .all(|n| n.contains("circuit breaker open")),
        "{notes:?}"
    );
    let apis = api.metrics_apis().unwrap();
    assert_eq!(apis.breaker_state("kpi"), Some(BreakerState::Open));
    let text = apis.render();
    assert!(
        text.contains("tally_metrics_api_breaker_state{source=\"kpi\"} 1"),
        "{text}"
    );
    assert!(
        text.contains(
            "tally_metrics_api_fallbacks_total{source=\"kpi\",reason=\"breaker_open\"} 3"
        ),
        "{text}"
    );
    assert!(
        text.contains("tally_metrics_api_fallbacks_total{source=\"kpi\",reason=\"http_status\"} 3"),
        "{text}"
    );
}

#[tokio::test]
async fn gapped_and_malformed_answers_fall_back_to_the_warehouse() {
    let plain = warehouse_only().await;
    let dsl = json!({"kind": "metric", "metrics": ["signups"], "period": {"preset": "last_week"}, "granularity": "day"});
    let expected = said(&run(&plain, "executive", &dsl).await);
    type Answer = fn(&str, &Params) -> (StatusCode, String);
    let cases: [(Answer, &str); 6] = [
        (|m, p| series(m, p, 3.0, 1), "is missing"),
        (|m, p| series(m, p, -3.0, 0), "negative"),
        (|_, p| series("dau", p, 3.0, 0), "metric `dau`"),
        (
            |_, _| {
                (
                    StatusCode::OK,
                    "{\"metric\": \"signups\", \"points\": [".into(),
                )
            },
            "not a metric series",
        ),
        (
            |_, _| (StatusCode::OK, "<html>maintenance</html>".into()),
            "not a metric series",
        ),
        (
            |m, p| {
                let mut d = dates(p);
                d.push(d[0].clone());
                let points: Vec<Value> = d.iter().map(|d| json!({"date": d, "value": 1})).collect();
                (
                    StatusCode::OK,
                    json!({"metric": m, "grain": p["grain"], "points": points, "as_of": "x"})
                        .to_string(),
                )
            },
            "twice",
        ),
    ];
    for (answer, why) in cases {
        let (url, hits) = fake(Duration::ZERO, answer).await;
        let api = with_api(&url, "").await;
        let r = run(&api, "executive", &dsl).await;
        assert!(hits.load(Ordering::SeqCst) >= 1);
        assert_eq!(r.source.as_deref(), Some("warehouse"), "{why}");
        let note = r.source_note.clone().unwrap();
        assert!(
            note.contains(why) && note.ends_with("; answered from the warehouse"),
            "{why}: {note}"
        );
        assert_eq!(said(&r), expected, "{why}");
        let text = api.metrics_apis().unwrap().render();
        assert!(text.contains("reason=\"invalid_response\"} 1"), "{text}");
    }
}

#[tokio::test]
async fn wrong_numbers_are_caught_by_the_drift_check() {
    let (url, _) = fake(Duration::ZERO, |m, p| series(m, p, 7.0, 0)).await;
    let api = with_api(&url, "verify = 1.0").await;
    let dsl = json!({"kind": "metric", "metrics": ["signups"], "period": {"preset": "last_week"}, "granularity": "day"});
    let r = run(&api, "executive", &dsl).await;
    // The API answered (its numbers pass validation); the check runs after the response.
    assert_eq!(r.source.as_deref(), Some("metrics_api:kpi"));
    assert_eq!(r.data.as_ref().unwrap().summary[0].value.unwrap().0, 7.0);
    let apis = api.metrics_apis().unwrap();
    apis.settle().await;
    assert_eq!(apis.drift_count("kpi"), 1);
    let text = apis.render();
    assert!(
        text.contains("tally_metrics_api_drift_checks_total{source=\"kpi\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("tally_metrics_api_drift_total{source=\"kpi\"} 1"),
        "{text}"
    );

    // The reference server's answers agree with the warehouse: checked, no drift.
    let honest = with_api(&reference(None).await, "verify = 1.0\ntimeout_ms = 20000").await;
    for (role, dsl) in kpi_queries() {
        run(&honest, role, &dsl).await;
    }
    let apis = honest.metrics_apis().unwrap();
    apis.settle().await;
    let text = apis.render();
    assert!(
        text.contains("tally_metrics_api_drift_checks_total{source=\"kpi\"} 7"),
        "{text}"
    );
    assert_eq!(apis.drift_count("kpi"), 0, "{text}");

    // `verify` is a share: a half checks every second answer.
    let (url, _) = fake(Duration::ZERO, |m, p| series(m, p, 7.0, 0)).await;
    let half = with_api(&url, "verify = 0.5").await;
    for _ in 0..4 {
        run(&half, "executive", &dsl).await;
    }
    let apis = half.metrics_apis().unwrap();
    apis.settle().await;
    assert_eq!(apis.drift_count("kpi"), 2);
}

#[tokio::test]
async fn grouped_filtered_and_suppressed_queries_never_reach_the_api() {
    let (url, hits) = fake(Duration::ZERO, |m, p| series(m, p, 1.0, 0)).await;
    let api = with_api(&url, "").await;
    let queries = [
        (
            "executive",
            json!({"kind": "metric", "metrics": ["signups"], "period": {"preset": "last_week"}, "group_by": ["country"]}),
        ),
        (
            "executive",
            json!({"kind": "metric", "metrics": ["dau"], "period": {"preset": "last_week"}, "filters": [{"dimension": "country", "op": "eq", "values": ["DE"]}]}),
        ),
        // support_agent withholds small groups; the API cannot say what a value covers.
        (
            "support_agent",
            json!({"kind": "metric", "metrics": ["signups"], "period": {"preset": "last_week"}}),
        ),
        // Not served.
        (
            "analyst",
            json!({"kind": "metric", "metrics": ["sessions"], "period": {"preset": "last_week"}}),
        ),
        // Cut weeks: the first and last week of October are not whole.
        (
            "executive",
            json!({"kind": "metric", "metrics": ["signups"], "period": {"preset": "last_month"}, "granularity": "week"}),
        ),
    ];
    for (role, dsl) in queries {
        let r = run(&api, role, &dsl).await;
        assert_eq!(r.source.as_deref(), Some("warehouse"), "{dsl}");
        assert_eq!(r.source_note, None, "{dsl}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

/// A `tally metrics-api serve` process on `warehouse` (`args`: more flags), killed when dropped.
struct ReferenceProcess(std::process::Child);

impl Drop for ReferenceProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `tally metrics-api serve --warehouse WAREHOUSE --listen 127.0.0.1:0 --today TODAY`
/// with `args` and `env`; returns it, the line it printed and its base URL.
fn serve_reference_process(
    warehouse: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> (ReferenceProcess, String, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["metrics-api", "serve", "--warehouse", warehouse])
        .args(["--listen", "127.0.0.1:0", "--today", common::TODAY])
        .args(args)
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // Killed when the test ends, passed or failed.
    let server = ReferenceProcess(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let line = rx.recv().expect("the server says where it listens");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .trim_end_matches("/v1/metrics/{name}")
        .to_string();
    (server, line, url)
}

/// `tally metrics-api serve` as a process, and `tally run` on a catalog whose source is it.
#[tokio::test]
async fn the_cli_serves_the_protocol_and_run_answers_from_it() {
    let db = common::demo_db().await;
    let warehouse = format!("sqlite://{}", db.display());
    let (_server, line, url) = serve_reference_process(
        &warehouse,
        &["--token-env", "KPI_TEST_TOKEN"],
        &[("KPI_TEST_TOKEN", "t0ken")],
    );
    // The catalog has no source: the first role by name that may ask for metrics and
    // withholds nothing.
    assert!(line.ends_with("as role analyst"), "{line}");

    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("with-kpi.toml");
    // The catalog's docs folder sits beside it.
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/metrica/docs");
    std::fs::create_dir(dir.path().join("docs")).unwrap();
    for f in std::fs::read_dir(&docs).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, dir.path().join("docs").join(f.file_name().unwrap())).unwrap();
    }
    let base = tally::examples::default_example().catalog_toml;
    std::fs::write(
        &catalog,
        format!("{base}\n[sources.kpi]\nkind = \"metrics_api\"\nurl = \"{url}\"\ntimeout_ms = 20000\ntoken_env = \"KPI_TEST_TOKEN\"\nmetrics = {SERVED}\n"),
    )
    .unwrap();
    let query = dir.path().join("q.json");
    std::fs::write(
        &query,
        r#"{"kind":"metric","metrics":["dau","signups"],"period":{"preset":"last_week"},"compare":"previous_period"}"#,
    )
    .unwrap();
    let run = |token: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
            .args([
                "run",
                query.to_str().unwrap(),
                "--role",
                "executive",
                "--workspace",
                "acme",
            ])
            .args([
                "--today",
                common::TODAY,
                "--warehouse",
                &warehouse,
                "--json",
            ])
            .args(["--catalog", catalog.to_str().unwrap()])
            .env("KPI_TEST_TOKEN", token)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let answered = run("t0ken");
    assert_eq!(answered["source"], "metrics_api:kpi", "{answered}");
    // A wrong token: the server says 401, the warehouse answers the same numbers.
    let refused = run("wrong");
    assert_eq!(refused["source"], "warehouse");
    assert_eq!(
        refused["source_note"],
        "the metrics API `kpi` answered HTTP 401; answered from the warehouse"
    );
    assert_eq!(answered["data"], refused["data"]);
    assert_eq!(answered["answer"], refused["answer"]);
}

/// Over HTTP: `POST /v1/query` says `source` and `source_note`, and so does each request's
/// audit row (an operator can tell afterwards which source answered, and why not the API);
/// `GET /metrics` exports the API's counters; a breaker with no cool-down probes on the next
/// call and closes once the API recovers.
#[tokio::test]
async fn over_http_the_source_its_note_and_the_counters_show_and_the_breaker_recovers() {
    use tally::server::{mint_dev_token, AuthConfig, DevSecret};
    const SECRET: &str = "metrics-api-test-secret-0123456789abcdef";
    let healthy = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = healthy.clone();
    let (url, hits) = fake(Duration::ZERO, move |m, p| {
        if flag.load(Ordering::SeqCst) {
            series(m, p, 5.0, 0)
        } else {
            (StatusCode::SERVICE_UNAVAILABLE, "down".into())
        }
    })
    .await;
    let engine = with_api(&url, "breaker_failures = 2\nbreaker_cooldown_ms = 0").await;
    let dir = tempfile::tempdir().unwrap();
    let store = tally::store::Store::open(
        &format!("sqlite://{}", dir.path().join("store.db").display()),
        Default::default(),
    )
    .await
    .unwrap();
    let secret = DevSecret::new(SECRET).unwrap();
    let auth = AuthConfig::hs256(&secret, common::http::ISSUER, common::http::AUDIENCE);
    let mut kept_store = None;
    let api = common::http::start_with(engine, store, dir, auth, |s| {
        kept_store = Some(s.store.clone());
        s
    })
    .await;
    let store = kept_store.unwrap();
    let token = mint_dev_token(
        &secret,
        common::http::ISSUER,
        common::http::AUDIENCE,
        "user-exec",
        "executive",
        &["acme".to_string()],
        Duration::from_secs(600),
    )
    .unwrap();
    let dsl = json!({"kind": "metric", "metrics": ["signups"], "period": {"preset": "last_week"}});
    let query = || async {
        let r = api
            .post(
                "/v1/query",
                Some(&token),
                &json!({"dsl": dsl, "workspace": "acme"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body
    };
    for _ in 0..2 {
        let b = query().await;
        assert_eq!(b["source"], "warehouse");
        assert_eq!(
            b["source_note"],
            "the metrics API `kpi` answered HTTP 503; answered from the warehouse"
        );
    }
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    healthy.store(true, Ordering::SeqCst);
    // No cool-down: the next call is the probe; it succeeds and closes the breaker.
    let b = query().await;
    assert_eq!(b["source"], "metrics_api:kpi", "{b}");
    assert!(b.get("source_note").is_none(), "{b}");
    assert!(b.get("sql").is_none(), "{b}");
    assert_eq!(b["data"]["summary"][0]["value"], 5);
    // The audit rows say the same, in order: the warehouse twice with the API's failure, then
    // the API; and the chain holds them.
    let rows = store
        .audit_rows(&tally::store::AuditFilter {
            after_seq: None,
            limit: 100,
            workspaces: None,
        })
        .await
        .unwrap();
    let said: Vec<(Option<&str>, Option<&str>)> = rows
        .iter()
        .map(|r| (r.entry.source.as_deref(), r.entry.source_note.as_deref()))
        .collect();
    let failed = "the metrics API `kpi` answered HTTP 503; answered from the warehouse";
    assert_eq!(
        said,
        [
            (Some("warehouse"), Some(failed)),
            (Some("warehouse"), Some(failed)),
            (Some("metrics_api:kpi"), None),
        ]
    );
    assert!(store.verify_chain().await.unwrap().ok);
    let m = api.get("/metrics", None).await.text;
    for line in [
        "tally_metrics_api_calls_total{source=\"kpi\",outcome=\"http_status\"} 2",
        "tally_metrics_api_calls_total{source=\"kpi\",outcome=\"ok\"} 1",
        "tally_metrics_api_fallbacks_total{source=\"kpi\",reason=\"http_status\"} 2",
        "tally_metrics_api_answers_total{source=\"kpi\"} 1",
        "tally_metrics_api_breaker_state{source=\"kpi\"} 0",
        "tally_metrics_api_drift_total{source=\"kpi\"} 0",
    ] {
        assert!(m.contains(line), "{line} in\n{m}");
    }
}

/// An API that answers some calls and times out on others fails whole queries: the breaker
/// counts those and opens, so it stops costing the timeout.
#[tokio::test]
async fn an_api_slow_on_some_calls_still_opens_the_breaker() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let router = Router::new().route(
        "/v1/metrics/{name}",
        get(move |Path(name): Path<String>, Query(p): Query<Params>| {
            let hits = counted.clone();
            async move {
                hits.fetch_add(1, Ordering::SeqCst);
                if p["grain"] == "day" {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
                series(&name, &p, 1.0, 0)
            }
        }),
    );
    let url = listen(router).await;
    let api = with_api(&url, "timeout_ms = 100\nbreaker_failures = 2").await;
    // Days of last week (times out) and the week's total (answers), for this week and the last.
    let dsl = json!({"kind": "metric", "metrics": ["signups"], "period": {"preset": "last_week"}, "granularity": "day", "compare": "previous_period"});
    let mut notes = Vec::new();
    for _ in 0..3 {
        notes.push(run(&api, "executive", &dsl).await.source_note.unwrap());
    }
    assert!(
        notes[..2]
            .iter()
            .all(|n| n.contains("timed out after 100 ms")),
        "{notes:?}"
    );
    assert!(notes[2].contains("circuit breaker open"), "{notes:?}");
    // Two calls per range (days, and the week): 4 per query, none for the third.
    assert_eq!(hits.load(Ordering::SeqCst), 8);
}

/// Random ungrouped metric queries (every metric, period form, granularity and comparison of
/// the query generator) through a source serving every metric, answered by the reference
/// server: whatever is routed has exactly the warehouse's data and answer.
#[tokio::test]
async fn random_queries_routed_to_the_reference_server_match_the_warehouse() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let url = reference_as("analyst", None).await;
    let every: Vec<String> = Catalog::embedded_default()
        .metrics
        .keys()
        .cloned()
        .collect();
    let base = tally::examples::default_example().catalog_toml;
    let text = format!(
        "{base}\n[sources.all]\nkind = \"metrics_api\"\nurl = \"{url}\"\ntimeout_ms = 20000\nmetrics = {}\n",
        serde_json::to_string(&every).unwrap()
    );
    let catalog = Arc::new(Catalog::from_toml(&text, "all.toml").unwrap());
    let api = Engine::new(catalog.clone(), warehouse().await, Limits::default());
    let plain =
        Engine::new(catalog.clone(), warehouse().await, Limits::default()).with_metrics_apis(None);
    let strategy = common::gen::metric_query(&catalog);
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[18; 32]),
    );
    let clock = Clock::fixed(common::date(common::TODAY));
    let (mut routed, mut answered) = (0, 0);
    for _ in 0..80 {
        let mut dsl = strategy.new_tree(&mut runner).unwrap().current();
        dsl.as_object_mut().unwrap().remove("group_by");
        dsl.as_object_mut().unwrap().remove("filters");
        let raw = serde_json::to_vec(&dsl).unwrap();
        let (a, _) = api.run(&raw, "analyst", "acme", &clock).await.unwrap();
        let (w, _) = plain.run(&raw, "analyst", "acme", &clock).await.unwrap();
        assert_eq!(a.outcome, w.outcome, "{dsl}");
        if a.outcome.as_str() != "answered" {
            continue;
        }
        answered += 1;
        if a.source.as_deref() == Some("metrics_api:all") {
            routed += 1;
        } else {
            assert_eq!(a.source_note, None, "{dsl}: routed and failed");
        }
        assert_eq!(said(&a), said(&w), "{dsl} from {:?}", a.source);
    }
    assert!(
        routed >= 20,
        "{routed} of {answered} answered queries routed"
    );
}

/// The reference server as a user runs it on a warehouse engine, `tally metrics-api serve
/// --warehouse postgres://…` (and `mysql://…`), answers the demo KPIs with the numbers and words
/// that engine's warehouse path gives (`#[ignore]`d: `cargo test -- --ignored`; SKIPPED when an
/// engine is not reachable, failing in CI). The demo is loaded into a database of this test's
/// own, `tally_test_mapi`, so the other engine tests' `test` database is left alone.
#[tokio::test]
#[ignore = "needs PostgreSQL and MariaDB on 127.0.0.1: cargo test -- --ignored"]
async fn the_reference_server_on_postgresql_and_mariadb_answers_as_their_warehouse() {
    use common::engines::{database_on, ensure_demo_loaded, metrica_demo, reach_or_skip, Kind};
    for kind in [Kind::Postgres, Kind::Mysql] {
        let test = "the_reference_server_on_postgresql_and_mariadb_answers_as_their_warehouse";
        let Some(reached) = reach_or_skip(kind, test).await else {
            continue;
        };
        let url = database_on(kind, &reached.url, "tally_test_mapi").await;
        ensure_demo_loaded(kind, &url, &metrica_demo()).await;
        let (_server, line, api_url) = serve_reference_process(&url, &["--role", "executive"], &[]);
        assert!(line.ends_with("as role executive"), "{line}");
        let open = || async {
            Warehouse::open(&url)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", kind.name()))
        };
        // A debug build reading a year of days: the timeout is no test of speed here.
        let catalog = catalog_with(&api_url, "timeout_ms = 60000");
        let api = Engine::new(catalog.clone(), open().await, Limits::default());
        let plain = Engine::new(catalog, open().await, Limits::default()).with_metrics_apis(None);
        for (role, dsl) in kpi_queries() {
            let from_api = run(&api, role, &dsl).await;
            let from_sql = run(&plain, role, &dsl).await;
            assert_eq!(
                from_api.source.as_deref(),
                Some("metrics_api:kpi"),
                "{} {dsl}: {:?}",
                kind.name(),
                from_api.source_note
            );
            assert_eq!(from_api.source_note, None);
            assert_eq!(from_sql.source.as_deref(), Some("warehouse"));
            assert_eq!(said(&from_api), said(&from_sql), "{} {dsl}", kind.name());
        }
        let text = api.metrics_apis().unwrap().render();
        assert!(
            text.contains("tally_metrics_api_answers_total{source=\"kpi\"} 7"),
            "{}: {text}",
            kind.name()
        );
    }
}
