//! One scan per compared question (issue 14): a unit and its compared period, whose ranges are
//! adjacent, run as one statement keyed by range, and each range's numbers are exactly those of
//! its own scan, checked against counts and sums written by hand on the demo warehouse: a
//! previous period before the data starts still has its one row (a count of 0, an average of
//! null), a grouped compare keeps each range's groups apart, and a year-ago compare (ranges that
//! do not touch) stays two statements.

use crate::common;

use common::{date, engine, hand_pool, TODAY};
use serde_json::{json, Value};
use tally::pipeline::{Engine, Trace};
use tally::plan::Clock;

async fn run(e: &Engine, dsl: Value) -> (Value, Trace) {
    let raw = serde_json::to_vec(&dsl).unwrap();
    let (r, trace) = e
        .run(&raw, "analyst", "acme", &Clock::fixed(date(TODAY)))
        .await
        .unwrap();
    let r = serde_json::to_value(&r).unwrap();
    assert_eq!(r["outcome"], "answered", "{}", r["answer"]);
    (r, trace)
}

async fn scalar(pool: &sqlx::SqlitePool, sql: &str) -> Option<f64> {
    let sql = format!("SELECT CAST(({sql}) AS REAL)");
    sqlx::query_scalar::<_, Option<f64>>(sqlx::AssertSqlSafe(sql))
        .fetch_one(pool)
        .await
        .unwrap()
}

fn sessions_between(from: &str, until: &str, what: &str) -> String {
    format!(
        "SELECT {what} FROM sessions WHERE workspace_id = 'acme' \
         AND start_time >= '{from} 00:00:00' AND start_time < '{until} 00:00:00'"
    )
}

#[tokio::test]
async fn a_compared_period_before_the_data_is_one_statement_with_zero_and_null() {
    let (e, pool) = (engine().await, hand_pool().await);
    // The demo's sessions start on 2025-08-25: the previous fortnight has none.
    let (r, trace) = run(
        &e,
        json!({"kind": "metric", "metrics": ["sessions", "avg_session_minutes"],
               "period": {"between": {"start": "2025-08-25", "end": "2025-09-07"}},
               "compare": "previous_period"}),
    )
    .await;
    let merged = trace
        .statements
        .iter()
        .filter(|s| s.merged.is_some())
        .count();
    assert_eq!(
        (trace.statements.len(), merged),
        (2, 2),
        "one statement per aggregate (sessions; the average's sum and count), each over both \
         ranges: {:#?}",
        trace.statements
    );
    let s = &r["data"]["summary"];
    let sessions = scalar(
        &pool,
        &sessions_between("2025-08-25", "2025-09-08", "COUNT(*)"),
    )
    .await;
    assert!(sessions.unwrap() > 0.0);
    let minutes = scalar(
        &pool,
        &sessions_between(
            "2025-08-25",
            "2025-09-08",
            "AVG((julianday(end_time) - julianday(start_time)) * 1440.0)",
        ),
    )
    .await
    .unwrap();
    let row = |m: &str| {
        s.as_array()
            .unwrap()
            .iter()
            .find(|x| x["metric"] == m)
            .unwrap_or_else(|| panic!("{m} in {s}"))
            .clone()
    };
    assert_eq!(row("sessions")["value"].as_f64(), sessions);
    assert_eq!(row("sessions")["previous"], json!(0));
    let avg = row("avg_session_minutes");
    assert!(
        (avg["value"].as_f64().unwrap() - minutes).abs() < 1e-6,
        "{avg}"
    );
    assert_eq!(
        avg["previous"],
        Value::Null,
        "no sessions, no average: {avg}"
    );
}

#[tokio::test]
async fn a_grouped_compare_keeps_each_ranges_groups_apart() {
    let (e, pool) = (engine().await, hand_pool().await);
    let (r, trace) = run(
        &e,
        json!({"kind": "metric", "metrics": ["sessions"],
               "period": {"between": {"start": "2026-11-09", "end": "2026-11-15"}},
               "compare": "previous_period", "group_by": ["device"]}),
    )
    .await;
    assert!(trace.statements.iter().all(|s| s.merged.is_some()));
    let rows = r["data"]["breakdown"].as_array().unwrap();
    assert!(rows.len() >= 2, "{rows:?}");
    for row in rows {
        let device = row["dimensions"]["device"].as_str().unwrap();
        let by = |from: &str, until: &str| {
            format!(
                "SELECT COUNT(*) FROM sessions s WHERE s.workspace_id = 'acme' \
                 AND s.start_time >= '{from} 00:00:00' AND s.start_time < '{until} 00:00:00' \
                 AND s.device = '{device}'"
            )
        };
        assert_eq!(
            row["value"].as_f64(),
            scalar(&pool, &by("2026-11-09", "2026-11-16")).await,
            "{row}"
        );
        assert_eq!(
            row["previous"].as_f64(),
            scalar(&pool, &by("2026-11-02", "2026-11-09")).await,
            "{row}"
        );
    }
}

#[tokio::test]
async fn a_year_ago_compare_does_not_touch_its_period_and_stays_two_statements() {
    let (e, pool) = (engine().await, hand_pool().await);
    let (r, trace) = run(
        &e,
        json!({"kind": "metric", "metrics": ["sessions"],
               "period": {"between": {"start": "2026-09-01", "end": "2026-09-30"}},
               "compare": "previous_year"}),
    )
    .await;
    assert_eq!(trace.statements.len(), 2);
    assert!(trace.statements.iter().all(|s| s.merged.is_none()));
    let s = &r["data"]["summary"][0];
    assert_eq!(
        s["value"].as_f64(),
        scalar(
            &pool,
            &sessions_between("2026-09-01", "2026-10-01", "COUNT(*)")
        )
        .await
    );
    assert_eq!(
        s["previous"].as_f64(),
        scalar(
            &pool,
            &sessions_between("2025-09-01", "2025-10-01", "COUNT(*)")
        )
        .await
    );
}

#[tokio::test]
async fn an_overview_counts_both_periods_from_one_daily_scan() {
    let (e, pool) = (engine().await, hand_pool().await);
    let raw = serde_json::to_vec(
        &json!({"kind": "overview", "period": {"preset": "last_week"},
        "compare": "previous_period"}),
    )
    .unwrap();
    let (r, trace) = e
        .run(&raw, "executive", "acme", &Clock::fixed(date(TODAY)))
        .await
        .unwrap();
    let r = serde_json::to_value(&r).unwrap();
    // Signups: the sparkline's days and the week before's, one statement.
    let signups: Vec<_> = trace
        .statements
        .iter()
        .filter(|s| s.sql.contains("\"user_profiles\""))
        .collect();
    assert_eq!(signups.len(), 1, "{signups:#?}");
    assert!(signups[0].merged.is_some());
    let row = r["data"]["summary"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["metric"] == "signups")
        .unwrap()
        .clone();
    let by = |from: &str, until: &str| {
        format!(
            "SELECT COUNT(*) FROM user_profiles WHERE workspace_id = 'acme' \
             AND signup_at >= '{from} 00:00:00' AND signup_at < '{until} 00:00:00'"
        )
    };
    assert_eq!(
        row["value"].as_f64(),
        scalar(&pool, &by("2026-11-16", "2026-11-23")).await
    );
    assert_eq!(
        row["previous"].as_f64(),
        scalar(&pool, &by("2026-11-09", "2026-11-16")).await
    );
    // The sparkline is still the period's days only.
    let points = r["data"]["timeseries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["metric"] == "signups")
        .count();
    assert_eq!(points, 7, "{}", r["data"]["timeseries"]);
}
