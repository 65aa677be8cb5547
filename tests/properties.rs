//! Properties over random input (proptest, bounded for CI; `PROPTEST_CASES=N` runs more):
//! `check` and the rule translator never panic on anything (fuzzing, since cargo-fuzz needs
//! nightly), and no generated query for one workspace ever sees another workspace's rows:
//! canary rows planted in `globex` under the same ids `acme` uses change nothing `acme` gets.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};
use sqlx::ConnectOptions;
use tally::catalog::Catalog;
use tally::check::{Checker, Rejection};
use tally::pipeline::Engine;
use tally::plan::Clock;
use tally::translate::rules::Rules;
use tally::translate::Translation;

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn runner(default_cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases: cases(default_cases),
        failure_persistence: None,
        ..Config::default()
    })
}

/// JSON of any shape, with the DSL's own keys and values mixed in so that the checker gets past
/// its first gates as often as not.
fn arbitrary_json() -> impl Strategy<Value = Value> {
    let keys = prop_oneof![
        proptest::sample::select(
            &[
                "kind",
                "metrics",
                "period",
                "preset",
                "last_n",
                "count",
                "unit",
                "between",
                "start",
                "end",
                "date",
                "compare",
                "granularity",
                "group_by",
                "filters",
                "dimension",
                "op",
                "values",
                "top_n",
                "order",
                "entity",
                "fields",
                "sort",
                "field",
                "limit",
                "funnel",
                "metric",
                "baseline",
                "version",
                "steps",
                "window",
            ][..]
        )
        .prop_map(str::to_string),
        ".{0,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        proptest::sample::select(
            &[
                "metric",
                "list",
                "overview",
                "funnel",
                "explain",
                "dau",
                "mrr",
                "signups",
                "last_week",
                "day",
                "week",
                "month",
                "eq",
                "in",
                "contains",
                "country",
                "customer",
                "company_name",
                "2026-02-29",
                "2026-11-17",
                "desc",
                "\u{0}",
            ][..]
        )
        .prop_map(|s| Value::String(s.to_string())),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(keys.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[test]
fn check_never_panics_and_every_rejection_says_why() {
    let catalog = Arc::new(Catalog::embedded_default());
    let checker = Checker::new(catalog.clone());
    let roles: Vec<String> = catalog.roles.keys().cloned().collect();
    let strategy = (
        prop_oneof![arbitrary_json(), common::gen::query(&catalog)],
        proptest::sample::select(roles),
    );
    runner(2000)
        .run(&strategy, |(doc, role)| {
            let raw = serde_json::to_vec(&doc).unwrap();
            match checker.check_bytes(&raw, &role) {
                Ok(_) => {}
                Err(Rejection::Invalid { diagnostics }) => prop_assert!(!diagnostics.is_empty()),
                Err(Rejection::Refused { refusal, .. }) => {
                    prop_assert!(!refusal.message.is_empty())
                }
            }
            Ok(())
        })
        .unwrap();
    // Raw bytes, most of them not JSON at all.
    runner(1000)
        .run(&proptest::collection::vec(any::<u8>(), 0..300), |bytes| {
            let _ = checker.check_bytes(&bytes, "analyst");
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_rule_translator_never_panics_and_what_it_writes_goes_through_check() {
    let catalog = Arc::new(Catalog::embedded_default());
    let checker = Checker::new(catalog.clone());
    let rules = Rules::new(&catalog);
    let mut vocabulary: Vec<String> = catalog
        .metrics
        .values()
        .flat_map(|m| std::iter::once(m.name.clone()).chain(m.synonyms.clone()))
        .chain(catalog.dimensions.values().flat_map(|d| {
            std::iter::once(d.name.clone())
                .chain(d.synonyms.clone())
                .chain(d.values.clone())
        }))
        .collect();
    vocabulary.extend(
        [
            "last",
            "week",
            "month",
            "yesterday",
            "by",
            "top",
            "vs",
            "the",
            "before",
            "why",
            "drop",
            "in",
            "not",
            "only",
            "and",
            "how",
            "many",
            "show",
            "me",
            "emails",
            "of",
            "customers",
            "since",
            "march",
            "q3",
            "2026-11-17",
            "5",
            "over",
            "1000",
            "IT",
            "US",
            "per",
            "day",
            "trend",
            "compared",
            "to",
            "previous",
            "year",
            "\u{0}",
            "é",
            "🙂",
        ]
        .map(str::to_string),
    );
    let word = prop_oneof![
        8 => proptest::sample::select(vocabulary),
        1 => ".{1,8}",
    ];
    let question = proptest::collection::vec(word, 0..12).prop_map(|w| w.join(" "));
    let previous = proptest::option::of(common::gen::query(&catalog));
    let today: chrono::NaiveDate = common::TODAY.parse().unwrap();
    runner(2000)
        .run(&(question, previous), |(q, previous)| {
            match rules.translate(&q, &catalog, today, previous.as_ref()) {
                Translation::Dsl { dsl } => {
                    let raw = serde_json::to_vec(&dsl).unwrap();
                    let _ = checker.check_bytes(&raw, "analyst");
                }
                Translation::Clarify(c) => prop_assert!(!c.message.is_empty()),
            }
            Ok(())
        })
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Canaries.

/// The demo warehouse with canary rows in `globex`: customers, users, sessions, events and
/// tickets under ids that `acme` also uses, with values no `acme` row has (country `ZZ`, company
/// `CANARY Corp`, MRR 987654321), spread over the demo's whole time range.
async fn canary_warehouse(dir: &Path) -> PathBuf {
    let path = dir.join("canary.db");
    std::fs::copy(common::demo_db().await, &path).unwrap();
    let mut db = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .connect()
        .await
        .unwrap();
    let free = |table: &str, id: &str| {
        format!(
            "SELECT {id} FROM {table} WHERE workspace_id = 'acme' AND {id} NOT IN \
             (SELECT {id} FROM {table} WHERE workspace_id = 'globex') ORDER BY {id} LIMIT 40"
        )
    };
    let mut lists = Vec::new();
    for (table, id) in [
        ("customers", "customer_id"),
        ("user_profiles", "user_id"),
        ("sessions", "session_id"),
        ("events", "event_id"),
        ("support_tickets", "ticket_id"),
    ] {
        let mut out: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(free(table, id)))
            .fetch_all(&mut db)
            .await
            .unwrap();
        // Fresh ids too, past anything either workspace has.
        out.extend(9_000_000..9_000_010);
        lists.push(out);
    }
    let [customers, users, sessions, events, tickets]: [Vec<i64>; 5] = lists.try_into().unwrap();
    let when = |i: usize| {
        let day = chrono::NaiveDate::from_ymd_opt(2025, 9, 1).unwrap()
            + chrono::Days::new((i as u64 * 37) % 447);
        format!("{day} 12:00:00")
    };
    let mut statements: Vec<String> = Vec::new();
    for (i, c) in customers.iter().enumerate() {
        statements.push(format!(
            "INSERT INTO customers VALUES ('globex', {c}, 'CANARY Corp {i}', \
             'canary{i}@canary.invalid', 'enterprise', 987654321, '{}', NULL)",
            when(i)
        ));
    }
    for (i, u) in users.iter().enumerate() {
        statements.push(format!(
            "INSERT INTO user_profiles VALUES ('globex', {u}, '{}', 'ZZ', 'ios', 'paid_social', \
             'canary{i}@canary.invalid')",
            when(i)
        ));
    }
    for (i, s) in sessions.iter().enumerate() {
        let u = users[i % users.len()];
        statements.push(format!(
            "INSERT INTO sessions VALUES ('globex', {s}, {u}, '{t}', '{t}', 'ios', 'ZZ')",
            t = when(i)
        ));
    }
    for (i, e) in events.iter().enumerate() {
        let (u, s) = (users[i % users.len()], sessions[i % sessions.len()]);
        let name = [
            "checkout_started",
            "payment_submitted",
            "order_completed",
            "page_view",
        ][i % 4];
        statements.push(format!(
            "INSERT INTO events VALUES ('globex', {e}, {u}, {s}, '{name}', '{}', '{{}}')",
            when(i)
        ));
    }
    for (i, t) in tickets.iter().enumerate() {
        let c = customers[i % customers.len()];
        statements.push(format!(
            "INSERT INTO support_tickets VALUES ('globex', {t}, {c}, '{w}', '{w}', 'urgent', \
             'billing')",
            w = when(i)
        ));
    }
    for s in statements {
        sqlx::query(sqlx::AssertSqlSafe(s))
            .execute(&mut db)
            .await
            .unwrap();
    }
    path
}

struct Canaries {
    runtime: tokio::runtime::Runtime,
    plain: Engine,
    planted: Engine,
    _dir: tempfile::TempDir,
}

fn canaries() -> &'static Canaries {
    static CANARIES: OnceLock<Canaries> = OnceLock::new();
    CANARIES.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (plain, planted) = runtime.block_on(async {
            let planted = canary_warehouse(dir.path()).await;
            let open = |p: PathBuf| async move {
                tally::exec::Warehouse::open(&format!("sqlite://{}", p.display()))
                    .await
                    .unwrap()
            };
            (
                common::engines::engine_on(open(common::demo_db().await).await),
                common::engines::engine_on(open(planted).await),
            )
        });
        Canaries {
            runtime,
            plain,
            planted,
            _dir: dir,
        }
    })
}

/// What a response says, without its per-run parts (ids, timings).
fn said(r: &tally::pipeline::Response) -> Value {
    json!({
        "outcome": r.outcome.as_str(),
        "answer": r.answer,
        "data": r.data,
        "refusal": r.refusal,
        "diagnostics": r.diagnostics,
    })
}

#[test]
fn no_generated_query_for_one_workspace_sees_a_canary_of_another() {
    let c = canaries();
    let catalog = c.plain.catalog.clone();
    let clock = Clock::fixed(common::date(common::TODAY));
    const ROLES: &[&str] = &["analyst", "executive", "support_agent"];
    let strategy = (
        common::gen::query(&catalog),
        proptest::sample::select(ROLES),
    );
    let answered = std::cell::Cell::new(0u32);
    runner(160)
        .run(&strategy, |(dsl, role)| {
            let raw = serde_json::to_vec(&dsl).unwrap();
            let (plain, planted) = c.runtime.block_on(async {
                let plain = c.plain.run(&raw, role, "acme", &clock).await;
                let planted = c.planted.run(&raw, role, "acme", &clock).await;
                (plain, planted)
            });
            let (plain, planted) = match (plain, planted) {
                (Ok((a, _)), Ok((b, _))) => (a, b),
                (Err(a), Err(b)) => {
                    prop_assert_eq!(a.to_string(), b.to_string());
                    return Ok(());
                }
                (a, b) => panic!("one engine failed: {:?} / {:?}", a.err(), b.err()),
            };
            if plain.outcome.as_str() == "answered" {
                answered.set(answered.get() + 1);
            }
            let text = serde_json::to_string(&planted).unwrap();
            for canary in ["CANARY", "canary", "987654321", "\"ZZ\""] {
                prop_assert!(!text.contains(canary), "{canary} reached acme: {}", text);
            }
            prop_assert_eq!(said(&plain), said(&planted), "{}", dsl);
            Ok(())
        })
        .unwrap();
    let answered = answered.get();
    eprintln!("{answered} generated queries answered on both warehouses, identically");
    assert!(
        answered >= 20,
        "only {answered} generated queries were answered"
    );
    // The canaries are there to be seen: in globex's own numbers they count.
    let raw = serde_json::to_vec(&json!({"kind":"metric","metrics":["tickets_opened","mrr"],
                                         "period":{"preset":"last_year"}}))
    .unwrap();
    let (plain, planted) = c.runtime.block_on(async {
        (
            c.plain
                .run(&raw, "analyst", "globex", &clock)
                .await
                .unwrap()
                .0,
            c.planted
                .run(&raw, "analyst", "globex", &clock)
                .await
                .unwrap()
                .0,
        )
    });
    assert_ne!(
        said(&plain)["data"],
        said(&planted)["data"],
        "the canaries count in globex"
    );
}
