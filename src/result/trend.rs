//! A series' direction, by a stated method: a least-squares line through the values of its
//! complete buckets (a bucket clipped by the period's edges, or holding today, is partial and
//! left out), its rise from the first to the last of them, and that rise against their mean.

use serde::Serialize;

use super::{Num, SeriesPoint};
use crate::dsl::Granularity;
use crate::plan::MetricPlan;

/// A trend is `flat` when its line moves less than this share of the mean.
pub const FLAT_TREND: f64 = 0.05;

/// `data.trend`: how the first metric's series moved over the period.
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct Trend {
    pub metric: String,
    /// `least_squares`: the line minimising the squared distances to the complete buckets'
    /// values, equally spaced.
    pub method: String,
    /// Complete buckets the line goes through.
    pub points: usize,
    /// Partial buckets left out (clipped by the period's edges, or holding today).
    pub left_out: usize,
    /// The line's change from the first complete bucket to the last (negative: down).
    pub rise: Num,
    /// The mean of the values.
    pub mean: Num,
    /// `rise / mean`; null when the mean is 0.
    pub share: Option<Num>,
    /// `up`, `down`, or `flat` when |share| is below `flat_below`.
    pub direction: String,
    pub flat_below: Num,
}

/// Whether the bucket of the series starting on `date` is complete.
pub fn complete(plan: &MetricPlan, date: &str, today: chrono::NaiveDate) -> bool {
    let Some(g) = plan.granularity else {
        return true;
    };
    let window = crate::plan::time::granularity_window(g);
    let starts = |d: chrono::NaiveDate| crate::plan::time::window_key(d, window) == d;
    plan.buckets
        .iter()
        .find(|b| b.start.to_string() == date)
        .is_none_or(|b| starts(b.start) && starts(b.end + chrono::Days::new(1)) && b.end < today)
}

/// The fewest complete buckets a trend is stated over: two weeks of days (fewer would describe
/// the weekly cycle), four weeks or months.
fn enough(g: Granularity) -> usize {
    match g {
        Granularity::Day => 14,
        Granularity::Week | Granularity::Month => 4,
    }
}

/// The trend of `plan`'s first metric, when its series is ungrouped, nothing in it is withheld
/// and it has enough complete buckets.
pub(super) fn trend(
    plan: &MetricPlan,
    series: &[SeriesPoint],
    today: chrono::NaiveDate,
) -> Option<Trend> {
    let g = plan.granularity?;
    if !plan.group_by.is_empty() || series.iter().any(|p| p.suppressed) {
        return None;
    }
    let first = plan.metrics.first()?;
    let all: Vec<&SeriesPoint> = series
        .iter()
        .filter(|p| &p.metric == first && p.value.is_some())
        .collect();
    let values: Vec<f64> = all
        .iter()
        .filter(|p| complete(plan, &p.date, today))
        .filter_map(|p| p.value.map(|v| v.0))
        .collect();
    if values.len() < enough(g) {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let xm = (n - 1.0) / 2.0;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, y) in values.iter().enumerate() {
        let dx = i as f64 - xm;
        sxy += dx * (y - mean);
        sxx += dx * dx;
    }
    let rise = sxy / sxx * (n - 1.0);
    let share = (mean != 0.0).then(|| rise / mean);
    let direction = match share {
        Some(s) if s.abs() >= FLAT_TREND && rise > 0.0 => "up",
        Some(s) if s.abs() >= FLAT_TREND => "down",
        _ => "flat",
    };
    Some(Trend {
        metric: first.clone(),
        method: "least_squares".into(),
        points: values.len(),
        left_out: all.len() - values.len(),
        rise: Num(rise),
        mean: Num(mean),
        share: share.map(Num),
        direction: direction.into(),
        flat_below: Num(FLAT_TREND),
    })
}
