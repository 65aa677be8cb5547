//! Shared test fixtures: the seeded demo warehouse as a real SQLite file, built once per
//! checkout under target/ and reused by every test binary.
#![allow(dead_code)]

pub mod engines;
pub mod gen;
pub mod http;
pub mod large_catalog;

use std::path::PathBuf;
use std::sync::Arc;

use chrono::NaiveDate;
use tally::catalog::Catalog;
use tally::demo::{self, DemoOptions};
use tally::examples::{self, Example};
use tally::exec::{Limits, Warehouse};
use tally::pipeline::Engine;
use tally::translate::llm::PromptExamples;
use tokio::sync::OnceCell;

pub const SEED: u64 = 42;
pub const END_DATE: &str = "2026-11-22";
pub const TODAY: &str = "2026-11-23";

pub fn date(s: &str) -> NaiveDate {
    s.parse().expect("test dates are ISO dates")
}

/// The demo warehouse file (seed 42, data to 2026-11-22, scale 1), generated if absent.
pub async fn demo_db() -> PathBuf {
    static DB: OnceCell<PathBuf> = OnceCell::const_new();
    DB.get_or_init(|| {
        example_db(
            examples::metrica(),
            include_str!("../../../examples/metrica/generate.rs"),
        )
    })
    .await
    .clone()
}

/// The signups of the Metrica demo with data to `end_date` (seed 42, scale 1): its
/// `user_profiles` table alone, row for row the full demo's (each table draws from its own
/// random stream), generated if absent under target/tally-test-data. For tests that need the
/// demo as a user gets it on another day (the planted signup drop moves with the end date)
/// without writing a full warehouse per day.
pub async fn signups_db_ending(end_date: NaiveDate) -> PathBuf {
    let full = examples::metrica();
    let signups = Example {
        name: "metrica-signups",
        generator: demo::Generator {
            tables: || vec![(examples::metrica().generator.tables)().remove(0)],
            generate: |opts, sink| {
                (examples::metrica().generator.generate)(
                    opts,
                    &mut OnlyTable::new(sink, "user_profiles"),
                )
            },
            workspaces: full.generator.workspaces,
            estimated_rows: |opts| vec![(examples::metrica().generator.estimated_rows)(opts)[0]],
        },
        ..full
    };
    generated_db(
        signups,
        include_str!("../../../examples/metrica/generate.rs"),
        end_date,
    )
    .await
}

/// A row sink passing on one table and dropping the others.
struct OnlyTable<'a> {
    inner: &'a mut dyn demo::RowSink,
    table: &'static str,
    passing: bool,
}

impl<'a> OnlyTable<'a> {
    fn new(inner: &'a mut dyn demo::RowSink, table: &'static str) -> Self {
        OnlyTable {
            inner,
            table,
            passing: false,
        }
    }
}

impl demo::RowSink for OnlyTable<'_> {
    fn begin_table(&mut self, def: &demo::TableDef) -> Result<(), demo::DemoError> {
        self.passing = def.name == self.table;
        if self.passing {
            self.inner.begin_table(def)?;
        }
        Ok(())
    }

    fn row(&mut self, cells: Vec<demo::Cell>) -> Result<(), demo::DemoError> {
        if self.passing {
            self.inner.row(cells)?;
        }
        Ok(())
    }

    fn end_table(&mut self) -> Result<(), demo::DemoError> {
        if self.passing {
            self.inner.end_table()?;
        }
        Ok(())
    }
}

/// The pipeline on the default catalog and a warehouse file.
pub async fn engine_on(db: &std::path::Path) -> Engine {
    let warehouse = Warehouse::open(&format!("sqlite://{}", db.display()))
        .await
        .expect("open the demo warehouse");
    Engine::new(
        Arc::new(Catalog::embedded_default()),
        warehouse,
        Limits::default(),
    )
}

/// `example`'s demo warehouse under target/tally-test-data (seed 42, data to 2026-11-22,
/// scale 1), generated if absent. Keyed by the generator's `source`, so a changed generator
/// never reuses stale data.
async fn example_db(example: Example, source: &str) -> PathBuf {
    generated_db(example, source, date(END_DATE)).await
}

/// `example`'s demo warehouse with data to `end_date` (seed 42, scale 1), generated if absent.
async fn generated_db(example: Example, source: &str, end_date: NaiveDate) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("tally-test-data");
    std::fs::create_dir_all(&dir).expect("create target/tally-test-data");
    let fingerprint = source.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    });
    let name = example.name;
    let path = dir.join(format!(
        "{name}-seed{SEED}-{end_date}-{fingerprint:016x}.db"
    ));
    if !path.is_file() {
        // Another test binary may be building it too: write privately, then rename atomically.
        let private = dir.join(format!(
            "building-{name}-{end_date}-{}.db",
            std::process::id()
        ));
        let opts = DemoOptions {
            seed: SEED,
            end_date,
            scale: 1.0,
        };
        demo::write_sqlite(&private, &example.generator, &opts, &mut |_| {})
            .await
            .unwrap_or_else(|e| panic!("the {name} generator writes a warehouse: {e}"));
        std::fs::rename(&private, &path)
            .unwrap_or_else(|e| panic!("rename the {name} warehouse into place: {e}"));
    }
    path
}

pub async fn engine() -> Engine {
    engine_on(&demo_db().await).await
}

/// What the CLI shows an LLM for the default catalog: the default example's few-shot examples
/// and follow-up phrasings.
pub fn default_prompt_examples() -> PromptExamples<'static> {
    let example = examples::default_example();
    PromptExamples {
        fewshot: example.fewshot,
        followups: example.followups,
    }
}

/// The catalog a golden case runs on: its `catalog` field (an embedded example's name), else the
/// embedded default (Metrica). Existing cases name none.
pub fn case_catalog(case: &serde_json::Value) -> &str {
    case.get("catalog")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("metrica")
}

/// An embedded example's catalog, by name.
pub fn catalog_named(name: &str) -> Catalog {
    let example =
        examples::find(name).unwrap_or_else(|| panic!("no embedded example named `{name}`"));
    Catalog::of_example(&example).expect("embedded example catalogs load")
}

/// The Adnavi demo warehouse file (seed 42, data to 2026-11-22, scale 1), generated if absent.
pub async fn adnavi_db() -> PathBuf {
    static DB: OnceCell<PathBuf> = OnceCell::const_new();
    DB.get_or_init(|| {
        example_db(
            examples::adnavi(),
            include_str!("../../../examples/adnavi/generate.rs"),
        )
    })
    .await
    .clone()
}

/// The pipeline on an embedded example's catalog and its demo warehouse.
pub async fn engine_for(catalog: &str) -> Engine {
    let db = match catalog {
        "metrica" => return engine().await,
        "adnavi" => adnavi_db().await,
        other => panic!("no demo warehouse for catalog `{other}`"),
    };
    let warehouse = Warehouse::open(&format!("sqlite://{}", db.display()))
        .await
        .expect("open the demo warehouse");
    Engine::new(
        Arc::new(catalog_named(catalog)),
        warehouse,
        Limits::default(),
    )
}

/// A read-write-free pool on the same file for hand-written SQL.
pub async fn hand_pool() -> sqlx::SqlitePool {
    read_only_pool(&demo_db().await).await
}

/// A one-connection, read-only pool on a SQLite file, for SQL a test writes itself.
pub async fn read_only_pool(db: &std::path::Path) -> sqlx::SqlitePool {
    sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            sqlx::sqlite::SqliteConnectOptions::new()
                .filename(db)
                .read_only(true),
        )
        .await
        .unwrap_or_else(|e| panic!("open {} read-only: {e}", db.display()))
}

/// Signups of the demo's acme workspace on one day, counted by hand in SQL, with `segment` an
/// extra `AND …` condition (or empty): the number explain and the anomaly scan are checked
/// against.
pub async fn acme_signups(pool: &sqlx::SqlitePool, day: &str, segment: &str) -> f64 {
    let sql = format!(
        "SELECT COUNT(*) FROM user_profiles WHERE workspace_id = 'acme' \
         AND signup_at >= '{day} 00:00:00' AND signup_at < date('{day}', '+1 day') || ' 00:00:00' {segment}"
    );
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(pool)
        .await
        .unwrap();
    n as f64
}
