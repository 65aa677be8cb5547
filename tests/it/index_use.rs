//! Every golden case's SQL reads its tables through an index: on the SQLite demo warehouse,
//! `EXPLAIN QUERY PLAN` of each statement (with its real bound values) names no full scan of a
//! catalog table, only index searches (subqueries the statement builds itself may be scanned);
//! on PostgreSQL (`#[ignore]`d, run by `cargo test -- --ignored`), with sequential scans priced
//! out, every node reading a catalog table seeks an index by a condition; on MariaDB/MySQL
//! (`#[ignore]`d too), with index seeks assumed cheap, `EXPLAIN FORMAT=JSON` reads no catalog
//! table whole (no `ALL` scan, no full `index` walk).
//! A missing index in an example's DDL, or SQL that stops using the tenant-and-time prefix,
//! fails here before it becomes a slow query at scale (issue 14: the funnel's self-join ran
//! 10.7 s at scale 10 without `(workspace_id, user_id, ts)`).

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;
use sqlx::Row;
use tally::check::Checker;
use tally::pipeline;
use tally::plan::Clock;
use tally::sql::{Dialect, Param, Statement};

/// The aliases the statement gives to catalog tables (`FROM "events" AS "t0"`, joins alike).
fn table_aliases(sql: &str, tables: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let words: Vec<&str> = sql.split_whitespace().collect();
    for w in words.windows(3) {
        let name = w[0].trim_matches('"');
        if w[1].eq_ignore_ascii_case("AS") && tables.contains(name) {
            out.insert(
                w[2].trim_matches(|c| c == '"' || c == ',' || c == ')')
                    .to_string(),
            );
        }
    }
    out
}

async fn plan_lines(pool: &sqlx::SqlitePool, statement: &Statement) -> Vec<String> {
    let sql = format!("EXPLAIN QUERY PLAN {}", statement.sql);
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for p in &statement.params {
        query = match p {
            Param::Text(s) => query.bind(s.clone()),
            Param::Int(i) => query.bind(*i),
            Param::Float(f) => query.bind(*f),
            Param::Timestamp(t) => query.bind(t.format("%Y-%m-%d %H:%M:%S").to_string()),
        };
    }
    query
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>("detail"))
        .collect()
}

/// Every golden case that compiles, as (case name, catalog name, its statements in `dialect`).
fn compiled_golden_cases(dialect: Dialect) -> Vec<(String, String, Vec<Statement>)> {
    let mut checkers: BTreeMap<String, Checker> = BTreeMap::new();
    let mut out = Vec::new();
    for case in common::engines::all_golden_cases() {
        let raw: Vec<u8> = match case.get("raw") {
            Some(Value::String(s)) => s.as_bytes().to_vec(),
            _ => serde_json::to_vec(&case["dsl"]).unwrap(),
        };
        let catalog = common::case_catalog(&case).to_string();
        let checker = checkers
            .entry(catalog.clone())
            .or_insert_with(|| Checker::new(Arc::new(common::catalog_named(&catalog))));
        let clock = Clock::fixed(case["today"].as_str().unwrap().parse().unwrap());
        // Refused or invalid cases have no SQL to read.
        if let Ok(statements) = pipeline::compile_only(
            checker,
            &raw,
            case["role"].as_str().unwrap(),
            case["workspace"].as_str().unwrap(),
            &clock,
            dialect,
        ) {
            out.push((
                case["name"].as_str().unwrap().to_string(),
                catalog,
                statements,
            ));
        }
    }
    out
}

fn tables_of(catalog: &str) -> BTreeSet<String> {
    common::catalog_named(catalog)
        .tables
        .keys()
        .cloned()
        .collect()
}

/// The plan lines of `statement` that scan a catalog table whole: `SCAN t0` is a full scan,
/// `SCAN t0 USING [COVERING] INDEX …` walks an index, `SEARCH …` seeks one, and a `SCAN` of a
/// subquery the statement builds itself (`SCAN c2`) reads rows already narrowed.
async fn full_scans(
    pool: &sqlx::SqlitePool,
    statement: &Statement,
    tables: &BTreeSet<String>,
) -> Vec<String> {
    let aliases = table_aliases(&statement.sql, tables);
    plan_lines(pool, statement)
        .await
        .into_iter()
        .filter(|line| {
            let mut words = line.split_whitespace();
            words.next() == Some("SCAN")
                && words.next().is_some_and(|t| aliases.contains(t))
                && !line.contains("INDEX")
        })
        .collect()
}

/// Every golden case's statements in `dialect` through `full_scans` (what the engine's plan of
/// the statement reads of its catalog's tables without an index, given the case's catalog name,
/// the statement and that catalog's tables): fails naming each case that scans, or when fewer
/// than 100 statements compiled. Returns what `full_scans` finds in `control`, a statement on
/// Metrica's tables that must scan, for the caller to assert: a check that sees nothing fails.
async fn golden_cases_read_through_an_index<F, Fut>(
    dialect: Dialect,
    full_scans: F,
    control: Statement,
) -> Vec<String>
where
    F: Fn(&str, Statement, BTreeSet<String>) -> Fut,
    Fut: std::future::Future<Output = Vec<String>>,
{
    let (mut scans, mut statements) = (Vec::new(), 0);
    let mut tables: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (case, catalog, compiled) in compiled_golden_cases(dialect) {
        let tables = tables
            .entry(catalog.clone())
            .or_insert_with(|| tables_of(&catalog));
        for statement in compiled {
            statements += 1;
            for found in full_scans(&catalog, statement, tables.clone()).await {
                scans.push(format!("{case}: {found}"));
            }
        }
    }
    assert!(statements > 100, "only {statements} statements compiled");
    assert!(
        scans.is_empty(),
        "full scans of catalog tables:\n{}",
        scans.join("\n")
    );
    full_scans("metrica", control, tables_of("metrica")).await
}

/// A statement's bound values as an engine's arguments (PostgreSQL's, MySQL's).
fn arguments<A>(params: &[Param]) -> A
where
    A: sqlx::Arguments,
    for<'t> String: sqlx::Encode<'t, A::Database> + sqlx::Type<A::Database>,
    for<'t> i64: sqlx::Encode<'t, A::Database> + sqlx::Type<A::Database>,
    for<'t> f64: sqlx::Encode<'t, A::Database> + sqlx::Type<A::Database>,
    for<'t> chrono::NaiveDateTime: sqlx::Encode<'t, A::Database> + sqlx::Type<A::Database>,
{
    let mut args = A::default();
    for p in params {
        match p {
            Param::Text(s) => args.add(s.clone()),
            Param::Int(i) => args.add(*i),
            Param::Float(f) => args.add(*f),
            Param::Timestamp(t) => args.add(*t),
        }
        .unwrap();
    }
    args
}

/// The control: a count of Metrica's signups on one device, with no tenant or time
/// predicate, which no index serves (`sql` in the engine's quoting and placeholders).
fn unscoped_count(sql: &str) -> Statement {
    Statement {
        rollup: None,
        merged: None,
        sql: sql.into(),
        params: vec![Param::Text("android".into())],
        columns: Vec::new(),
    }
}

/// A one-connection pool on the engine at `url` with every example's demo loaded, each
/// connection set up by `setup` (what makes a plan keep a scan only where no index could
/// replace it).
async fn explain_pool<DB>(
    kind: common::engines::Kind,
    url: &str,
    setup: &'static str,
) -> sqlx::Pool<DB>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    use common::engines::{demos, ensure_demo_loaded};
    for demo in demos() {
        ensure_demo_loaded(kind, url, &demo).await;
    }
    sqlx::pool::PoolOptions::<DB>::new()
        .max_connections(1)
        .after_connect(move |conn, _| {
            Box::pin(async move { sqlx::Executor::execute(conn, setup).await.map(|_| ()) })
        })
        .connect(url)
        .await
        .unwrap()
}

#[tokio::test]
async fn every_golden_case_reads_its_tables_through_an_index_on_sqlite() {
    let mut pools: BTreeMap<&str, sqlx::SqlitePool> = BTreeMap::new();
    pools.insert(
        "metrica",
        common::read_only_pool(&common::demo_db().await).await,
    );
    pools.insert(
        "adnavi",
        common::read_only_pool(&common::adnavi_db().await).await,
    );
    // The check sees a full scan when there is one: a count with no tenant or time predicate.
    let unscoped = unscoped_count(
        r#"SELECT COUNT(*) AS "n" FROM "user_profiles" AS "t0" WHERE "t0"."device" = ?"#,
    );
    let found = golden_cases_read_through_an_index(
        Dialect::Sqlite,
        |catalog, statement, tables| {
            let pool = pools
                .get(catalog)
                .unwrap_or_else(|| panic!("no demo warehouse for `{catalog}`"))
                .clone();
            async move { full_scans(&pool, &statement, &tables).await }
        },
        unscoped,
    )
    .await;
    assert_eq!(found, ["SCAN t0"]);
}

/// Catalog tables a PostgreSQL plan (`EXPLAIN (FORMAT JSON)`) reads without an index condition:
/// a `Seq Scan`, or an index walked whole. A bitmap heap scan is fed by its index scan child.
fn pg_full_scans(node: &Value, tables: &BTreeSet<String>, out: &mut Vec<String>) {
    let kind = node["Node Type"].as_str().unwrap_or_default();
    if let Some(table) = node["Relation Name"].as_str() {
        let seeks = node.get("Index Cond").is_some() || kind == "Bitmap Heap Scan";
        if tables.contains(table) && !seeks {
            out.push(format!("{kind} on {table}"));
        }
    }
    for child in node["Plans"].as_array().into_iter().flatten() {
        pg_full_scans(child, tables, out);
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL on 127.0.0.1: cargo test -- --ignored"]
async fn every_golden_case_reads_its_tables_through_an_index_on_postgresql() {
    use common::engines::{reach, Kind};
    use sqlx::postgres::{PgArguments, Postgres};

    let reached = reach(Kind::Postgres).await;
    // Plan with the bound values, and price sequential scans out: a seq scan left in the plan
    // is one no index could replace.
    let pool = explain_pool::<Postgres>(
        Kind::Postgres,
        &reached.url,
        "SET plan_cache_mode = force_custom_plan; SET enable_seqscan = off",
    )
    .await;
    // The check sees a full scan when there is one.
    let control = unscoped_count(
        r#"SELECT COUNT(*) AS "n" FROM "user_profiles" AS "t0" WHERE "t0"."device" = $1"#,
    );
    let found = golden_cases_read_through_an_index(
        Dialect::Postgres,
        |_, statement, tables| {
            let pool = pool.clone();
            async move {
                let sql = format!("EXPLAIN (FORMAT JSON) {}", statement.sql);
                let args: PgArguments = arguments(&statement.params);
                let row = sqlx::query_with(sqlx::AssertSqlSafe(sql), args)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                let plan: Value = row.get(0);
                let mut found = Vec::new();
                pg_full_scans(&plan[0]["Plan"], &tables, &mut found);
                found
            }
        },
        control,
    )
    .await;
    assert_eq!(found.len(), 1, "{found:?}");
}

/// Catalog tables a MariaDB/MySQL plan (`EXPLAIN FORMAT=JSON`) reads whole: `access_type`
/// `ALL` (a table scan) or `index` (an index walked end to end). `table_name` is the alias the
/// statement gave the table; derived tables and subqueries the statement builds (`<derived2>`,
/// `<subquery3>`) read rows already narrowed.
fn mysql_full_scans(node: &Value, aliases: &BTreeSet<String>, out: &mut Vec<String>) {
    match node {
        Value::Object(map) => {
            if let (Some(Value::String(name)), Some(Value::String(access))) =
                (map.get("table_name"), map.get("access_type"))
            {
                if aliases.contains(name) && (access == "ALL" || access == "index") {
                    out.push(format!("{access} on {name}"));
                }
            }
            for child in map.values() {
                mysql_full_scans(child, aliases, out);
            }
        }
        Value::Array(items) => {
            for child in items {
                mysql_full_scans(child, aliases, out);
            }
        }
        _ => {}
    }
}

/// MariaDB writes a condition's text into its JSON plan with the SQL's own backslashes (`\_`
/// from a `LIKE` pattern), which JSON does not allow: such a backslash is doubled.
fn json_escapes_repaired(plan: &str) -> String {
    let mut out = String::with_capacity(plan.len());
    let mut chars = plan.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '\\' {
            match chars.peek() {
                Some('"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't' | 'u') => {
                    out.push(chars.next().unwrap_or_default())
                }
                _ => out.push('\\'),
            }
        }
    }
    out
}

/// The aliases a MySQL statement gives to catalog tables (`` FROM `events` AS `t0` ``).
fn mysql_table_aliases(sql: &str, tables: &BTreeSet<String>) -> BTreeSet<String> {
    table_aliases(&sql.replace('`', "\""), tables)
}

#[tokio::test]
#[ignore = "needs MariaDB on 127.0.0.1: cargo test -- --ignored"]
async fn every_golden_case_reads_its_tables_through_an_index_on_mariadb() {
    use common::engines::{reach, Kind};
    use sqlx::mysql::{MySql, MySqlArguments};

    let reached = reach(Kind::Mysql).await;
    // The demo's tables are small enough that a scan can look as cheap as a seek; with at most
    // one assumed seek per key lookup the optimizer takes any index that serves the statement,
    // so a scan left in the plan is one no index could replace.
    let pool = explain_pool::<MySql>(
        Kind::Mysql,
        &reached.url,
        "SET SESSION max_seeks_for_key = 1",
    )
    .await;
    // The check sees a full scan when there is one.
    let control = unscoped_count(
        "SELECT COUNT(*) AS `n` FROM `user_profiles` AS `t0` WHERE `t0`.`device` = ?",
    );
    let found = golden_cases_read_through_an_index(
        Dialect::Mysql,
        |_, statement, tables| {
            let pool = pool.clone();
            async move {
                let aliases = mysql_table_aliases(&statement.sql, &tables);
                let sql = format!("EXPLAIN FORMAT=JSON {}", statement.sql);
                let args: MySqlArguments = arguments(&statement.params);
                let row = sqlx::query_with(sqlx::AssertSqlSafe(sql), args)
                    .fetch_one(&pool)
                    .await
                    .unwrap_or_else(|e| panic!("EXPLAIN of {}: {e}", statement.sql));
                let plan: String = row.get(0);
                let plan = serde_json::from_str::<Value>(&json_escapes_repaired(&plan))
                    .unwrap_or_else(|e| panic!("{e}: {plan}"));
                let mut found = Vec::new();
                mysql_full_scans(&plan, &aliases, &mut found);
                found
            }
        },
        control,
    )
    .await;
    assert_eq!(found, ["ALL on t0"]);
}
