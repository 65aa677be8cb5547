//! Shared engine fixtures: where the PostgreSQL and MariaDB/MySQL test engines are, the skip rule,
//! loading the demo into them once, and the golden cases with what must match across engines.
//!
//! Engines are found at `TALLY_TEST_POSTGRES_URL` / `TALLY_TEST_MYSQL_URL`, else at the local
//! defaults (PostgreSQL as `postgres` then `root`, MariaDB as `root`, database `test`). A test
//! that needs them is `#[ignore = "needs PostgreSQL and MariaDB …"]`: `cargo test` reports it as
//! ignored, and `cargo test -- --ignored` (what `.ci/run` does) runs it, failing when an engine is
//! unreachable. A test that checks SQLite and the engines alike runs twice: its SQLite half in
//! `cargo test`, and the whole, engines included, as an ignored twin (see [`On`]).
//!
//! The demo is loaded with seed 42, data to 2026-11-22 and scale 0.2, once per engine: a marker
//! table remembers the options and the generator's fingerprint, so reruns skip the load. The
//! second domain (`adnavi`, small at any scale) is loaded at scale 1 beside it, with its own
//! marker table; the two examples share no table name.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::{Connection, Row};
use tally::catalog::Catalog;
use tally::demo::{self, DemoOptions};
use tally::examples::{self, Example};
use tally::exec::{Limits, Warehouse};
use tally::pipeline::Engine;
use tally::sql::{Column, ColumnKind, Statement};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub const SEED: u64 = 42;
pub const END_DATE: &str = "2026-11-22";
pub const SCALE: f64 = 0.2;
pub const MARKER_TABLE: &str = "tally_test_demo_marker";

pub fn options() -> DemoOptions {
    metrica_demo().options
}

/// Changes whenever the generator's source or the options change, so stale data is reloaded.
pub fn fingerprint() -> String {
    metrica_demo().fingerprint()
}

/// One example's demo as the engine tests load it.
pub struct Demo {
    pub catalog: &'static str,
    pub example: Example,
    pub options: DemoOptions,
    /// The generator's source, for the fingerprint.
    source: &'static str,
    /// The table remembering what is loaded.
    marker: &'static str,
}

impl Demo {
    pub fn fingerprint(&self) -> String {
        let hash = self.source.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
        });
        let o = &self.options;
        format!("seed{}-{}-scale{}-{hash:016x}", o.seed, o.end_date, o.scale)
    }
}

pub fn metrica_demo() -> Demo {
    Demo {
        catalog: "metrica",
        example: examples::metrica(),
        options: DemoOptions {
            seed: SEED,
            end_date: END_DATE.parse().expect("an ISO date"),
            scale: SCALE,
        },
        source: include_str!("../../../examples/metrica/generate.rs"),
        marker: MARKER_TABLE,
    }
}

pub fn adnavi_demo() -> Demo {
    Demo {
        catalog: "adnavi",
        example: examples::adnavi(),
        options: DemoOptions {
            seed: SEED,
            end_date: END_DATE.parse().expect("an ISO date"),
            scale: 1.0,
        },
        source: include_str!("../../../examples/adnavi/generate.rs"),
        marker: "tally_test_demo_marker_adnavi",
    }
}

/// Every example the engine tests load, the default first.
pub fn demos() -> Vec<Demo> {
    vec![metrica_demo(), adnavi_demo()]
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Postgres,
    Mysql,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Postgres => "PostgreSQL",
            Kind::Mysql => "MariaDB/MySQL",
        }
    }

    pub fn candidate_urls(self) -> Vec<String> {
        let (var, defaults) = match self {
            Kind::Postgres => (
                "TALLY_TEST_POSTGRES_URL",
                vec![
                    "postgres://postgres@127.0.0.1:5432/test",
                    "postgres://root@127.0.0.1:5432/test",
                ],
            ),
            Kind::Mysql => (
                "TALLY_TEST_MYSQL_URL",
                vec!["mysql://root@127.0.0.1:3306/test"],
            ),
        };
        match std::env::var(var) {
            Ok(url) if !url.is_empty() => vec![url],
            _ => defaults.into_iter().map(str::to_owned).collect(),
        }
    }
}

/// A reachable engine: its URL (for loading and probes) and a warehouse on it.
pub struct Reached {
    pub url: String,
    pub warehouse: Warehouse,
}

/// The engine; panics, saying where it looked, when it is not reachable. Only tests marked
/// `#[ignore]` call this, so `cargo test` never does and `cargo test -- --ignored` fails loudly.
pub async fn reach(kind: Kind) -> Reached {
    let mut errors = Vec::new();
    for url in kind.candidate_urls() {
        match Warehouse::open(&url).await {
            Ok(warehouse) => return Reached { url, warehouse },
            Err(e) => errors.push(format!("{url}: {e}")),
        }
    }
    panic!(
        "{} not reachable at {} (start it: see .ci/run)",
        kind.name(),
        errors.join("; ")
    );
}

/// The engine, or `None` after saying SKIPPED when it is not reachable and `CI` is not set;
/// in CI (`CI` set, as `.ci/run` runs) an unreachable engine fails the test.
pub async fn reach_or_skip(kind: Kind, test: &str) -> Option<Reached> {
    let mut errors = Vec::new();
    for url in kind.candidate_urls() {
        match Warehouse::open(&url).await {
            Ok(warehouse) => return Some(Reached { url, warehouse }),
            Err(e) => errors.push(format!("{url}: {e}")),
        }
    }
    let what = format!("{} not reachable at {}", kind.name(), errors.join("; "));
    if std::env::var_os("CI").is_some() {
        panic!("{what} (CI is set; .ci/run starts it)");
    }
    eprintln!("SKIPPED {test} on {}: {what}", kind.name());
    None
}

/// The URL of the engine's database `name`, created if it does not exist (UTF-8 on MariaDB).
pub async fn own_database(kind: Kind, name: &str) -> String {
    database_on(kind, &reach(kind).await.url, name).await
}

/// The URL of database `name` on the engine at `url`, created if it does not exist.
pub async fn database_on(kind: Kind, url: &str, name: &str) -> String {
    let (scheme, user, host, _) = split_url(url);
    let user = user.map(|u| format!("{u}@")).unwrap_or_default();
    match kind {
        Kind::Postgres => {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                    .bind(name)
                    .fetch_one(&mut c)
                    .await
                    .unwrap();
            if !exists {
                let created = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut c)
                    .await;
                // Another test may have created it in between.
                if let Err(e) = created {
                    assert!(e.to_string().contains("already exists"), "{e}");
                }
            }
        }
        Kind::Mysql => {
            let mut c = sqlx::MySqlConnection::connect(url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "CREATE DATABASE IF NOT EXISTS {name} CHARACTER SET utf8mb4"
            )))
            .execute(&mut c)
            .await
            .unwrap();
        }
    }
    format!("{scheme}://{user}{host}/{name}")
}

/// Where a test that checks SQLite and the engines alike runs: its default half on SQLite, and
/// its ignored twin on PostgreSQL and MariaDB too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum On {
    Sqlite,
    AllEngines,
}

/// PostgreSQL and MariaDB for [`On::AllEngines`], neither for [`On::Sqlite`].
pub async fn reach_engines(on: On) -> (Option<Reached>, Option<Reached>) {
    match on {
        On::Sqlite => (None, None),
        On::AllEngines => {
            let (postgres, mysql) = tokio::join!(reach(Kind::Postgres), reach(Kind::Mysql));
            (Some(postgres), Some(mysql))
        }
    }
}

/// Loads the Metrica demo into the engine unless its marker says this exact data is already there.
pub async fn ensure_loaded(kind: Kind, url: &str) {
    ensure_demo_loaded(kind, url, &metrica_demo()).await
}

/// Loads one example's demo into the engine unless its marker says this exact data is there.
pub async fn ensure_demo_loaded(kind: Kind, url: &str, demo: &Demo) {
    // Tests of this binary run at once: one loads while the others wait, then find its marker
    // (two loads into one database drop each other's tables).
    static LOADING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one_at_a_time = LOADING.lock().await;
    let marker = demo.marker;
    let wanted = demo.fingerprint();
    let found = match kind {
        Kind::Postgres => {
            let mut c = sqlx::PgConnection::connect(url).await.expect("connect");
            read_marker::<sqlx::Postgres>(&mut c, marker).await
        }
        Kind::Mysql => {
            let mut c = sqlx::MySqlConnection::connect(url).await.expect("connect");
            read_marker::<sqlx::MySql>(&mut c, marker).await
        }
    };
    if found.as_deref() == Some(wanted.as_str()) {
        return;
    }
    let started = Instant::now();
    let report = demo::load_demo(url, &demo.example.generator, &demo.options, &mut |_| {})
        .await
        .unwrap_or_else(|e| {
            panic!(
                "loading the {} demo into {}: {e}",
                demo.catalog,
                kind.name()
            )
        });
    eprintln!(
        "loaded {} {} demo rows into {} in {:.1} s",
        report.total_rows(),
        demo.catalog,
        kind.name(),
        started.elapsed().as_secs_f64()
    );
    let statements = [
        format!("DROP TABLE IF EXISTS {marker}"),
        format!("CREATE TABLE {marker} (fingerprint VARCHAR(200) NOT NULL)"),
        format!("INSERT INTO {marker} (fingerprint) VALUES ('{wanted}')"),
    ];
    match kind {
        Kind::Postgres => {
            let mut c = sqlx::PgConnection::connect(url).await.expect("connect");
            for s in statements {
                sqlx::raw_sql(sqlx::AssertSqlSafe(s))
                    .execute(&mut c)
                    .await
                    .expect("write the marker");
            }
        }
        Kind::Mysql => {
            let mut c = sqlx::MySqlConnection::connect(url).await.expect("connect");
            for s in statements {
                sqlx::raw_sql(sqlx::AssertSqlSafe(s))
                    .execute(&mut c)
                    .await
                    .expect("write the marker");
            }
        }
    }
}

async fn read_marker<DB>(connection: &mut DB::Connection, marker: &str) -> Option<String>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'r> String: sqlx::Decode<'r, DB> + sqlx::Type<DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let sql = format!("SELECT fingerprint FROM {marker}");
    let row = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .fetch_optional(&mut *connection)
        .await
        .ok()??;
    row.try_get::<String, _>(0).ok()
}

/// The golden cases of the default catalog (Metrica), in file-name order.
pub fn golden_cases() -> Vec<Value> {
    all_golden_cases()
        .into_iter()
        .filter(|case| super::case_catalog(case) == "metrica")
        .collect()
}

/// Every `golden/cases/*.json`, whatever its catalog, in file-name order.
pub fn all_golden_cases() -> Vec<Value> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("golden")
        .join("cases");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("golden/cases")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no golden cases in {}", dir.display());
    paths
        .iter()
        .map(|p| {
            serde_json::from_str(&std::fs::read_to_string(p).expect("a readable case"))
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        })
        .collect()
}

/// What must be identical on every engine, per case.
pub fn outcome_of(response: &tally::pipeline::Response) -> Value {
    json!({
        "outcome": response.outcome.as_str(),
        "answer": response.answer,
        "data": response.data,
        "chart": response.chart,
        "refusal": response.refusal.as_ref().map(|r| serde_json::to_value(r).expect("serializes")),
    })
}

/// A pipeline on the embedded catalog with the default limits.
pub fn engine_on(warehouse: Warehouse) -> Engine {
    Engine::new(
        Arc::new(Catalog::embedded_default()),
        warehouse,
        Limits::default(),
    )
}

/// A pipeline on an embedded example's catalog with the default limits.
pub fn engine_on_catalog(warehouse: Warehouse, catalog: &str) -> Engine {
    Engine::new(
        Arc::new(super::catalog_named(catalog)),
        warehouse,
        Limits::default(),
    )
}

/// A hand-made statement with one column `x` of the given kind.
pub fn statement(sql: &str, kind: ColumnKind) -> Statement {
    Statement {
        rollup: None,
        merged: None,
        sql: sql.to_owned(),
        params: Vec::new(),
        columns: vec![Column {
            name: "x".to_owned(),
            kind,
        }],
    }
}

// ---------------------------------------------------------------------------------------------
// URLs

/// `scheme://[userinfo@]host:port/rest` split into (scheme, userinfo, host:port, `/rest`).
pub fn split_url(url: &str) -> (&str, Option<&str>, &str, &str) {
    let (scheme, after) = url.split_once("://").expect("a URL with a scheme");
    let (authority, rest) = match after.find('/') {
        Some(i) => (&after[..i], &after[i..]),
        None => (after, ""),
    };
    match authority.rsplit_once('@') {
        Some((user, host)) => (scheme, Some(user), host, rest),
        None => (scheme, None, authority, rest),
    }
}

/// The engine's address, for the proxy to forward to.
pub fn upstream_of(url: &str) -> String {
    let (scheme, _, host, _) = split_url(url);
    if host.contains(':') {
        host.to_owned()
    } else if scheme.starts_with("postgres") {
        format!("{host}:5432")
    } else {
        format!("{host}:3306")
    }
}

/// The same URL, through `127.0.0.1:port`.
pub fn via(url: &str, port: u16) -> String {
    let (scheme, user, _, rest) = split_url(url);
    let user = user.map(|u| format!("{u}@")).unwrap_or_default();
    format!("{scheme}://{user}127.0.0.1:{port}{rest}")
}

// ---------------------------------------------------------------------------------------------
// A TCP proxy that can be killed: the listener and every proxied connection are dropped at once.

pub struct Proxy {
    pub addr: SocketAddr,
    upstream: String,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// Listens on `127.0.0.1:port` (0: any free port) and forwards every connection upstream.
    pub async fn start(upstream: &str, port: u16) -> Proxy {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap_or_else(|e| panic!("bind the proxy on 127.0.0.1:{port}: {e}"));
        let addr = listener.local_addr().expect("the proxy's address");
        let target = upstream.to_owned();
        let accept = tokio::spawn(async move {
            // The connections live in this set: aborting the accept task drops the listener and
            // the set, and dropping the set aborts every connection task, closing both sockets.
            let mut connections = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((mut client, _)) = accepted else { continue };
                        let target = target.clone();
                        connections.spawn(async move {
                            if let Ok(mut server) = TcpStream::connect(&target).await {
                                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                            }
                        });
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        Proxy {
            addr,
            upstream: upstream.to_owned(),
            accept,
        }
    }

    /// Kills the proxy: no listener, no connection; waits until the accept task is gone.
    pub async fn kill(self) -> (u16, String) {
        self.accept.abort();
        let _ = self.accept.await;
        // The connection tasks are aborted with their set; let them run their cancellation.
        tokio::time::sleep(Duration::from_millis(50)).await;
        (self.addr.port(), self.upstream)
    }
}
