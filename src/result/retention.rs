//! Retention: per cohort bucket (and group), its size and, for each offset that has ended, the
//! entities that came back and their share of the cohort. A cohort or cell of fewer entities
//! than the role's `min_group_size` is withheld; offsets that have not ended are left out, never
//! shown as partial.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::{ratio, too_few, Key, Num, PeriodOut, QueryResult};
use crate::exec::Rows;
use crate::plan::{Cohorts, RetentionPlan, Split};

/// The most groups a grouped retention shows (by total cohort size, descending).
pub const MAX_RETENTION_GROUPS: usize = 10;

/// The `data.retention` object.
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct RetentionOut {
    /// The catalog's retention definition.
    pub retention: String,
    /// The cohort bucket and offset unit: day, week or month.
    pub granularity: String,
    /// Offsets followed after offset 0.
    pub periods: u32,
    /// The cohorts of the total, oldest first, then each group's (largest group first).
    pub cohorts: Vec<Cohort>,
}

/// One cohort: the entities whose cohort time falls in one bucket (clipped to the period).
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct Cohort {
    /// The bucket's first day (unclipped), the cohort's name.
    pub cohort: String,
    /// The days of the period in the bucket.
    pub period: PeriodOut,
    /// The group (absent on the total's cohorts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<BTreeMap<String, Option<String>>>,
    /// Entities in the cohort.
    pub size: Option<Num>,
    /// Withheld: fewer entities than the role's `min_group_size`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suppressed: bool,
    /// One per offset that has ended (offset 0 first).
    pub cells: Vec<RetentionCell>,
}

/// The entities of a cohort with activity in one later bucket.
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct RetentionCell {
    /// 0 for the cohort's own bucket.
    pub offset: u32,
    /// The first day of the offset's bucket.
    pub start: String,
    /// Entities of the cohort with activity in the bucket (at or after their cohort time).
    pub returning: Option<Num>,
    /// `returning` over the cohort's size.
    pub rate: Option<Num>,
    /// Withheld: fewer entities than the role's `min_group_size`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suppressed: bool,
}

/// (cohort bucket, group) → size; (cohort bucket, group, activity bucket) → returning.
struct Counts {
    sizes: BTreeMap<(String, Key), f64>,
    returning: BTreeMap<(String, Key, String), f64>,
}

fn counts(plan: &RetentionPlan, rows: &[Rows], split: Split) -> Counts {
    let groups = usize::from(split == Split::Grouped);
    let text = |row: &[crate::exec::Cell], i: usize| row[i].as_text().map(String::from);
    let mut out = Counts {
        sizes: BTreeMap::new(),
        returning: BTreeMap::new(),
    };
    if let Some(i) = plan.unit_index(Cohorts::Sizes, split) {
        for row in &rows[i].rows {
            let key: Key = (1..=groups).map(|g| text(row, g)).collect();
            let n = row[1 + groups].as_f64().unwrap_or(0.0);
            out.sizes.insert((text(row, 0).unwrap_or_default(), key), n);
        }
    }
    if let Some(i) = plan.unit_index(Cohorts::Returning, split) {
        for row in &rows[i].rows {
            let key: Key = (1..=groups).map(|g| text(row, g)).collect();
            let day = text(row, 1 + groups).unwrap_or_default();
            let n = row[2 + groups].as_f64().unwrap_or(0.0);
            out.returning
                .insert((text(row, 0).unwrap_or_default(), key, day), n);
        }
    }
    out
}

/// One group's (or the total's) cohorts, oldest first.
fn cohorts(
    plan: &RetentionPlan,
    counts: &Counts,
    key: &Key,
    today: NaiveDate,
    min_group_size: u32,
    suppressed: &mut usize,
) -> Vec<Cohort> {
    let dimensions = plan
        .group_by
        .as_ref()
        .filter(|_| !key.is_empty())
        .map(|d| [(d.clone(), key[0].clone())].into_iter().collect());
    plan.cohorts
        .iter()
        .map(|range| {
            let start = crate::plan::time::window_key(range.start, plan.window());
            let name = start.to_string();
            let size = counts
                .sizes
                .get(&(name.clone(), key.clone()))
                .copied()
                .unwrap_or(0.0);
            let withheld = too_few(size, min_group_size);
            if withheld {
                *suppressed += 1;
            }
            let cells = (0..=plan.periods)
                .take_while(|k| plan.complete(start, *k, today))
                .map(|k| {
                    let day = plan.offset_start(start, k).to_string();
                    let n = counts
                        .returning
                        .get(&(name.clone(), key.clone(), day.clone()))
                        .copied()
                        .unwrap_or(0.0);
                    let small = withheld || too_few(n, min_group_size);
                    if small && !withheld {
                        *suppressed += 1;
                    }
                    RetentionCell {
                        offset: k,
                        start: day,
                        returning: (!small).then_some(Num(n)),
                        rate: if small { None } else { ratio(n, size) },
                        suppressed: small,
                    }
                })
                .collect();
            Cohort {
                cohort: name,
                period: (*range).into(),
                dimensions: dimensions.clone(),
                size: (!withheld).then_some(Num(size)),
                suppressed: withheld,
                cells,
            }
        })
        .collect()
}

pub(super) fn retention(
    plan: &RetentionPlan,
    rows: &[Rows],
    today: NaiveDate,
    min_group_size: u32,
) -> QueryResult {
    let mut suppressed = 0;
    let total = counts(plan, rows, Split::Total);
    let mut out = cohorts(
        plan,
        &total,
        &Vec::new(),
        today,
        min_group_size,
        &mut suppressed,
    );
    let mut total_groups = None;
    if plan.group_by.is_some() {
        let grouped = counts(plan, rows, Split::Grouped);
        let mut sizes: BTreeMap<&Key, f64> = BTreeMap::new();
        for ((_, key), n) in &grouped.sizes {
            *sizes.entry(key).or_default() += n;
        }
        let mut keys: Vec<(&Key, f64)> = sizes.into_iter().collect();
        keys.sort_by(|(ka, a), (kb, b)| b.total_cmp(a).then_with(|| ka.cmp(kb)));
        total_groups = Some(keys.len());
        for (key, _) in keys.into_iter().take(MAX_RETENTION_GROUPS) {
            out.extend(cohorts(
                plan,
                &grouped,
                key,
                today,
                min_group_size,
                &mut suppressed,
            ));
        }
    }
    let empty = total.sizes.values().all(|n| *n == 0.0);
    QueryResult {
        period: Some(plan.period.range.into()),
        retention: Some(RetentionOut {
            retention: plan.retention.name.clone(),
            granularity: plan.granularity.as_str().to_string(),
            periods: plan.periods,
            cohorts: out,
        }),
        total_groups,
        suppressed_groups: suppressed,
        truncated: rows.iter().any(|r| r.truncated),
        empty,
        ..QueryResult::default()
    }
}
