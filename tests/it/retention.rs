//! `retention` on the demo warehouse: every cohort's size and every cell's returning users equal
//! SQL written by hand another way (a correlated EXISTS per cell, not Tally's join and
//! GROUP BY), for weekly, daily and monthly cohorts, grouped and filtered; offsets that have
//! not ended are left out; a role with `min_group_size` never sees a cohort or cell of fewer
//! users; another workspace's users never count; the rule translator reads the phrasings.

use crate::common;

use chrono::{Days, Months, NaiveDate};
use common::{date, engine, hand_pool, TODAY};
use serde_json::{json, Value};
use tally::pipeline::{Engine, Outcome};
use tally::plan::Clock;

async fn run(engine: &Engine, dsl: &Value, role: &str, workspace: &str) -> Value {
    let raw = serde_json::to_vec(dsl).unwrap();
    let (r, _) = engine
        .run(&raw, role, workspace, &Clock::fixed(date(TODAY)))
        .await
        .expect("the pipeline runs");
    assert_eq!(r.outcome, Outcome::Answered, "{}", r.answer);
    serde_json::to_value(&r).unwrap()
}

fn next(d: NaiveDate, unit: &str, k: u32) -> NaiveDate {
    match unit {
        "day" => d + Days::new(u64::from(k)),
        "week" => d + Days::new(7 * u64::from(k)),
        _ => d.checked_add_months(Months::new(k)).unwrap(),
    }
}

/// The users of `workspace` who signed up in [from, until) and match `extra`, and of those, the
/// ones with an event in [start, end) at or after signing up.
async fn hand(
    pool: &sqlx::SqlitePool,
    workspace: &str,
    (from, until): (NaiveDate, NaiveDate),
    extra: &str,
    cell: Option<(NaiveDate, NaiveDate)>,
) -> i64 {
    let exists = match cell {
        Some((start, end)) => format!(
            "AND EXISTS (SELECT 1 FROM events e WHERE e.workspace_id = p.workspace_id \
             AND e.user_id = p.user_id AND e.ts >= p.signup_at \
             AND e.ts >= '{start} 00:00:00' AND e.ts < '{end} 00:00:00')"
        ),
        None => String::new(),
    };
    let sql = format!(
        "SELECT COUNT(*) FROM user_profiles p WHERE p.workspace_id = '{workspace}' \
         AND p.signup_at >= '{from} 00:00:00' AND p.signup_at < '{until} 00:00:00' {extra} {exists}"
    );
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Checks every cohort and cell of a response against `hand`; returns the cells checked.
async fn check_against_hand(
    pool: &sqlx::SqlitePool,
    r: &Value,
    workspace: &str,
    group: Option<&str>,
    extra: &str,
) -> usize {
    let out = &r["data"]["retention"];
    let unit = out["granularity"].as_str().unwrap();
    let today = date(TODAY);
    let mut checked = 0;
    for c in out["cohorts"].as_array().unwrap() {
        let start = date(c["period"]["start"].as_str().unwrap());
        let end = date(c["period"]["end"].as_str().unwrap()) + Days::new(1);
        let bucket = date(c["cohort"].as_str().unwrap());
        let mut scope = extra.to_string();
        if let (Some(d), Some(dims)) = (group, c.get("dimensions")) {
            match dims[d].as_str() {
                Some(v) => scope.push_str(&format!(" AND p.{d} = '{v}'")),
                None => scope.push_str(&format!(" AND p.{d} IS NULL")),
            }
        }
        let size = hand(pool, workspace, (start, end), &scope, None).await;
        assert_eq!(c["size"], json!(size), "cohort {c}");
        let cells = c["cells"].as_array().unwrap();
        // Every offset that has ended is there, none that has not.
        let ended = (0..=out["periods"].as_u64().unwrap() as u32)
            .filter(|k| next(bucket, unit, k + 1) <= today)
            .count();
        assert_eq!(cells.len(), ended, "cohort {}", c["cohort"]);
        for (k, cell) in cells.iter().enumerate() {
            let k = k as u32;
            assert_eq!(cell["offset"], json!(k));
            let (s, e) = (next(bucket, unit, k), next(bucket, unit, k + 1));
            assert_eq!(cell["start"], json!(s.to_string()));
            let n = hand(pool, workspace, (start, end), &scope, Some((s, e))).await;
            assert_eq!(
                cell["returning"],
                json!(n),
                "cohort {} offset {k}",
                c["cohort"]
            );
            let rate = cell["rate"].as_f64().unwrap();
            assert!((rate - n as f64 / size as f64).abs() < 1e-12);
            checked += 1;
        }
    }
    checked
}

#[tokio::test]
async fn weekly_daily_and_monthly_cohorts_equal_sql_written_by_hand() {
    let (e, pool) = (engine().await, hand_pool().await);
    for (dsl, at_least) in [
        (
            json!({"kind":"retention","retention":"users","period":{"preset":"last_month"}}),
            5 * 4,
        ),
        (
            json!({"kind":"retention","retention":"users","period":{"last_n":{"count":7,"unit":"day"}},"granularity":"day","periods":10}),
            7,
        ),
        (
            json!({"kind":"retention","retention":"users","period":{"between":{"start":"2026-06-01","end":"2026-09-30"}},"granularity":"month","periods":3}),
            4 * 3,
        ),
    ] {
        let r = run(&e, &dsl, "analyst", "acme").await;
        let checked = check_against_hand(&pool, &r, "acme", None, "").await;
        assert!(checked >= at_least, "{checked} cells for {dsl}");
        // Offset 0: everyone who signed up had an event at or after signing up that bucket,
        // or not; never more than the cohort.
        for c in r["data"]["retention"]["cohorts"].as_array().unwrap() {
            for cell in c["cells"].as_array().unwrap() {
                assert!(cell["returning"].as_i64().unwrap() <= c["size"].as_i64().unwrap());
            }
        }
    }
}

#[tokio::test]
async fn grouped_and_filtered_cohorts_equal_sql_written_by_hand() {
    let (e, pool) = (engine().await, hand_pool().await);
    let dsl = json!({"kind":"retention","retention":"users","period":{"last_n":{"count":4,"unit":"week"}},
        "periods":3,"group_by":["acquisition_channel"],
        "filters":[{"dimension":"country","op":"in","values":["US","DE"]}]});
    let r = run(&e, &dsl, "analyst", "globex").await;
    let extra = "AND p.country IN ('US', 'DE')";
    let cohorts = r["data"]["retention"]["cohorts"].as_array().unwrap();
    let grouped = cohorts
        .iter()
        .filter(|c| c.get("dimensions").is_some())
        .count();
    assert!(grouped >= 4 * 4, "{grouped} grouped cohorts");
    check_against_hand(&pool, &r, "globex", Some("acquisition_channel"), extra).await;
    assert!(r["answer"]
        .as_str()
        .unwrap()
        .contains("By acquisition_channel"));
    assert_eq!(r["chart"]["mark"], "rect");
}

#[tokio::test]
async fn small_cohorts_and_cells_are_withheld_from_a_role_with_a_minimum_group_size() {
    let e = engine().await;
    // Daily cohorts of one device and channel: small enough that some cells have 1-4 users.
    let dsl = json!({"kind":"retention","retention":"users","period":{"last_n":{"count":14,"unit":"day"}},
        "granularity":"day","periods":5,
        "filters":[{"dimension":"device","op":"eq","values":["web"]},{"dimension":"acquisition_channel","op":"eq","values":["email"]}]});
    let open = run(&e, &dsl, "analyst", "acme").await;
    let kept = run(&e, &dsl, "support_agent", "acme").await;
    let (a, b) = (
        open["data"]["retention"]["cohorts"].as_array().unwrap(),
        kept["data"]["retention"]["cohorts"].as_array().unwrap(),
    );
    assert_eq!(a.len(), b.len());
    let mut withheld = 0;
    for (open, kept) in a.iter().zip(b) {
        let size = open["size"].as_i64().unwrap();
        if (1..5).contains(&size) {
            assert_eq!(kept["size"], Value::Null);
            assert_eq!(kept["suppressed"], true);
        } else {
            assert_eq!(kept["size"], open["size"]);
        }
        for (o, k) in open["cells"]
            .as_array()
            .unwrap()
            .iter()
            .zip(kept["cells"].as_array().unwrap())
        {
            let n = o["returning"].as_i64().unwrap();
            if (1..5).contains(&n) || (1..5).contains(&size) {
                assert_eq!(k["returning"], Value::Null, "{o} vs {k}");
                assert_eq!(k["rate"], Value::Null);
                assert_eq!(k["suppressed"], true);
                withheld += 1;
            } else {
                assert_eq!(k["returning"], o["returning"]);
            }
        }
    }
    assert!(withheld > 0, "the case has small cells to withhold");
    assert!(kept["data"]["suppressed_groups"].as_u64().unwrap() > 0);
    assert!(kept["answer"].as_str().unwrap().contains("withheld"));
}

#[tokio::test]
async fn another_workspace_never_counts() {
    let (e, pool) = (engine().await, hand_pool().await);
    let dsl = json!({"kind":"retention","retention":"users","period":{"preset":"last_week"},"granularity":"day","periods":3});
    for w in ["acme", "globex"] {
        let r = run(&e, &dsl, "analyst", w).await;
        check_against_hand(&pool, &r, w, None, "").await;
    }
    let (a, g) = (
        run(&e, &dsl, "analyst", "acme").await,
        run(&e, &dsl, "analyst", "globex").await,
    );
    assert_ne!(a["data"]["retention"], g["data"]["retention"]);
    let sql = a["sql"].as_str().unwrap();
    assert_eq!(sql.matches("\"workspace_id\" = ?").count(), 3, "{sql}");
}

#[tokio::test]
async fn the_rule_translator_reads_retention_questions() {
    let e = engine().await;
    for (question, granularity, group_by) in [
        ("retention of users who signed up in October", "week", None),
        ("week 1 retention", "week", None),
        ("do users come back", "week", None),
        (
            "cohort retention by channel",
            "week",
            Some("acquisition_channel"),
        ),
        ("day 7 retention last week", "day", None),
        ("monthly retention this year", "month", None),
    ] {
        let (r, _) = e
            .ask(
                question,
                "analyst",
                "acme",
                &Clock::fixed(date(TODAY)),
                None,
            )
            .await
            .expect("asks");
        let r = serde_json::to_value(&r).unwrap();
        assert_eq!(r["outcome"], "answered", "{question}: {}", r["answer"]);
        let dsl = &r["executed_dsl"];
        assert_eq!(dsl["kind"], "retention", "{question}");
        assert_eq!(dsl["granularity"], granularity, "{question}");
        assert_eq!(dsl["group_by"][0].as_str(), group_by, "{question}");
    }
    let (r, _) = e
        .ask(
            "retention of users who signed up in October",
            "analyst",
            "acme",
            &Clock::fixed(date(TODAY)),
            None,
        )
        .await
        .unwrap();
    let r = serde_json::to_value(&r).unwrap();
    assert_eq!(
        r["executed_dsl"]["period"],
        json!({"between": {"start": "2026-10-01", "end": "2026-10-31"}})
    );
}
