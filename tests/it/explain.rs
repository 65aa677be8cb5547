//! `explain` on the demo warehouse: the planted Tuesday (acme, 2026-11-17, android +
//! paid_social signups down about 85%) is found first with its share, checked against counts
//! written by hand; an unplanted Tuesday gets a different, honest answer; the ranking is
//! deterministic; a ratio's mix and rate effects add up to each segment's contribution. On
//! demos ending on other days the planted segment is named even when the day's total stays
//! within its usual variation, and the Tuesday before it names nothing.

use crate::common;

use common::{acme_signups as signups, date, engine, hand_pool, TODAY};
use serde_json::{json, Value};
use tally::pipeline::{Engine, Outcome};
use tally::plan::Clock;

async fn ask(engine: &Engine, dsl: &Value, role: &str, workspace: &str) -> Value {
    ask_on(engine, dsl, role, workspace, date(TODAY)).await
}

async fn ask_on(
    engine: &Engine,
    dsl: &Value,
    role: &str,
    workspace: &str,
    today: chrono::NaiveDate,
) -> Value {
    let raw = serde_json::to_vec(dsl).unwrap();
    let (r, _) = engine
        .run(&raw, role, workspace, &Clock::fixed(today))
        .await
        .expect("the pipeline runs");
    assert_eq!(r.outcome, Outcome::Answered, "{}", r.answer);
    let mut v = serde_json::to_value(&r).unwrap();
    v["query_id"] = Value::Null;
    v["timings_ms"] = Value::Null;
    v
}

#[tokio::test]
async fn the_planted_tuesday_is_found_first_with_its_share() {
    let (e, pool) = (engine().await, hand_pool().await);
    let dsl = json!({"kind":"explain","metric":"signups","period":{"date":"2026-11-17"}});
    let r = ask(&e, &dsl, "analyst", "acme").await;
    assert_eq!(r["executed_dsl"]["baseline"], "same_weekday_avg_4w");

    let weeks = ["2026-11-10", "2026-11-03", "2026-10-27", "2026-10-20"];
    let planted = "AND device = 'android' AND acquisition_channel = 'paid_social'";
    let (mut total_before, mut planted_before) = (0.0, 0.0);
    for w in weeks {
        total_before += signups(&pool, w, "").await / 4.0;
        planted_before += signups(&pool, w, planted).await / 4.0;
    }
    let total = signups(&pool, "2026-11-17", "").await;
    let planted_now = signups(&pool, "2026-11-17", planted).await;
    let share = (planted_now - planted_before) / (total - total_before);

    assert_eq!(r["data"]["summary"][0]["value"].as_f64(), Some(total));
    assert_eq!(
        r["data"]["summary"][0]["previous"].as_f64(),
        Some(total_before)
    );
    let top = &r["data"]["drivers"][0];
    assert_eq!(
        top["dimensions"],
        json!({"acquisition_channel": "paid_social", "device": "android"})
    );
    assert!(
        (top["share"].as_f64().unwrap() - share).abs() < 1e-9,
        "{top} vs {share}"
    );
    assert!(
        share > 0.5,
        "the planted segment carries most of the drop: {share}"
    );
    assert!(
        planted_now < 0.3 * planted_before,
        "{planted_now} vs {planted_before}"
    );
    assert_eq!(r["data"]["explain"]["change_started"], "2026-11-17");
    let answer = r["answer"].as_str().unwrap();
    let said = format!(
        "paid_social · android (acquisition_channel · device) accounts for {}% of the drop",
        tally::answer::format::fixed(share * 100.0, 1)
    );
    assert!(answer.contains(&said), "{answer}");
    assert!(answer.contains("the average of the same weekday in the 4 weeks before"));
    assert!(answer.contains("they do not say why it happened"));

    // Same data, same bytes.
    assert_eq!(ask(&e, &dsl, "analyst", "acme").await, r);
}

#[tokio::test]
async fn an_unplanted_tuesday_gets_a_different_honest_answer() {
    let e = engine().await;
    let dsl = json!({"kind":"explain","metric":"signups","period":{"date":"2026-11-10"}});
    let r = ask(&e, &dsl, "analyst", "acme").await;
    let answer = r["answer"].as_str().unwrap();
    assert_eq!(r["data"]["explain"]["within_usual_range"], json!(true));
    assert!(r["data"].get("drivers").is_none(), "{}", r["data"]);
    assert!(answer.contains("within the usual variation"), "{answer}");
    assert!(!answer.contains("accounts for"), "{answer}");
    assert!(!answer.contains("paid_social"), "{answer}");
    let delta = r["data"]["summary"][0]["delta"].as_f64().unwrap();
    assert!(delta.abs() < 10.0, "{delta}");
}

#[tokio::test]
async fn ratio_changes_split_into_mix_and_rate() {
    let e = engine().await;
    let dsl = json!({"kind":"explain","metric":"checkout_conversion","period":{"preset":"last_week"},"baseline":"previous_period"});
    let r = ask(&e, &dsl, "analyst", "acme").await;
    let change = r["data"]["summary"][0]["delta"].as_f64().unwrap();
    let drivers = r["data"]["drivers"].as_array().unwrap();
    assert!(!drivers.is_empty(), "{}", r["answer"]);
    for d in drivers {
        let (mix, rate) = (d["mix"].as_f64().unwrap(), d["rate"].as_f64().unwrap());
        let c = d["contribution"].as_f64().unwrap();
        assert!((mix + rate - c).abs() < 1e-12, "{d}");
        assert!((c / change - d["share"].as_f64().unwrap()).abs() < 1e-9);
    }
    let shares: Vec<f64> = drivers
        .iter()
        .map(|d| d["share"].as_f64().unwrap())
        .collect();
    assert!(shares.windows(2).all(|w| w[0] >= w[1]), "{shares:?}");
}

#[tokio::test]
async fn a_ratio_change_within_chance_is_not_decomposed() {
    let e = engine().await;
    let dsl = json!({"kind":"explain","metric":"checkout_conversion","period":{"preset":"last_month"},"baseline":"previous_period"});
    let r = ask(&e, &dsl, "analyst", "acme").await;
    let change = r["data"]["summary"][0]["delta"].as_f64().unwrap();
    let chance = r["data"]["explain"]["chance_variation"].as_f64().unwrap();
    assert!(change.abs() <= chance, "{change} vs {chance}");
    assert_eq!(r["data"]["explain"]["within_usual_range"], json!(true));
    assert!(r["data"].get("drivers").is_none());
    let answer = r["answer"].as_str().unwrap();
    assert!(answer.contains("points by chance alone"), "{answer}");
}

/// The demo a user gets on several days (one demo per end date, in different weeks and on
/// different weekdays): the planted segment is named on its Tuesday every time, whether or not
/// the day's total left its usual variation, and the Tuesday a week before names nothing.
#[tokio::test]
async fn the_planted_segment_is_named_on_demos_ending_on_other_days() {
    // (end date, its planted Tuesday: Tuesday of the week before the one holding the day after).
    // The generator seeds each day by its place in the history, so demos whose end dates share
    // a weekday have the same counts: one end date per weekday covers every demo `tally demo`
    // builds at the default seed and scale.
    let demos = [
        // `tally demo` on 2026-12-01: the case, the day's total within its usual range.
        ("2026-11-30", "2026-11-24"), // Mon
        ("2026-09-15", "2026-09-08"), // Tue
        ("2027-01-20", "2027-01-12"), // Wed
        ("2026-10-08", "2026-09-29"), // Thu
        ("2026-08-14", "2026-08-04"), // Fri
        ("2027-02-27", "2027-02-16"), // Sat
        ("2026-11-22", "2026-11-17"), // Sun
    ];
    let planted_segment = json!({"acquisition_channel": "paid_social", "device": "android"});
    let mut within_usual = 0;
    for (end, planted) in demos {
        let end = date(end);
        let e = common::engine_on(&common::signups_db_ending(end).await).await;
        let today = end.succ_opt().unwrap();
        let explain = |day: &str| json!({"kind":"explain","metric":"signups","period":{"date":day},"baseline":"same_weekday_avg_4w"});

        let r = ask_on(&e, &explain(planted), "analyst", "acme", today).await;
        let info = &r["data"]["explain"];
        let tests = &info["segment_tests"];
        let first = &tests["significant"][0];
        assert_eq!(first["dimensions"], planted_segment, "{end}: {tests}");
        let (value, baseline) = (
            first["value"].as_f64().unwrap(),
            first["baseline"].as_f64().unwrap(),
        );
        assert!(value < 0.3 * baseline, "{end}: {first}");
        assert!(
            first["p_adjusted"].as_f64().unwrap() <= 0.01,
            "{end}: {first}"
        );
        let answer = r["answer"].as_str().unwrap();
        let day = tally::answer::format::day(date(planted));
        assert!(answer.contains(&format!("on {day}")), "{end}: {answer}");
        assert!(
            answer.contains("paid_social · android (acquisition_channel · device)"),
            "{end}: {answer}"
        );
        if info["within_usual_range"] == json!(true) {
            within_usual += 1;
            assert!(
                answer.contains("The total is within its usual variation"),
                "{end}: {answer}"
            );
            assert!(
                answer.contains("moved well beyond its own"),
                "{end}: {answer}"
            );
        }
        eprintln!(
            "demo to {end}: {planted} total {} against {}, within usual range {}; \
             android · paid_social {value} against {baseline} (p adjusted {}) of {} tested",
            r["data"]["summary"][0]["value"],
            r["data"]["summary"][0]["previous"],
            info["within_usual_range"],
            first["p_adjusted"],
            tests["tested"],
        );

        let unplanted = (date(planted) - chrono::Days::new(7)).to_string();
        let r = ask_on(&e, &explain(&unplanted), "analyst", "acme", today).await;
        let answer = r["answer"].as_str().unwrap();
        assert_eq!(
            r["data"]["explain"]["segment_tests"]["significant"],
            json!([]),
            "{end}, {unplanted}: {answer}"
        );
        assert!(
            r["data"].get("drivers").is_none(),
            "{end}, {unplanted}: {answer}"
        );
        assert!(
            !answer.contains("paid_social"),
            "{end}, {unplanted}: {answer}"
        );
        assert!(
            answer.contains("no segment is singled out"),
            "{end}, {unplanted}: {answer}"
        );
    }
    // The case the issue reported is among them: a total within its usual range that hides
    // the planted segment.
    assert!(
        within_usual >= 1,
        "no demo had the planted day's total within its usual range"
    );
}

/// The README's unpinned explain question reads as Tuesday of last week on every weekday, the
/// day the demo built to yesterday plants its drop on (`planted_anomaly_day(today - 1)`).
#[tokio::test]
async fn tuesday_last_week_is_the_planted_day_whatever_the_day_asked() {
    use chrono::Datelike;
    let e = engine().await;
    for today in (23..=29).map(|d| date(&format!("2026-11-{d}"))) {
        let (r, _) = e
            .ask(
                "Why did user signups drop on Tuesday last week?",
                "analyst",
                "acme",
                &Clock::fixed(today),
                None,
            )
            .await
            .unwrap();
        let dsl = serde_json::to_value(&r.executed_dsl).unwrap();
        let monday = today - chrono::Days::new(u64::from(today.weekday().num_days_from_monday()));
        let planted = monday - chrono::Days::new(6);
        assert_eq!(dsl["kind"], "explain", "{today}: {}", r.answer);
        assert_eq!(
            dsl["period"],
            json!({"date": planted.to_string()}),
            "{today}"
        );
    }
}
