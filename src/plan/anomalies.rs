//! The anomaly-scan plan: the complete days of the period, and per metric scanned one daily
//! series per segment (the total, each driver, each pair of drivers) reaching back
//! `BASELINE_WEEKS` weeks before the first day, so every day has its same-weekday baseline.

use chrono::{Days, NaiveDate};

use super::time::{DateRange, ResolvedPeriod};
use super::{
    add_entity_counts, driver_segments, resolve_past, series_shape, PlanError, Suppression, Unit,
    UnitKey,
};
use crate::catalog::{Catalog, Role};
use crate::dsl::{AnomaliesQuery, Granularity};

/// How many earlier weeks a day is compared with (the same weekday in each).
pub const BASELINE_WEEKS: u64 = 4;

/// An anomaly scan: each day of the period against the same weekday of the weeks before, per
/// metric and segment.
#[derive(Debug, Clone)]
pub struct AnomaliesPlan {
    pub period: ResolvedPeriod,
    /// The period's complete days (before today), oldest first: the days tested.
    pub days: Vec<NaiveDate>,
    /// The days read: `BASELINE_WEEKS` weeks before the first day tested, to the last.
    pub series: DateRange,
    pub metrics: Vec<ScannedMetric>,
    /// One daily series per (metric, aggregate key, segment grouping).
    pub units: Vec<Unit>,
}

/// One metric of the scan and how it is segmented.
#[derive(Debug, Clone)]
pub struct ScannedMetric {
    pub name: String,
    /// The driver dimensions the role may see.
    pub drivers: Vec<String>,
    /// The whole (`[]`) first, then each driver, then each pair.
    pub groupings: Vec<Vec<String>>,
}

impl AnomaliesPlan {
    /// The unit computing `key` day by day per `grouping`.
    pub fn unit_index(&self, key: &UnitKey, grouping: &[String]) -> Option<usize> {
        self.units
            .iter()
            .position(|u| &u.key == key && u.group_by == grouping)
    }

    /// The same weekday in each of the `BASELINE_WEEKS` weeks before `day`, nearest first.
    pub fn baseline_days(day: NaiveDate) -> Vec<NaiveDate> {
        (1..=BASELINE_WEEKS)
            .map(|k| day - Days::new(7 * k))
            .collect()
    }
}

pub(super) fn anomalies_plan(
    catalog: &Catalog,
    role: &Role,
    today: NaiveDate,
    q: &AnomaliesQuery,
    suppression: Suppression,
) -> Result<AnomaliesPlan, PlanError> {
    let asked = q.period.expect("check fills the period");
    let period = resolve_past(&asked, today)?;
    let r = period.range;
    let days: Vec<NaiveDate> = r
        .start
        .iter_days()
        .take_while(|d| *d <= r.end && *d < today)
        .collect();
    let series = match (days.first(), days.last()) {
        (Some(first), Some(last)) => DateRange::new(*first - Days::new(7 * BASELINE_WEEKS), *last),
        _ => r,
    };
    let mut metrics = Vec::new();
    let mut units = Vec::new();
    for m in &q.metrics {
        let (drivers, groupings) = driver_segments(catalog, role, m.as_str());
        let groupings: Vec<Vec<String>> = std::iter::once(Vec::new()).chain(groupings).collect();
        let mut aggregates: Vec<(UnitKey, crate::catalog::Aggregate)> = catalog
            .aggregates_of(m.as_str())
            .into_iter()
            .map(|(n, a)| (UnitKey::value(n), a.clone()))
            .collect();
        if suppression == Suppression::SmallGroups {
            add_entity_counts(catalog, &mut aggregates);
        }
        if !days.is_empty() {
            for (key, agg) in &aggregates {
                let shape = series_shape(agg, Granularity::Day, std::slice::from_ref(&series));
                for g in &groupings {
                    units.push(Unit {
                        key: key.clone(),
                        aggregate: agg.clone(),
                        range: series,
                        shape: shape.clone(),
                        group_by: g.clone(),
                        filters: Vec::new(),
                        rollup: None,
                    });
                }
            }
        }
        metrics.push(ScannedMetric {
            name: m.as_str().to_string(),
            drivers,
            groupings,
        });
    }
    Ok(AnomaliesPlan {
        period,
        days,
        series,
        metrics,
        units,
    })
}
