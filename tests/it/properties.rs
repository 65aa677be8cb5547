//! Properties over random input (proptest, bounded for CI; `PROPTEST_CASES=N` runs more):
//! `check` and the rule translator never panic on anything (fuzzing, since cargo-fuzz needs
//! nightly), and no generated query for one workspace ever sees another workspace's rows:
//! canary rows planted in `globex` under the same ids `acme` uses change nothing `acme` gets.

use crate::common;

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
    let catalog = c.plain.catalog().clone();
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

// ---------------------------------------------------------------------------------------------
// Every number an answer states is in its result.

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

fn is_month(word: &str) -> bool {
    tally::answer::format::MONTH_NAMES
        .iter()
        .any(|m| word == *m || word == &m[..3])
}

/// The numerals an answer states, dates left out ("Mon 16 – Sun 22 Nov 2026", "2026-11-17"),
/// after removing the texts in `names` (labels, dimension values, filter values: names may hold
/// digits). Each numeral is kept as written, without sign, currency or percent sign.
fn stated_numbers(answer: &str, names: &[String]) -> Vec<String> {
    let mut text = answer.to_string();
    let mut names: Vec<&String> = names.iter().filter(|n| !n.is_empty()).collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    for name in names {
        text = replace_whole(&text, name);
    }
    let trim = |w: &str| {
        w.trim_matches(|c: char| !c.is_ascii_alphanumeric())
            .to_string()
    };
    let words: Vec<String> = text.split_whitespace().map(trim).collect();
    let mut date = vec![false; words.len()];
    for (i, w) in words.iter().enumerate() {
        let numeric = |j: usize| words.get(j).is_some_and(|w| w.parse::<u32>().is_ok());
        if WEEKDAYS.contains(&w.as_str()) {
            date[i] = true;
            if numeric(i + 1) {
                date[i + 1] = true;
            }
        }
        if is_month(w) {
            date[i] = true;
            if i > 0 && numeric(i - 1) {
                date[i - 1] = true;
            }
            if numeric(i + 1) {
                date[i + 1] = true;
            }
        }
        if w.len() == 10 && chrono::NaiveDate::parse_from_str(w, "%Y-%m-%d").is_ok() {
            date[i] = true;
        }
    }
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if date[i] {
            continue;
        }
        // A word may hold a numeral inside ("$1,234.50", "49.6%", "(7.05)").
        let mut numeral = String::new();
        for c in w.chars().chain(std::iter::once(' ')) {
            if c.is_ascii_digit() || (!numeral.is_empty() && matches!(c, ',' | '.')) {
                numeral.push(c);
            } else if !numeral.is_empty() {
                out.push(numeral.trim_end_matches([',', '.']).to_string());
                numeral.clear();
            }
        }
    }
    out
}

/// `text` with each whole-word occurrence of `name` replaced by a space (a name "p" leaves
/// "Sep" alone).
fn replace_whole(text: &str, name: &str) -> String {
    let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(name) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + name.len()..].chars().next();
        out.push_str(&rest[..at]);
        if boundary(before) && boundary(after) {
            out.push(' ');
        } else {
            out.push_str(name);
        }
        rest = &rest[at + name.len()..];
    }
    out.push_str(rest);
    out
}

/// Every number in a JSON value (and array lengths), as a result or a query holds them.
fn numbers_in(value: &Value, out: &mut Vec<f64>) {
    match value {
        Value::Number(n) => out.extend(n.as_f64()),
        Value::Array(items) => {
            out.push(items.len() as f64);
            items.iter().for_each(|v| numbers_in(v, out));
        }
        Value::Object(fields) => fields.values().for_each(|v| numbers_in(v, out)),
        _ => {}
    }
}

/// Texts an answer may quote that can hold digits: labels, dimension and filter values.
fn strings_in(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings_in(v, out)),
        Value::Object(fields) => fields.values().for_each(|v| strings_in(v, out)),
        _ => {}
    }
}

/// Whether `numeral` (as written: "1,234.5") is some candidate rounded to its decimals.
fn explained(numeral: &str, candidates: &[f64]) -> bool {
    let decimals = numeral.split_once('.').map_or(0, |(_, f)| f.len());
    candidates.iter().any(|c| {
        [c.abs(), (c * 100.0).abs()]
            .iter()
            .any(|v| tally::answer::format::fixed(*v, decimals) == numeral)
    })
}

/// How many stated numbers were traced (a test that traces none proves nothing).
static STATED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn check_stated_numbers(
    catalog: &Catalog,
    role: &str,
    dsl: &Value,
    response: &tally::pipeline::Response,
) -> Result<(), TestCaseError> {
    if response.outcome.as_str() != "answered" {
        // A refusal or clarification states no result number (the suggestion's DSL aside).
        return Ok(());
    }
    let data = serde_json::to_value(&response.data).unwrap();
    let mut candidates = Vec::new();
    numbers_in(&data, &mut candidates);
    numbers_in(dsl, &mut candidates);
    if let Some(executed) = &response.executed_dsl {
        numbers_in(&serde_json::to_value(executed).unwrap(), &mut candidates);
    }
    candidates.extend(catalog.role(role).map(|r| f64::from(r.min_group_size)));
    // An explain states each driver's mix and rate effects as shares of the change (as it
    // states `share`, which the result holds): derived from the result, by the template.
    if let (Some(drivers), Some(delta)) = (
        data["drivers"].as_array(),
        data["summary"][0]["delta"].as_f64(),
    ) {
        for d in drivers {
            for part in ["mix", "rate"] {
                candidates.extend(d[part].as_f64().map(|x| x / delta));
            }
        }
    }
    let mut names = Vec::new();
    strings_in(&data, &mut names);
    strings_in(dsl, &mut names);
    names.extend(catalog.metrics.values().map(|m| m.label.clone()));
    // Fixed phrases of the explain template.
    names.push("the 4 weeks before".into());
    let stated = stated_numbers(&response.answer, &names);
    STATED.fetch_add(stated.len(), std::sync::atomic::Ordering::Relaxed);
    for numeral in stated {
        prop_assert!(
            explained(&numeral, &candidates),
            "the answer states {numeral}, which the result does not hold:\n{}\n{}",
            response.answer,
            serde_json::to_string(&data).unwrap()
        );
    }
    Ok(())
}

#[test]
fn every_number_an_answer_states_is_in_its_result() {
    assert_eq!(
        stated_numbers(
            "Events in the last 30 days (Sat 24 Oct – Sun 22 Nov 2026) was 28,833, up 4.1% \
             from $1,234.50 (top 3 of 6 shown) on 2026-11-17.",
            &[]
        ),
        ["30", "28,833", "4.1", "1,234.50", "3", "6"]
    );
    assert!(explained("4.1", &[0.0412]) && explained("28,833", &[28833.0]));
    assert_eq!(
        stated_numbers(
            "Conversion rate (campaign p) last quarter (Wed 1 Jul – Wed 30 Sep 2026)",
            &["p".into()]
        ),
        Vec::<String>::new()
    );
    assert!(!explained("28,834", &[28833.0]));
    for name in ["metrica", "adnavi"] {
        let c = canaries();
        let catalog = Arc::new(common::catalog_named(name));
        let engine = c.runtime.block_on(common::engine_for(name));
        let roles: Vec<String> = catalog
            .roles
            .iter()
            .filter(|(_, r)| !r.admin)
            .map(|(n, _)| n.clone())
            .collect();
        let clock = Clock::fixed(common::date(common::TODAY));
        let answered = std::cell::Cell::new(0u32);
        let strategy = (
            common::gen::query(&catalog),
            proptest::sample::select(roles),
        );
        runner(160)
            .run(&strategy, |(dsl, role)| {
                let raw = serde_json::to_vec(&dsl).unwrap();
                let Ok((response, _)) = c.runtime.block_on(engine.run(&raw, &role, "acme", &clock))
                else {
                    return Ok(());
                };
                if response.outcome.as_str() == "answered" {
                    answered.set(answered.get() + 1);
                }
                check_stated_numbers(&catalog, &role, &dsl, &response)
            })
            .unwrap();
        assert!(answered.get() >= 20, "{name}: {} answered", answered.get());
    }
    let stated = STATED.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!("{stated} stated numbers traced to their results");
    assert!(stated >= 200, "only {stated} numbers were traced");
}

// ---------------------------------------------------------------------------------------------
// An independent oracle: counts, sums and distinct counts computed in Rust from the rows.

/// One table's rows of `acme`, every column as text (NULL as `None`).
type Table = Vec<std::collections::BTreeMap<String, Option<String>>>;

async fn acme_rows(table: &str, tenant: &str) -> Table {
    let pool = common::hand_pool().await;
    let columns: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT name FROM pragma_table_info('{table}')"
    )))
    .fetch_all(&pool)
    .await
    .unwrap();
    let select = columns
        .iter()
        .map(|c| format!("CAST(\"{c}\" AS TEXT)"))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {select} FROM \"{table}\" WHERE \"{tenant}\" = 'acme'"
    )))
    .fetch_all(&pool)
    .await
    .unwrap();
    use sqlx::Row;
    rows.iter()
        .map(|r| {
            columns
                .iter()
                .enumerate()
                .map(|(i, c)| (c.clone(), r.get::<Option<String>, _>(i)))
                .collect()
        })
        .collect()
}

/// A metric the oracle can compute: a count, sum or distinct count on a table with its own
/// tenant column, dated by a column.
struct Simple {
    metric: String,
    table: String,
    time: String,
    func: tally::catalog::AggFunc,
    fixed: Vec<(String, String)>,
    /// Dimensions bound on the same table: (name, column, known values).
    dims: Vec<(String, String, Vec<String>)>,
}

fn simple_metrics(catalog: &Catalog) -> Vec<Simple> {
    use tally::catalog::{AggFunc, Measure, MetricDef, Tenant, TimeBasis};
    let mut out = Vec::new();
    for m in catalog.metrics.values() {
        let MetricDef::Aggregate(a) = &m.def else {
            continue;
        };
        let TimeBasis::Column(time) = &a.time else {
            continue;
        };
        let simple = matches!(
            &a.func,
            AggFunc::Count | AggFunc::CountDistinct(_) | AggFunc::Sum(Measure::Column(_))
        );
        let own_tenant = matches!(catalog.tables[&a.table].tenant, Tenant::Column(_));
        if !simple || !own_tenant {
            continue;
        }
        let dims = catalog
            .dimensions
            .values()
            .filter(|d| d.sensitivity < tally::catalog::Sensitivity::Pii && !d.values.is_empty())
            .filter_map(|d| {
                let (_, column) = d.bindings.iter().find(|(t, _)| *t == a.table)?;
                Some((d.name.clone(), column.clone(), d.values.clone()))
            })
            .collect();
        out.push(Simple {
            metric: m.name.clone(),
            table: a.table.clone(),
            time: time.clone(),
            func: a.func.clone(),
            fixed: a.filters.clone(),
            dims,
        });
    }
    out
}

/// The oracle: `metric` over acme's rows in [start, end], with an optional filter
/// (dimension column, op, values) and an optional group column.
fn oracle(
    s: &Simple,
    rows: &Table,
    start: chrono::NaiveDate,
    end: chrono::NaiveDate,
    filter: Option<&(String, &str, Vec<String>)>,
    group: Option<&str>,
) -> std::collections::BTreeMap<Option<String>, f64> {
    use tally::catalog::{AggFunc, Measure};
    let from = format!("{start} 00:00:00");
    let until = format!("{} 00:00:00", end + chrono::Days::new(1));
    let mut acc: std::collections::BTreeMap<
        Option<String>,
        (f64, std::collections::BTreeSet<String>),
    > = Default::default();
    for r in rows {
        let Some(t) = r[&s.time].as_deref() else {
            continue;
        };
        if t < from.as_str() || t >= until.as_str() {
            continue;
        }
        if s.fixed
            .iter()
            .any(|(c, v)| r[c].as_deref() != Some(v.as_str()))
        {
            continue;
        }
        if let Some((column, op, values)) = filter {
            let v = r[column].clone();
            let hit = v.as_ref().is_some_and(|v| values.contains(v));
            let keep = match *op {
                "eq" | "in" => hit,
                _ => v.is_some() && !hit,
            };
            if !keep {
                continue;
            }
        }
        let key = group.map(|g| r[g].clone()).unwrap_or(None);
        let slot = acc.entry(key).or_default();
        match &s.func {
            AggFunc::Count => slot.0 += 1.0,
            AggFunc::Sum(Measure::Column(c)) => {
                slot.0 += r[c]
                    .as_deref()
                    .and_then(|v| v.parse::<f64>().ok())
                    .unwrap_or(0.0)
            }
            AggFunc::CountDistinct(c) => {
                if let Some(v) = &r[c] {
                    slot.1.insert(v.clone());
                }
            }
            _ => unreachable!("only simple metrics"),
        }
    }
    acc.into_iter()
        .map(|(k, (n, set))| {
            let v = if matches!(s.func, AggFunc::CountDistinct(_)) {
                set.len() as f64
            } else {
                n
            };
            (k, v)
        })
        .collect()
}

#[test]
fn an_independent_oracle_agrees_on_counts_sums_and_distinct_counts() {
    let c = canaries();
    let catalog = c.plain.catalog().clone();
    let simple = simple_metrics(&catalog);
    assert!(simple.len() >= 5, "{} simple metrics", simple.len());
    let tables: std::collections::BTreeMap<String, Table> = c.runtime.block_on(async {
        let mut out = std::collections::BTreeMap::new();
        for s in &simple {
            if !out.contains_key(&s.table) {
                let tally::catalog::Tenant::Column(tenant) = &catalog.tables[&s.table].tenant
                else {
                    unreachable!()
                };
                out.insert(s.table.clone(), acme_rows(&s.table, tenant).await);
            }
        }
        out
    });
    let clock = Clock::fixed(common::date(common::TODAY));
    let day = |n: u64| chrono::NaiveDate::from_ymd_opt(2025, 10, 1).unwrap() + chrono::Days::new(n);
    let strategy = (
        0..simple.len(),
        0u64..410,
        0u64..60,
        any::<proptest::sample::Index>(),
        proptest::option::of((
            any::<proptest::sample::Index>(),
            proptest::sample::select(&["eq", "neq", "in", "not_in"][..]),
            any::<proptest::sample::Index>(),
        )),
        any::<bool>(),
    );
    let compared = std::cell::Cell::new(0usize);
    runner(200)
        .run(&strategy, |(m, from, len, g, f, grouped)| {
            let s = &simple[m];
            let (start, end) = (day(from), day(from + len));
            let filter = match (&f, s.dims.is_empty()) {
                (Some((d, op, v)), false) => {
                    let (name, column, values) = d.get(&s.dims);
                    let n = if matches!(*op, "in" | "not_in") { 2 } else { 1 };
                    let first = v.index(values.len());
                    let picked: Vec<String> = (0..n)
                        .map(|k| values[(first + k) % values.len()].clone())
                        .collect();
                    Some((name.clone(), column.clone(), *op, picked))
                }
                _ => None,
            };
            let group = (grouped && !s.dims.is_empty()).then(|| g.get(&s.dims));
            let mut dsl = json!({"kind": "metric", "metrics": [s.metric],
                "period": {"between": {"start": start.to_string(), "end": end.to_string()}},
                "top_n": 50});
            if let Some((name, _, op, values)) = &filter {
                dsl["filters"] = json!([{"dimension": name, "op": op, "values": values}]);
            }
            if let Some((name, _, _)) = group {
                dsl["group_by"] = json!([name]);
            }
            let raw = serde_json::to_vec(&dsl).unwrap();
            let (r, _) = c
                .runtime
                .block_on(c.plain.run(&raw, "analyst", "acme", &clock))
                .unwrap();
            prop_assert_eq!(r.outcome.as_str(), "answered", "{}: {}", dsl, r.answer);
            let rows = &tables[&s.table];
            let f = filter
                .as_ref()
                .map(|(_, col, op, v)| (col.clone(), *op, v.clone()));
            let total = oracle(s, rows, start, end, f.as_ref(), None);
            let expected_total = total.get(&None).copied().unwrap_or(0.0);
            let data = r.data.as_ref().unwrap();
            let got = serde_json::to_value(&data.summary[0]).unwrap()["value"]
                .as_f64()
                .unwrap_or(f64::NAN);
            prop_assert_eq!(got, expected_total, "total of {}", dsl);
            compared.set(compared.get() + 1);
            if let Some((name, column, _)) = group {
                let expected = oracle(s, rows, start, end, f.as_ref(), Some(column));
                let got: std::collections::BTreeMap<Option<String>, f64> = data
                    .breakdown
                    .iter()
                    .map(|b| {
                        let b = serde_json::to_value(b).unwrap();
                        (
                            b["dimensions"][name].as_str().map(str::to_string),
                            b["value"].as_f64().unwrap_or(f64::NAN),
                        )
                    })
                    .collect();
                let expected: std::collections::BTreeMap<Option<String>, f64> =
                    expected.into_iter().filter(|(_, v)| *v != 0.0).collect();
                let got: std::collections::BTreeMap<Option<String>, f64> =
                    got.into_iter().filter(|(_, v)| *v != 0.0).collect();
                prop_assert_eq!(got, expected, "breakdown of {}", dsl);
                compared.set(compared.get() + 1);
            }
            Ok(())
        })
        .unwrap();
    eprintln!(
        "{} totals and breakdowns equal the oracle's",
        compared.get()
    );
}

// ---------------------------------------------------------------------------------------------
// Determinism: same query, data and clock, same bytes (ids and timings aside), across runs and
// across a restart.

fn without_volatile(r: &tally::pipeline::Response) -> String {
    let mut v = serde_json::to_value(r).unwrap();
    v.as_object_mut().unwrap().remove("query_id");
    v.as_object_mut().unwrap().remove("timings_ms");
    serde_json::to_string(&v).unwrap()
}

#[test]
fn the_same_query_gives_the_same_bytes_across_runs_and_restarts() {
    let c = canaries();
    let catalog = c.plain.catalog().clone();
    // A second engine on the same file: a restarted server.
    let restarted = c.runtime.block_on(common::engine());
    let clock = Clock::fixed(common::date(common::TODAY));
    const ROLES: &[&str] = &["analyst", "executive", "support_agent"];
    runner(80)
        .run(
            &(
                common::gen::query(&catalog),
                proptest::sample::select(ROLES),
            ),
            |(dsl, role)| {
                let raw = serde_json::to_vec(&dsl).unwrap();
                let runs = c.runtime.block_on(async {
                    let mut out = Vec::new();
                    for engine in [&c.plain, &c.plain, &restarted] {
                        out.push(engine.run(&raw, role, "acme", &clock).await.map(|(r, _)| r));
                    }
                    out
                });
                let texts: Vec<String> = runs
                    .iter()
                    .map(|r| match r {
                        Ok(r) => without_volatile(r),
                        Err(e) => e.to_string(),
                    })
                    .collect();
                prop_assert_eq!(&texts[0], &texts[1], "two runs of {}", dsl);
                prop_assert_eq!(&texts[0], &texts[2], "a restart on {}", dsl);
                Ok(())
            },
        )
        .unwrap();
}
