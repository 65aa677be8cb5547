//! Real engines: every golden case gives the same outcome, data and answer on SQLite,
//! PostgreSQL and MariaDB/MySQL loaded with the same demo rows; writes through the warehouse
//! connection fail; a statement past its time limit returns `timeout` promptly.
//!
//! Engines are found at `TALLY_TEST_POSTGRES_URL` / `TALLY_TEST_MYSQL_URL`, else at the local
//! defaults (PostgreSQL as `postgres` then `root`, MariaDB as `root`, database `test`). The tests
//! are `#[ignore]`d: `cargo test -- --ignored` runs them (as `.ci/run` does) and fails when an
//! engine is unreachable; a test with a SQLite half runs that half in plain `cargo test`.
//!
//! The demo is loaded with seed 42, data to 2026-11-22 and scale 0.2 (the SQLite comparison
//! file under target/ uses the same options), once per engine: a marker table remembers the
//! options and the generator's fingerprint, so reruns skip the load. Golden cases of the second
//! domain (`"catalog": "adnavi"`) run on its own demo, loaded beside Metrica's.

use crate::common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::engines::{
    all_golden_cases, demos, engine_on_catalog, ensure_demo_loaded, outcome_of, reach,
    reach_engines, statement, Demo, Kind, On, Reached,
};
use serde_json::Value;
use sqlx::Connection;
use tally::demo;
use tally::exec::{ExecError, Limits, Warehouse};
use tally::pipeline::Engine;
use tally::plan::Clock;
use tally::sql::{ColumnKind, Dialect};

const PROBE_TABLE: &str = "tally_test_write_probe";

/// The SQLite comparison file of one example, with the same options as the engines.
async fn sqlite_db(demo: &Demo) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("tally-test-data");
    std::fs::create_dir_all(&dir).expect("create target/tally-test-data");
    let path = dir.join(format!("{}-{}.db", demo.catalog, demo.fingerprint()));
    // Tests of this binary run in parallel: one builds, the others wait and find the file.
    static BUILDING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _building = BUILDING.lock().await;
    if !path.is_file() {
        // Another test binary may be building it too: write privately, then rename.
        let private = dir.join(format!(
            "building-engines-{}-{}.db",
            demo.catalog,
            std::process::id()
        ));
        demo::write_sqlite(
            &private,
            &demo.example.generator,
            &demo.options,
            &mut |_| {},
        )
        .await
        .expect("the demo generator writes a warehouse");
        std::fs::rename(&private, &path).expect("rename the demo warehouse into place");
    }
    path
}

/// Runs every golden case on one engine (a pipeline per catalog); returns the outcomes and the
/// wall time.
async fn run_suite(engines: &BTreeMap<&str, Engine>, cases: &[Value]) -> (Vec<Value>, Duration) {
    let started = Instant::now();
    let mut out = Vec::with_capacity(cases.len());
    for case in cases {
        let engine = &engines[common::case_catalog(case)];
        let raw: Vec<u8> = match case.get("raw") {
            Some(Value::String(s)) => s.as_bytes().to_vec(),
            _ => serde_json::to_vec(&case["dsl"]).expect("serializes"),
        };
        let role = case["role"].as_str().expect("role");
        let workspace = case["workspace"].as_str().expect("workspace");
        let clock = Clock::fixed(
            case["today"]
                .as_str()
                .expect("today")
                .parse()
                .expect("a date"),
        );
        let (response, _) = engine
            .run(&raw, role, workspace, &clock)
            .await
            .unwrap_or_else(|e| panic!("{}: the pipeline fails: {e}", case["name"]));
        out.push(outcome_of(&response));
    }
    (out, started.elapsed())
}

/// Compares two JSON values: integers exactly, other numbers to a relative 1e-9, arrays in order.
fn same(a: &Value, b: &Value, at: &str, differences: &mut Vec<String>) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let equal = match (x.as_i64(), y.as_i64()) {
                (Some(i), Some(j)) => i == j,
                _ => {
                    let (f, g) = (
                        x.as_f64().unwrap_or(f64::NAN),
                        y.as_f64().unwrap_or(f64::NAN),
                    );
                    f == g || (f - g).abs() <= 1e-9 * f.abs().max(g.abs())
                }
            };
            if !equal {
                differences.push(format!("{at}: {x} vs {y}"));
            }
        }
        (Value::Array(xs), Value::Array(ys)) if xs.len() == ys.len() => {
            for (i, (x, y)) in xs.iter().zip(ys).enumerate() {
                same(x, y, &format!("{at}[{i}]"), differences);
            }
        }
        (Value::Object(xs), Value::Object(ys))
            if xs.keys().collect::<Vec<_>>() == ys.keys().collect::<Vec<_>>() =>
        {
            for (k, x) in xs {
                same(x, &ys[k], &format!("{at}.{k}"), differences);
            }
        }
        _ if a == b => {}
        _ => differences.push(format!("{at}: {a} vs {b}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL and MariaDB on 127.0.0.1: cargo test -- --ignored"]
async fn golden_cases_give_the_same_results_on_every_engine() {
    let (postgres, mysql) = tokio::join!(reach(Kind::Postgres), reach(Kind::Mysql));
    let engines: Vec<(Kind, Reached)> = vec![(Kind::Postgres, postgres), (Kind::Mysql, mysql)];
    let demos = demos();
    for demo in &demos {
        let loads = engines
            .iter()
            .map(|(k, r)| ensure_demo_loaded(*k, &r.url, demo));
        futures_util::future::join_all(loads).await;
    }

    let cases = all_golden_cases();
    let mut sqlite_engines = BTreeMap::new();
    for demo in &demos {
        let sqlite = sqlite_db(demo).await;
        let warehouse = Warehouse::open(&format!("sqlite://{}", sqlite.display()))
            .await
            .expect("open the SQLite comparison warehouse");
        sqlite_engines.insert(demo.catalog, engine_on_catalog(warehouse, demo.catalog));
    }
    let (expected, sqlite_time) = run_suite(&sqlite_engines, &cases).await;
    eprintln!(
        "golden suite: {} cases on SQLite in {:.0} ms",
        cases.len(),
        sqlite_time.as_secs_f64() * 1000.0
    );

    // The comparison means something only if most cases reach the warehouse.
    let answered = expected
        .iter()
        .filter(|o| o["outcome"] == "answered" && !o["data"].is_null())
        .count();
    assert!(
        answered >= cases.len() / 2,
        "only {answered} cases answered on SQLite"
    );

    let mut failures = Vec::new();
    for (kind, reached) in engines {
        let dialect = reached.warehouse.dialect();
        assert_eq!(
            dialect,
            match kind {
                Kind::Postgres => Dialect::Postgres,
                Kind::Mysql => Dialect::Mysql,
            }
        );
        // The row cap holds on the engine: more rows exist than the cap allows.
        let capped = reached
            .warehouse
            .run(
                &statement("SELECT workspace_id FROM user_profiles", ColumnKind::Text),
                &Limits {
                    row_cap: 10,
                    timeout: Duration::from_secs(10),
                },
            )
            .await
            .expect("a plain select runs");
        assert_eq!(
            (capped.rows.len(), capped.truncated),
            (10, true),
            "{}",
            kind.name()
        );

        let on_engine: BTreeMap<&str, Engine> = demos
            .iter()
            .map(|demo| {
                let engine = engine_on_catalog(reached.warehouse.clone(), demo.catalog);
                (demo.catalog, engine)
            })
            .collect();
        let (actual, time) = run_suite(&on_engine, &cases).await;
        eprintln!(
            "golden suite: {} cases on {} in {:.0} ms",
            cases.len(),
            kind.name(),
            time.as_secs_f64() * 1000.0
        );
        for ((case, want), got) in cases.iter().zip(&expected).zip(&actual) {
            let mut differences = Vec::new();
            same(want, got, "", &mut differences);
            if !differences.is_empty() {
                failures.push(format!(
                    "{} on {}: {}",
                    case["name"].as_str().unwrap_or("?"),
                    kind.name(),
                    differences.join("; ")
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) differ from SQLite:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and MariaDB on 127.0.0.1: cargo test -- --ignored"]
async fn writes_through_the_warehouse_fail_on_every_engine() {
    for kind in [Kind::Postgres, Kind::Mysql] {
        let reached = reach(kind).await;
        // A table the engine user could write to, so a failure can only come from the read-only path.
        let admin = [
            format!("DROP TABLE IF EXISTS {PROBE_TABLE}"),
            format!("CREATE TABLE {PROBE_TABLE} (a BIGINT)"),
        ];
        let count_rows = format!("SELECT COUNT(*) FROM {PROBE_TABLE}");
        match kind {
            Kind::Postgres => {
                let mut c = sqlx::PgConnection::connect(&reached.url)
                    .await
                    .expect("connect");
                for s in admin {
                    sqlx::raw_sql(sqlx::AssertSqlSafe(s))
                        .execute(&mut c)
                        .await
                        .expect("setup");
                }
            }
            Kind::Mysql => {
                let mut c = sqlx::MySqlConnection::connect(&reached.url)
                    .await
                    .expect("connect");
                for s in admin {
                    sqlx::raw_sql(sqlx::AssertSqlSafe(s))
                        .execute(&mut c)
                        .await
                        .expect("setup");
                }
            }
        }
        let limits = Limits::default();
        for sql in [
            format!("INSERT INTO {PROBE_TABLE} (a) VALUES (1)"),
            format!("CREATE TABLE {PROBE_TABLE}_created (a BIGINT)"),
            format!("DROP TABLE {PROBE_TABLE}"),
        ] {
            let result = reached
                .warehouse
                .run(&statement(&sql, ColumnKind::Int), &limits)
                .await;
            match result {
                Err(ExecError::Failed(message)) => assert!(
                    message.to_lowercase().contains("read-only")
                        || message.to_lowercase().contains("read only"),
                    "{}: `{sql}` failed for another reason: {message}",
                    kind.name()
                ),
                other => panic!("{}: `{sql}` was not refused: {other:?}", kind.name()),
            }
        }
        // Nothing changed: the probe table is still there and still empty.
        let rows = reached
            .warehouse
            .run(&statement(&count_rows, ColumnKind::Int), &limits)
            .await
            .expect("the probe table is still there");
        assert_eq!(
            rows.rows,
            vec![vec![tally::exec::Cell::Int(0)]],
            "{}",
            kind.name()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and MariaDB on 127.0.0.1: cargo test -- --ignored"]
async fn a_statement_past_its_time_limit_returns_timeout_promptly() {
    for kind in [Kind::Postgres, Kind::Mysql] {
        let reached = reach(kind).await;
        // MariaDB interrupts SLEEP with an error at max_statement_time; (MySQL would return 1).
        let slow = match kind {
            Kind::Postgres => "SELECT CAST(1 AS BIGINT) AS x FROM pg_sleep(3)",
            Kind::Mysql => "SELECT SLEEP(3) AS x",
        };
        let limits = Limits {
            row_cap: 10,
            timeout: Duration::from_secs(1),
        };
        let started = Instant::now();
        let result = reached
            .warehouse
            .run(&statement(slow, ColumnKind::Int), &limits)
            .await;
        let elapsed = started.elapsed();
        match result {
            Err(e @ ExecError::Timeout(_)) => assert_eq!(e.code(), "timeout"),
            other => panic!("{}: expected a timeout, got {other:?}", kind.name()),
        }
        assert!(
            elapsed < limits.timeout + Duration::from_secs(1),
            "{}: the timeout took {elapsed:?}",
            kind.name()
        );
        // The pool is still usable after an interrupted statement.
        let next = match kind {
            Kind::Postgres => "SELECT CAST(1 AS BIGINT) AS x",
            Kind::Mysql => "SELECT CAST(1 AS SIGNED) AS x",
        };
        let rows = reached
            .warehouse
            .run(&statement(next, ColumnKind::Int), &limits)
            .await
            .unwrap_or_else(|e| panic!("{}: the next query fails: {e}", kind.name()));
        assert_eq!(rows.rows, vec![vec![tally::exec::Cell::Int(1)]]);
    }
}

/// Differential testing across engines, as SQLancer does for databases: random queries drawn
/// from each catalog (`tests/it/common/gen.rs`; every kind, period form, operator and role) give
/// the same outcome, numbers (to 1e-9 relative), order and answer text on SQLite, PostgreSQL
/// and MariaDB. `TALLY_ENGINE_CASES=N` runs more (default 120 per catalog); the seed is fixed,
/// so a failure reproduces, and proptest shrinks it to a minimal query.
#[test]
#[ignore = "needs PostgreSQL and MariaDB on 127.0.0.1: cargo test -- --ignored"]
fn generated_queries_agree_on_every_engine() {
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (postgres, mysql) =
        runtime.block_on(async { tokio::join!(reach(Kind::Postgres), reach(Kind::Mysql)) });
    let reached: Vec<(Kind, Reached)> = vec![(Kind::Postgres, postgres), (Kind::Mysql, mysql)];
    let cases: u32 = std::env::var("TALLY_ENGINE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120);
    let clock = Clock::fixed(common::date(common::TODAY));
    for demo in demos() {
        let (sqlite, others) = runtime.block_on(async {
            for (k, r) in &reached {
                ensure_demo_loaded(*k, &r.url, &demo).await;
            }
            let path = sqlite_db(&demo).await;
            let sqlite = Warehouse::open(&format!("sqlite://{}", path.display()))
                .await
                .unwrap();
            let mut others = Vec::new();
            for (k, r) in &reached {
                others.push((*k, Warehouse::open(&r.url).await.unwrap()));
            }
            (sqlite, others)
        });
        let sqlite = engine_on_catalog(sqlite, demo.catalog);
        let others: Vec<(Kind, Engine)> = others
            .into_iter()
            .map(|(k, w)| (k, engine_on_catalog(w, demo.catalog)))
            .collect();
        let catalog = sqlite.catalog().clone();
        let roles: Vec<String> = catalog
            .roles
            .iter()
            .filter(|(_, r)| !r.admin)
            .map(|(n, _)| n.clone())
            .collect();
        let strategy = (
            common::gen::query(&catalog),
            proptest::sample::select(roles),
        );
        let config = Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        };
        let seed = [7u8; 32];
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
        let answered = std::cell::Cell::new(0u32);
        let result = runner.run(&strategy, |(dsl, role)| {
            let raw = serde_json::to_vec(&dsl).unwrap();
            let outcomes = runtime.block_on(async {
                let mut out = vec![(
                    "SQLite",
                    sqlite
                        .run(&raw, &role, "acme", &clock)
                        .await
                        .map(|(r, _)| r),
                )];
                for (k, e) in &others {
                    out.push((
                        k.name(),
                        e.run(&raw, &role, "acme", &clock).await.map(|(r, _)| r),
                    ));
                }
                out
            });
            let (_, first) = &outcomes[0];
            let first = match first {
                Ok(r) => r,
                Err(e) => panic!("SQLite failed on {dsl}: {e}"),
            };
            if first.outcome.as_str() == "answered" {
                answered.set(answered.get() + 1);
            }
            let expected = outcome_of(first);
            for (name, other) in &outcomes[1..] {
                let other = match other {
                    Ok(r) => outcome_of(r),
                    Err(e) => panic!("{name} failed on {dsl}: {e}"),
                };
                let mut differences = Vec::new();
                same(&expected, &other, "", &mut differences);
                proptest::prop_assert!(
                    differences.is_empty(),
                    "{name} differs from SQLite on {dsl} as {role}: {differences:?}"
                );
            }
            Ok(())
        });
        if let Err(e) = result {
            panic!("{}: {e}", demo.catalog);
        }
        eprintln!(
            "{}: {cases} generated queries, {} answered, identical on SQLite and {}",
            demo.catalog,
            answered.get(),
            reached
                .iter()
                .map(|(k, _)| k.name())
                .collect::<Vec<_>>()
                .join(" and ")
        );
        assert!(
            answered.get() >= cases / 5,
            "too few answered: {}",
            answered.get()
        );
    }
}

/// `tally catalog check` on every engine: both example catalogs describe their demo warehouses
/// (no error; a small demo may lack a listed value, which is a warning), and a catalog with a mistyped column, a
/// mistyped binding and a sum over a text column fails with each named at its key, with the
/// nearest existing column.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_check_passes_on_the_demos_and_names_every_mistake_on_sqlite() {
    catalog_check(On::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and MariaDB on 127.0.0.1: cargo test -- --ignored"]
async fn the_catalog_check_passes_on_the_demos_and_names_every_mistake_on_every_engine() {
    catalog_check(On::AllEngines).await
}

async fn catalog_check(on: On) {
    let (postgres, mysql) = reach_engines(on).await;
    let limits = Limits::default();
    let broken_toml = include_str!("../../examples/metrica/catalog.toml")
        .replace("time = \"ts\"\n", "time = \"tss\"\n")
        .replace(
            "bindings = [\"support_tickets.priority\"]",
            "bindings = [\"support_tickets.priorty\"]",
        )
        .replace(
            "table = \"customers\"\ncolumn = \"mrr\"",
            "table = \"customers\"\ncolumn = \"company_name\"",
        );
    let broken = tally::catalog::Catalog::from_toml(&broken_toml, "broken.toml").unwrap();
    for demo in demos() {
        let mut warehouses = vec![(
            "SQLite",
            Warehouse::open(&format!("sqlite://{}", sqlite_db(&demo).await.display()))
                .await
                .unwrap(),
        )];
        for (kind, reached) in [(Kind::Postgres, &postgres), (Kind::Mysql, &mysql)] {
            if let Some(r) = reached {
                ensure_demo_loaded(kind, &r.url, &demo).await;
                warehouses.push((kind.name(), Warehouse::open(&r.url).await.unwrap()));
            }
        }
        let catalog = common::catalog_named(demo.catalog);
        for (engine, warehouse) in &warehouses {
            let findings = tally::inspect::check(&catalog, warehouse, &limits)
                .await
                .unwrap();
            let problems: Vec<_> = findings
                .iter()
                .filter(|f| f.level == tally::inspect::Level::Error)
                .collect();
            assert!(
                problems.is_empty(),
                "{} on {engine}: {problems:?}",
                demo.catalog
            );
            if demo.catalog != "metrica" {
                continue;
            }
            let findings = tally::inspect::check(&broken, warehouse, &limits)
                .await
                .unwrap();
            let errors: Vec<(&str, &str, &str)> = findings
                .iter()
                .filter(|f| f.level == tally::inspect::Level::Error)
                .map(|f| (f.code, f.key.as_str(), f.message.as_str()))
                .collect();
            let keys: Vec<(&str, &str)> = errors.iter().map(|(c, k, _)| (*c, *k)).collect();
            assert_eq!(
                keys,
                [
                    ("missing_column", "dimensions.priority.bindings[0]"),
                    ("missing_column", "tables.events.time"),
                    ("wrong_column_type", "metrics.mrr"),
                ],
                "{engine}: {errors:?}"
            );
            assert!(
                errors[0].2.contains("nearest: `priority`"),
                "{engine}: {errors:?}"
            );
            assert!(
                errors[1].2.contains("nearest: `ts`"),
                "{engine}: {errors:?}"
            );
        }
    }
}

/// A small shop made for this test, not a demo: customers and orders with a foreign key, a
/// mixed-case column, a reserved-word column and a view; the same rows on every engine.
struct Shop {
    kind: &'static str,
    url: String,
    schema: Option<&'static str>,
}

/// `name` quoted for the engine (backticks on MySQL).
fn quoted(kind: &str, name: &str) -> String {
    if kind == "MariaDB" {
        format!("`{name}`")
    } else {
        format!("\"{name}\"")
    }
}

fn shop_statements(kind: &str, schema: Option<&str>) -> Vec<String> {
    let t = |name: &str| match schema {
        Some(s) => format!("{}.{}", quoted(kind, s), quoted(kind, name)),
        None => quoted(kind, name),
    };
    let ts = if kind == "MariaDB" {
        "DATETIME"
    } else {
        "TIMESTAMP"
    };
    let mut out = vec![
        format!("DROP VIEW IF EXISTS {}", t("big_orders")),
        format!("DROP TABLE IF EXISTS {}", t("orders")),
        format!("DROP TABLE IF EXISTS {}", t("customers")),
        format!(
            "CREATE TABLE {} (id INTEGER PRIMARY KEY, workspace_id VARCHAR(20) NOT NULL, \
             email VARCHAR(100), country VARCHAR(2), created_at {ts})",
            t("customers")
        ),
        format!(
            "CREATE TABLE {} (id INTEGER PRIMARY KEY, workspace_id VARCHAR(20) NOT NULL, \
             customer_id INTEGER, {} VARCHAR(10), {} VARCHAR(5), \
             amount DECIMAL(10,2), ordered_at {ts}, \
             FOREIGN KEY (customer_id) REFERENCES {}(id))",
            t("orders"),
            quoted(kind, "Status"),
            quoted(kind, "group"),
            t("customers"),
        ),
        format!(
            "CREATE VIEW {} AS SELECT * FROM {} WHERE amount > 100",
            t("big_orders"),
            t("orders")
        ),
    ];
    let countries = ["US", "DE", "FR", "IT"];
    let statuses = ["paid", "refunded", "open"];
    let customers: Vec<String> = (1..=60)
        .map(|i| {
            let ws = if i % 3 == 0 { "globex" } else { "acme" };
            format!(
                "({i}, '{ws}', 'user{i}@example.com', '{}', '2026-{:02}-{:02} 10:00:00')",
                countries[i % 4],
                1 + i % 9,
                1 + i % 27
            )
        })
        .collect();
    out.push(format!(
        "INSERT INTO {} (id, workspace_id, email, country, created_at) VALUES {}, \
         (61, 'globex', 'jp@example.com', 'JP', '2026-03-01 10:00:00')",
        t("customers"),
        customers.join(", ")
    ));
    let orders: Vec<String> = (1..=400)
        .map(|i| {
            let customer = 1 + (i * 7) % 60;
            let ws = if customer % 3 == 0 { "globex" } else { "acme" };
            format!(
                "({i}, '{ws}', {customer}, '{}', '{}', {}.{:02}, '2026-{:02}-{:02} 12:00:00')",
                statuses[(i / 2) % 3],
                if i % 2 == 0 { "a" } else { "b" },
                5 + (i * 37) % 290,
                (i * 13) % 100,
                1 + i % 11,
                1 + (i * 5) % 28
            )
        })
        .collect();
    out.push(format!(
        "INSERT INTO {} (id, workspace_id, customer_id, {}, {}, amount, ordered_at) VALUES {}",
        t("orders"),
        quoted(kind, "Status"),
        quoted(kind, "group"),
        orders.join(", ")
    ));
    // Only globex has a customer in Japan: acme must never see the value.
    out.push(format!(
        "INSERT INTO {} (id, workspace_id, customer_id, {}, {}, amount, ordered_at) VALUES \
         (401, 'globex', 61, 'paid', 'a', 50.00, '2026-05-05 12:00:00')",
        t("orders"),
        quoted(kind, "Status"),
        quoted(kind, "group"),
    ));
    out
}

async fn execute_all(kind: &str, url: &str, statements: &[String]) {
    match kind {
        "PostgreSQL" => execute_on::<sqlx::PgConnection>(url, statements).await,
        "MariaDB" => execute_on::<sqlx::MySqlConnection>(url, statements).await,
        _ => execute_on::<sqlx::SqliteConnection>(url, statements).await,
    }
}

/// Runs each statement, in order, on one connection of engine `C`.
async fn execute_on<C>(url: &str, statements: &[String])
where
    C: Connection,
    for<'c> &'c mut C: sqlx::Executor<'c, Database = C::Database>,
{
    let mut c = C::connect(url).await.expect("connect");
    for s in statements {
        sqlx::raw_sql(sqlx::AssertSqlSafe(s.clone()))
            .execute(&mut c)
            .await
            .unwrap_or_else(|e| panic!("{s}: {e}"));
    }
}

/// The walk-through on every engine: a fresh database → `catalog init` → `catalog
/// check` passes → a query's numbers equal hand-written SQL; a wrong column fails the check,
/// naming it. PostgreSQL reads a non-`public` schema and MariaDB another database, so their
/// tables are schema-qualified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_warehouse_goes_from_catalog_init_to_exact_answers_on_sqlite() {
    fresh_warehouse(On::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and MariaDB on 127.0.0.1: cargo test -- --ignored"]
async fn a_fresh_warehouse_goes_from_catalog_init_to_exact_answers_on_every_engine() {
    fresh_warehouse(On::AllEngines).await
}

async fn fresh_warehouse(on: On) {
    let (postgres, mysql) = reach_engines(on).await;
    let dir = std::env::temp_dir().join(format!("tally-shop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("shop.db");
    let _ = std::fs::remove_file(&file);
    let mut shops = vec![Shop {
        kind: "SQLite",
        url: format!("sqlite://{}", file.display()),
        schema: None,
    }];
    if let Some(r) = &postgres {
        execute_all(
            "PostgreSQL",
            &r.url,
            &["CREATE SCHEMA IF NOT EXISTS tally_shop".to_string()],
        )
        .await;
        shops.push(Shop {
            kind: "PostgreSQL",
            url: r.url.clone(),
            schema: Some("tally_shop"),
        });
    }
    if let Some(r) = &mysql {
        execute_all(
            "MariaDB",
            &r.url,
            &["CREATE DATABASE IF NOT EXISTS tally_shop".to_string()],
        )
        .await;
        shops.push(Shop {
            kind: "MariaDB",
            url: r.url.clone(),
            schema: Some("tally_shop"),
        });
    }
    let limits = Limits::default();
    let mut totals = Vec::new();
    for shop in &shops {
        let create_url = if shop.kind == "SQLite" {
            format!("{}?mode=rwc", shop.url)
        } else {
            shop.url.clone()
        };
        execute_all(
            shop.kind,
            &create_url,
            &shop_statements(shop.kind, shop.schema),
        )
        .await;
        let warehouse = Warehouse::open(&shop.url).await.unwrap();
        let facts = tally::inspect::init::gather(&warehouse, shop.schema, &limits, &|_| {})
            .await
            .unwrap();
        let opts = tally::inspect::init::Options {
            schema: shop.schema.map(str::to_string),
            tenancy: tally::inspect::init::Tenancy::Column("workspace_id".into()),
            name: "shop".into(),
            source: "test".into(),
        };
        let toml = tally::inspect::init::render(&facts, &opts).unwrap();
        assert_eq!(
            toml,
            tally::inspect::init::render(&facts, &opts).unwrap(),
            "{}: rendering is deterministic",
            shop.kind
        );
        let catalog = tally::catalog::Catalog::from_toml(&toml, "shop.toml")
            .unwrap_or_else(|e| panic!("{}: {e}\n{toml}", shop.kind));
        let q = |t: &str| match shop.schema {
            Some(s) => format!("{s}.{t}"),
            None => t.to_string(),
        };
        // What init made of it.
        assert!(
            catalog.metrics.contains_key("orders"),
            "{}\n{toml}",
            shop.kind
        );
        assert!(
            catalog.metrics.contains_key("total_amount"),
            "{}",
            shop.kind
        );
        assert_eq!(
            catalog.dimensions["country"].bindings,
            [(q("customers"), "country".to_string())]
        );
        assert!(catalog.dimensions["country"].discover, "{}", shop.kind);
        assert_eq!(
            catalog.dimensions["status"].bindings,
            [(q("orders"), "Status".to_string())]
        );
        assert_eq!(
            catalog.dimensions["email"].sensitivity,
            tally::catalog::Sensitivity::Pii
        );
        assert!(
            !toml.contains("user1@example.com"),
            "{}: no sampled value in the file",
            shop.kind
        );
        assert!(
            toml.contains("Left out the view `big_orders`"),
            "{}\n{toml}",
            shop.kind
        );
        let orders = &catalog.tables[&q("orders")];
        assert_eq!(
            orders.joins[&q("customers")].column,
            "customer_id",
            "{}",
            shop.kind
        );
        assert_eq!(
            orders.joins[&q("customers")].references,
            "id",
            "{}",
            shop.kind
        );

        let findings = tally::inspect::check(&catalog, &warehouse, &limits)
            .await
            .unwrap();
        let errors: Vec<_> = findings
            .iter()
            .filter(|f| f.level == tally::inspect::Level::Error)
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", shop.kind);

        // The numbers of a query equal hand-written SQL.
        let engine = Engine::new(std::sync::Arc::new(catalog), warehouse, limits)
            .with_discovery(Duration::from_secs(600));
        // Discovered values are each workspace's own.
        let mut acme = engine.catalog_in("acme").await.dimensions["country"]
            .values
            .clone();
        acme.sort();
        assert_eq!(acme, ["DE", "FR", "IT", "US"], "{}", shop.kind);
        assert!(
            engine.catalog_in("globex").await.dimensions["country"]
                .values
                .contains(&"JP".to_string()),
            "{}",
            shop.kind
        );
        let in_japan = serde_json::json!({
            "kind": "metric", "metrics": ["orders"], "period": {"preset": "this_year"},
            "filters": [{"dimension": "country", "op": "eq", "values": ["JP"]}]
        })
        .to_string();
        let clock = Clock::fixed(common::date("2026-11-20"));
        let (r, _) = engine
            .run(in_japan.as_bytes(), "analyst", "acme", &clock)
            .await
            .unwrap();
        let body = serde_json::to_value(&r).unwrap();
        assert_eq!(body["outcome"], "invalid", "{}: {body:#}", shop.kind);
        let allowed = &body["diagnostics"][0]["allowed"];
        assert!(
            allowed
                .as_array()
                .is_some_and(|a| a.len() == 4 && !a.contains(&"JP".into())),
            "{}: acme is told only its own values: {body:#}",
            shop.kind
        );
        let (r, _) = engine
            .run(in_japan.as_bytes(), "analyst", "globex", &clock)
            .await
            .unwrap();
        assert_eq!(
            serde_json::to_value(&r).unwrap()["outcome"],
            "answered",
            "{}",
            shop.kind
        );
        let (r, _) = engine
            .ask(
                "paid orders by country in march",
                "analyst",
                "acme",
                &clock,
                None,
            )
            .await
            .unwrap();
        assert_eq!(
            r.outcome.as_str(),
            "answered",
            "{}: {}",
            shop.kind,
            r.answer
        );
        assert!(r.answer.contains("paid"), "{}: {}", shop.kind, r.answer);
        let dsl = serde_json::json!({
            "kind": "metric",
            "metrics": ["total_amount", "orders"],
            "period": {"between": {"start": "2026-02-01", "end": "2026-09-30"}},
            "group_by": ["country"],
            "filters": [{"dimension": "status", "op": "in", "values": ["paid", "open"]}]
        });
        let (response, _) = engine
            .run(
                dsl.to_string().as_bytes(),
                "analyst",
                "acme",
                &Clock::fixed(common::date("2026-11-20")),
            )
            .await
            .unwrap();
        let body = serde_json::to_value(&response).unwrap();
        assert_eq!(body["outcome"], "answered", "{}: {body:#}", shop.kind);
        let mut ours: Vec<(String, String, f64)> = body["data"]["breakdown"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["dimensions"]["country"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                    r["metric"].as_str().unwrap().to_string(),
                    r["value"].as_f64().unwrap(),
                )
            })
            .collect();
        ours.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let qt = |name: &str| match shop.schema {
            Some(s) => format!("{}.{}", quoted(shop.kind, s), quoted(shop.kind, name)),
            None => quoted(shop.kind, name),
        };
        let status = quoted(shop.kind, "Status");
        let hand = format!(
            "SELECT c.country, CAST(SUM(o.amount) AS {real}) AS s, CAST(COUNT(*) AS {real}) AS n \
             FROM {orders} o LEFT JOIN {customers} c ON c.id = o.customer_id \
               AND c.workspace_id = 'acme' \
             WHERE o.workspace_id = 'acme' AND o.{status} IN ('paid', 'open') \
               AND o.ordered_at >= '2026-02-01' AND o.ordered_at < '2026-10-01' \
             GROUP BY c.country ORDER BY c.country",
            real = if shop.kind == "MariaDB" {
                "DOUBLE"
            } else if shop.kind == "SQLite" {
                "REAL"
            } else {
                "DOUBLE PRECISION"
            },
            orders = qt("orders"),
            customers = qt("customers"),
        );
        let hand_rows = engine
            .warehouse()
            .run(
                &tally::sql::Statement {
                    rollup: None,
                    merged: None,
                    sql: hand.clone(),
                    params: vec![],
                    columns: vec![
                        tally::sql::Column {
                            name: "country".into(),
                            kind: ColumnKind::Text,
                        },
                        tally::sql::Column {
                            name: "s".into(),
                            kind: ColumnKind::Float,
                        },
                        tally::sql::Column {
                            name: "n".into(),
                            kind: ColumnKind::Float,
                        },
                    ],
                },
                &limits,
            )
            .await
            .unwrap_or_else(|e| panic!("{}: {hand}: {e}", shop.kind));
        let mut theirs: Vec<(String, String, f64)> = Vec::new();
        for r in &hand_rows.rows {
            let country = r[0].as_text().unwrap_or("").to_string();
            theirs.push((country.clone(), "orders".into(), r[2].as_f64().unwrap()));
            theirs.push((country, "total_amount".into(), r[1].as_f64().unwrap()));
        }
        theirs.sort_by(|a, b| a.partial_cmp(b).unwrap());
        assert_eq!(
            ours.len(),
            theirs.len(),
            "{}: {ours:?} vs {theirs:?}",
            shop.kind
        );
        assert!(
            ours.len() >= 8,
            "{}: four countries, two metrics: {ours:?}",
            shop.kind
        );
        for (a, b) in ours.iter().zip(&theirs) {
            assert_eq!((&a.0, &a.1), (&b.0, &b.1), "{}", shop.kind);
            assert!((a.2 - b.2).abs() < 0.005, "{}: {a:?} vs {b:?}", shop.kind);
        }
        totals.push(ours);

        // A wrong column: the check fails, naming the key and the nearest column.
        let broken_toml = toml.replace("column = \"amount\"", "column = \"amonut\"");
        assert_ne!(broken_toml, toml);
        let broken = tally::catalog::Catalog::from_toml(&broken_toml, "broken.toml").unwrap();
        let findings = tally::inspect::check(&broken, engine.warehouse(), &limits)
            .await
            .unwrap();
        let errors: Vec<(&str, &str, &str)> = findings
            .iter()
            .filter(|f| f.level == tally::inspect::Level::Error)
            .map(|f| (f.code, f.key.as_str(), f.message.as_str()))
            .collect();
        assert_eq!(errors.len(), 1, "{}: {errors:?}", shop.kind);
        assert_eq!(
            (errors[0].0, errors[0].1),
            ("missing_column", "metrics.total_amount")
        );
        assert!(
            errors[0].2.contains("nearest: `amount`"),
            "{}: {errors:?}",
            shop.kind
        );
    }
    // And the engines agree with each other.
    for t in &totals[1..] {
        assert_eq!(t.len(), totals[0].len());
        for (a, b) in t.iter().zip(&totals[0]) {
            assert!(
                (a.2 - b.2).abs() < 0.005 && a.0 == b.0 && a.1 == b.1,
                "{a:?} vs {b:?}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
