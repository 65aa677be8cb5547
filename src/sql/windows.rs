//! A routed distinct count read from its rollup's per-window counts (the store's
//! `Rollup::windows_source` table) instead of counting the day rows' entities again.
//!
//! A distinct count over a window is not the sum of its days' counts, so only windows the
//! store counted whole are read: the unit's range (a total) or each of its windows clipped to
//! the range (a series or active users) must be a whole calendar day, Monday-to-Sunday week or
//! month, no dimension may be grouped or filtered (the windows keep none), and the metric's
//! `where` must give one value to every column the rollup keeps for it (the windows are counted
//! per value of those columns). Anything else is counted from the day rows as before, which is
//! exactly the same number, only slower.

use chrono::NaiveDate;
use sea_query::{Alias, Expr, ExprTrait, Func, Order as SqlOrder, Query};

use super::{alias, col, finish, Column, ColumnKind, CompileError, Statement};
use crate::catalog::{AggFunc, Rollup, Window};
use crate::plan::time::{window_key, window_of, windows};
use crate::plan::{DateRange, Shape, Unit, WorkspaceId};

use super::Dialect;

/// The calendar window `range` is, if it is one whole window of a grain the store counts.
fn whole(range: &DateRange) -> Option<Window> {
    [Window::Day, Window::Week, Window::Month]
        .into_iter()
        .find(|&w| window_of(range.start, w) == *range)
}

/// What one statement reads: the windows of one grain starting in `from..=to`, each its own
/// bucket; or one window, returned as `bucket` (a month's active users over a week: the week).
enum Read {
    Span {
        grain: Window,
        from: NaiveDate,
        to: NaiveDate,
    },
    One {
        grain: Window,
        start: NaiveDate,
        bucket: Option<NaiveDate>,
    },
}

fn read(unit: &Unit) -> Option<Read> {
    let w = match &unit.shape {
        Shape::Total => {
            return Some(Read::One {
                grain: whole(&unit.range)?,
                start: unit.range.start,
                bucket: None,
            })
        }
        Shape::ByBucket(w) | Shape::ByWindow(w) => *w,
        Shape::AtInstants(_) => return None,
    };
    let clipped = windows(&unit.range, w);
    match clipped.as_slice() {
        [one] => Some(Read::One {
            grain: whole(one)?,
            start: one.start,
            bucket: Some(window_key(one.start, w)),
        }),
        [first, .., last] => clipped
            .iter()
            .all(|c| whole(c) == Some(w))
            .then_some(Read::Span {
                grain: w,
                from: first.start,
                to: last.start,
            }),
        [] => None,
    }
}

/// The statement reading `unit`'s windows from `rollup`'s windows table, or `None` when they
/// are not all whole windows the table holds (see the module's note). Its columns are the
/// ones the day rows' statement returns (the bucket when bucketed, then the count), and so are
/// its rows: a window without entities has no row in either.
pub(super) fn compile(
    unit: &Unit,
    rollup: &Rollup,
    workspace: &WorkspaceId,
) -> Option<Result<Statement, CompileError>> {
    let table = rollup.windows_source()?;
    let agg = &unit.aggregate;
    let counts_entity = match &agg.func {
        AggFunc::CountDistinct(c) | AggFunc::ActiveUsers { column: c, .. } => {
            rollup.entity.as_ref() == Some(c)
        }
        _ => false,
    };
    let where_columns = rollup
        .columns
        .iter()
        .all(|c| agg.filters.iter().filter(|(f, _)| f == c).count() == 1)
        && agg.filters.len() == rollup.columns.len();
    if !counts_entity || !where_columns || !unit.group_by.is_empty() || !unit.filters.is_empty() {
        return None;
    }
    let read = read(unit)?;

    let mut q = Query::select();
    q.from_as(Alias::new(table.as_str()), Alias::new("t0"));
    q.and_where(col("t0", Rollup::WORKSPACE).eq(Expr::val(workspace.as_str())));
    for (c, v) in &agg.filters {
        q.and_where(col("t0", c).eq(Expr::val(v.as_str())));
    }
    let start = col("t0", Rollup::START);
    let entities = col("t0", Rollup::ENTITIES);
    let mut columns = Vec::new();
    let mut bucketed = |q: &mut sea_query::SelectStatement, e: Expr| {
        q.expr_as(e, Alias::new(alias::BUCKET));
        columns.push(Column {
            name: alias::BUCKET.into(),
            kind: ColumnKind::Text,
        });
    };
    match read {
        Read::Span { grain, from, to } => {
            q.and_where(col("t0", Rollup::GRAIN).eq(Expr::val(grain.as_str())));
            q.and_where(start.clone().gte(Expr::val(from.to_string())));
            q.and_where(start.clone().lte(Expr::val(to.to_string())));
            bucketed(&mut q, start.clone());
            q.expr_as(entities, Alias::new(alias::COUNT));
            q.order_by_expr(start, SqlOrder::Asc);
        }
        Read::One {
            grain,
            start: day,
            bucket,
        } => {
            q.and_where(col("t0", Rollup::GRAIN).eq(Expr::val(grain.as_str())));
            q.and_where(start.eq(Expr::val(day.to_string())));
            match bucket {
                Some(b) => {
                    bucketed(&mut q, Expr::val(b.to_string()));
                    q.expr_as(entities, Alias::new(alias::COUNT));
                }
                // A total is one row, 0 when the window had no entities.
                None => {
                    q.expr_as(
                        Func::coalesce([Func::max(entities).into(), Expr::val(0_i64)]),
                        Alias::new(alias::COUNT),
                    );
                }
            }
        }
    }
    columns.push(Column {
        name: alias::COUNT.into(),
        kind: ColumnKind::Int,
    });
    Some(finish(&q, columns, Dialect::ROLLUP_STORE))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(a: &str, b: &str) -> DateRange {
        DateRange::new(a.parse().unwrap(), b.parse().unwrap())
    }

    #[test]
    fn only_whole_calendar_windows_are_counted_windows() {
        assert_eq!(whole(&r("2026-11-17", "2026-11-17")), Some(Window::Day));
        // 2026-11-16 is a Monday.
        assert_eq!(whole(&r("2026-11-16", "2026-11-22")), Some(Window::Week));
        assert_eq!(whole(&r("2026-11-17", "2026-11-23")), None);
        assert_eq!(whole(&r("2026-02-01", "2026-02-28")), Some(Window::Month));
        assert_eq!(whole(&r("2026-02-01", "2026-02-27")), None);
        assert_eq!(whole(&r("2026-11-01", "2026-12-31")), None);
    }
}
