//! The anomaly scan on the demo warehouse: the planted drop (acme, Tue 2026-11-17, android +
//! paid_social signups) is the one anomaly of its week, with counts checked against SQL written
//! by hand; weeks with nothing planted flag nothing in any workspace; on demos ending on every
//! weekday the planted day is found in "last week" and the week before it flags nothing; a role
//! with a minimum group size never sees a small cell; bad scans get stable codes.

use crate::common;

use common::{acme_signups as signups, date, engine, hand_pool, TODAY};
use serde_json::{json, Value};
use tally::pipeline::{Engine, Outcome};
use tally::plan::Clock;

async fn run(
    engine: &Engine,
    dsl: &Value,
    role: &str,
    workspace: &str,
    today: &str,
) -> (Outcome, Value) {
    let raw = serde_json::to_vec(dsl).unwrap();
    let (r, _) = engine
        .run(&raw, role, workspace, &Clock::fixed(date(today)))
        .await
        .expect("the pipeline runs");
    let mut v = serde_json::to_value(&r).unwrap();
    v["query_id"] = Value::Null;
    v["timings_ms"] = Value::Null;
    (r.outcome, v)
}

async fn scan(engine: &Engine, dsl: &Value, role: &str, workspace: &str, today: &str) -> Value {
    let (outcome, v) = run(engine, dsl, role, workspace, today).await;
    assert_eq!(outcome, Outcome::Answered, "{}", v["answer"]);
    v
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    (v[1] + v[2]) / 2.0
}

#[tokio::test]
async fn the_planted_drop_is_the_one_anomaly_of_its_week() {
    let (e, pool) = (engine().await, hand_pool().await);
    let dsl = json!({"kind": "anomalies"});
    let r = scan(&e, &dsl, "analyst", "acme", TODAY).await;
    assert_eq!(
        r["executed_dsl"],
        json!({"kind": "anomalies", "version": 1,
               "period": {"last_n": {"count": 7, "unit": "day"}},
               "metrics": ["dau", "signups", "sessions", "tickets_opened"]}),
        "the analyst's KPIs that count per day"
    );
    let a = &r["data"]["anomalies"];
    assert_eq!(
        a["days"],
        json!({"start": "2026-11-16", "end": "2026-11-22"})
    );
    assert_eq!(a["flagged"], 1, "{a}");
    assert!(a["tested"].as_u64().unwrap() > 1000, "{a}");
    let top = &a["anomalies"][0];
    assert_eq!(top["metric"], "signups");
    assert_eq!(top["day"], "2026-11-17");
    assert_eq!(
        top["dimensions"],
        json!({"acquisition_channel": "paid_social", "device": "android"})
    );
    assert_eq!(top["direction"], "down");

    let planted = "AND device = 'android' AND acquisition_channel = 'paid_social'";
    let value = signups(&pool, "2026-11-17", planted).await;
    let mut same = Vec::new();
    for w in ["2026-11-10", "2026-11-03", "2026-10-27", "2026-10-20"] {
        same.push(signups(&pool, w, planted).await);
    }
    assert_eq!(top["value"].as_f64(), Some(value));
    let got: Vec<f64> = top["same_weekday"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(got, same);
    let m = median(same);
    assert_eq!(top["baseline"].as_f64(), Some(m));
    assert!(value < 0.3 * m, "{value} vs {m}");
    let (lo, hi) = (
        top["expected"][0].as_f64().unwrap(),
        top["expected"][1].as_f64().unwrap(),
    );
    assert!(
        value < lo && lo <= m && m <= hi,
        "{value} outside {lo}..{hi}"
    );

    let answer = r["answer"].as_str().unwrap();
    assert!(
        answer.starts_with("1 anomaly in the last 7 days (Mon 16 – Sun 22 Nov 2026)"),
        "{answer}"
    );
    assert!(
        answer.contains(&format!(
            "Signups for paid_social · android (acquisition_channel · device) on Tue 17 Nov 2026 was {value}"
        )),
        "{answer}"
    );
    assert!(answer.contains("Bonferroni-corrected"), "{answer}");
    assert!(answer.contains("they do not say why"), "{answer}");
    assert!(r["chart"].is_object(), "a bar per anomaly");
    // Same data, same bytes.
    assert_eq!(scan(&e, &dsl, "analyst", "acme", TODAY).await, r);
}

#[tokio::test]
async fn weeks_with_nothing_planted_flag_nothing_in_any_workspace() {
    let e = engine().await;
    for (start, end) in [
        ("2026-10-26", "2026-11-01"),
        ("2026-11-02", "2026-11-08"),
        ("2026-11-09", "2026-11-15"),
    ] {
        for ws in ["acme", "globex", "initech"] {
            let dsl =
                json!({"kind": "anomalies", "period": {"between": {"start": start, "end": end}}});
            let r = scan(&e, &dsl, "analyst", ws, TODAY).await;
            let a = &r["data"]["anomalies"];
            assert_eq!(a["flagged"], 0, "{ws} {start}: {a}");
            assert!(a["tested"].as_u64().unwrap() > 500, "{ws} {start}: {a}");
            let answer = r["answer"].as_str().unwrap();
            assert!(answer.starts_with("Nothing unusual"), "{answer}");
            assert!(r["chart"].is_null());
        }
    }
    // The planted week of the workspaces without the drop.
    for ws in ["globex", "initech"] {
        let dsl = json!({"kind": "anomalies", "period": {"preset": "last_week"}});
        let r = scan(&e, &dsl, "analyst", ws, TODAY).await;
        assert_eq!(
            r["data"]["anomalies"]["flagged"], 0,
            "{ws}: {}",
            r["answer"]
        );
    }
}

/// The demo a user gets on other days: "last week" (as seen the day after the data ends) holds
/// the planted Tuesday, which the scan finds first; the week before it flags nothing.
#[tokio::test]
async fn the_planted_day_is_found_on_demos_ending_on_every_weekday() {
    let demos = [
        ("2026-11-30", "2026-11-24"), // Mon
        ("2026-09-15", "2026-09-08"), // Tue
        ("2027-01-20", "2027-01-12"), // Wed
        ("2026-10-08", "2026-09-29"), // Thu
        ("2026-08-14", "2026-08-04"), // Fri
        ("2027-02-27", "2027-02-16"), // Sat
        ("2026-11-22", "2026-11-17"), // Sun
    ];
    for (end, planted) in demos {
        let end = date(end);
        let e = common::engine_on(&common::signups_db_ending(end).await).await;
        let today = end.succ_opt().unwrap().to_string();
        let dsl =
            json!({"kind": "anomalies", "metrics": ["signups"], "period": {"preset": "last_week"}});
        let r = scan(&e, &dsl, "analyst", "acme", &today).await;
        let a = &r["data"]["anomalies"];
        let top = &a["anomalies"][0];
        assert_eq!(top["day"], planted, "{end}: {a}");
        assert_eq!(
            top["dimensions"],
            json!({"acquisition_channel": "paid_social", "device": "android"}),
            "{end}: {a}"
        );
        assert_eq!(a["flagged"], 1, "{end}: {a}");

        let monday = date(planted) - chrono::Days::new(8);
        let sunday = monday + chrono::Days::new(6);
        let before = json!({"kind": "anomalies", "metrics": ["signups"],
            "period": {"between": {"start": monday.to_string(), "end": sunday.to_string()}}});
        let r = scan(&e, &before, "analyst", "acme", &today).await;
        assert_eq!(
            r["data"]["anomalies"]["flagged"], 0,
            "{end}: {}",
            r["answer"]
        );
    }
}

#[tokio::test]
async fn a_minimum_group_size_withholds_small_cells_from_the_scan() {
    let e = engine().await;
    let dsl = json!({"kind": "anomalies", "period": {"preset": "last_week"}});
    let r = scan(&e, &dsl, "support_agent", "acme", TODAY).await;
    let a = &r["data"]["anomalies"];
    assert!(a["withheld"].as_u64().unwrap() > 0, "{a}");
    for item in a["anomalies"].as_array().unwrap() {
        let counts =
            std::iter::once(&item["value"]).chain(item["same_weekday"].as_array().unwrap());
        for c in counts {
            let c = c.as_f64().unwrap();
            assert!(c == 0.0 || c >= 5.0, "a cell under 5 was shown: {item}");
        }
    }
    let answer = r["answer"].as_str().unwrap();
    assert!(
        answer.contains("segment-days were not tested because the day or one of its baseline days covers fewer than 5 distinct entities"),
        "{answer}"
    );
}

#[tokio::test]
async fn bad_scans_get_stable_codes() {
    let e = engine().await;
    let cases = [
        (
            json!({"kind": "anomalies", "metrics": ["mrr"]}),
            "analyst",
            "invalid_value",
            "/metrics/0",
        ),
        (
            json!({"kind": "anomalies", "period": {"preset": "this_year"}}),
            "analyst",
            "out_of_range",
            "/period",
        ),
        (
            json!({"kind": "anomalies", "metrics": ["signups", "signups"]}),
            "analyst",
            "duplicate",
            "/metrics/1",
        ),
    ];
    for (dsl, role, code, pointer) in cases {
        let (outcome, r) = run(&e, &dsl, role, "acme", TODAY).await;
        assert_eq!(outcome, Outcome::Invalid, "{dsl}: {}", r["answer"]);
        let d = &r["diagnostics"][0];
        assert_eq!(d["code"], code, "{dsl}: {r}");
        assert_eq!(d["pointer"], pointer, "{dsl}: {r}");
    }
    // A metric the role may not see is refused, with the scan it may run suggested.
    let dsl = json!({"kind": "anomalies", "metrics": ["sessions", "signups"]});
    let (outcome, r) = run(&e, &dsl, "executive", "acme", TODAY).await;
    assert_eq!(outcome, Outcome::Refused, "{}", r["answer"]);
    assert_eq!(r["refusal"]["code"], "metric_not_permitted");
    assert_eq!(
        r["refusal"]["suggestion"]["metrics"],
        json!(["signups"]),
        "{}",
        r["refusal"]
    );
    // Today alone has no complete day: said, not estimated.
    let dsl = json!({"kind": "anomalies", "period": {"preset": "today"}});
    let r = scan(&e, &dsl, "analyst", "acme", TODAY).await;
    assert_eq!(r["data"]["anomalies"]["days"], Value::Null);
    assert!(
        r["answer"]
            .as_str()
            .unwrap()
            .contains("holds no complete day yet"),
        "{}",
        r["answer"]
    );
}
