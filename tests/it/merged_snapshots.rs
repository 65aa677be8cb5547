//! Fewer statements per question (issue 14): an ungrouped snapshot metric asked at several
//! instants (the period's end, the compare period's, each day of the overview's sparkline) is
//! read in one statement with a column per instant, and each instant's number is exactly the
//! one counted by hand on the demo warehouse.

use crate::common;

use common::{date, engine, hand_pool, TODAY};
use serde_json::{json, Value};
use tally::plan::Clock;

async fn active_at(pool: &sqlx::SqlitePool, what: &str, instant: &str) -> f64 {
    let sql = format!(
        "SELECT CAST({what} AS REAL) FROM customers WHERE workspace_id = 'acme' \
         AND created_at < '{instant}' AND (churned_at IS NULL OR churned_at >= '{instant}')"
    );
    sqlx::query_scalar::<_, Option<f64>>(sqlx::AssertSqlSafe(sql))
        .fetch_one(pool)
        .await
        .unwrap()
        .unwrap_or(0.0)
}

fn summary<'a>(r: &'a Value, metric: &str) -> &'a Value {
    r["data"]["summary"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["metric"] == metric)
        .unwrap_or_else(|| panic!("{metric} in {}", r["data"]["summary"]))
}

#[tokio::test]
async fn an_overviews_snapshots_read_every_instant_in_one_statement_each() {
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
    assert_eq!(r["outcome"], "answered", "{}", r["answer"]);
    let merged: Vec<_> = trace
        .statements
        .iter()
        .filter_map(|s| s.merged.as_ref())
        .collect();
    assert!(!merged.is_empty(), "{:#?}", trace.statements);
    for m in &merged {
        // The period's end, the compare period's end and the 7 days of the sparkline.
        assert!(m.units.len() >= 2, "{m:?}");
    }
    let plan = trace.plan.as_ref().unwrap();
    let units = match &plan.body {
        tally::plan::PlanBody::Metric(m) => m.units.len(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        trace.statements.len() + merged.iter().map(|m| m.units.len() - 1).sum::<usize>(),
        units
    );

    for (metric, what) in [("active_customers", "COUNT(*)"), ("mrr", "SUM(mrr)")] {
        let row = summary(&r, metric);
        assert_eq!(
            row["value"].as_f64(),
            Some(active_at(&pool, what, "2026-11-23 00:00:00").await),
            "{row}"
        );
        assert_eq!(
            row["previous"].as_f64(),
            Some(active_at(&pool, what, "2026-11-16 00:00:00").await),
            "{row}"
        );
        let points: Vec<&Value> = r["data"]["timeseries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["metric"] == metric)
            .collect();
        assert_eq!(points.len(), 7);
        for (day, p) in (17..=23).zip(points) {
            let instant = format!("2026-11-{day} 00:00:00");
            assert_eq!(
                p["value"].as_f64(),
                Some(active_at(&pool, what, &instant).await),
                "{metric} at the end of day {}: {p}",
                day - 1
            );
        }
    }
}
