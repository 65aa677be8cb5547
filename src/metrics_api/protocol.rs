//! The wire protocol (dsl-spec/metrics-api.md): `GET {url}/v1/metrics/{name}?workspace=W&
//! start=YYYY-MM-DD&end=YYYY-MM-DD&grain=day|week|month` → `MetricSeries`, and the validation
//! an answer must pass before a single number of it is used.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::catalog::Window;

/// A bucket size: a calendar day, an ISO week (Monday to Sunday, labelled by its Monday) or a
/// calendar month (labelled by its first day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Grain {
    Day,
    Week,
    Month,
}

impl Grain {
    pub fn window(self) -> Window {
        match self {
            Grain::Day => Window::Day,
            Grain::Week => Window::Week,
            Grain::Month => Window::Month,
        }
    }

    pub fn of(w: Window) -> Grain {
        match w {
            Window::Day => Grain::Day,
            Window::Week => Grain::Week,
            Window::Month => Grain::Month,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.window().as_str()
    }
}

/// An answer: the metric's value per bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MetricSeries {
    pub metric: String,
    pub grain: Grain,
    pub points: Vec<Point>,
    /// When the API's numbers were computed (RFC 3339); informational.
    pub as_of: String,
}

/// One bucket's value, labelled by the bucket's first day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Point {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `null` only where the metric is undefined (an average of nothing, a ratio over zero).
    pub value: Option<f64>,
}

/// What the query asked for, to check an answer against.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    pub metric: &'a str,
    pub grain: Window,
    /// Each bucket's first day, in order.
    pub dates: &'a [NaiveDate],
    /// Values must be non-negative and defined.
    pub counts: bool,
    /// `null` is allowed.
    pub may_be_undefined: bool,
}

/// Checks an answer's body; the values in the expected dates' order, or why it is unusable.
pub fn validate(body: &[u8], want: Expected<'_>) -> Result<Vec<Option<f64>>, String> {
    let series: MetricSeries = serde_json::from_slice(body)
        .map_err(|e| format!("the body is not a metric series ({e})"))?;
    if series.metric != want.metric {
        return Err(format!(
            "it answered for metric `{}`, not `{}`",
            short(&series.metric),
            want.metric
        ));
    }
    if series.grain.window() != want.grain {
        return Err(format!(
            "it answered by {}, not by {}",
            series.grain.as_str(),
            want.grain.as_str()
        ));
    }
    let mut values: Vec<Option<Option<f64>>> = vec![None; want.dates.len()];
    for p in &series.points {
        let date = NaiveDate::parse_from_str(&p.date, "%Y-%m-%d")
            .ok()
            .filter(|d| d.format("%Y-%m-%d").to_string() == p.date)
            .ok_or_else(|| format!("`{}` is not a YYYY-MM-DD date", short(&p.date)))?;
        let Some(i) = want.dates.iter().position(|d| *d == date) else {
            return Err(format!("it holds {date}, which is not a bucket asked for"));
        };
        if values[i].is_some() {
            return Err(format!("it holds {date} twice"));
        }
        match p.value {
            Some(v) if !v.is_finite() => return Err(format!("the value for {date} is not finite")),
            Some(v) if want.counts && v < 0.0 => {
                return Err(format!("the count for {date} is negative"))
            }
            None if !want.may_be_undefined => return Err(format!("the value for {date} is null")),
            _ => {}
        }
        values[i] = Some(p.value);
    }
    if let Some(i) = values.iter().position(Option::is_none) {
        return Err(format!("the point for {} is missing", want.dates[i]));
    }
    Ok(values.into_iter().map(|v| v.expect("every date")).collect())
}

/// At most 40 characters of a string the API sent, for a note.
fn short(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn an_answer_must_hold_every_date_once_with_finite_non_negative_counts() {
        let dates = [d("2026-11-16"), d("2026-11-17")];
        let want = Expected {
            metric: "m",
            grain: Window::Day,
            dates: &dates,
            counts: true,
            may_be_undefined: false,
        };
        let body = |points: &str| {
            format!(r#"{{"metric":"m","grain":"day","points":[{points}],"as_of":"x"}}"#)
        };
        let ok = body(r#"{"date":"2026-11-17","value":2},{"date":"2026-11-16","value":1}"#);
        assert_eq!(
            validate(ok.as_bytes(), want).unwrap(),
            vec![Some(1.0), Some(2.0)]
        );
        let bad = [
            (
                body(r#"{"date":"2026-11-16","value":1}"#),
                "2026-11-17 is missing",
            ),
            (
                body(
                    r#"{"date":"2026-11-16","value":1},{"date":"2026-11-16","value":1},{"date":"2026-11-17","value":1}"#,
                ),
                "twice",
            ),
            (
                body(r#"{"date":"2026-11-16","value":-1},{"date":"2026-11-17","value":1}"#),
                "negative",
            ),
            (
                body(r#"{"date":"2026-11-16","value":null},{"date":"2026-11-17","value":1}"#),
                "null",
            ),
            (
                body(r#"{"date":"2026-11-15","value":1},{"date":"2026-11-17","value":1}"#),
                "not a bucket",
            ),
            (body(r#"{"date":"2026-11-6","value":1}"#), "YYYY-MM-DD"),
            (
                body(r#"{"date":"2026-11-16","value":"1"}"#),
                "not a metric series",
            ),
            (
                r#"{"metric":"n","grain":"day","points":[],"as_of":"x"}"#.into(),
                "metric `n`",
            ),
            (
                r#"{"metric":"m","grain":"week","points":[],"as_of":"x"}"#.into(),
                "by week",
            ),
            ("<html>".into(), "not a metric series"),
        ];
        for (body, why) in bad {
            let e = validate(body.as_bytes(), want).unwrap_err();
            assert!(e.contains(why), "{body}: {e}");
        }
        let undefined = Expected {
            counts: false,
            may_be_undefined: true,
            ..want
        };
        let null = body(r#"{"date":"2026-11-16","value":null},{"date":"2026-11-17","value":0.5}"#);
        assert_eq!(
            validate(null.as_bytes(), undefined).unwrap(),
            vec![None, Some(0.5)]
        );
    }
}
