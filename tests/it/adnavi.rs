//! The second domain, `examples/adnavi`: its golden questions checked against SQL written by
//! hand on its real demo warehouse, the workspace reached only through the facts' join to
//! `entities` (in every statement, on every dialect, and in the numbers), the generator's
//! invariants and determinism, and the `tally` binary driven with `--catalog`.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use common::{adnavi_db, catalog_named, date, engine_for, END_DATE, SEED};
use serde_json::{json, Value};
use sqlx::Row;
use tally::check::Checker;
use tally::demo::{self, DemoOptions};
use tally::pipeline::{self, Engine, Outcome};
use tally::plan::Clock;
use tally::sql::{Dialect, Param};

/// The day the adnavi golden cases are asked on (a Friday inside the demo's data).
const TODAY: &str = "2026-11-20";
const WORKSPACES: [&str; 3] = ["acme", "globex", "initech"];

async fn hand_pool() -> sqlx::SqlitePool {
    sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            sqlx::sqlite::SqliteConnectOptions::new()
                .filename(adnavi_db().await)
                .read_only(true),
        )
        .await
        .expect("open the adnavi warehouse for hand SQL")
}

async fn run(engine: &Engine, dsl: &Value, role: &str, workspace: &str) -> Value {
    let raw = serde_json::to_vec(dsl).unwrap();
    let (r, _) = engine
        .run(&raw, role, workspace, &Clock::fixed(date(TODAY)))
        .await
        .expect("the pipeline runs");
    assert_eq!(r.outcome, Outcome::Answered, "{}", r.answer);
    serde_json::to_value(&r).unwrap()
}

fn case(name: &str) -> Value {
    let path = format!("{}/golden/cases/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let case: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(case["catalog"], "adnavi", "{name}");
    assert_eq!(case["today"], TODAY, "{name}");
    case
}

async fn run_case(engine: &Engine, name: &str) -> Value {
    let c = case(name);
    run(
        engine,
        &c["dsl"],
        c["role"].as_str().unwrap(),
        c["workspace"].as_str().unwrap(),
    )
    .await
}

/// (sum of revenue, sum of spend, sum of conversions) per group for facts of one workspace
/// in [start, end), grouped by `group` (a column of `entities`, or a constant).
async fn sums(
    pool: &sqlx::SqlitePool,
    workspace: &str,
    start: &str,
    end: &str,
    group: &str,
    extra: &str,
) -> BTreeMap<String, (i64, i64, i64)> {
    let sql = format!(
        "SELECT {group} AS g, SUM(f.revenue), SUM(f.spend), SUM(f.conversions) \
         FROM metric_facts f JOIN entities e ON e.entity_id = f.entity_id \
         WHERE e.workspace_id = '{workspace}' AND f.event_date >= '{start}' \
         AND f.event_date < '{end}' {extra} GROUP BY g"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await
        .expect("hand SQL runs")
        .iter()
        .map(|row| {
            (
                row.get::<String, _>(0),
                (row.get(1), row.get(2), row.get(3)),
            )
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn number(v: &Value, pointer: &str) -> f64 {
    v.pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("no number at {pointer} in {v}"))
}

#[tokio::test]
async fn golden_questions_match_hand_written_sql() {
    let (engine, pool) = (engine_for("adnavi").await, hand_pool().await);

    // "What's my ROAS this week?": Monday 16 to Friday 20 November.
    let r = run_case(&engine, "adnavi_roas_this_week").await;
    let week = sums(&pool, "acme", "2026-11-16", "2026-11-21", "'all'", "").await["all"];
    assert!(week.1 > 0);
    let roas = number(&r, "/data/summary/0/value");
    assert!(
        close(roas, week.0 as f64 / week.1 as f64),
        "{roas} vs {week:?}"
    );

    // "Show me revenue from active Google campaigns this month".
    let r = run_case(&engine, "adnavi_revenue_active_google_this_month").await;
    let filtered = sums(
        &pool,
        "acme",
        "2026-11-01",
        "2026-11-21",
        "'all'",
        "AND e.provider = 'google' AND e.status = 'active'",
    )
    .await["all"];
    assert_eq!(number(&r, "/data/summary/0/value"), filtered.0 as f64);
    // The filter matters: a paused Google campaign spent earlier this month.
    let all_google = sums(
        &pool,
        "acme",
        "2026-11-01",
        "2026-11-21",
        "'all'",
        "AND e.provider = 'google'",
    )
    .await["all"];
    assert!(all_google.0 > filtered.0, "{all_google:?} vs {filtered:?}");

    // "Which campaigns had the best ROAS this quarter vs last quarter?": 1 Oct to 20 Nov against
    // 1 Jul to 20 Aug, per campaign, best first, name breaking ties.
    let r = run_case(&engine, "adnavi_campaigns_best_roas_this_quarter_vs_last").await;
    let now = sums(&pool, "acme", "2026-10-01", "2026-11-21", "e.name", "").await;
    let before = sums(&pool, "acme", "2026-07-01", "2026-08-21", "e.name", "").await;
    let ratio =
        |(revenue, spend, _): (i64, i64, i64)| (spend != 0).then(|| revenue as f64 / spend as f64);
    let mut expected: Vec<(String, f64)> = now
        .iter()
        .filter_map(|(name, s)| ratio(*s).map(|v| (name.clone(), v)))
        .collect();
    expected.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let breakdown = r["data"]["breakdown"].as_array().expect("a breakdown");
    assert_eq!(breakdown.len(), expected.len().min(10));
    for (row, (name, value)) in breakdown.iter().zip(&expected) {
        assert_eq!(row["dimensions"]["campaign"], json!(name));
        assert!(close(number(row, "/value"), *value), "{name}");
        match before.get(name).copied().and_then(ratio) {
            Some(previous) => assert!(close(number(row, "/previous"), previous), "{name}"),
            // Launched this quarter: no previous value, and no delta made up for it.
            None => assert!(row.get("previous").is_none_or(Value::is_null), "{row}"),
        }
    }
    let total_now = sums(&pool, "acme", "2026-10-01", "2026-11-21", "'all'", "").await["all"];
    let total_before = sums(&pool, "acme", "2026-07-01", "2026-08-21", "'all'", "").await["all"];
    assert!(close(
        number(&r, "/data/summary/0/value"),
        ratio(total_now).unwrap()
    ));
    assert!(close(
        number(&r, "/data/summary/0/previous"),
        ratio(total_before).unwrap()
    ));

    // Zero guard: a campaign without conversions has a null CPA, the others a number.
    let r = run_case(&engine, "adnavi_cpa_by_campaign_zero_conversions").await;
    let october = sums(&pool, "initech", "2026-10-01", "2026-11-01", "e.name", "").await;
    let cpa_rows: Vec<&Value> = r["data"]["breakdown"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["metric"] == "cpa")
        .collect();
    assert_eq!(cpa_rows.len(), october.len());
    let mut nulls = 0;
    for row in cpa_rows {
        let (_, spend, conversions) = october[row["dimensions"]["campaign"].as_str().unwrap()];
        if conversions == 0 {
            assert!(row["value"].is_null(), "{row}");
            nulls += 1;
        } else {
            assert!(close(
                number(row, "/value"),
                spend as f64 / conversions as f64
            ));
        }
    }
    assert_eq!(nulls, 1, "the TikTok test campaign never converts");
}

/// Every statement for every dialect joins `entities` with the workspace predicate in the ON
/// clause and binds the caller's workspace; the numbers of each workspace are its own, and the
/// workspaces together account for every fact exactly once.
#[tokio::test]
async fn a_query_never_returns_another_workspaces_rows() {
    let catalog = Arc::new(catalog_named("adnavi"));
    let checker = Checker::new(catalog.clone());
    let clock = Clock::fixed(date(TODAY));
    let dsls = [
        json!({"kind": "metric", "metrics": ["spend", "roas", "ctr"], "period": {"preset": "this_month"}}),
        json!({"kind": "metric", "metrics": ["revenue"], "period": {"preset": "last_week"}, "granularity": "day", "compare": "previous_year"}),
        json!({"kind": "metric", "metrics": ["cpa", "cpc"], "period": {"last_n": {"count": 30, "unit": "day"}},
               "group_by": ["campaign", "provider"], "filters": [{"dimension": "status", "op": "neq", "values": ["paused"]}]}),
        json!({"kind": "overview", "period": {"preset": "last_month"}, "compare": "previous_period"}),
    ];
    for dsl in &dsls {
        let raw = serde_json::to_vec(dsl).unwrap();
        for dialect in Dialect::ALL {
            let (q, placeholder) = match dialect {
                Dialect::Mysql => ("`", "?"),
                Dialect::Postgres => ("\"", "$1"),
                Dialect::Sqlite => ("\"", "?"),
            };
            let scoped_join = format!(
                "FROM {q}metric_facts{q} AS {q}t0{q} INNER JOIN {q}entities{q} AS {q}t1{q} \
                 ON {q}t1{q}.{q}entity_id{q} = {q}t0{q}.{q}entity_id{q} \
                 AND {q}t1{q}.{q}workspace_id{q} = {placeholder} "
            );
            let statements =
                pipeline::compile_only(&checker, &raw, "analyst", "globex", &clock, dialect)
                    .unwrap_or_else(|e| panic!("{dsl} compiles: {e:?}"));
            assert!(!statements.is_empty());
            for s in statements {
                assert!(s.sql.contains(&scoped_join), "{dialect:?}: {}", s.sql);
                // One FROM and one mention of `entities`: no subquery or second join escapes it.
                assert_eq!(s.sql.matches("FROM ").count(), 1, "{}", s.sql);
                assert_eq!(s.sql.matches("entities").count(), 1, "{}", s.sql);
                assert_eq!(s.params.first(), Some(&Param::Text("globex".into())));
            }
        }
    }

    // The numbers: campaign names repeat across workspaces ("Brand Search", "Retargeting"), so
    // a leak would show up in each workspace's breakdown.
    let (engine, pool) = (engine_for("adnavi").await, hand_pool().await);
    let everything = json!({"kind": "metric", "metrics": ["spend", "clicks"],
        "period": {"between": {"start": "2025-01-01", "end": TODAY}}, "group_by": ["campaign"], "top_n": 50});
    let mut spend_over_workspaces = 0.0;
    for workspace in WORKSPACES {
        let r = run(&engine, &everything, "analyst", workspace).await;
        let hand = sums(&pool, workspace, "2025-01-01", "2026-11-21", "e.name", "").await;
        let got: BTreeMap<String, f64> = r["data"]["breakdown"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|row| row["metric"] == "spend")
            .map(|row| {
                (
                    row["dimensions"]["campaign"].as_str().unwrap().to_owned(),
                    number(row, "/value"),
                )
            })
            .collect();
        let want: BTreeMap<String, f64> =
            hand.iter().map(|(k, v)| (k.clone(), v.1 as f64)).collect();
        assert_eq!(got, want, "{workspace}");
        spend_over_workspaces += number(&r, "/data/summary/0/value");
    }
    let all_facts: i64 = sqlx::query_scalar(
        "SELECT SUM(spend) FROM metric_facts WHERE event_date >= '2025-01-01' AND event_date < '2026-11-21'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(spend_over_workspaces, all_facts as f64);
    let brand: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT workspace_id FROM entities WHERE name = 'Brand Search' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        brand, WORKSPACES,
        "the same campaign name in every workspace"
    );

    // A workspace with no entities sees no facts at all.
    let r = run(&engine, &everything, "analyst", "umbrella").await;
    assert!(r["data"]["breakdown"].as_array().unwrap().is_empty(), "{r}");
    assert!(
        number(&r, "/data/summary/0/value") == 0.0 || r["data"]["summary"][0]["value"].is_null()
    );
}

#[tokio::test]
async fn the_generator_is_deterministic_and_keeps_the_catalogs_contract() {
    let dir = tempfile::tempdir().unwrap();
    let options = DemoOptions {
        seed: SEED,
        end_date: date(END_DATE),
        scale: 1.0,
    };
    let (first, second, reseeded) = (
        dir.path().join("a.db"),
        dir.path().join("b.db"),
        dir.path().join("c.db"),
    );
    for (path, seed) in [(&first, SEED), (&second, SEED), (&reseeded, SEED + 1)] {
        demo::write_sqlite(
            path,
            &tally::examples::adnavi().generator,
            &DemoOptions { seed, ..options },
            &mut |_| {},
        )
        .await
        .expect("the generator writes");
    }
    let bytes = |p: &Path| std::fs::read(p).unwrap();
    assert!(bytes(&first) == bytes(&second), "same options, same bytes");
    assert!(
        bytes(&first) != bytes(&reseeded),
        "another seed, other data"
    );

    let pool = hand_pool().await;
    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .expect(sql)
        }
    };
    for (what, sql) in [
        ("facts of something other than a campaign",
         "SELECT COUNT(*) FROM metric_facts f LEFT JOIN entities e ON e.entity_id = f.entity_id \
          WHERE e.level IS NOT 'campaign'"),
        ("clicks above impressions or conversions above clicks",
         "SELECT COUNT(*) FROM metric_facts WHERE clicks > impressions OR conversions > clicks \
          OR spend < 0 OR revenue < 0"),
        ("revenue without conversions", "SELECT COUNT(*) FROM metric_facts WHERE conversions = 0 AND revenue <> 0"),
        ("facts outside the history or not at midnight",
         "SELECT COUNT(*) FROM metric_facts WHERE event_date < '2025-08-25' OR event_date > '2026-11-22 00:00:00' \
          OR event_date NOT LIKE '% 00:00:00'"),
        ("children in another workspace, provider or level than their parent",
         "SELECT COUNT(*) FROM entities c JOIN entities p ON p.entity_id = c.parent_id \
          WHERE c.workspace_id <> p.workspace_id OR c.provider <> p.provider \
          OR NOT ((c.level = 'adset' AND p.level = 'campaign') OR (c.level = 'ad' AND p.level = 'adset'))"),
        ("campaigns with a parent, or others without one",
         "SELECT COUNT(*) FROM entities WHERE (level = 'campaign') <> (parent_id IS NULL)"),
        ("active children of paused campaigns",
         "SELECT COUNT(*) FROM entities c JOIN entities p ON p.entity_id = c.parent_id \
          WHERE p.status = 'paused' AND c.status = 'active'"),
        ("paused campaigns still delivering on the last day",
         "SELECT COUNT(*) FROM metric_facts f JOIN entities e ON e.entity_id = f.entity_id \
          WHERE e.status = 'paused' AND f.event_date >= '2026-11-22'"),
        ("active campaigns not delivering on the last day",
         "SELECT COUNT(*) FROM entities e WHERE e.level = 'campaign' AND e.status = 'active' \
          AND NOT EXISTS (SELECT 1 FROM metric_facts f WHERE f.entity_id = e.entity_id AND f.event_date >= '2026-11-22')"),
        ("campaign names repeated inside a workspace",
         "SELECT COUNT(*) FROM (SELECT workspace_id, name FROM entities WHERE level = 'campaign' \
          GROUP BY 1, 2 HAVING COUNT(*) > 1)"),
    ] {
        assert_eq!(count(sql).await, 0, "{what}");
    }
    assert!(
        count("SELECT COUNT(*) FROM entities WHERE level = 'campaign' AND status = 'paused'").await
            >= 3
    );
    assert_eq!(
        count("SELECT COUNT(DISTINCT workspace_id) FROM entities").await,
        3
    );

    // Every value of a dimension with known values is one of the catalog's.
    let catalog = catalog_named("adnavi");
    for dimension in catalog.dimensions.values().filter(|d| !d.values.is_empty()) {
        let (table, column) = &dimension.bindings[0];
        let sql = format!("SELECT DISTINCT {column} FROM {table} ORDER BY 1");
        let found: BTreeSet<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_all(&pool)
            .await
            .unwrap()
            .into_iter()
            .collect();
        let allowed: BTreeSet<String> = dimension.values.iter().cloned().collect();
        assert_eq!(found, allowed, "{}", dimension.name);
    }
}

fn tally(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(args)
        .env(
            "TALLY_HOME",
            std::env::temp_dir().join("tally-adnavi-test-home"),
        )
        .output()
        .expect("run tally")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every data subcommand takes the adnavi catalog through the global `--catalog`.
#[test]
fn the_binary_serves_adnavi_with_catalog() {
    let catalog = format!(
        "{}/examples/adnavi/catalog.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("adnavi.db");
    let db_arg = db.to_str().unwrap();
    let out = tally(&[
        "--catalog",
        &catalog,
        "gen-demo",
        "--out",
        db_arg,
        "--end-date",
        END_DATE,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let warehouse = format!("sqlite://{db_arg}");

    let q = dir.path().join("q.json");
    std::fs::write(
        &q,
        json!({"kind": "metric", "metrics": ["roas"], "period": {"preset": "this_week"}})
            .to_string(),
    )
    .unwrap();
    let q = q.to_str().unwrap();
    let common = [
        "--workspace",
        "acme",
        "--today",
        TODAY,
        "--warehouse",
        &warehouse,
    ];
    let out = tally(
        &[
            &[
                "--catalog",
                &catalog,
                "run",
                q,
                "--role",
                "marketer",
                "--json",
            ][..],
            &common,
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let response: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(response["answer"].as_str().unwrap().starts_with(
        "ROAS (all providers and statuses) this week (Mon 16 – Fri 20 Nov 2026) was "
    ));
    assert!(response["sql"].is_null(), "marketers do not see SQL");

    let out = tally(
        &[
            &[
                "--catalog",
                &catalog,
                "ask",
                "What's my ROAS this week?",
                "--role",
                "marketer",
                "--json",
            ][..],
            &common,
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let asked: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        asked["data"], response["data"],
        "ask and run give the same numbers"
    );

    let out = tally(&[
        "--catalog",
        &catalog,
        "run",
        q,
        "--role",
        "viewer",
        "--workspace",
        "acme",
        "--today",
        TODAY,
        "--warehouse",
        &warehouse,
    ]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "viewers see no money: {}",
        stdout(&out)
    );

    let out = tally(&[
        "--catalog",
        &catalog,
        "compile",
        q,
        "--role",
        "analyst",
        "--workspace",
        "acme",
        "--dialect",
        "postgres",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains(r#"INNER JOIN "entities" AS "t1" ON "t1"."entity_id" = "t0"."entity_id" AND "t1"."workspace_id" = $1"#), "{}", stdout(&out));

    let out = tally(&["--catalog", &catalog, "schema", "--role", "viewer"]);
    assert_eq!(out.status.code(), Some(0));
    let schema = stdout(&out);
    assert!(
        schema.contains("\"ctr\"") && !schema.contains("\"spend\"") && !schema.contains("\"dau\"")
    );

    let out = tally(&[
        "--catalog",
        &catalog,
        "demo",
        "--showcase",
        "--today",
        TODAY,
        "--warehouse",
        &warehouse,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let showcase = stdout(&out);
    assert!(showcase.contains("catalog adnavi"), "{showcase}");
    assert_eq!(showcase.matches("answered —").count(), 7, "{showcase}");
    assert_eq!(showcase.matches("refused —").count(), 1, "{showcase}");

    // The default catalog is still Metrica: adnavi's metrics are unknown there.
    let out = tally(&[
        "run",
        q,
        "--role",
        "analyst",
        "--workspace",
        "acme",
        "--today",
        TODAY,
        "--warehouse",
        &warehouse,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
}

/// A question the rules cannot map is answered with this catalog's own example phrasings,
/// never another domain's.
#[test]
fn clarifications_offer_the_catalogs_own_example_questions() {
    use tally::translate::rules::Rules;
    use tally::translate::Translation;
    let catalog = catalog_named("adnavi");
    let rules = Rules::new(&catalog);
    let Translation::Clarify(c) =
        rules.translate("what is the weather", &catalog, date("2026-11-23"), None)
    else {
        panic!("an unmappable question is clarified");
    };
    assert_eq!(c.unmapped, ["weather"]);
    assert!(
        c.suggestions
            .iter()
            .any(|s| s == "What's my ROAS this week?"),
        "{c:?}"
    );
    assert!(!c.suggestions.iter().any(|s| s.contains("DAU")), "{c:?}");
}
