//! Small-group suppression (`min_group_size`, DESIGN §4) on the demo warehouse: for
//! `support_agent` (threshold 5) no row covering one to four distinct customers or users is
//! shown, however filters are combined; analysts see the same rows with their values.

use crate::common;

use common::{date, engine, hand_pool, TODAY};
use serde_json::{json, Value};
use sqlx::Row;
use tally::pipeline::{Engine, Outcome};
use tally::plan::Clock;

async fn ask(engine: &Engine, dsl: &Value, role: &str, workspace: &str) -> Value {
    let raw = serde_json::to_vec(dsl).unwrap();
    let (r, _) = engine
        .run(&raw, role, workspace, &Clock::fixed(date(TODAY)))
        .await
        .expect("the pipeline runs");
    assert_eq!(r.outcome, Outcome::Answered, "{}", r.answer);
    serde_json::to_value(&r).unwrap()
}

const CATEGORIES: [&str; 5] = ["billing", "bug", "how_to", "account", "feature_request"];
const PRIORITIES: [&str; 4] = ["low", "normal", "high", "urgent"];

#[tokio::test]
async fn filters_cannot_narrow_tickets_to_a_few_customers_for_support_agents() {
    let (e, pool) = (engine().await, hand_pool().await);
    let mut narrowed = 0;
    for category in CATEGORIES {
        for priority in PRIORITIES {
            let dsl = json!({"kind":"metric","metrics":["tickets_opened"],"period":{"preset":"last_quarter"},
                "filters":[{"dimension":"category","op":"eq","values":[category]},
                           {"dimension":"priority","op":"eq","values":[priority]}]});
            let row = sqlx::query(
                "SELECT COUNT(*), COUNT(DISTINCT customer_id) FROM support_tickets WHERE workspace_id = 'globex' \
                 AND category = ? AND priority = ? AND opened_at >= '2026-07-01' AND opened_at < '2026-10-01'",
            )
            .bind(category)
            .bind(priority)
            .fetch_one(&pool)
            .await
            .unwrap();
            let (tickets, customers): (i64, i64) = (row.get(0), row.get(1));
            let support = ask(&e, &dsl, "support_agent", "globex").await;
            let analyst = ask(&e, &dsl, "analyst", "globex").await;
            assert_eq!(analyst["data"]["summary"][0]["value"], json!(tickets));
            assert_eq!(analyst["data"]["suppressed_groups"], json!(0));
            let shown = &support["data"]["summary"][0];
            if (1..5).contains(&customers) {
                narrowed += 1;
                assert_eq!(
                    shown["value"],
                    Value::Null,
                    "{category}/{priority}: {support}"
                );
                assert_eq!(shown["suppressed"], json!(true));
                assert_eq!(support["data"]["suppressed_groups"], json!(1));
                assert!(support["answer"].as_str().unwrap().contains("withheld"));
                assert!(!support["answer"]
                    .as_str()
                    .unwrap()
                    .contains(&format!(" was {tickets}")));
            } else {
                assert_eq!(shown["value"], json!(tickets), "{category}/{priority}");
            }
        }
    }
    assert!(narrowed >= 5, "small combinations exist: {narrowed}");
    // In the tiny workspace even the unfiltered quarter covers two customers: withheld too.
    let all =
        json!({"kind":"metric","metrics":["tickets_opened"],"period":{"preset":"last_quarter"}});
    let support = ask(&e, &all, "support_agent", "initech").await;
    assert_eq!(support["data"]["summary"][0]["value"], Value::Null);
    let analyst = ask(&e, &all, "analyst", "initech").await;
    assert_eq!(analyst["data"]["summary"][0]["value"], json!(2));
}

#[tokio::test]
async fn breakdown_rows_of_few_customers_are_withheld_and_counted() {
    let (e, pool) = (engine().await, hand_pool().await);
    let dsl = json!({"kind":"metric","metrics":["tickets_opened"],"period":{"preset":"last_quarter"},
        "group_by":["category","priority"],"top_n":50});
    let hand = sqlx::query(
        "SELECT category, priority, COUNT(*), COUNT(DISTINCT customer_id) FROM support_tickets \
         WHERE workspace_id = 'globex' AND opened_at >= '2026-07-01' AND opened_at < '2026-10-01' GROUP BY 1, 2",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let support = ask(&e, &dsl, "support_agent", "globex").await;
    let analyst = ask(&e, &dsl, "analyst", "globex").await;
    let small = hand.iter().filter(|r| r.get::<i64, _>(3) < 5).count();
    assert!(small > 0, "some combinations have fewer than 5 customers");
    assert_eq!(support["data"]["suppressed_groups"], json!(small));
    assert_eq!(
        analyst["data"]["breakdown"].as_array().unwrap().len(),
        hand.len()
    );
    assert_eq!(analyst["data"]["suppressed_groups"], json!(0));
    let shown = support["data"]["breakdown"].as_array().unwrap();
    assert_eq!(shown.len(), hand.len() - small);
    for row in shown {
        let h = hand
            .iter()
            .find(|h| {
                row["dimensions"]["category"] == json!(h.get::<String, _>(0))
                    && row["dimensions"]["priority"] == json!(h.get::<String, _>(1))
            })
            .unwrap();
        assert!(h.get::<i64, _>(3) >= 5, "{row}");
        assert_eq!(row["value"], json!(h.get::<i64, _>(2)));
    }
}

#[tokio::test]
async fn funnel_groups_of_few_users_are_withheld_for_support_agents() {
    let e = engine().await;
    let dsl = json!({"kind":"funnel","funnel":"checkout","period":{"preset":"last_week"},"group_by":["country"]});
    let support = ask(&e, &dsl, "support_agent", "globex").await;
    let analyst = ask(&e, &dsl, "analyst", "globex").await;
    let first_steps = |r: &Value| -> Vec<(Value, i64)> {
        r["data"]["funnel"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s.get("dimensions").is_some() && s["step"] == json!(1))
            .map(|s| {
                (
                    s["dimensions"]["country"].clone(),
                    s["value"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let all = first_steps(&analyst);
    let shown = first_steps(&support);
    let small: Vec<_> = all.iter().filter(|(_, n)| *n < 5).collect();
    assert!(!small.is_empty(), "{all:?}");
    assert_eq!(support["data"]["suppressed_groups"], json!(small.len()));
    assert_eq!(shown.len(), all.len() - small.len());
    assert!(shown.iter().all(|(_, n)| *n >= 5));
    // The totals cover every user, so both roles see the same ones.
    assert_eq!(support["data"]["funnel"][0], analyst["data"]["funnel"][0]);
}
