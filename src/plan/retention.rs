//! The retention plan: cohort buckets of the period, the offsets followed, how far activity is
//! read, and the statements (cohort sizes and returning entities, in total and per group).

use chrono::{Days, Months, NaiveDate};

use super::time::{self, DateRange, ResolvedPeriod};
use super::{PlanError, Split};
use crate::catalog::{Catalog, Retention, Window};
use crate::dsl::{Filter, Granularity, RetentionQuery, DEFAULT_RETENTION_PERIODS};

/// The most cohort buckets one query follows (a year of weeks).
pub const MAX_COHORTS: usize = 53;

/// A retention query: entities grouped into cohorts by the bucket their cohort event falls in,
/// and per cohort the distinct entities with activity in each later bucket.
#[derive(Debug, Clone)]
pub struct RetentionPlan {
    pub retention: Retention,
    /// The period the cohorts started in.
    pub period: ResolvedPeriod,
    pub granularity: Granularity,
    /// Offsets after the cohort's own bucket (offset 0).
    pub periods: u32,
    /// The cohort buckets: each bucket of the granularity, clipped to the period.
    pub cohorts: Vec<DateRange>,
    /// Activity is read before this instant's day: the end of the last offset followed, or
    /// today (whose data is not complete), whichever is first.
    pub activity_until: NaiveDate,
    pub group_by: Option<String>,
    pub filters: Vec<Filter>,
    /// One statement each, the totals first.
    pub units: Vec<RetentionUnit>,
}

/// What a retention statement counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cohorts {
    /// Distinct entities per cohort bucket.
    Sizes,
    /// Distinct entities per cohort bucket and activity bucket.
    Returning,
}

/// One retention statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionUnit {
    pub counts: Cohorts,
    pub split: Split,
}

impl RetentionPlan {
    pub fn unit_index(&self, counts: Cohorts, split: Split) -> Option<usize> {
        self.units
            .iter()
            .position(|u| u.counts == counts && u.split == split)
    }

    pub fn window(&self) -> Window {
        time::granularity_window(self.granularity)
    }

    /// The first day of the bucket `k` buckets after `start`'s.
    pub fn offset_start(&self, start: NaiveDate, k: u32) -> NaiveDate {
        add(time::window_key(start, self.window()), self.window(), k)
    }

    /// The offset of the activity bucket starting on `day` from the cohort bucket starting on
    /// `cohort` (both bucket starts), if it is one followed.
    pub fn offset_of(&self, cohort: NaiveDate, day: NaiveDate) -> Option<u32> {
        (0..=self.periods).find(|k| self.offset_start(cohort, *k) == day)
    }

    /// Whether offset `k` of the cohort starting on `cohort` has ended before today.
    pub fn complete(&self, cohort: NaiveDate, k: u32, today: NaiveDate) -> bool {
        self.offset_start(cohort, k + 1) <= today
    }
}

/// `k` buckets of `w` after `d` (a bucket start).
fn add(d: NaiveDate, w: Window, k: u32) -> NaiveDate {
    match w {
        Window::Day => d + Days::new(u64::from(k)),
        Window::Week => d + Days::new(7 * u64::from(k)),
        Window::Month => d.checked_add_months(Months::new(k)).expect("in range"),
    }
}

pub(super) fn retention_plan(
    catalog: &Catalog,
    today: NaiveDate,
    q: &RetentionQuery,
) -> Result<RetentionPlan, PlanError> {
    let resolved = super::resolve_past(&q.period, today)?;
    let granularity = q.granularity.unwrap_or(Granularity::Week);
    let periods = q.periods.unwrap_or(DEFAULT_RETENTION_PERIODS);
    let window = time::granularity_window(granularity);
    let cohorts = time::windows(&resolved.range, window);
    if cohorts.len() > MAX_COHORTS {
        return Err(PlanError::TooManyCohorts {
            cohorts: cohorts.len(),
            limit: MAX_COHORTS,
        });
    }
    let last = cohorts.last().map_or(resolved.range.end, |c| c.start);
    let followed = add(time::window_key(last, window), window, periods + 1);
    let activity_until = followed.min(today);
    let split = if q.group_by.is_empty() {
        vec![Split::Total]
    } else {
        vec![Split::Total, Split::Grouped]
    };
    let units = split
        .iter()
        .flat_map(|&split| {
            [Cohorts::Sizes, Cohorts::Returning]
                .into_iter()
                .map(move |counts| RetentionUnit { counts, split })
        })
        .collect();
    Ok(RetentionPlan {
        retention: catalog.retention[q.retention.as_str()].clone(),
        period: resolved,
        granularity,
        periods,
        cohorts,
        activity_until,
        group_by: q.group_by.first().map(|d| d.as_str().to_string()),
        filters: q.filters.clone(),
        units,
    })
}
