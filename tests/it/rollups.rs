//! Rollups answer exactly what the warehouse answers: every golden case of the Metrica catalog is
//! run on the demo warehouse with and without a rollup store built from it, and the results,
//! answers and charts are the same; the cases a rollup can serve say so in `source`, the others
//! read the warehouse. A store is used only for days it covers and definitions it was built
//! with, and an incremental build holds what a full one does.

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use sqlx::Row;
use tally::catalog::Catalog;
use tally::exec::{Limits, Warehouse};
use tally::pipeline::Engine;
use tally::plan::Clock;
use tally::rollup::{self, BuildOptions, Rollups};

/// A store path of this test's own (removed first: each test builds what it checks).
fn store_path(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("tally-test-data");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("rollups-{name}-{}.db", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    path
}

fn options(today: &str) -> BuildOptions {
    BuildOptions {
        since: None,
        today: common::date(today),
        full: false,
        only: Vec::new(),
        timeout: Duration::from_secs(300),
    }
}

/// Two rollups: one counting distinct users, one with dimensions reached through a join.
fn two(today: &str) -> BuildOptions {
    BuildOptions {
        since: None,
        today: common::date(today),
        full: false,
        only: vec!["daily_users".into(), "daily_sessions".into()],
        timeout: Duration::from_secs(300),
    }
}

async fn build(
    catalog: &Catalog,
    db: &Path,
    store: &Path,
    opts: &BuildOptions,
) -> rollup::BuildReport {
    let warehouse = Warehouse::open(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    rollup::build(catalog, &warehouse, store, opts, &mut |_, _, _| {})
        .await
        .expect("the demo's rollups build")
}

async fn with_store(engine: Engine, store: &Path) -> Engine {
    let rollups = Rollups::open(store, &Limits::default()).await.unwrap();
    engine.with_rollups(Some(Arc::new(rollups)))
}

fn golden_cases() -> Vec<Value> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("golden/cases");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
        .filter(|c: &Value| common::case_catalog(c) == "metrica")
        .collect()
}

fn raw(case: &Value) -> Vec<u8> {
    match case.get("raw") {
        Some(Value::String(s)) => s.as_bytes().to_vec(),
        _ => serde_json::to_vec(&case["dsl"]).unwrap(),
    }
}

#[tokio::test]
async fn every_golden_case_a_rollup_serves_gives_the_warehouses_numbers() {
    let db = common::demo_db().await;
    let catalog = Catalog::embedded_default();
    let store = store_path("golden");
    // Built as of the golden cases' pinned day: every day before it.
    let report = build(&catalog, &db, &store, &options(common::TODAY)).await;
    assert_eq!(report.rollups.len(), catalog.rollups.len());
    assert!(report
        .rollups
        .iter()
        .all(|r| r.mode == "full" && r.rows_written > 0));

    let plain = common::engine_on(&db).await;
    let rolled = with_store(common::engine_on(&db).await, &store).await;
    let mut routed: Vec<String> = Vec::new();
    let mut windowed: Vec<String> = Vec::new();
    let mut day_rows: Vec<String> = Vec::new();
    for case in golden_cases() {
        let name = case["name"].as_str().unwrap().to_string();
        let role = case["role"].as_str().unwrap();
        let workspace = case["workspace"].as_str().unwrap();
        let clock = Clock::fixed(case["today"].as_str().unwrap().parse().unwrap());
        let (a, _) = plain
            .run(&raw(&case), role, workspace, &clock)
            .await
            .unwrap();
        let (b, trace) = rolled
            .run(&raw(&case), role, workspace, &clock)
            .await
            .unwrap();
        let shown = |r: &tally::pipeline::Response| json!({"outcome": r.outcome, "answer": r.answer, "data": r.data, "chart": r.chart});
        assert_eq!(
            shown(&a),
            shown(&b),
            "{name}: the rollups changed the answer"
        );
        // A definition reads the catalog, not the warehouse.
        let read_from = match (case["dsl"]["kind"].as_str(), case["dsl"].get("then")) {
            (Some("define"), None) => "catalog",
            (Some("define"), Some(_)) => "catalog+warehouse",
            _ => "warehouse",
        };
        assert_eq!(
            a.source.as_deref(),
            a.data.as_ref().map(|_| read_from),
            "{name}"
        );
        let from_rollup = trace
            .statements
            .iter()
            .filter(|s| s.rollup.is_some())
            .count();
        if trace.statements.iter().any(|s| s.sql.contains("__windows")) {
            windowed.push(name.clone());
        }
        if trace
            .statements
            .iter()
            .any(|s| s.rollup.is_some() && !s.sql.contains("__windows"))
        {
            day_rows.push(name.clone());
        }
        if from_rollup > 0 {
            assert!(
                b.source.as_deref().unwrap().starts_with("rollup:"),
                "{name}: {:?}",
                b.source
            );
            routed.push(name);
        } else if b.data.is_some() {
            assert_eq!(b.source.as_deref(), Some(read_from), "{name}");
        }
    }
    // The cases the catalog's rollups exist for are among them; funnels, lists, sums and
    // snapshots, and periods reaching today, are not.
    for expected in [
        "dau_last_week_vs_previous",
        "dau_by_country_last_week",
        "dau_last_month_weekly",
        "overview_executive_last_week",
        "sessions_on_android",
        "events_by_event_name_top_3",
        "wau_last_month_vs_previous_year",
    ] {
        assert!(
            routed.iter().any(|r| r == expected),
            "{expected} not from a rollup: {routed:?}"
        );
    }
    for never in [
        "funnel_checkout_last_30_days",
        "list_top_customers_by_mrr",
        "mrr_by_plan_tier",
        "signups_today",
    ] {
        assert!(!routed.iter().any(|r| r == never), "{never} from a rollup");
    }
    // Of those, the distinct counts over whole days, weeks and months read the counted
    // windows; a breakdown by a dimension counts the day rows' users (its total reads windows).
    for expected in ["dau_last_week_vs_previous", "overview_executive_last_week"] {
        assert!(
            windowed.iter().any(|r| r == expected),
            "{expected} did not read counted windows: {windowed:?}"
        );
    }
    assert!(
        day_rows.iter().any(|r| r == "dau_by_country_last_week"),
        "{day_rows:?}"
    );
    eprintln!(
        "{} golden cases answered from rollups: {routed:?}; {} read counted windows: {windowed:?}",
        routed.len(),
        windowed.len()
    );
}

/// DAU over `period` as analyst in acme, and what answered it.
async fn dau(engine: &Engine, period: Value, today: &str) -> (Value, String) {
    let q = json!({"kind": "metric", "metrics": ["dau"], "period": period});
    let (r, _) = engine
        .run(
            &serde_json::to_vec(&q).unwrap(),
            "analyst",
            "acme",
            &Clock::fixed(common::date(today)),
        )
        .await
        .unwrap();
    (json!(r.data), r.source.unwrap())
}

#[tokio::test]
async fn a_store_answers_only_for_the_days_it_covers_and_the_definition_it_was_built_with() {
    let db = common::demo_db().await;
    let catalog = Catalog::embedded_default();
    let store = store_path("watermark");
    let mut opts = options("2026-11-16");
    opts.only = vec!["daily_users".into()];
    build(&catalog, &db, &store, &opts).await;
    let rolled = with_store(common::engine_on(&db).await, &store).await;
    let plain = common::engine_on(&db).await;

    let before = json!({"between": {"start": "2026-11-09", "end": "2026-11-15"}});
    let (rolled_before, source) = dau(&rolled, before.clone(), common::TODAY).await;
    assert_eq!(source, "rollup:daily_users");
    assert_eq!(rolled_before, dau(&plain, before, common::TODAY).await.0);
    // The watermark is 2026-11-16: a week reaching past it reads the warehouse.
    let (_, source) = dau(
        &rolled,
        json!({"between": {"start": "2026-11-10", "end": "2026-11-16"}}),
        common::TODAY,
    )
    .await;
    assert_eq!(source, "warehouse");

    // The catalog now defines daily_users otherwise: the store's copy is not used.
    let changed = examples_catalog_text().replace(
        "metrics = [\"dau\", \"wau\", \"mau\", \"active_users\"]",
        "metrics = [\"dau\", \"wau\", \"mau\", \"active_users\", \"checkout_users\"]",
    );
    let changed = Catalog::from_toml(&changed, "changed.toml").unwrap();
    assert_ne!(
        changed.rollups["daily_users"].definition(),
        catalog.rollups["daily_users"].definition()
    );
    let warehouse = Warehouse::open(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let changed_engine = with_store(
        Engine::new(Arc::new(changed.clone()), warehouse, Limits::default()),
        &store,
    )
    .await;
    let (_, source) = dau(
        &changed_engine,
        json!({"between": {"start": "2026-11-09", "end": "2026-11-15"}}),
        common::TODAY,
    )
    .await;
    assert_ne!(source, "rollup:daily_users", "a stale definition answered");
    assert_eq!(
        rollup::stale(&changed, &changed_engine.rollups().unwrap().built()),
        ["daily_users"]
    );
}

fn examples_catalog_text() -> String {
    std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/metrica/catalog.toml"),
    )
    .unwrap()
}

/// Every row of every rollup table in a store, sorted, as text.
async fn store_rows(store: &Path, catalog: &Catalog, only: &[String]) -> Vec<String> {
    let pool = common::read_only_pool(store).await;
    let mut out = Vec::new();
    let tables = catalog
        .rollups
        .values()
        .filter(|r| only.contains(&r.name))
        .flat_map(|r| [Some(r.source()), r.windows_source()].into_iter().flatten());
    for table in tables {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM \"{table}\"")))
            .fetch_all(&pool)
            .await
            .unwrap_or_else(|e| panic!("{table}: {e}"));
        for row in rows {
            let cells: Vec<String> = (0..row.len())
                .map(|i| {
                    row.try_get::<Option<String>, _>(i)
                        .map(|v| format!("{v:?}"))
                        .or_else(|_| row.try_get::<i64, _>(i).map(|v| v.to_string()))
                        .unwrap()
                })
                .collect();
            out.push(format!("{table}: {}", cells.join("|")));
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn an_incremental_build_holds_what_a_full_build_does() {
    let db = common::demo_db().await;
    let catalog = Catalog::embedded_default();
    let stepwise = store_path("stepwise");
    build(&catalog, &db, &stepwise, &two("2026-11-09")).await;
    let second = build(&catalog, &db, &stepwise, &two(common::TODAY)).await;
    assert!(
        second.rollups.iter().all(|r| r.mode == "incremental"),
        "{second:?}"
    );
    let again = build(&catalog, &db, &stepwise, &two(common::TODAY)).await;
    assert!(again
        .rollups
        .iter()
        .all(|r| r.mode == "current" && r.rows_written == 0));
    // A rebuild from an earlier day rewrites those days, and holds the same.
    let mut since = two(common::TODAY);
    since.since = Some(common::date("2026-11-01"));
    let third = build(&catalog, &db, &stepwise, &since).await;
    assert!(third
        .rollups
        .iter()
        .all(|r| r.mode == "incremental" && r.rows_written > 0));

    let whole = store_path("whole");
    build(&catalog, &db, &whole, &two(common::TODAY)).await;
    let only = two(common::TODAY).only;
    let (a, b) = (
        store_rows(&stepwise, &catalog, &only).await,
        store_rows(&whole, &catalog, &only).await,
    );
    assert!(!a.is_empty());
    assert_eq!(a.len(), b.len());
    assert!(a == b, "an incremental build differs from a full one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL and MariaDB on 127.0.0.1: cargo test -- --ignored"]
async fn rollups_built_from_postgres_and_mariadb_hold_the_same_rows_and_answer_the_same() {
    use common::engines::{engine_on, ensure_loaded, outcome_of, reach, Kind};
    let catalog = Catalog::embedded_default();
    let mut stores = Vec::new();
    for kind in [Kind::Postgres, Kind::Mysql] {
        let reached = reach(kind).await;
        ensure_loaded(kind, &reached.url).await;
        let store = store_path(&kind.name().replace('/', "-"));
        rollup::build(
            &catalog,
            &reached.warehouse,
            &store,
            &options(common::TODAY),
            &mut |_, _, _| {},
        )
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", kind.name()));
        let plain = engine_on(reached.warehouse.clone());
        let rolled = with_store(engine_on(reached.warehouse.clone()), &store).await;
        let mut routed = 0;
        for case in common::engines::golden_cases() {
            let name = case["name"].as_str().unwrap();
            let role = case["role"].as_str().unwrap();
            let workspace = case["workspace"].as_str().unwrap();
            let clock = Clock::fixed(case["today"].as_str().unwrap().parse().unwrap());
            let (a, _) = plain
                .run(&raw(&case), role, workspace, &clock)
                .await
                .unwrap();
            let (b, _) = rolled
                .run(&raw(&case), role, workspace, &clock)
                .await
                .unwrap();
            assert_eq!(outcome_of(&a), outcome_of(&b), "{}: {name}", kind.name());
            routed += usize::from(
                b.source
                    .as_deref()
                    .is_some_and(|s| s.starts_with("rollup:")),
            );
        }
        assert!(
            routed >= 20,
            "{}: only {routed} cases from rollups",
            kind.name()
        );
        stores.push(store);
    }
    let all: Vec<String> = catalog.rollups.keys().cloned().collect();
    let postgres = store_rows(&stores[0], &catalog, &all).await;
    let mysql = store_rows(&stores[1], &catalog, &all).await;
    assert!(!postgres.is_empty());
    assert!(
        postgres == mysql,
        "PostgreSQL and MariaDB built different rollups"
    );
}

/// Random distinct counts, series and comparisons over days, whole weeks and months and ranges
/// that are neither: with a store built from the demo, every answer is the warehouse's, and
/// enough of them read the counted windows for that to mean something.
#[test]
fn random_counts_read_from_rollups_equal_the_warehouses() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let catalog = Catalog::embedded_default();
    let store = store_path("random");
    let (plain, rolled) = runtime.block_on(async {
        let db = common::demo_db().await;
        build(&catalog, &db, &store, &options(common::TODAY)).await;
        (
            common::engine_on(&db).await,
            with_store(common::engine_on(&db).await, &store).await,
        )
    });
    const METRICS: &[&str] = &[
        "dau",
        "wau",
        "mau",
        "active_users",
        "checkout_users",
        "checkout_conversion",
        "events",
        "sessions",
    ];
    let first = common::date("2026-01-05"); // a Monday
    let period = prop_oneof![
        proptest::sample::select(
            &["yesterday", "last_week", "last_month", "last_quarter", "this_month"][..]
        )
        .prop_map(|p| json!({"preset": p})),
        // A whole week, a whole month, one day, or any span.
        (0u64..45).prop_map(move |w| {
            let s = first + chrono::Days::new(7 * w);
            json!({"between": {"start": s.to_string(), "end": (s + chrono::Days::new(6)).to_string()}})
        }),
        (0u32..10).prop_map(|m| {
            let s = chrono::NaiveDate::from_ymd_opt(2026, 1 + m, 1).unwrap();
            let e = s.checked_add_months(chrono::Months::new(1)).unwrap() - chrono::Days::new(1);
            json!({"between": {"start": s.to_string(), "end": e.to_string()}})
        }),
        (0u64..320, 0u64..70).prop_map(move |(a, n)| {
            let s = first + chrono::Days::new(a);
            json!({"between": {"start": s.to_string(), "end": (s + chrono::Days::new(n)).to_string()}})
        }),
    ];
    let strategy = (
        proptest::sample::select(METRICS),
        period,
        proptest::option::of(proptest::sample::select(&["day", "week", "month"][..])),
        any::<bool>(),
    );
    let clock = Clock::fixed(common::date(common::TODAY));
    let (answered, windowed) = (std::cell::Cell::new(0u32), std::cell::Cell::new(0u32));
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, |(metric, period, granularity, compare)| {
            let mut dsl = json!({"kind": "metric", "metrics": [metric], "period": period});
            if let Some(g) = granularity {
                dsl["granularity"] = json!(g);
            }
            if compare {
                dsl["compare"] = json!("previous_period");
            }
            let raw = serde_json::to_vec(&dsl).unwrap();
            let (a, b) = runtime.block_on(async {
                (
                    plain.run(&raw, "analyst", "acme", &clock).await,
                    rolled.run(&raw, "analyst", "acme", &clock).await,
                )
            });
            let ((a, _), (b, trace)) = match (a, b) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(a), Err(b)) => {
                    prop_assert_eq!(a.to_string(), b.to_string());
                    return Ok(());
                }
                (a, b) => panic!("{dsl}: {:?} / {:?}", a.err(), b.err()),
            };
            let shown = |r: &tally::pipeline::Response| {
                json!({"outcome": r.outcome, "answer": r.answer, "data": r.data})
            };
            prop_assert_eq!(shown(&a), shown(&b), "{}", dsl);
            if a.outcome.as_str() == "answered" {
                answered.set(answered.get() + 1);
            }
            if trace.statements.iter().any(|s| s.sql.contains("__windows")) {
                windowed.set(windowed.get() + 1);
            }
            Ok(())
        })
        .unwrap();
    let (answered, windowed) = (answered.get(), windowed.get());
    eprintln!("{answered} random queries answered the same with rollups, {windowed} of them reading counted windows");
    assert!(answered >= cases * 3 / 4, "only {answered} answered");
    assert!(
        windowed >= cases / 5,
        "only {windowed} read counted windows"
    );
}
