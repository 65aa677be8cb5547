//! Trends: "signups over time" is a daily series over the last 30 days whose `data.trend` is the
//! least-squares line through the daily counts, checked against counts written by hand and a
//! fit computed here; partial buckets (clipped weeks) are left out of the line and the peak; a
//! compared series carries the previous period's bucket at the same offset.

use crate::common;

use common::{date, engine, hand_pool, TODAY};
use serde_json::{json, Value};
use tally::pipeline::Engine;
use tally::plan::Clock;

async fn ask(e: &Engine, q: &str) -> Value {
    let (r, _) = e
        .ask(q, "analyst", "acme", &Clock::fixed(date(TODAY)), None)
        .await
        .unwrap();
    serde_json::to_value(&r).unwrap()
}

async fn run(e: &Engine, dsl: &Value) -> Value {
    let raw = serde_json::to_vec(dsl).unwrap();
    let (r, _) = e
        .run(&raw, "analyst", "acme", &Clock::fixed(date(TODAY)))
        .await
        .unwrap();
    serde_json::to_value(&r).unwrap()
}

async fn signups(pool: &sqlx::SqlitePool, from: &str, days: i64) -> f64 {
    let sql = format!(
        "SELECT COUNT(*) FROM user_profiles WHERE workspace_id = 'acme' \
         AND signup_at >= '{from} 00:00:00' AND signup_at < date('{from}', '+{days} day') || ' 00:00:00'"
    );
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(pool)
        .await
        .unwrap();
    n as f64
}

/// Slope × (n − 1) of the least-squares line through `ys` at x = 0, 1, …
fn rise(ys: &[f64]) -> f64 {
    let n = ys.len() as f64;
    let (xm, ym) = ((n - 1.0) / 2.0, ys.iter().sum::<f64>() / n);
    let sxy: f64 = ys
        .iter()
        .enumerate()
        .map(|(i, y)| (i as f64 - xm) * (y - ym))
        .sum();
    let sxx: f64 = (0..ys.len()).map(|i| (i as f64 - xm).powi(2)).sum();
    sxy / sxx * (n - 1.0)
}

#[tokio::test]
async fn a_trend_question_gets_the_least_squares_line_of_the_last_30_days() {
    let (e, pool) = (engine().await, hand_pool().await);
    let r = ask(&e, "signups over time").await;
    assert_eq!(r["outcome"], "answered", "{}", r["answer"]);
    assert_eq!(
        r["executed_dsl"]["period"],
        json!({"last_n": {"count": 30, "unit": "day"}})
    );
    assert_eq!(r["executed_dsl"]["granularity"], "day");
    let mut ys = Vec::new();
    let start = date("2026-10-24");
    for k in 0..30 {
        let d = start + chrono::Days::new(k);
        ys.push(signups(&pool, &d.to_string(), 1).await);
    }
    let t = &r["data"]["trend"];
    assert_eq!(t["method"], "least_squares");
    assert_eq!(t["points"], 30);
    assert_eq!(t["left_out"], 0);
    let mean = ys.iter().sum::<f64>() / 30.0;
    assert!((t["rise"].as_f64().unwrap() - rise(&ys)).abs() < 1e-9);
    assert!((t["mean"].as_f64().unwrap() - mean).abs() < 1e-9);
    let share = rise(&ys) / mean;
    let direction = if share.abs() < 0.05 {
        "flat"
    } else if share > 0.0 {
        "up"
    } else {
        "down"
    };
    assert_eq!(t["direction"], direction);
    assert!(r["answer"].as_str().unwrap().contains("least-squares line"));
}

#[tokio::test]
async fn partial_weeks_are_left_out_of_the_line_and_the_peak() {
    let (e, pool) = (engine().await, hand_pool().await);
    // This quarter to 23 Nov by week: Thu 1 Oct – Sun 4 Oct is clipped, the week of 23 Nov holds
    // today; the 7 weeks between are complete.
    let r = run(
        &e,
        &json!({"kind":"metric","metrics":["signups"],"period":{"preset":"this_quarter"},"granularity":"week"}),
    )
    .await;
    let t = &r["data"]["trend"];
    assert_eq!(
        (t["points"].as_u64(), t["left_out"].as_u64()),
        (Some(7), Some(2))
    );
    let mut ys = Vec::new();
    for k in 0..7u64 {
        let monday = date("2026-10-05") + chrono::Days::new(7 * k);
        ys.push(signups(&pool, &monday.to_string(), 7).await);
    }
    assert!((t["rise"].as_f64().unwrap() - rise(&ys)).abs() < 1e-9);
    let low = ys.iter().copied().fold(f64::INFINITY, f64::min);
    let answer = r["answer"].as_str().unwrap();
    assert!(
        answer.contains(&format!("was lowest at {}", low as i64)),
        "{answer}"
    );
    assert!(answer.contains("2 partial weeks left out"), "{answer}");
}

#[tokio::test]
async fn a_compared_series_carries_the_previous_period_at_the_same_offset() {
    let (e, pool) = (engine().await, hand_pool().await);
    let r = run(
        &e,
        &json!({"kind":"metric","metrics":["signups"],"period":{"preset":"last_week"},"granularity":"day","compare":"previous_period"}),
    )
    .await;
    let points = r["data"]["timeseries"].as_array().unwrap();
    assert_eq!(points.len(), 7);
    for (k, p) in points.iter().enumerate() {
        let before = date("2026-11-09") + chrono::Days::new(k as u64);
        assert_eq!(p["previous_date"], json!(before.to_string()));
        assert_eq!(
            p["previous"],
            json!(signups(&pool, &before.to_string(), 1).await as i64)
        );
        let day = date("2026-11-16") + chrono::Days::new(k as u64);
        assert_eq!(
            p["value"],
            json!(signups(&pool, &day.to_string(), 1).await as i64)
        );
    }
    // The chart draws the previous period dashed.
    assert_eq!(r["chart"]["encoding"]["strokeDash"]["field"], "period");
    let values = r["chart"]["data"]["values"].as_array().unwrap();
    assert_eq!(values.len(), 14);
}
