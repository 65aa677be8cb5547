//! Routing against the default catalog with a source serving a few of its metrics.

use std::sync::Arc;

use chrono::NaiveDate;

use super::*;
use crate::catalog::Catalog;
use crate::check::Checker;
use crate::plan::{plan, Clock, WorkspaceId};

fn catalog() -> Arc<Catalog> {
    let base = crate::examples::default_example().catalog_toml;
    let source = r#"
[sources.kpi]
kind = "metrics_api"
url = "http://127.0.0.1:9"
metrics = ["dau", "wau", "mau", "signups", "churn_rate", "active_customers", "avg_session_minutes"]
"#;
    Arc::new(Catalog::from_toml(&format!("{base}\n{source}"), "test.toml").unwrap())
}

fn planned(dsl: &str, role: &str) -> Plan {
    let c = catalog();
    let checked = Checker::new(c.clone())
        .check_bytes(dsl.as_bytes(), role)
        .unwrap_or_else(|e| panic!("{dsl}: {e:?}"));
    let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(); // a Wednesday
    plan(
        &checked,
        &WorkspaceId::parse("ws_a").unwrap(),
        &Clock::fixed(today),
    )
    .unwrap()
}

fn routed(dsl: &str) -> Result<Routed, NotRouted> {
    route(&planned(dsl, "analyst"))
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[test]
fn a_week_of_a_mean_metric_is_one_week_point_and_its_days_a_series() {
    let r = routed(r#"{"kind":"metric","metrics":["dau"],"period":{"preset":"last_week"},"granularity":"day","compare":"previous_period"}"#).unwrap();
    let week = DateRange::new(d("2026-11-16"), d("2026-11-22"));
    let before = DateRange::new(d("2026-11-09"), d("2026-11-15"));
    assert_eq!(
        r.calls,
        vec![
            Call {
                metric: "dau".into(),
                range: week,
                grain: Window::Day
            },
            Call {
                metric: "dau".into(),
                range: before,
                grain: Window::Day
            },
            Call {
                metric: "dau".into(),
                range: week,
                grain: Window::Week
            },
            Call {
                metric: "dau".into(),
                range: before,
                grain: Window::Week
            },
        ]
    );
    let points = vec![
        (1..=7).map(|v| Some(v as f64)).collect(),
        (1..=7).map(|v| Some(10.0 * v as f64)).collect(),
        vec![Some(4.0)],
        vec![Some(40.0)],
    ];
    let values = r.values(&points);
    assert_eq!(values[&("dau".to_string(), week)], Some(4.0));
    assert_eq!(values[&("dau".to_string(), before)], Some(40.0));
    assert_eq!(
        values[&("dau".to_string(), DateRange::day(d("2026-11-17")))],
        Some(2.0)
    );
}

#[test]
fn counts_over_many_buckets_are_summed_and_active_users_averaged_over_their_window() {
    let r = routed(r#"{"kind":"metric","metrics":["signups","dau"],"period":{"last_n":{"count":10,"unit":"day"}}}"#).unwrap();
    let range = DateRange::new(d("2026-11-15"), d("2026-11-24"));
    assert_eq!(r.calls.len(), 2);
    assert!(r
        .calls
        .iter()
        .all(|c| c.range == range && c.grain == Window::Day));
    let values = r.values(&[
        vec![Some(2.0); 10],
        (0..10).map(|v| Some(v as f64)).collect(),
    ]);
    assert_eq!(values[&("signups".to_string(), range)], Some(20.0));
    assert_eq!(values[&("dau".to_string(), range)], Some(4.5));
}

#[test]
fn what_the_api_cannot_answer_exactly_stays_on_the_warehouse() {
    let not = |dsl: &str| routed(dsl).unwrap_err();
    // Grouped, filtered, not served.
    assert_eq!(
        not(
            r#"{"kind":"metric","metrics":["dau"],"period":{"preset":"last_week"},"group_by":["country"]}"#
        ),
        NotRouted::GroupedOrFiltered
    );
    assert_eq!(
        not(
            r#"{"kind":"metric","metrics":["dau"],"period":{"preset":"last_week"},"filters":[{"dimension":"device","op":"eq","values":["ios"]}]}"#
        ),
        NotRouted::GroupedOrFiltered
    );
    assert_eq!(
        not(r#"{"kind":"metric","metrics":["sessions"],"period":{"preset":"last_week"}}"#),
        NotRouted::NotServed("sessions".into())
    );
    // A ratio or an average over ten days is no single bucket and adds up from none.
    for m in ["churn_rate", "avg_session_minutes"] {
        assert_eq!(
            not(&format!(
                r#"{{"kind":"metric","metrics":["{m}"],"period":{{"last_n":{{"count":10,"unit":"day"}}}}}}"#
            )),
            NotRouted::NotExact(m.into())
        );
    }
    // A series whose first week is cut by the period.
    assert_eq!(
        not(
            r#"{"kind":"metric","metrics":["signups"],"period":{"last_n":{"count":10,"unit":"day"}},"granularity":"week"}"#
        ),
        NotRouted::NotExact("signups".into())
    );
    // Weekly active users by month: Tally clips a week to the query's period, not the month.
    assert_eq!(
        not(
            r#"{"kind":"metric","metrics":["wau"],"period":{"last_n":{"count":3,"unit":"month"}},"granularity":"month"}"#
        ),
        NotRouted::NotExact("wau".into())
    );
    // Small groups withheld: the API cannot say how many users a value covers.
    assert_eq!(
        route(&planned(
            r#"{"kind":"metric","metrics":["dau"],"period":{"preset":"last_week"}}"#,
            "support_agent"
        ))
        .unwrap_err(),
        NotRouted::Suppressed
    );
}

#[test]
fn a_ratio_over_one_month_and_a_snapshot_at_its_end_are_single_points() {
    let r = routed(r#"{"kind":"metric","metrics":["churn_rate","active_customers","mau"],"period":{"preset":"last_month"}}"#).unwrap();
    let october = DateRange::new(d("2026-10-01"), d("2026-10-31"));
    assert!(r
        .calls
        .iter()
        .all(|c| c.range == october && c.grain == Window::Month));
    assert_eq!(r.calls.len(), 3);
}
