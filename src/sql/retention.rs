//! Retention statements: cohort sizes per bucket of the cohort's time, and the distinct entities
//! of each cohort with activity per later bucket (activity joined on the entity, in the same
//! workspace, at or after the entity's cohort time).

use sea_query::{Alias, Cond, Expr, ExprTrait, Func, JoinType, Order as SqlOrder, Query};

use super::{alias, col, condition, finish, table_ref, Column, ColumnKind, CompileError, Scope};
use super::{Dialect, Statement};
use crate::catalog::{Catalog, Tenant};
use crate::plan::{Cohorts, RetentionPlan, RetentionUnit, Split, WorkspaceId};

/// The activity table's alias (the cohort table and its joins are `t0`, `t1`, …).
const ACTIVITY: &str = "a";

pub(super) fn compile(
    plan: &RetentionPlan,
    unit: &RetentionUnit,
    catalog: &Catalog,
    workspace: &WorkspaceId,
    dialect: Dialect,
) -> Result<Statement, CompileError> {
    let r = &plan.retention;
    let (cohort_time, entity) = (r.cohort.time.as_str(), r.entity.as_str());
    let window = plan.window();
    let mut q = Query::select();
    let mut scope = Scope::new(&mut q, &r.cohort.table, catalog, workspace);
    let (Some(first), Some(last)) = (plan.cohorts.first(), plan.cohorts.last()) else {
        unreachable!("a resolved period has at least one bucket")
    };
    q.and_where(col("t0", cohort_time).gte(dialect.timestamp(first.from_instant())));
    q.and_where(col("t0", cohort_time).lt(dialect.timestamp(last.until_instant())));
    for f in &plan.filters {
        let e = scope.dimension(&mut q, &r.cohort.table, f.dimension.as_str());
        let ty = catalog.dimensions[f.dimension.as_str()].ty;
        q.and_where(condition(e, f.op, &f.values, ty, dialect));
    }

    let mut keys: Vec<(String, Expr)> = vec![(
        alias::BUCKET.into(),
        dialect.bucket(col("t0", cohort_time), window),
    )];
    if let (Split::Grouped, Some(d)) = (unit.split, &plan.group_by) {
        let e = scope.dimension(&mut q, &r.cohort.table, d);
        keys.push((alias::group(0), e));
    }
    if unit.counts == Cohorts::Returning {
        let activity = &catalog.tables[&r.activity.table];
        let at = col(ACTIVITY, &r.activity.time);
        let mut on =
            Cond::all().add(col(ACTIVITY, entity).equals((Alias::new("t0"), Alias::new(entity))));
        if let (Tenant::Column(mine), Tenant::Column(theirs)) =
            (&activity.tenant, &catalog.tables[&r.cohort.table].tenant)
        {
            on = on
                .add(col(ACTIVITY, mine).equals((Alias::new("t0"), Alias::new(theirs.as_str()))))
                .add(col(ACTIVITY, mine).eq(Expr::val(workspace.as_str())));
        }
        on = on
            .add(at.clone().gte(col("t0", cohort_time)))
            .add(at.clone().gte(dialect.timestamp(first.from_instant())))
            .add(at.clone().lt(
                dialect.timestamp(plan.activity_until.and_hms_opt(0, 0, 0).expect("midnight")),
            ));
        q.join_as(
            JoinType::InnerJoin,
            table_ref(activity),
            Alias::new(ACTIVITY),
            on,
        );
        keys.push((alias::ACTIVITY_BUCKET.into(), dialect.bucket(at, window)));
    }

    let mut columns = Vec::new();
    for (name, e) in &keys {
        q.expr_as(e.clone(), Alias::new(name.as_str()));
        columns.push(Column {
            name: name.clone(),
            kind: ColumnKind::Text,
        });
    }
    q.expr_as(
        Func::count_distinct(col("t0", entity)),
        Alias::new(alias::COUNT),
    );
    columns.push(Column {
        name: alias::COUNT.into(),
        kind: ColumnKind::Int,
    });
    for (name, _) in &keys {
        q.add_group_by([Expr::col(Alias::new(name.as_str()))]);
        q.order_by_expr(Expr::col(Alias::new(name.as_str())), SqlOrder::Asc);
    }
    finish(&q, columns, dialect)
}
