//! Real engines going away and coming back, and a warehouse login that can only read.
//!
//! - Losing the engine mid-query (a TCP proxy in front of it is killed, or the backend is
//!   terminated by an administrator) gives `warehouse_unavailable` (HTTP 503), a request while it
//!   is gone gives the same code within a few seconds, and the next request after it returns
//!   succeeds through the same `Warehouse` (the pool reconnects). The shared engines are never
//!   stopped: only the proxy, or one backend, is.
//! - The SELECT-only role of `examples/metrica/readonly-roles.sql` (run here exactly as written)
//!   owns nothing, answers every golden case with the same numbers as an administrator, and
//!   cannot INSERT or CREATE, neither through Tally nor on a plain connection.
//!
//! Engines are those of tests/it/engines.rs (see tests/it/common/engines.rs); the tests are
//! `#[ignore]`d, run by `cargo test -- --ignored`, and fail when an engine is unreachable.

use crate::common;

use std::time::{Duration, Instant};

use common::engines::{
    engine_on, ensure_loaded, golden_cases, outcome_of, reach, split_url, statement, upstream_of,
    via, Kind, Proxy, Reached,
};
use serde_json::Value;
use sqlx::{Connection, Row};
use tally::exec::{Cell, ExecError, Limits, Rows, Warehouse};
use tally::pipeline::Engine;
use tally::plan::Clock;
use tally::sql::ColumnKind;
use tokio::task::JoinHandle;

const ROLES_SQL: &str = include_str!("../../examples/metrica/readonly-roles.sql");
const READER: &str = "tally_reader";
const DEMO_TABLES: [&str; 5] = [
    "events",
    "sessions",
    "user_profiles",
    "customers",
    "support_tickets",
];

/// The same URL, as another user without a password (the test engines trust 127.0.0.1).
fn as_user(url: &str, user: &str) -> String {
    let (scheme, _, host, rest) = split_url(url);
    format!("{scheme}://{user}@{host}{rest}")
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn nonce() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .subsec_nanos();
    format!("tally_resilience_{}_{nanos}", std::process::id())
}

/// A statement that sleeps `seconds` on the engine, tagged so an administrator can find it.
fn slow_statement(kind: Kind, seconds: u32, tag: &str) -> tally::sql::Statement {
    let sql = match kind {
        Kind::Postgres => {
            format!("SELECT CAST(1 AS BIGINT) AS x FROM pg_sleep({seconds}) /* {tag} */")
        }
        Kind::Mysql => format!("SELECT SLEEP({seconds}) AS x /* {tag} */"),
    };
    statement(&sql, ColumnKind::Int)
}

fn one_statement(kind: Kind) -> tally::sql::Statement {
    let sql = match kind {
        Kind::Postgres => "SELECT CAST(1 AS BIGINT) AS x",
        Kind::Mysql => "SELECT CAST(1 AS SIGNED) AS x",
    };
    statement(sql, ColumnKind::Int)
}

fn limits() -> Limits {
    Limits {
        row_cap: 100,
        timeout: Duration::from_secs(30),
    }
}

fn assert_one(kind: Kind, result: Result<Rows, ExecError>, what: &str) {
    match result {
        Ok(rows) => assert_eq!(rows.rows, vec![vec![Cell::Int(1)]], "{}", kind.name()),
        Err(e) => panic!("{}: {what} fails: {e} (code {})", kind.name(), e.code()),
    }
}

fn assert_unavailable(kind: Kind, result: &Result<Rows, ExecError>, what: &str) {
    match result {
        Err(e) => assert_eq!(
            e.code(),
            "warehouse_unavailable",
            "{}: {what} gave {e:?}",
            kind.name()
        ),
        Ok(rows) => panic!("{}: {what} succeeded: {rows:?}", kind.name()),
    }
}

/// Starts `run` in the background and returns once the engine shows the tagged statement running.
async fn start_slow(
    kind: Kind,
    warehouse: &Warehouse,
    admin_url: &str,
    tag: &str,
) -> (JoinHandle<(Result<Rows, ExecError>, Duration)>, u64) {
    let w = warehouse.clone();
    let slow = slow_statement(kind, 5, tag);
    let handle = tokio::spawn(async move {
        let started = Instant::now();
        let result = w.run(&slow, &limits()).await;
        (result, started.elapsed())
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(id) = running_backend(kind, admin_url, tag).await {
            return (handle, id);
        }
        assert!(
            Instant::now() < deadline,
            "{}: the slow statement never showed up on the engine",
            kind.name()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The backend (PostgreSQL pid, MariaDB connection id) running the statement tagged `tag`.
async fn running_backend(kind: Kind, admin_url: &str, tag: &str) -> Option<u64> {
    let pattern = format!("%/* {tag} */%");
    match kind {
        Kind::Postgres => {
            let mut c = sqlx::PgConnection::connect(admin_url).await.expect("admin");
            let pid: Option<i32> = sqlx::query_scalar(
                "SELECT pid FROM pg_stat_activity \
                 WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()",
            )
            .bind(pattern)
            .fetch_optional(&mut c)
            .await
            .expect("read pg_stat_activity");
            pid.map(|p| u64::try_from(p).expect("a positive pid"))
        }
        Kind::Mysql => {
            let mut c = sqlx::MySqlConnection::connect(admin_url)
                .await
                .expect("admin");
            sqlx::query_scalar::<_, u64>(
                "SELECT CAST(ID AS UNSIGNED) FROM information_schema.PROCESSLIST \
                 WHERE INFO LIKE ? AND ID <> CONNECTION_ID()",
            )
            .bind(pattern)
            .fetch_optional(&mut c)
            .await
            .expect("read the process list")
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Losing the engine

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL and MariaDB on 127.0.0.1: cargo test -- --ignored"]
async fn killing_the_engine_mid_run_gives_503_and_the_next_request_after_restart_succeeds() {
    for kind in [Kind::Postgres, Kind::Mysql] {
        let Reached { url, .. } = reach(kind).await;
        let proxy = Proxy::start(&upstream_of(&url), 0).await;
        let proxied = via(&url, proxy.addr.port());
        let warehouse = Warehouse::open(&proxied)
            .await
            .unwrap_or_else(|e| panic!("{}: open through the proxy: {e}", kind.name()));
        assert_one(
            kind,
            warehouse.run(&one_statement(kind), &limits()).await,
            "a query through the proxy",
        );

        // Mid-run: the statement is running on the engine when the proxy dies.
        let tag = nonce();
        let (slow, _) = start_slow(kind, &warehouse, &url, &tag).await;
        let killed_at = Instant::now();
        let (port, upstream) = proxy.kill().await;
        let (result, _) = slow.await.expect("the slow run does not panic");
        let lost_after = killed_at.elapsed();
        assert_unavailable(kind, &result, "the run whose connection was lost");
        assert!(
            lost_after < Duration::from_secs(3),
            "{}: the lost connection was noticed after {lost_after:?}",
            kind.name()
        );

        // While the engine is away.
        let started = Instant::now();
        let down = warehouse.run(&one_statement(kind), &limits()).await;
        let down_after = started.elapsed();
        assert_unavailable(kind, &down, "a query while the engine is away");
        assert!(
            down_after < Duration::from_secs(8),
            "{}: the unavailable answer took {down_after:?}",
            kind.name()
        );
        // A time limit shorter than the pool's wait for a connection still says unavailable.
        let short = Limits {
            row_cap: 100,
            timeout: Duration::from_secs(2),
        };
        let started = Instant::now();
        let down = warehouse.run(&one_statement(kind), &short).await;
        let short_after = started.elapsed();
        assert_unavailable(
            kind,
            &down,
            "a query with a 2 s limit while the engine is away",
        );
        assert!(
            short_after < short.timeout + Duration::from_secs(1),
            "{}: the unavailable answer under a 2 s limit took {short_after:?}",
            kind.name()
        );

        // Back on the same address: the same warehouse reconnects.
        let proxy = Proxy::start(&upstream, port).await;
        let started = Instant::now();
        assert_one(
            kind,
            warehouse.run(&one_statement(kind), &limits()).await,
            "the first query after the engine returned",
        );
        eprintln!(
            "{}: lost connection -> warehouse_unavailable in {:.0} ms; while away in {:.0} ms \
             ({:.0} ms under a 2 s limit); back in {:.0} ms",
            kind.name(),
            lost_after.as_secs_f64() * 1000.0,
            down_after.as_secs_f64() * 1000.0,
            short_after.as_secs_f64() * 1000.0,
            started.elapsed().as_secs_f64() * 1000.0
        );
        proxy.kill().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL and MariaDB on 127.0.0.1: cargo test -- --ignored"]
async fn a_backend_killed_by_an_administrator_gives_503_and_the_next_request_succeeds() {
    for kind in [Kind::Postgres, Kind::Mysql] {
        let Reached { url, warehouse } = reach(kind).await;
        let tag = nonce();
        let (slow, backend) = start_slow(kind, &warehouse, &url, &tag).await;
        let killed_at = Instant::now();
        match kind {
            Kind::Postgres => {
                let mut c = sqlx::PgConnection::connect(&url).await.expect("admin");
                let done: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
                    .bind(i32::try_from(backend).expect("a pid"))
                    .fetch_one(&mut c)
                    .await
                    .expect("pg_terminate_backend");
                assert!(done, "pg_terminate_backend({backend}) did nothing");
            }
            Kind::Mysql => {
                let mut c = sqlx::MySqlConnection::connect(&url).await.expect("admin");
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("KILL CONNECTION {backend}")))
                    .execute(&mut c)
                    .await
                    .expect("KILL CONNECTION");
            }
        }
        let (result, _) = slow.await.expect("the slow run does not panic");
        let lost_after = killed_at.elapsed();
        assert_unavailable(kind, &result, "the run whose backend was killed");
        assert!(
            lost_after < Duration::from_secs(3),
            "{}: the killed backend was noticed after {lost_after:?}",
            kind.name()
        );
        let started = Instant::now();
        assert_one(
            kind,
            warehouse.run(&one_statement(kind), &limits()).await,
            "the next query after the backend was killed",
        );
        eprintln!(
            "{}: killed backend -> warehouse_unavailable in {:.0} ms; next query in {:.0} ms",
            kind.name(),
            lost_after.as_secs_f64() * 1000.0,
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 2. A SELECT-only role that owns nothing

/// The section of readonly-roles.sql for one engine, run as one batch.
fn roles_section(kind: Kind) -> &'static str {
    const PG: &str = "-- == PostgreSQL ==";
    const MY: &str = "-- == MariaDB / MySQL ==";
    let pg = ROLES_SQL.find(PG).expect("a PostgreSQL section");
    let my = ROLES_SQL.find(MY).expect("a MariaDB section");
    assert!(pg < my, "the PostgreSQL section comes first");
    match kind {
        Kind::Postgres => &ROLES_SQL[pg..my],
        Kind::Mysql => &ROLES_SQL[my..],
    }
}

async fn create_reader(kind: Kind, admin_url: &str) {
    let sql = roles_section(kind);
    // Concurrent GRANTs from another test process can collide; one retry settles it.
    for attempt in 0..2 {
        let result = match kind {
            Kind::Postgres => {
                let mut c = sqlx::PgConnection::connect(admin_url).await.expect("admin");
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut c)
                    .await
                    .map(|_| ())
            }
            Kind::Mysql => {
                let mut c = sqlx::MySqlConnection::connect(admin_url)
                    .await
                    .expect("admin");
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut c)
                    .await
                    .map(|_| ())
            }
        };
        match result {
            Ok(()) => return,
            Err(e) if attempt == 0 => eprintln!("{}: retrying the role SQL: {e}", kind.name()),
            Err(e) => panic!("{}: readonly-roles.sql fails: {e}", kind.name()),
        }
    }
}

/// The reader owns no object and holds nothing but SELECT on the demo tables.
async fn assert_owns_nothing(kind: Kind, admin_url: &str) {
    match kind {
        Kind::Postgres => {
            let mut c = sqlx::PgConnection::connect(admin_url).await.expect("admin");
            let tables: i64 =
                sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE tableowner = $1")
                    .bind(READER)
                    .fetch_one(&mut c)
                    .await
                    .expect("pg_tables");
            assert_eq!(tables, 0, "{READER} owns tables");
            let owned: i64 = sqlx::query_scalar(
                "SELECT (SELECT count(*) FROM pg_class WHERE relowner = r.oid) \
                      + (SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid) \
                      + (SELECT count(*) FROM pg_database WHERE datdba = r.oid) \
                 FROM pg_roles r WHERE r.rolname = $1",
            )
            .bind(READER)
            .fetch_one(&mut c)
            .await
            .expect("ownership");
            assert_eq!(owned, 0, "{READER} owns relations, schemas or databases");
            let row = sqlx::query(
                "SELECT rolsuper, rolcreatedb, rolcreaterole, rolcanlogin FROM pg_roles \
                 WHERE rolname = $1",
            )
            .bind(READER)
            .fetch_one(&mut c)
            .await
            .expect("the role");
            let flags: (bool, bool, bool, bool) = (row.get(0), row.get(1), row.get(2), row.get(3));
            assert_eq!(flags, (false, false, false, true), "{READER}'s role flags");
            let privileges: Vec<(String, String)> = sqlx::query_as(
                "SELECT table_name::text, privilege_type::text \
                 FROM information_schema.role_table_grants WHERE grantee = $1 \
                 ORDER BY 1, 2",
            )
            .bind(READER)
            .fetch_all(&mut c)
            .await
            .expect("table grants");
            assert_select_on_demo_tables_only(kind, privileges);
        }
        Kind::Mysql => {
            let mut c = sqlx::MySqlConnection::connect(admin_url)
                .await
                .expect("admin");
            let grantee = format!("'{READER}'@%");
            let global: Vec<String> = sqlx::query_scalar(
                "SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES \
                 WHERE GRANTEE LIKE ?",
            )
            .bind(&grantee)
            .fetch_all(&mut c)
            .await
            .expect("user privileges");
            assert!(
                !global.is_empty() && global.iter().all(|p| p == "USAGE"),
                "{READER} has global privileges: {global:?}"
            );
            let schema: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE LIKE ?",
            )
            .bind(&grantee)
            .fetch_one(&mut c)
            .await
            .expect("schema privileges");
            assert_eq!(schema, 0, "{READER} has database-wide privileges");
            let privileges: Vec<(String, String)> = sqlx::query_as(
                "SELECT DISTINCT TABLE_NAME, PRIVILEGE_TYPE \
                 FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE LIKE ? ORDER BY 1, 2",
            )
            .bind(&grantee)
            .fetch_all(&mut c)
            .await
            .expect("table privileges");
            assert_select_on_demo_tables_only(kind, privileges);
        }
    }
}

fn assert_select_on_demo_tables_only(kind: Kind, mut privileges: Vec<(String, String)>) {
    privileges.sort();
    let mut wanted: Vec<(String, String)> = DEMO_TABLES
        .iter()
        .map(|t| (t.to_string(), "SELECT".to_owned()))
        .collect();
    wanted.sort();
    assert_eq!(
        privileges,
        wanted,
        "{}: {READER}'s table privileges",
        kind.name()
    );
}

/// Every golden case through one pipeline.
async fn outcomes(engine: &Engine, cases: &[Value]) -> Vec<Value> {
    let mut out = Vec::with_capacity(cases.len());
    for case in cases {
        let raw: Vec<u8> = match case.get("raw") {
            Some(Value::String(s)) => s.as_bytes().to_vec(),
            _ => serde_json::to_vec(&case["dsl"]).expect("serializes"),
        };
        let clock = Clock::fixed(
            case["today"]
                .as_str()
                .expect("today")
                .parse()
                .expect("date"),
        );
        let (response, _) = engine
            .run(
                &raw,
                case["role"].as_str().expect("role"),
                case["workspace"].as_str().expect("workspace"),
                &clock,
            )
            .await
            .unwrap_or_else(|e| panic!("{}: the pipeline fails: {e}", case["name"]));
        out.push(outcome_of(&response));
    }
    out
}

/// A write on a plain connection as the reader (its own read-only default switched off, so only
/// its privileges stand in the way).
async fn plain_write_error(kind: Kind, reader_url: &str, sql: &str) -> String {
    let result = match kind {
        Kind::Postgres => {
            let mut c = sqlx::PgConnection::connect(reader_url)
                .await
                .expect("connect as the reader");
            // Its own statement: a batch would run in one transaction begun read-only.
            sqlx::raw_sql("SET default_transaction_read_only = off")
                .execute(&mut c)
                .await
                .expect("a session may change its own default");
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(&mut c)
                .await
                .map(|_| ())
        }
        Kind::Mysql => {
            let mut c = sqlx::MySqlConnection::connect(reader_url)
                .await
                .expect("connect as the reader");
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(&mut c)
                .await
                .map(|_| ())
        }
    };
    match result {
        Err(e) => e.to_string(),
        Ok(()) => panic!("{}: `{sql}` succeeded as {READER}", kind.name()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL and MariaDB on 127.0.0.1: cargo test -- --ignored"]
async fn a_select_only_role_that_owns_nothing_answers_like_an_administrator_and_cannot_write() {
    let cases = golden_cases();
    for kind in [Kind::Postgres, Kind::Mysql] {
        let Reached { url, warehouse } = reach(kind).await;
        ensure_loaded(kind, &url).await;
        create_reader(kind, &url).await;
        assert_owns_nothing(kind, &url).await;

        let reader_url = as_user(&url, READER);
        let reader = Warehouse::open(&reader_url)
            .await
            .unwrap_or_else(|e| panic!("{}: open as {READER}: {e}", kind.name()));

        let started = Instant::now();
        let as_admin = outcomes(&engine_on(warehouse), &cases).await;
        let admin_time = started.elapsed();
        let started = Instant::now();
        let as_reader = outcomes(&engine_on(reader.clone()), &cases).await;
        let reader_time = started.elapsed();
        let answered = as_admin
            .iter()
            .filter(|o| o["outcome"] == "answered" && !o["data"].is_null())
            .count();
        assert!(
            answered >= cases.len() / 2,
            "{}: only {answered} cases answered",
            kind.name()
        );
        for ((case, a), r) in cases.iter().zip(&as_admin).zip(&as_reader) {
            assert_eq!(
                a,
                r,
                "{}: {} differs between the administrator and {READER}",
                kind.name(),
                case["name"]
            );
        }
        eprintln!(
            "{}: {} golden cases ({answered} with data) identical as administrator ({:.0} ms) \
             and as {READER} ({:.0} ms)",
            kind.name(),
            cases.len(),
            admin_time.as_secs_f64() * 1000.0,
            reader_time.as_secs_f64() * 1000.0
        );

        // Writes through Tally fail (read-only transaction and missing privilege alike).
        let writes = [
            "INSERT INTO events (workspace_id) VALUES ('acme')".to_owned(),
            format!("CREATE TABLE {READER}_created (a BIGINT)"),
        ];
        for sql in &writes {
            match reader
                .run(&statement(sql, ColumnKind::Int), &limits())
                .await
            {
                Err(e @ ExecError::Failed(_)) => assert_eq!(e.code(), "execution_failed"),
                other => panic!("{}: `{sql}` through Tally: {other:?}", kind.name()),
            }
        }
        // And the role itself refuses them, whatever the session asks for.
        for sql in &writes {
            let message = plain_write_error(kind, &reader_url, sql)
                .await
                .to_lowercase();
            assert!(
                message.contains("permission denied") || message.contains("command denied"),
                "{}: `{sql}` as {READER} failed for another reason: {message}",
                kind.name()
            );
        }
    }
}
