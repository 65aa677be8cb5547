//! Funnel semantics on a warehouse written by hand, one user per rule: steps must happen in order,
//! each before the first step plus the window (half-open), any attempt in the period may convert,
//! the first step must fall in the period, and other workspaces' events never count.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{json, Value};
use tally::catalog::Catalog;
use tally::exec::{Limits, Warehouse};
use tally::pipeline::{Engine, Outcome};
use tally::plan::Clock;

/// (workspace, user, session, event, timestamp)
const EVENTS: &[(&str, i64, i64, &str, &str)] = &[
    // u1 goes through in five-minute steps.
    ("w1", 1, 10, "checkout_started", "2026-11-10 10:00:00"),
    ("w1", 1, 10, "payment_submitted", "2026-11-10 10:05:00"),
    ("w1", 1, 10, "order_completed", "2026-11-10 10:10:00"),
    // u2 pays before starting the checkout: only the first step counts.
    ("w1", 2, 20, "payment_submitted", "2026-11-10 09:00:00"),
    ("w1", 2, 20, "checkout_started", "2026-11-10 10:00:00"),
    ("w1", 2, 20, "order_completed", "2026-11-10 11:00:00"),
    // u3 pays exactly 24 hours later: outside the window (it is half-open).
    ("w1", 3, 30, "checkout_started", "2026-11-10 10:00:00"),
    ("w1", 3, 31, "payment_submitted", "2026-11-11 10:00:00"),
    // u4 abandons a morning checkout and converts from an evening one, 35 hours after the first.
    ("w1", 4, 40, "checkout_started", "2026-11-10 08:00:00"),
    ("w1", 4, 41, "checkout_started", "2026-11-10 20:00:00"),
    ("w1", 4, 42, "payment_submitted", "2026-11-11 19:00:00"),
    ("w1", 4, 42, "order_completed", "2026-11-11 19:30:00"),
    // u5 started the day before the period: not in this funnel at all.
    ("w1", 5, 50, "checkout_started", "2026-11-09 23:00:00"),
    ("w1", 5, 50, "payment_submitted", "2026-11-10 01:00:00"),
    // u6 started in workspace w2; the same user id in w1 only pays.
    ("w2", 6, 60, "checkout_started", "2026-11-10 10:00:00"),
    ("w1", 6, 61, "payment_submitted", "2026-11-10 10:01:00"),
    ("w1", 6, 61, "order_completed", "2026-11-10 10:02:00"),
    // u7 does every step in the same second: ties keep the order.
    ("w1", 7, 70, "checkout_started", "2026-11-10 12:00:00"),
    ("w1", 7, 70, "payment_submitted", "2026-11-10 12:00:00"),
    ("w1", 7, 70, "order_completed", "2026-11-10 12:00:00"),
];

/// session → device
const SESSIONS: &[(&str, i64, &str)] = &[
    ("w1", 10, "ios"),
    ("w1", 20, "ios"),
    ("w1", 30, "web"),
    ("w1", 31, "web"),
    ("w1", 40, "android"),
    ("w1", 41, "ios"),
    ("w1", 42, "ios"),
    ("w1", 50, "web"),
    ("w2", 60, "web"),
    ("w1", 61, "web"),
    ("w1", 70, "android"),
];

async fn warehouse() -> Engine {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("tally-test-data");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("funnel-rules-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    {
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(&path)
                    .create_if_missing(true),
            )
            .await
            .unwrap();
        for ddl in [
            "CREATE TABLE events (workspace_id TEXT, event_id INTEGER, user_id INTEGER, session_id INTEGER, event_name TEXT, ts TEXT, properties TEXT)",
            "CREATE TABLE sessions (workspace_id TEXT, session_id INTEGER, user_id INTEGER, start_time TEXT, end_time TEXT, device TEXT, country TEXT)",
        ] {
            sqlx::query(ddl).execute(&pool).await.unwrap();
        }
        for (i, (ws, user, session, name, ts)) in EVENTS.iter().enumerate() {
            sqlx::query("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, NULL)")
                .bind(ws)
                .bind(i as i64)
                .bind(user)
                .bind(session)
                .bind(name)
                .bind(ts)
                .execute(&pool)
                .await
                .unwrap();
        }
        for (ws, session, device) in SESSIONS {
            sqlx::query("INSERT INTO sessions VALUES (?, ?, 0, '2026-11-10 00:00:00', '2026-11-10 00:00:00', ?, 'US')")
                .bind(ws)
                .bind(session)
                .bind(device)
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;
    }
    let warehouse = Warehouse::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    Engine::new(
        Arc::new(Catalog::embedded_default()),
        warehouse,
        Limits::default(),
    )
}

async fn steps(engine: &Engine, dsl: Value, workspace: &str) -> Vec<(Option<String>, i64)> {
    let raw = serde_json::to_vec(&dsl).unwrap();
    let clock = Clock::fixed("2026-11-23".parse().unwrap());
    let (r, _) = engine
        .run(&raw, "analyst", workspace, &clock)
        .await
        .unwrap();
    assert_eq!(r.outcome, Outcome::Answered, "{}", r.answer);
    r.data
        .unwrap()
        .funnel
        .iter()
        .map(|s| {
            let group = s
                .dimensions
                .as_ref()
                .and_then(|d| d.values().next().cloned().flatten());
            (group, s.value.unwrap().0 as i64)
        })
        .collect()
}

#[tokio::test]
async fn funnel_rules_order_window_attempts_period_and_tenant() {
    let engine = warehouse().await;
    let checkout = json!({"kind":"funnel","funnel":"checkout","period":{"date":"2026-11-10"}});
    // Step 1: u1 u2 u3 u4 u7; steps 2 and 3: u1 u4 u7.
    assert_eq!(
        steps(&engine, checkout.clone(), "w1").await,
        vec![(None, 5), (None, 3), (None, 3)]
    );
    // w2 sees only its own checkout; w1's payment by the same user id does not count there.
    assert_eq!(
        steps(&engine, checkout, "w2").await,
        vec![(None, 1), (None, 0), (None, 0)]
    );
    // A one-hour window drops u4, whose payment came 23 hours after its converting attempt.
    let hour = json!({"kind":"funnel","steps":["checkout_started","payment_submitted"],"window_hours":1,"period":{"date":"2026-11-10"}});
    assert_eq!(steps(&engine, hour, "w1").await, vec![(None, 5), (None, 2)]);
    // Groups are read on each attempt's first event: u4 counts under android (abandoned) and
    // ios (converted), once in the total.
    let by_device = json!({"kind":"funnel","funnel":"checkout","period":{"date":"2026-11-10"},"group_by":["device"]});
    let ios = Some("ios".to_string());
    let android = Some("android".to_string());
    let web = Some("web".to_string());
    assert_eq!(
        steps(&engine, by_device, "w1").await,
        vec![
            (None, 5),
            (None, 3),
            (None, 3),
            (ios.clone(), 3),
            (ios.clone(), 2),
            (ios, 2),
            (android.clone(), 2),
            (android.clone(), 1),
            (android, 1),
            (web.clone(), 1),
            (web.clone(), 0),
            (web, 0),
        ]
    );
    drop(engine);
    let _ = std::fs::remove_file(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("target/tally-test-data")
            .join(format!("funnel-rules-{}.db", std::process::id())),
    );
}
