//! Rollups: pre-aggregations Tally builds from the warehouse into a SQLite store of its own, and
//! the planner pass that answers a unit from one only when the answer is provably the same.
//!
//! A rollup (`[rollups.NAME]` in the catalog) keeps one row per workspace, day, value of each of
//! its dimensions and `where` columns, and entity (when it serves distinct counts), with the
//! number of table rows it stands for. Counts are sums of that number; distinct counts and
//! active users count the kept entities, which are exact because every row of a day is kept
//! under its own key. Sums, averages and medians are never routed (a floating sum re-added in
//! another order is not provably the same), nor snapshots.
//!
//! The store holds, per rollup, the definition it was built with and the days it covers
//! (`from`, or from the table's first row, up to the exclusive `until`, the watermark). A unit is
//! routed when every day of its range is covered by a rollup built with the catalog's current
//! definition, its aggregate's table, time column, `where` columns and distinct column are the
//! rollup's, and every dimension it groups or filters by is kept (`serves`).
//!
//! Invariants: the warehouse is only read (the build runs its SELECTs through `exec/` like any
//! query, bounded and read-only); only `build.rs` writes, and only to the store.

pub mod build;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use chrono::NaiveDate;

use crate::catalog::{AggFunc, Catalog, Rollup, TimeBasis};
use crate::exec::{ExecError, Limits, Warehouse};
use crate::plan::{Plan, PlanBody, Shape, Unit};
use crate::sql::{Column, ColumnKind, Statement};

pub use build::{build, BuildError, BuildOptions, BuildReport};

/// The store's table of built rollups.
pub const STATE_TABLE: &str = "tally_rollups";

/// What the store holds of one rollup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// `Rollup::definition()` when it was built.
    pub definition: String,
    /// The first day it covers; `None`: from each workspace's first row.
    pub from: Option<NaiveDate>,
    /// The day after the last day it covers (the watermark).
    pub until: NaiveDate,
    /// When it was built (UTC, RFC 3339).
    pub built_at: String,
    /// Its rows in the store.
    pub rows: i64,
}

/// Every built rollup, by name.
pub type BuiltSet = BTreeMap<String, Built>;

/// Whether `rollup`, as `built`, answers `unit` exactly.
pub fn serves(rollup: &Rollup, built: &Built, unit: &Unit) -> bool {
    let agg = &unit.aggregate;
    if built.definition != rollup.definition() || agg.table != rollup.table {
        return false;
    }
    let TimeBasis::Column(time) = &agg.time else {
        return false;
    };
    if *time != rollup.time {
        return false;
    }
    let func = match &agg.func {
        AggFunc::Count => true,
        AggFunc::CountDistinct(c) | AggFunc::ActiveUsers { column: c, .. } => {
            rollup.entity.as_ref() == Some(c)
        }
        AggFunc::Sum(_) | AggFunc::Avg(_) | AggFunc::Median(_) => false,
    };
    let shape = matches!(
        unit.shape,
        Shape::Total | Shape::ByBucket(_) | Shape::ByWindow(_)
    );
    let columns = agg.filters.iter().all(|(c, _)| rollup.columns.contains(c));
    let dimensions = unit
        .group_by
        .iter()
        .map(String::as_str)
        .chain(unit.filters.iter().map(|f| f.dimension.0.as_str()))
        .all(|d| rollup.dimensions.iter().any(|k| k == d));
    let days =
        built.from.is_none_or(|from| from <= unit.range.start) && unit.range.end < built.until;
    func && shape && columns && dimensions && days
}

/// Routes every unit a built rollup serves to it: the smallest such rollup (no entity before one
/// with, then fewer dimensions and `where` columns, then by name). Lists and funnels read the warehouse.
pub fn route(plan: &mut Plan, built: &BuiltSet) {
    let catalog = plan.catalog.clone();
    let mut candidates: Vec<(&Rollup, &Built)> = catalog
        .rollups
        .values()
        .filter_map(|r| built.get(&r.name).map(|b| (r, b)))
        .collect();
    candidates.sort_by_key(|(r, _)| {
        (
            r.entity.is_some(),
            r.dimensions.len() + r.columns.len(),
            r.name.clone(),
        )
    });
    let units = match &mut plan.body {
        PlanBody::Metric(m) => &mut m.units,
        PlanBody::Explain(e) => &mut e.units,
        PlanBody::Anomalies(a) => &mut a.units,
        PlanBody::Define(d) => {
            if let Some(then) = &mut d.then {
                route(then, built);
            }
            return;
        }
        PlanBody::List(_) | PlanBody::Funnel(_) | PlanBody::Retention(_) => return,
    };
    for unit in units {
        unit.rollup = candidates
            .iter()
            .find(|(r, b)| serves(r, b, unit))
            .map(|(r, _)| r.name.clone());
    }
}

/// What answered a plan's statements: `warehouse`, `rollup:NAME`, or several joined by `+`
/// (rollups first, by name).
pub fn source(statements: &[Statement]) -> String {
    let mut rollups: Vec<&str> = statements
        .iter()
        .filter_map(|s| s.rollup.as_deref())
        .collect();
    rollups.sort_unstable();
    rollups.dedup();
    let mut parts: Vec<String> = rollups.iter().map(|r| format!("rollup:{r}")).collect();
    if statements.iter().any(|s| s.rollup.is_none()) || statements.is_empty() {
        parts.push("warehouse".into());
    }
    parts.join("+")
}

/// A rollup store opened for reading by queries: its warehouse (read-only, through `exec/`) and
/// what it holds, read again by `refresh`.
#[derive(Debug)]
pub struct Rollups {
    store: Warehouse,
    built: RwLock<Arc<BuiltSet>>,
}

impl Rollups {
    /// Opens the store at `path` (a SQLite file `tally rollup build` made) and reads what it holds.
    pub async fn open(path: &std::path::Path, limits: &Limits) -> Result<Rollups, ExecError> {
        let store = Warehouse::open(&format!("sqlite://{}", path.display())).await?;
        let built = read_built(&store, limits).await?;
        Ok(Rollups {
            store,
            built: RwLock::new(Arc::new(built)),
        })
    }

    /// The store, for the statements routed to it.
    pub fn store(&self) -> &Warehouse {
        &self.store
    }

    /// What the store held when last read.
    pub fn built(&self) -> Arc<BuiltSet> {
        self.built.read().expect("rollup state lock").clone()
    }

    /// Reads what the store holds again (after a build), keeping the old state if that fails.
    pub async fn refresh(&self, limits: &Limits) -> Result<(), ExecError> {
        let built = read_built(&self.store, limits).await?;
        *self.built.write().expect("rollup state lock") = Arc::new(built);
        Ok(())
    }
}

/// The store's state table, read through `exec/`; an empty set when the store has no state yet.
async fn read_built(store: &Warehouse, limits: &Limits) -> Result<BuiltSet, ExecError> {
    let text = |name: &str, kind| Column {
        name: name.into(),
        kind,
    };
    let statement = Statement {
        sql: format!(
            "SELECT name, definition, from_day, until_day, built_at, row_count FROM {STATE_TABLE} ORDER BY name"
        ),
        params: Vec::new(),
        columns: vec![
            text("name", ColumnKind::Text),
            text("definition", ColumnKind::Text),
            text("from_day", ColumnKind::Text),
            text("until_day", ColumnKind::Text),
            text("built_at", ColumnKind::Text),
            text("row_count", ColumnKind::Int),
        ],
        rollup: None,
        merged: None,
    };
    let rows = store.run(&statement, limits).await?;
    let day = |c: &crate::exec::Cell| c.as_text().and_then(|t| t.parse::<NaiveDate>().ok());
    let mut out = BuiltSet::new();
    for row in &rows.rows {
        let (Some(name), Some(until)) = (row[0].as_text(), day(&row[3])) else {
            continue;
        };
        out.insert(
            name.to_string(),
            Built {
                definition: row[1].as_text().unwrap_or_default().to_string(),
                from: day(&row[2]),
                until,
                built_at: row[4].as_text().unwrap_or_default().to_string(),
                rows: row[5].as_f64().unwrap_or(0.0) as i64,
            },
        );
    }
    Ok(out)
}

/// The rollups the store holds that `catalog` now defines otherwise (not used until rebuilt).
pub fn stale<'a>(catalog: &'a Catalog, built: &BuiltSet) -> Vec<&'a str> {
    catalog
        .rollups
        .values()
        .filter(|r| {
            built
                .get(&r.name)
                .is_some_and(|b| b.definition != r.definition())
        })
        .map(|r| r.name.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsl::{DimensionName, Filter, FilterOp, FilterValue};
    use crate::plan::{DateRange, UnitKey};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn unit(catalog: &Catalog, metric: &str, group_by: &[&str], filter: Option<&str>) -> Unit {
        let (name, agg) = catalog.aggregates_of(metric)[0];
        Unit {
            key: UnitKey::value(name),
            aggregate: agg.clone(),
            range: DateRange {
                start: d("2026-11-09"),
                end: d("2026-11-15"),
            },
            shape: crate::plan::total_shape(
                agg,
                &DateRange {
                    start: d("2026-11-09"),
                    end: d("2026-11-15"),
                },
            ),
            group_by: group_by.iter().map(|s| s.to_string()).collect(),
            filters: filter
                .map(|f| Filter {
                    dimension: DimensionName(f.into()),
                    op: FilterOp::Eq,
                    values: vec![FilterValue::Text("x".into())],
                })
                .into_iter()
                .collect(),
            rollup: None,
        }
    }

    fn built(r: &Rollup, until: &str) -> Built {
        Built {
            definition: r.definition(),
            from: None,
            until: d(until),
            built_at: String::new(),
            rows: 1,
        }
    }

    #[test]
    fn a_rollup_serves_counts_and_distinct_counts_over_what_it_keeps_and_nothing_else() {
        let c = Catalog::embedded_default();
        let users = &c.rollups["daily_users"];
        let segments = &c.rollups["daily_segment_users"];
        let sessions = &c.rollups["daily_sessions"];
        let b = |r: &Rollup| built(r, "2026-11-16");
        assert!(serves(users, &b(users), &unit(&c, "dau", &[], None)));
        // A dimension it does not keep, grouped or filtered.
        assert!(!serves(
            users,
            &b(users),
            &unit(&c, "dau", &["country"], None)
        ));
        assert!(!serves(
            users,
            &b(users),
            &unit(&c, "dau", &[], Some("device"))
        ));
        assert!(serves(
            segments,
            &b(segments),
            &unit(&c, "dau", &["country"], Some("device"))
        ));
        // A `where` column it does not keep; another table.
        assert!(!serves(
            users,
            &b(users),
            &unit(&c, "checkout_users", &[], None)
        ));
        assert!(!serves(users, &b(users), &unit(&c, "sessions", &[], None)));
        assert!(serves(
            sessions,
            &b(sessions),
            &unit(&c, "sessions", &["device"], None)
        ));
        // An average over the same table is a sum re-added: never.
        assert!(!serves(
            sessions,
            &b(sessions),
            &unit(&c, "avg_session_minutes", &[], None)
        ));
        // Days past the watermark, or before the first day built; another definition.
        assert!(!serves(
            users,
            &built(users, "2026-11-15"),
            &unit(&c, "dau", &[], None)
        ));
        let mut late = b(users);
        late.from = Some(d("2026-11-10"));
        assert!(!serves(users, &late, &unit(&c, "dau", &[], None)));
        let mut other = b(users);
        other.definition.push('x');
        assert!(!serves(users, &other, &unit(&c, "dau", &[], None)));
    }

    #[test]
    fn the_source_names_every_rollup_and_the_warehouse_when_it_is_read() {
        let s = |rollup: Option<&str>| Statement {
            sql: String::new(),
            params: Vec::new(),
            columns: Vec::new(),
            rollup: rollup.map(str::to_string),
            merged: None,
        };
        assert_eq!(source(&[s(None)]), "warehouse");
        assert_eq!(
            source(&[s(Some("b")), s(Some("a")), s(Some("b"))]),
            "rollup:a+rollup:b"
        );
        assert_eq!(source(&[s(Some("a")), s(None)]), "rollup:a+warehouse");
    }
}
