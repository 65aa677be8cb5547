//! `tally load-demo` into the real PostgreSQL and MariaDB (every test `#[ignore]`d: `cargo test
//! -- --ignored` runs them, as `.ci/run` does): the loaded tables hold exactly the rows of the
//! SQLite demo for the same options (PostgreSQL through `COPY`, MariaDB through multi-row
//! INSERTs), under the documented names with no staging table left; text that COPY must
//! escape (tabs, newlines, backslashes, `\N`, quotes, Unicode, NULL next to the empty string)
//! comes back as written; and a load killed with SIGKILL mid-way leaves the previous tables in
//! place with the same rows, after which the next load succeeds.
//!
//! Each test works in a database of its own (`tally_test_load*`, created when missing), so it
//! never drops the tables the engine tests read in `test`.

use crate::common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chrono::NaiveDate;
use common::engines::{own_database, Kind};
use sqlx::{Connection, Row};
use tally::demo::{self, Cell, ColumnDef, ColumnType, DemoOptions, RowSink, TableDef};
use tally::examples::{self, Example};

const END_DATE: &str = "2026-11-22";

fn options(seed: u64, scale: f64) -> DemoOptions {
    DemoOptions {
        seed,
        end_date: END_DATE.parse().expect("an ISO date"),
        scale,
    }
}

/// Runs `$body` with `$c` a connection to the database at `$url`, on whichever engine the URL
/// names; the body is compiled once per engine, so one text of the code reads them all.
macro_rules! on_connection {
    ($url:expr, $c:ident => $body:expr) => {{
        let url: &str = $url;
        if url.starts_with("mysql") {
            let mut $c = sqlx::MySqlConnection::connect(url).await.unwrap();
            $body
        } else if url.starts_with("postgres") {
            let mut $c = sqlx::PgConnection::connect(url).await.unwrap();
            $body
        } else {
            let mut $c = sqlx::SqliteConnection::connect(url).await.unwrap();
            $body
        }
    }};
}

/// A cell as text, for comparing engines: NULL is `None`, a timestamp `YYYY-MM-DD HH:MM:SS`.
type Rows = Vec<Vec<Option<String>>>;

/// How the engine of `url` quotes a name.
fn quote_of(url: &str) -> char {
    if url.starts_with("mysql") {
        '`'
    } else {
        '"'
    }
}

/// Every row of `def`'s table in `table`, each cell cast to text by the engine, sorted.
async fn rows_of(url: &str, def: &TableDef, table: &str) -> Rows {
    let (quote, text) = (
        quote_of(url),
        if url.starts_with("mysql") {
            "CHAR"
        } else {
            "TEXT"
        },
    );
    let columns: Vec<String> = def
        .columns
        .iter()
        .map(|c| format!("CAST({quote}{}{quote} AS {text})", c.name))
        .collect();
    let sql = format!("SELECT {} FROM {quote}{table}{quote}", columns.join(", "));
    let width = def.columns.len();
    let mut rows: Rows = on_connection!(url, c => {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut c)
            .await
            .unwrap()
            .iter()
            .map(|r| (0..width).map(|i| r.get::<Option<String>, _>(i)).collect())
            .collect()
    });
    rows.sort();
    rows
}

async fn count(url: &str, table: &str) -> i64 {
    let quote = quote_of(url);
    let sql = format!("SELECT COUNT(*) FROM {quote}{table}{quote}");
    on_connection!(url, c => {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut c)
            .await
            .unwrap()
    })
}

/// The database's tables and (table, index) names.
async fn tables_and_indexes(url: &str) -> (BTreeSet<String>, BTreeSet<(String, String)>) {
    let (tables, indexes) = if url.starts_with("mysql") {
        (
            "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE()",
            "SELECT DISTINCT CAST(table_name AS CHAR), CAST(index_name AS CHAR) FROM information_schema.statistics WHERE table_schema = DATABASE()",
        )
    } else {
        (
            "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()",
            "SELECT tablename::text, indexname::text FROM pg_indexes WHERE schemaname = current_schema()",
        )
    };
    on_connection!(url, c => {
        let tables: Vec<String> = sqlx::query_scalar(tables).fetch_all(&mut c).await.unwrap();
        let indexes: Vec<(String, String)> =
            sqlx::query_as(indexes).fetch_all(&mut c).await.unwrap();
        (tables.into_iter().collect(), indexes.into_iter().collect())
    })
}

/// The documented DDL's index names of `example`'s tables on the engine of `url`: the primary
/// key (`<table>_pkey` on PostgreSQL, `PRIMARY` on MySQL) and `<table>_<columns>_idx`.
fn documented_indexes(example: &Example, url: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for def in (example.generator.tables)() {
        let key = if url.starts_with("mysql") {
            "PRIMARY".to_owned()
        } else {
            format!("{}_pkey", def.name)
        };
        out.insert((def.name.to_owned(), key));
        for columns in &def.indexes {
            out.insert((
                def.name.to_owned(),
                format!("{}_{}_idx", def.name, columns.join("_")),
            ));
        }
    }
    out
}

fn catalog_file(example: &Example) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(example.catalog_file)
}

/// `tally load-demo` for `example` into `url`, as a user runs it (stderr is a pipe here).
fn load_command(example: &Example, url: &str, opts: &DemoOptions) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tally"));
    command
        .arg("--catalog")
        .arg(catalog_file(example))
        .args(["load-demo", "--warehouse", url, "--yes"])
        .args(["--seed", &opts.seed.to_string()])
        .args(["--end-date", &opts.end_date.to_string()])
        .args(["--scale", &opts.scale.to_string()]);
    command
}

/// Runs `tally load-demo` to the end and returns its stderr.
fn load(example: &Example, url: &str, opts: &DemoOptions) -> String {
    let out = load_command(example, url, opts)
        .output()
        .expect("run tally");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "load-demo failed: {stderr}");
    stderr
}

async fn sqlite_demo(example: &Example, opts: &DemoOptions, dir: &Path) -> String {
    let path = dir.join(format!("{}.db", example.name));
    demo::write_sqlite(&path, &example.generator, opts, &mut |_| {})
        .await
        .expect("the SQLite demo");
    format!("sqlite://{}", path.display())
}

#[tokio::test]
#[ignore = "needs PostgreSQL and MariaDB on 127.0.0.1: cargo test -- --ignored"]
async fn the_loaded_demo_is_the_sqlite_demo_row_for_row_on_postgresql_and_mariadb() {
    let dir = tempfile::tempdir().unwrap();
    for kind in [Kind::Postgres, Kind::Mysql] {
        let url = own_database(kind, "tally_test_load").await;
        for (example, opts) in [
            (examples::metrica(), options(42, 0.1)),
            (examples::adnavi(), options(42, 1.0)),
        ] {
            let sqlite = sqlite_demo(&example, &opts, dir.path()).await;
            // Twice: the second load replaces the first through the swap.
            load(&example, &url, &opts);
            let stderr = load(&example, &url, &opts);
            // Without a terminal the progress is plain lines, never rewritten in place.
            assert!(!stderr.contains('\r'), "{stderr}");
            for def in (example.generator.tables)() {
                assert!(
                    stderr.contains(&format!("  {}: ", def.name)) && stderr.contains("indexed in"),
                    "a plain progress line per table: {stderr}"
                );
                let want = rows_of(&sqlite, &def, def.name).await;
                let got = rows_of(&url, &def, def.name).await;
                assert!(!want.is_empty(), "{} has rows", def.name);
                assert_eq!(
                    got.len(),
                    want.len(),
                    "{} rows in {}",
                    def.name,
                    kind.name()
                );
                if let Some((g, w)) = got.iter().zip(&want).find(|(g, w)| g != w) {
                    panic!(
                        "{} differs on {}: {g:?} instead of {w:?}",
                        def.name,
                        kind.name()
                    );
                }
            }
            let (tables, indexes) = tables_and_indexes(&url).await;
            let leftovers: Vec<&String> = tables.iter().filter(|t| t.contains("__tally")).collect();
            assert!(
                leftovers.is_empty(),
                "{leftovers:?} left in {}",
                kind.name()
            );
            let names: BTreeSet<String> = (example.generator.tables)()
                .iter()
                .map(|def| def.name.to_owned())
                .collect();
            let found: BTreeSet<(String, String)> = indexes
                .into_iter()
                .filter(|(table, _)| names.contains(table))
                .collect();
            assert_eq!(found, documented_indexes(&example, &url), "{}", kind.name());
        }
    }
}

// A table of awkward text, to check COPY's escaping (and the INSERT path) end to end.

fn awkward_tables() -> Vec<TableDef> {
    vec![TableDef {
        name: "tally_test_awkward_text",
        columns: vec![
            ColumnDef {
                name: "id",
                ty: ColumnType::BigInt,
                nullable: false,
            },
            ColumnDef {
                name: "note",
                ty: ColumnType::Text,
                nullable: true,
            },
            ColumnDef {
                name: "at",
                ty: ColumnType::Timestamp,
                nullable: true,
            },
        ],
        primary_key: vec!["id"],
        indexes: vec![vec!["at"]],
    }]
}

const AWKWARD: [Option<&str>; 14] = [
    Some("tab\there"),
    Some("new\nline"),
    Some("carriage\r\nreturn"),
    Some("back\\slash"),
    Some("\\N"),
    Some("\\."),
    Some("\\"),
    Some(""),
    None,
    Some("\"double\" and 'single' quotes, commas, semicolons;"),
    Some("Zürich · 東京 · emoji 🙂"),
    Some("ends with a backslash \\"),
    Some("\t\n\\\r"),
    Some("{\"path\": \"/docs\"}"),
];

fn awkward_generate(_: &DemoOptions, sink: &mut dyn RowSink) -> Result<(), demo::DemoError> {
    let defs = awkward_tables();
    sink.begin_table(&defs[0])?;
    let at = NaiveDate::from_ymd_opt(2026, 11, 22)
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .unwrap();
    for (id, note) in AWKWARD.iter().enumerate() {
        sink.row(vec![
            Cell::Int(id as i64 - 3),
            note.map_or(Cell::Null, |n| Cell::Text(n.to_owned())),
            if id % 3 == 0 {
                Cell::Null
            } else {
                Cell::Timestamp(at - chrono::Duration::days(id as i64 * 400))
            },
        ])?;
    }
    sink.end_table()
}

#[tokio::test]
#[ignore = "needs PostgreSQL and MariaDB on 127.0.0.1: cargo test -- --ignored"]
async fn awkward_text_survives_copy_and_inserts_on_postgresql_and_mariadb() {
    let generator = demo::Generator {
        tables: awkward_tables,
        generate: awkward_generate,
        workspaces: Vec::new,
        estimated_rows: |_| vec![AWKWARD.len() as u64],
    };
    let def = &awkward_tables()[0];
    let opts = options(1, 1.0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("awkward.db");
    demo::write_sqlite(&path, &generator, &opts, &mut |_| {})
        .await
        .unwrap();
    let want = rows_of(&format!("sqlite://{}", path.display()), def, def.name).await;
    let notes: BTreeSet<Option<String>> = want.iter().map(|r| r[1].clone()).collect();
    let written: BTreeSet<Option<String>> = AWKWARD.iter().map(|n| n.map(str::to_owned)).collect();
    assert_eq!(notes, written, "SQLite keeps every string as written");
    for kind in [Kind::Postgres, Kind::Mysql] {
        let url = own_database(kind, "tally_test_load_text").await;
        demo::load_demo(&url, &generator, &opts, &mut |_| {})
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", kind.name()));
        assert_eq!(rows_of(&url, def, def.name).await, want, "{}", kind.name());
    }
}

/// Reads `tally load-demo`'s stderr until a table is indexed, then kills the process with
/// SIGKILL, mid-load: the next table is being written.
fn kill_after_first_table(example: &Example, url: &str, opts: &DemoOptions) -> String {
    let mut child = load_command(example, url, opts)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tally");
    let mut seen = String::new();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("load-demo ended before a table was indexed: {seen}"))
            .unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("indexed in") {
            break;
        }
    }
    child.kill().expect("SIGKILL");
    let status = child.wait().unwrap();
    assert!(!status.success(), "killed, not finished: {seen}");
    seen
}

#[tokio::test]
#[ignore = "needs PostgreSQL and MariaDB on 127.0.0.1: cargo test -- --ignored"]
async fn a_killed_load_leaves_the_previous_tables_and_the_next_load_succeeds() {
    let example = examples::metrica();
    let small = options(42, 0.05);
    // Far bigger, so that it is still loading when its first table is done.
    let big = options(7, 1.0);
    for kind in [Kind::Postgres, Kind::Mysql] {
        let url = own_database(kind, "tally_test_load_kill").await;
        load(&example, &url, &small);
        let defs = (example.generator.tables)();
        let mut before = Vec::new();
        for def in &defs {
            before.push(count(&url, def.name).await);
        }
        let customers = &defs[3];
        assert_eq!(customers.name, "customers");
        let customers_before = rows_of(&url, customers, "customers").await;

        let seen = kill_after_first_table(&example, &url, &big);
        let (tables, _) = tables_and_indexes(&url).await;
        assert!(
            tables.iter().any(|t| t.ends_with("__tally_load")),
            "the killed load was mid-way, its staging tables beside the real ones: {tables:?} after {seen}"
        );
        for (def, rows) in defs.iter().zip(&before) {
            assert_eq!(
                count(&url, def.name).await,
                *rows,
                "{} on {} after the kill",
                def.name,
                kind.name()
            );
        }
        assert_eq!(
            rows_of(&url, customers, "customers").await,
            customers_before
        );

        // The next load drops what the killed one left and replaces the tables.
        let again = options(42, 0.1);
        let report_lines = load(&example, &url, &again);
        let (tables, _) = tables_and_indexes(&url).await;
        let leftovers: Vec<&String> = tables.iter().filter(|t| t.contains("__tally")).collect();
        assert!(leftovers.is_empty(), "{leftovers:?} after {report_lines}");
        let events = count(&url, "events").await;
        assert!(
            events > before[2],
            "scale 0.1 has more events ({events}) than scale 0.05 ({})",
            before[2]
        );
    }
}
