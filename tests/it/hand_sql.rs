//! Numbers from the compiler checked against SQL written by hand, on the real demo warehouse.
//! None of the SQL here comes from Tally: it is the definition of each metric, spelled directly.

use crate::common;

use common::{date, engine, hand_pool, TODAY};
use serde_json::{json, Value};
use sqlx::Row;
use tally::pipeline::{Engine, Outcome};
use tally::plan::Clock;

async fn ask(engine: &Engine, dsl: Value, role: &str, workspace: &str) -> Value {
    let raw = serde_json::to_vec(&dsl).unwrap();
    let (r, _) = engine
        .run(&raw, role, workspace, &Clock::fixed(date(TODAY)))
        .await
        .expect("the pipeline runs");
    assert_eq!(r.outcome, Outcome::Answered, "{}", r.answer);
    serde_json::to_value(&r).unwrap()
}

async fn scalar(pool: &sqlx::SqlitePool, sql: &str) -> f64 {
    let row = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(pool)
        .await
        .expect(sql);
    match row.try_get::<Option<f64>, _>(0) {
        Ok(v) => v.unwrap_or(0.0),
        Err(_) => row.try_get::<Option<i64>, _>(0).unwrap().unwrap_or(0) as f64,
    }
}

/// Mean over the given inclusive day ranges of distinct users with an event in each.
async fn mean_distinct_users(pool: &sqlx::SqlitePool, ws: &str, windows: &[(&str, &str)]) -> f64 {
    let mut total = 0.0;
    for (start, end) in windows {
        total += scalar(
            pool,
            &format!(
                "SELECT COUNT(DISTINCT user_id) FROM events WHERE workspace_id = '{ws}' \
                 AND ts >= '{start} 00:00:00' AND ts <= '{end} 23:59:59'"
            ),
        )
        .await;
    }
    total / windows.len() as f64
}

fn days(start: &str, n: i64) -> Vec<(String, String)> {
    (0..n)
        .map(|i| {
            let d = (date(start) + chrono::Days::new(i as u64)).to_string();
            (d.clone(), d)
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn value(v: &Value, pointer: &str) -> f64 {
    v.pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("no number at {pointer} in {v}"))
}

#[tokio::test]
async fn dau_last_week_vs_previous_is_the_mean_of_daily_distinct_users() {
    let (e, pool) = (engine().await, hand_pool().await);
    let r = ask(&e, json!({"kind":"metric","metrics":["dau"],"period":{"preset":"last_week"},"compare":"previous_period"}), "analyst", "acme").await;
    let this = days("2026-11-16", 7);
    let prev = days("2026-11-09", 7);
    let this_refs: Vec<(&str, &str)> = this.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let prev_refs: Vec<(&str, &str)> = prev.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let v = mean_distinct_users(&pool, "acme", &this_refs).await;
    let p = mean_distinct_users(&pool, "acme", &prev_refs).await;
    assert_eq!(
        r["data"]["period"],
        json!({"start":"2026-11-16","end":"2026-11-22"})
    );
    assert!(close(value(&r, "/data/summary/0/value"), v), "{r}");
    assert!(close(value(&r, "/data/summary/0/previous"), p));
    assert!(close(value(&r, "/data/summary/0/delta_pct"), (v - p) / p));
    assert!(v > 50.0, "acme has real traffic: {v}");
}

#[tokio::test]
async fn wau_last_month_averages_clipped_iso_weeks() {
    let (e, pool) = (engine().await, hand_pool().await);
    let r = ask(
        &e,
        json!({"kind":"metric","metrics":["wau"],"period":{"preset":"last_month"}}),
        "analyst",
        "acme",
    )
    .await;
    let windows = [
        ("2026-10-01", "2026-10-04"),
        ("2026-10-05", "2026-10-11"),
        ("2026-10-12", "2026-10-18"),
        ("2026-10-19", "2026-10-25"),
        ("2026-10-26", "2026-10-31"),
    ];
    let v = mean_distinct_users(&pool, "acme", &windows).await;
    assert!(
        close(value(&r, "/data/summary/0/value"), v),
        "{} vs {v}",
        r["data"]
    );
}

#[tokio::test]
async fn mau_last_quarter_averages_three_months() {
    let (e, pool) = (engine().await, hand_pool().await);
    let r = ask(
        &e,
        json!({"kind":"metric","metrics":["mau"],"period":{"preset":"last_quarter"}}),
        "analyst",
        "globex",
    )
    .await;
    let windows = [
        ("2026-07-01", "2026-07-31"),
        ("2026-08-01", "2026-08-31"),
        ("2026-09-01", "2026-09-30"),
    ];
    let v = mean_distinct_users(&pool, "globex", &windows).await;
    assert!(close(value(&r, "/data/summary/0/value"), v));
}

#[tokio::test]
async fn counts_match_plain_counts() {
    let (e, pool) = (engine().await, hand_pool().await);
    let cases = [
        (json!({"kind":"metric","metrics":["signups"],"period":{"preset":"yesterday"}}),
         "SELECT COUNT(*) FROM user_profiles WHERE workspace_id='acme' AND signup_at >= '2026-11-22 00:00:00' AND signup_at < '2026-11-23 00:00:00'"),
        (json!({"kind":"metric","metrics":["events"],"period":{"last_n":{"count":30,"unit":"day"}}}),
         "SELECT COUNT(*) FROM events WHERE workspace_id='acme' AND ts >= '2026-10-24 00:00:00' AND ts < '2026-11-23 00:00:00'"),
        (json!({"kind":"metric","metrics":["active_users"],"period":{"preset":"last_week"}}),
         "SELECT COUNT(DISTINCT user_id) FROM events WHERE workspace_id='acme' AND ts >= '2026-11-16' AND ts < '2026-11-23'"),
        (json!({"kind":"metric","metrics":["new_customers"],"period":{"preset":"this_year"}}),
         "SELECT COUNT(*) FROM customers WHERE workspace_id='acme' AND created_at >= '2026-01-01' AND created_at < '2026-11-24'"),
        (json!({"kind":"metric","metrics":["signups"],"period":{"preset":"last_month"},"filters":[{"dimension":"country","op":"eq","values":["DE"]}]}),
         "SELECT COUNT(*) FROM user_profiles WHERE workspace_id='acme' AND country='DE' AND signup_at >= '2026-10-01' AND signup_at < '2026-11-01'"),
        (json!({"kind":"metric","metrics":["orders"],"period":{"preset":"last_month"}}),
         "SELECT COUNT(*) FROM events WHERE workspace_id='acme' AND event_name='order_completed' AND ts >= '2026-10-01' AND ts < '2026-11-01'"),
        (json!({"kind":"metric","metrics":["sessions"],"period":{"preset":"last_week"},"filters":[{"dimension":"device","op":"eq","values":["android"]}]}),
         "SELECT COUNT(*) FROM sessions WHERE workspace_id='acme' AND device='android' AND start_time >= '2026-11-16' AND start_time < '2026-11-23'"),
    ];
    for (dsl, sql) in cases {
        let r = ask(&e, dsl.clone(), "analyst", "acme").await;
        let expected = scalar(&pool, sql).await;
        assert_eq!(value(&r, "/data/summary/0/value"), expected, "{dsl}");
    }
}

#[tokio::test]
async fn breakdowns_match_group_by() {
    let (e, pool) = (engine().await, hand_pool().await);
    let r = ask(&e, json!({"kind":"metric","metrics":["tickets_opened"],"period":{"preset":"last_month"},"group_by":["priority"]}), "analyst", "acme").await;
    let rows = sqlx::query("SELECT priority, COUNT(*) FROM support_tickets WHERE workspace_id='acme' AND opened_at >= '2026-10-01' AND opened_at < '2026-11-01' GROUP BY priority ORDER BY 2 DESC, 1")
        .fetch_all(&pool).await.unwrap();
    let got = r["data"]["breakdown"].as_array().unwrap();
    assert_eq!(got.len(), rows.len());
    for (g, h) in got.iter().zip(rows) {
        assert_eq!(g["dimensions"]["priority"], json!(h.get::<String, _>(0)));
        assert_eq!(g["value"], json!(h.get::<i64, _>(1)));
    }
}

#[tokio::test]
async fn dau_by_channel_follows_the_join_chain() {
    let (e, pool) = (engine().await, hand_pool().await);
    let r = ask(&e, json!({"kind":"metric","metrics":["dau"],"period":{"preset":"last_week"},"group_by":["acquisition_channel"]}), "analyst", "acme").await;
    // events → sessions (session_id) → user_profiles (user_id), mean over the 7 days.
    let rows = sqlx::query(
        "SELECT u.acquisition_channel, SUM(n) / 7.0 FROM (
            SELECT substr(e.ts, 1, 10) AS d, u.acquisition_channel, COUNT(DISTINCT e.user_id) AS n
            FROM events e JOIN sessions s ON s.workspace_id = e.workspace_id AND s.session_id = e.session_id
            JOIN user_profiles u ON u.workspace_id = s.workspace_id AND u.user_id = s.user_id
            WHERE e.workspace_id = 'acme' AND e.ts >= '2026-11-16' AND e.ts < '2026-11-23'
            GROUP BY 1, 2) x JOIN (SELECT DISTINCT acquisition_channel FROM user_profiles) u USING (acquisition_channel)
         GROUP BY 1 ORDER BY 2 DESC, 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let got = r["data"]["breakdown"].as_array().unwrap();
    assert_eq!(got.len(), rows.len());
    for (g, h) in got.iter().zip(rows) {
        assert_eq!(
            g["dimensions"]["acquisition_channel"],
            json!(h.get::<String, _>(0))
        );
        assert!(close(g["value"].as_f64().unwrap(), h.get::<f64, _>(1)));
    }
}

#[tokio::test]
async fn avg_session_minutes_matches() {
    let (e, pool) = (engine().await, hand_pool().await);
    let r = ask(
        &e,
        json!({"kind":"metric","metrics":["avg_session_minutes"],"period":{"preset":"last_week"}}),
        "analyst",
        "acme",
    )
    .await;
    let v = scalar(&pool, "SELECT AVG((julianday(end_time) - julianday(start_time)) * 1440.0) FROM sessions WHERE workspace_id='acme' AND start_time >= '2026-11-16' AND start_time < '2026-11-23'").await;
    assert!(
        (value(&r, "/data/summary/0/value") - v).abs() < 1e-6,
        "{} vs {v}",
        r["data"]
    );
}

#[tokio::test]
async fn checkout_conversion_is_distinct_buyers_over_distinct_starters() {
    let (e, pool) = (engine().await, hand_pool().await);
    let r = ask(
        &e,
        json!({"kind":"metric","metrics":["checkout_conversion"],"period":{"preset":"last_month"}}),
        "executive",
        "acme",
    )
    .await;
    let buyers = scalar(&pool, "SELECT COUNT(DISTINCT user_id) FROM events WHERE workspace_id='acme' AND event_name='order_completed' AND ts >= '2026-10-01' AND ts < '2026-11-01'").await;
    let starters = scalar(&pool, "SELECT COUNT(DISTINCT user_id) FROM events WHERE workspace_id='acme' AND event_name='checkout_started' AND ts >= '2026-10-01' AND ts < '2026-11-01'").await;
    assert!(starters > 0.0);
    assert!(close(value(&r, "/data/summary/0/value"), buyers / starters));
}

#[tokio::test]
async fn mrr_and_churn_rate_use_snapshots() {
    let (e, pool) = (engine().await, hand_pool().await);
    let r = ask(&e, json!({"kind":"metric","metrics":["mrr","active_customers"],"period":{"preset":"last_month"}}), "analyst", "acme").await;
    let mrr = scalar(&pool, "SELECT SUM(mrr) FROM customers WHERE workspace_id='acme' AND created_at < '2026-11-01' AND (churned_at IS NULL OR churned_at >= '2026-11-01')").await;
    let active = scalar(&pool, "SELECT COUNT(*) FROM customers WHERE workspace_id='acme' AND created_at < '2026-11-01' AND (churned_at IS NULL OR churned_at >= '2026-11-01')").await;
    assert_eq!(value(&r, "/data/summary/0/value"), mrr);
    assert_eq!(value(&r, "/data/summary/1/value"), active);

    let r = ask(
        &e,
        json!({"kind":"metric","metrics":["churn_rate"],"period":{"preset":"last_quarter"}}),
        "analyst",
        "acme",
    )
    .await;
    let churned = scalar(&pool, "SELECT COUNT(*) FROM customers WHERE workspace_id='acme' AND churned_at >= '2026-07-01' AND churned_at < '2026-10-01'").await;
    let at_start = scalar(&pool, "SELECT COUNT(*) FROM customers WHERE workspace_id='acme' AND created_at < '2026-07-01' AND (churned_at IS NULL OR churned_at >= '2026-07-01')").await;
    assert!(close(
        value(&r, "/data/summary/0/value"),
        churned / at_start
    ));
}

#[tokio::test]
async fn median_resolution_hours_matches_a_sorted_list() {
    let (e, pool) = (engine().await, hand_pool().await);
    let r = ask(&e, json!({"kind":"metric","metrics":["median_resolution_hours"],"period":{"preset":"last_month"}}), "analyst", "acme").await;
    let rows = sqlx::query("SELECT (julianday(resolved_at) - julianday(opened_at)) * 86400.0 FROM support_tickets WHERE workspace_id='acme' AND resolved_at >= '2026-10-01' AND resolved_at < '2026-11-01' ORDER BY 1")
        .fetch_all(&pool).await.unwrap();
    let secs: Vec<f64> = rows.iter().map(|r| r.get::<f64, _>(0).round()).collect();
    assert!(!secs.is_empty());
    let n = secs.len();
    let median = if n % 2 == 1 {
        secs[n / 2]
    } else {
        (secs[n / 2 - 1] + secs[n / 2]) / 2.0
    };
    assert!(
        close(value(&r, "/data/summary/0/value"), median / 3600.0),
        "{} vs {}",
        r["data"],
        median / 3600.0
    );
}

#[tokio::test]
async fn derived_events_per_session_matches() {
    let (e, pool) = (engine().await, hand_pool().await);
    let r = ask(
        &e,
        json!({"kind":"metric","metrics":["events_per_session"],"period":{"preset":"last_week"}}),
        "analyst",
        "acme",
    )
    .await;
    let ev = scalar(&pool, "SELECT COUNT(*) FROM events WHERE workspace_id='acme' AND ts >= '2026-11-16' AND ts < '2026-11-23'").await;
    let se = scalar(&pool, "SELECT COUNT(*) FROM sessions WHERE workspace_id='acme' AND start_time >= '2026-11-16' AND start_time < '2026-11-23'").await;
    assert!(close(value(&r, "/data/summary/0/value"), ev / se));
}

#[tokio::test]
async fn daily_series_matches_group_by_date() {
    let (e, pool) = (engine().await, hand_pool().await);
    let r = ask(&e, json!({"kind":"metric","metrics":["signups"],"period":{"between":{"start":"2026-11-01","end":"2026-11-10"}},"granularity":"day"}), "analyst", "acme").await;
    let rows = sqlx::query("SELECT substr(signup_at, 1, 10), COUNT(*) FROM user_profiles WHERE workspace_id='acme' AND signup_at >= '2026-11-01' AND signup_at < '2026-11-11' GROUP BY 1 ORDER BY 1")
        .fetch_all(&pool).await.unwrap();
    let series = r["data"]["timeseries"].as_array().unwrap();
    assert_eq!(series.len(), 10);
    for h in rows {
        let d: String = h.get(0);
        let p = series.iter().find(|p| p["date"] == json!(d)).unwrap();
        assert_eq!(p["value"], json!(h.get::<i64, _>(1)));
    }
}

#[tokio::test]
async fn list_top_customers_matches_order_by() {
    let (e, pool) = (engine().await, hand_pool().await);
    let r = ask(&e, json!({"kind":"list","entity":"customer","fields":["company_name","mrr"],"sort":{"field":"mrr","order":"desc"},"limit":5}), "analyst", "acme").await;
    let rows = sqlx::query("SELECT company_name, mrr FROM customers WHERE workspace_id='acme' ORDER BY mrr DESC, customer_id LIMIT 5")
        .fetch_all(&pool).await.unwrap();
    let got = r["data"]["rows"].as_array().unwrap();
    assert_eq!(got.len(), 5);
    for (g, h) in got.iter().zip(rows) {
        assert_eq!(g["company_name"], json!(h.get::<String, _>(0)));
        assert_eq!(g["mrr"], json!(h.get::<i64, _>(1)));
    }
}

#[tokio::test]
async fn workspaces_are_isolated() {
    let (e, pool) = (engine().await, hand_pool().await);
    let dsl = json!({"kind":"metric","metrics":["signups"],"period":{"preset":"last_month"}});
    let acme = value(
        &ask(&e, dsl.clone(), "analyst", "acme").await,
        "/data/summary/0/value",
    );
    let globex = value(
        &ask(&e, dsl, "analyst", "globex").await,
        "/data/summary/0/value",
    );
    let hand = scalar(&pool, "SELECT COUNT(*) FROM user_profiles WHERE workspace_id='globex' AND signup_at >= '2026-10-01' AND signup_at < '2026-11-01'").await;
    assert_eq!(globex, hand);
    assert_ne!(acme, globex);
}

/// Golden cases whose numbers are also checked against SQL written by hand: the DSL is read
/// from `golden/cases/<name>.json`, the value at `pointer` must equal the hand query's result.
#[tokio::test]
async fn golden_cases_match_hand_written_sql() {
    let (e, pool) = (engine().await, hand_pool().await);
    let acme_days = |start: &str, end: &str| {
        format!(
            "SELECT SUM(n) / CAST(julianday('{end}') - julianday('{start}') AS REAL) FROM \
             (SELECT substr(ts, 1, 10) d, COUNT(DISTINCT user_id) n FROM events WHERE workspace_id = 'acme' \
              AND ts >= '{start}' AND ts < '{end}' GROUP BY d)"
        )
    };
    let checks: Vec<(&str, &str, String)> = vec![
        ("dau_last_week_vs_previous", "/data/summary/0/value", acme_days("2026-11-16", "2026-11-23")),
        ("dau_last_week_vs_previous", "/data/summary/0/previous", acme_days("2026-11-09", "2026-11-16")),
        ("dau_last_quarter_vs_previous", "/data/summary/0/value", acme_days("2026-07-01", "2026-10-01")),
        ("signups_yesterday", "/data/summary/0/value",
         "SELECT COUNT(*) FROM user_profiles WHERE workspace_id='acme' AND signup_at >= '2026-11-22' AND signup_at < '2026-11-23'".into()),
        ("signups_last_year", "/data/summary/0/value",
         "SELECT COUNT(*) FROM user_profiles WHERE workspace_id='acme' AND signup_at >= '2025-01-01' AND signup_at < '2026-01-01'".into()),
        ("signups_this_quarter", "/data/summary/0/value",
         "SELECT COUNT(*) FROM user_profiles WHERE workspace_id='acme' AND signup_at >= '2026-10-01' AND signup_at < '2026-11-24'".into()),
        ("signups_on_planted_tuesday", "/data/summary/0/value",
         "SELECT COUNT(*) FROM user_profiles WHERE workspace_id='acme' AND signup_at >= '2026-11-17' AND signup_at < '2026-11-18'".into()),
        ("events_last_30_days", "/data/summary/0/value",
         "SELECT COUNT(*) FROM events WHERE workspace_id='acme' AND ts >= '2026-10-24' AND ts < '2026-11-23'".into()),
        ("events_not_in_web", "/data/summary/0/value",
         "SELECT COUNT(*) FROM events e JOIN sessions s ON s.workspace_id = e.workspace_id AND s.session_id = e.session_id \
          WHERE e.workspace_id='acme' AND s.device <> 'web' AND e.ts >= '2026-11-22' AND e.ts < '2026-11-23'".into()),
        ("sessions_on_android", "/data/summary/0/value",
         "SELECT COUNT(*) FROM sessions WHERE workspace_id='acme' AND device='android' AND start_time >= '2026-11-16' AND start_time < '2026-11-23'".into()),
        ("signups_in_germany_synonym", "/data/summary/0/value",
         "SELECT COUNT(*) FROM user_profiles WHERE workspace_id='acme' AND country='DE' AND signup_at >= '2026-10-01' AND signup_at < '2026-11-01'".into()),
        ("active_users_last_week_vs_previous", "/data/summary/0/previous",
         "SELECT COUNT(DISTINCT user_id) FROM events WHERE workspace_id='acme' AND ts >= '2026-11-09' AND ts < '2026-11-16'".into()),
        ("tickets_urgent_neq", "/data/summary/0/value",
         "SELECT COUNT(*) FROM support_tickets WHERE workspace_id='acme' AND priority <> 'low' AND opened_at >= '2026-07-01' AND opened_at < '2026-10-01'".into()),
        ("mrr_by_plan_tier", "/data/summary/0/previous",
         "SELECT SUM(mrr) FROM customers WHERE workspace_id='acme' AND created_at < '2026-10-01' AND (churned_at IS NULL OR churned_at >= '2026-10-01')".into()),
        ("churn_rate_last_quarter", "/data/summary/1/value",
         "SELECT COUNT(*) FROM customers WHERE workspace_id='acme' AND churned_at >= '2026-07-01' AND churned_at < '2026-10-01'".into()),
        ("churn_rate_last_quarter", "/data/summary/2/value",
         "SELECT COUNT(*) FROM customers WHERE workspace_id='acme' AND created_at < '2026-07-01' AND (churned_at IS NULL OR churned_at >= '2026-07-01')".into()),
        ("events_per_session_derived", "/data/summary/2/value",
         "SELECT COUNT(*) FROM sessions WHERE workspace_id='acme' AND start_time >= '2026-11-16' AND start_time < '2026-11-23'".into()),
        ("globex_dau_last_week", "/data/summary/0/value",
         "SELECT SUM(n) / 7.0 FROM (SELECT substr(ts, 1, 10) d, COUNT(DISTINCT user_id) n FROM events WHERE workspace_id = 'globex' \
          AND ts >= '2026-11-16' AND ts < '2026-11-23' GROUP BY d)".into()),
        ("initech_signups_last_month", "/data/summary/0/value",
         "SELECT COUNT(*) FROM user_profiles WHERE workspace_id='initech' AND signup_at >= '2026-10-01' AND signup_at < '2026-11-01'".into()),
        ("signups_between_dates_daily", "/data/timeseries/2/value",
         "SELECT COUNT(*) FROM user_profiles WHERE workspace_id='acme' AND signup_at >= '2026-11-03' AND signup_at < '2026-11-04'".into()),
        ("new_vs_churned_customers_this_year_monthly", "/data/summary/1/value",
         "SELECT COUNT(*) FROM customers WHERE workspace_id='acme' AND churned_at >= '2026-01-01' AND churned_at < '2026-11-24'".into()),
    ];
    let mut cases = std::collections::BTreeSet::new();
    for (name, pointer, sql) in &checks {
        let path = format!("{}/golden/cases/{name}.json", env!("CARGO_MANIFEST_DIR"));
        let case: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let r = ask(
            &e,
            case["dsl"].clone(),
            case["role"].as_str().unwrap(),
            case["workspace"].as_str().unwrap(),
        )
        .await;
        let expected = scalar(&pool, sql).await;
        let got = value(&r, pointer);
        assert!(
            close(got, expected),
            "{name} {pointer}: {got} vs hand SQL {expected}"
        );
        cases.insert(*name);
    }
    assert!(
        cases.len() >= 15,
        "at least 15 golden cases are checked by hand: {}",
        cases.len()
    );
}

/// Users who reached each checkout step, by the funnel's definition spelled as existence: a user
/// reaches step k when some checkout_started in the period is followed, in order, by events of
/// steps 2..k, each no earlier than the one before and before the first one plus 24 hours.
/// `group` is an optional (join, column) to group by on the first step's event.
async fn hand_funnel(
    pool: &sqlx::SqlitePool,
    ws: &str,
    start: &str,
    end: &str,
    by_device: bool,
) -> Vec<(Option<String>, [i64; 3])> {
    let (join, key) = if by_device {
        (
            "LEFT JOIN sessions s ON s.workspace_id = e1.workspace_id AND s.session_id = e1.session_id",
            "s.device",
        )
    } else {
        ("", "NULL")
    };
    let reach = |steps: usize| {
        let mut sql =
            format!("SELECT {key} AS g, COUNT(DISTINCT e1.user_id) FROM events e1 {join}");
        let names = ["checkout_started", "payment_submitted", "order_completed"];
        for k in 2..=steps {
            sql.push_str(&format!(
                " JOIN events e{k} ON e{k}.workspace_id = e1.workspace_id AND e{k}.user_id = e1.user_id \
                 AND e{k}.event_name = '{}' AND e{k}.ts >= e{}.ts \
                 AND julianday(e{k}.ts) < julianday(e1.ts) + 1.0",
                names[k - 1],
                k - 1
            ));
        }
        sql.push_str(&format!(
            " WHERE e1.workspace_id = '{ws}' AND e1.event_name = 'checkout_started' \
             AND e1.ts >= '{start} 00:00:00' AND e1.ts < '{end} 00:00:00' GROUP BY 1"
        ));
        sql
    };
    let mut out: std::collections::BTreeMap<Option<String>, [i64; 3]> = Default::default();
    for steps in 1..=3 {
        for row in sqlx::query(sqlx::AssertSqlSafe(reach(steps)))
            .fetch_all(pool)
            .await
            .unwrap()
        {
            let g: Option<String> = row.get(0);
            out.entry(g).or_default()[steps - 1] = row.get::<i64, _>(1);
        }
    }
    out.into_iter().collect()
}

#[tokio::test]
async fn checkout_funnel_steps_match_hand_written_sql() {
    let (e, pool) = (engine().await, hand_pool().await);
    for ws in ["acme", "globex"] {
        let r = ask(
            &e,
            json!({"kind":"funnel","funnel":"checkout","period":{"last_n":{"count":30,"unit":"day"}}}),
            "analyst",
            ws,
        )
        .await;
        let hand = hand_funnel(&pool, ws, "2026-10-24", "2026-11-23", false).await;
        assert_eq!(hand.len(), 1);
        let counts = hand[0].1;
        let got: Vec<i64> = r["data"]["funnel"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["value"].as_i64().unwrap())
            .collect();
        assert_eq!(got, counts.to_vec(), "{ws}");
        assert!(
            counts[0] > 50 && counts[2] > 10,
            "{ws} has checkouts: {counts:?}"
        );
        assert!(counts[0] > counts[1] && counts[1] > counts[2]);
        let overall = value(&r, "/data/funnel/2/overall_conversion");
        assert!(close(overall, counts[2] as f64 / counts[0] as f64));
    }
}

#[tokio::test]
async fn checkout_funnel_by_device_matches_hand_written_sql() {
    let (e, pool) = (engine().await, hand_pool().await);
    let r = ask(
        &e,
        json!({"kind":"funnel","funnel":"checkout","period":{"preset":"last_month"},"compare":"previous_period","group_by":["device"]}),
        "analyst",
        "acme",
    )
    .await;
    let now = hand_funnel(&pool, "acme", "2026-10-01", "2026-11-01", true).await;
    let before = hand_funnel(&pool, "acme", "2026-09-01", "2026-10-01", true).await;
    let steps = r["data"]["funnel"].as_array().unwrap();
    let grouped: Vec<&Value> = steps
        .iter()
        .filter(|s| s.get("dimensions").is_some())
        .collect();
    assert_eq!(grouped.len(), 3 * now.len());
    for (group, counts) in &now {
        let previous = before
            .iter()
            .find(|(g, _)| g == group)
            .map(|(_, c)| *c)
            .unwrap_or_default();
        for k in 0..3 {
            let row = grouped
                .iter()
                .find(|s| s["dimensions"]["device"] == json!(group) && s["step"] == json!(k + 1))
                .unwrap_or_else(|| panic!("no row for {group:?} step {}", k + 1));
            assert_eq!(row["value"], json!(counts[k]), "{group:?} step {}", k + 1);
            assert_eq!(
                row["previous"],
                json!(previous[k]),
                "{group:?} step {}",
                k + 1
            );
        }
    }
}
