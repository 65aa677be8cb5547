//! The Citus routing property, proven locally: with `events` hash-partitioned by `workspace_id`
//! in PostgreSQL, the plans of the SQL Tally generates scan exactly one partition, because every
//! query filters on the tenant column with a bound value.
//!
//! Runs against the PostgreSQL on 127.0.0.1:5432: `#[ignore]`d, run by `cargo test -- --ignored`
//! (as `.ci/run` does), and failing when PostgreSQL is unreachable.

use std::collections::BTreeSet;
use std::sync::Arc;

use sqlx::postgres::{PgArguments, PgPoolOptions};
use sqlx::{Arguments, Executor, PgPool, Row};
use tally::catalog::Catalog;
use tally::check::Checker;
use tally::pipeline::compile_only;
use tally::plan::Clock;
use tally::sql::{Dialect, Param};

const SCHEMA: &str = "tally_pruning";
const PARTITIONS: usize = 8;

async fn connect() -> PgPool {
    let urls = [
        std::env::var("TALLY_TEST_POSTGRES_URL").unwrap_or_default(),
        "postgres://postgres@127.0.0.1:5432/test".into(),
        "postgres://root@127.0.0.1:5432/test".into(),
    ];
    for url in urls.iter().filter(|u| !u.is_empty()) {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(std::time::Duration::from_secs(5))
            // Plan with the bound values, as a first execution does: pruning happens at plan time.
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(sqlx::AssertSqlSafe(format!(
                        "SET plan_cache_mode = force_custom_plan; SET search_path = {SCHEMA}, public"
                    )))
                    .await
                    .map(|_| ())
                })
            })
            .connect(url)
            .await;
        if let Ok(pool) = pool {
            return pool;
        }
    }
    panic!("PostgreSQL not reachable at 127.0.0.1:5432 (start it: see .ci/run)");
}

async fn create_partitioned_events(pool: &PgPool) {
    let mut ddl = vec![
        format!("DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"),
        format!("CREATE SCHEMA {SCHEMA}"),
        format!(
            "CREATE TABLE {SCHEMA}.events (workspace_id VARCHAR(255) NOT NULL, event_id BIGINT NOT NULL, \
             user_id BIGINT NOT NULL, session_id BIGINT NOT NULL, event_name TEXT NOT NULL, ts TIMESTAMP NOT NULL, \
             properties TEXT, PRIMARY KEY (workspace_id, event_id)) PARTITION BY HASH (workspace_id)"
        ),
    ];
    for i in 0..PARTITIONS {
        ddl.push(format!(
            "CREATE TABLE {SCHEMA}.events_p{i} PARTITION OF {SCHEMA}.events \
             FOR VALUES WITH (MODULUS {PARTITIONS}, REMAINDER {i})"
        ));
    }
    ddl.push(format!(
        "CREATE INDEX ON {SCHEMA}.events (workspace_id, ts)"
    ));
    ddl.push(format!(
        "INSERT INTO {SCHEMA}.events SELECT w, g, g % 50, g % 200, 'page_view', \
         TIMESTAMP '2026-11-01' + (g || ' minutes')::interval, NULL \
         FROM generate_series(1, 3000) g, unnest(ARRAY['acme', 'globex', 'initech', 'umbrella']) w"
    ));
    ddl.push(format!("ANALYZE {SCHEMA}.events"));
    for statement in ddl {
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(pool)
            .await
            .expect("create the partitioned events table");
    }
}

fn bind(params: &[Param]) -> PgArguments {
    let mut args = PgArguments::default();
    for p in params {
        match p {
            Param::Text(s) => args.add(s.clone()),
            Param::Int(i) => args.add(*i),
            Param::Float(f) => args.add(*f),
            Param::Timestamp(t) => args.add(*t),
        }
        .expect("bind");
    }
    args
}

/// A partition name such as `events_p3` (not an index name built from it).
fn is_partition(word: &str) -> bool {
    word.strip_prefix("events_p")
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

#[tokio::test]
#[ignore = "needs PostgreSQL on 127.0.0.1: cargo test -- --ignored"]
async fn generated_queries_scan_one_partition() {
    let pool = connect().await;
    create_partitioned_events(&pool).await;

    let checker = Checker::new(Arc::new(Catalog::embedded_default()));
    let clock = Clock::fixed("2026-11-23".parse().unwrap());
    let queries = [
        r#"{"kind":"metric","metrics":["dau"],"period":{"preset":"last_week"},"compare":"previous_period"}"#,
        r#"{"kind":"metric","metrics":["events"],"period":{"last_n":{"count":30,"unit":"day"}},"granularity":"week","filters":[{"dimension":"event_name","op":"eq","values":["page_view"]}]}"#,
        r#"{"kind":"metric","metrics":["checkout_conversion"],"period":{"preset":"this_month"}}"#,
    ];
    let mut checked = 0;
    for raw in queries {
        let statements = compile_only(
            &checker,
            raw.as_bytes(),
            "analyst",
            "acme",
            &clock,
            Dialect::Postgres,
        )
        .expect("compiles");
        for s in statements {
            let explain = format!("EXPLAIN (COSTS OFF) {}", s.sql);
            let rows = sqlx::query_with(sqlx::AssertSqlSafe(explain), bind(&s.params))
                .fetch_all(&pool)
                .await
                .expect("explain");
            let plan: Vec<String> = rows.iter().map(|r| r.get::<String, _>(0)).collect();
            let scanned: BTreeSet<&str> = plan
                .iter()
                .flat_map(|line| line.split_whitespace())
                .filter(|w| is_partition(w))
                .collect();
            assert_eq!(
                scanned.len(),
                1,
                "expected one partition for {}:\n{}",
                s.sql,
                plan.join("\n")
            );
            checked += 1;
        }
    }
    assert!(checked >= 4, "checked {checked} statements");

    // The control: without the tenant predicate every partition is scanned.
    let rows = sqlx::query("EXPLAIN (COSTS OFF) SELECT COUNT(*) FROM events")
        .fetch_all(&pool)
        .await
        .unwrap();
    let plan: String = rows.iter().map(|r| r.get::<String, _>(0) + "\n").collect();
    let all: BTreeSet<&str> = plan
        .split_whitespace()
        .filter(|w| is_partition(w))
        .collect();
    assert_eq!(all.len(), PARTITIONS, "{plan}");
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {SCHEMA} CASCADE")))
        .execute(&pool)
        .await
        .unwrap();
}
