//! `Plan` → SQL statements with bound parameters, via sea-query, for SQLite, PostgreSQL and MySQL.
//!
//! Invariants: pure. Identifiers come only from the catalog (checked identifiers); every value is a
//! bound parameter. Every table in FROM and every join carries the tenant predicate for the plan's
//! workspace. Time filters are half-open ranges on the raw column, never a function around it.
//! `dialect.rs` is the only file that names a backend.

pub mod alias;
pub mod dialect;
mod retention;
mod windows;

use std::collections::BTreeMap;

use sea_query::{
    Alias, Cond, Expr, ExprTrait, Func, JoinType, LikeExpr, NullOrdering, Order as SqlOrder,
    OverStatement, Query, SelectStatement, TableRef, Value, WindowStatement,
};
use serde::Serialize;

pub use dialect::Dialect;

use crate::catalog::{
    AggFunc, Catalog, JoinOn, Measure, Rollup, Table, Tenant, TimeBasis, ValueType, Window,
};
use crate::dsl::{FieldFilter, FilterOp, FilterValue, Order};
use crate::plan::{
    FunnelPlan, FunnelUnit, ListPlan, Plan, PlanBody, Shape, Split, Unit, WorkspaceId,
};

/// One SQL statement, its parameters, and the types of its output columns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statement {
    pub sql: String,
    pub params: Vec<Param>,
    #[serde(skip)]
    pub columns: Vec<Column>,
    /// The rollup whose store runs it (SQLite), or `None` for the warehouse.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollup: Option<String>,
    /// When it answers several units at once, which ones and how.
    #[serde(skip)]
    pub merged: Option<Merged>,
}

/// A statement answering several units at once: ungrouped snapshot units of one aggregate that
/// differ only in their instants (a period's end, its compare period's, a sparkline's days),
/// which read the same rows. It returns one row with a value column per instant of them all;
/// `result::unit_rows` gives each unit the columns of its own instants, in its order: exactly
/// the row its own statement returns.
///
/// Units over different ranges of a time column are not merged: their rows are disjoint, so a
/// merged statement reads no fewer rows, and measured it was slower than the separate
/// statements run side by side (README, Performance).
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// The plan's units it answers.
    pub units: Vec<usize>,
    /// Per unit, the statement's value columns that are its instants'.
    pub columns: Vec<Vec<usize>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Param {
    Text(String),
    Int(i64),
    Float(f64),
    Timestamp(chrono::NaiveDateTime),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub kind: ColumnKind,
}

/// How `exec/` decodes a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Text,
    Int,
    Float,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum CompileError {
    #[error("parameter type not supported: {0}")]
    UnsupportedValue(String),
}

impl CompileError {
    pub fn code(&self) -> &'static str {
        "compile_failed"
    }
}

/// Compiles every unit of a plan (one statement per unit, in plan order): for the warehouse's
/// `dialect`, or for the rollup store when a rollup answers the unit.
pub fn compile(plan: &Plan, dialect: Dialect) -> Result<Vec<Statement>, CompileError> {
    let catalog = &plan.catalog;
    let one = |u: &Unit| match &u.rollup {
        Some(r) => {
            let mut s = match windows::compile(u, &catalog.rollups[r], &plan.workspace) {
                Some(s) => s?,
                None => compile_unit(u, catalog, &plan.workspace, Dialect::ROLLUP_STORE)?,
            };
            s.rollup = Some(r.clone());
            Ok(s)
        }
        None => compile_unit(u, catalog, &plan.workspace, dialect),
    };
    let units = |units: &[Unit]| -> Result<Vec<Statement>, CompileError> {
        merge_groups(units)
            .into_iter()
            .map(|group| {
                let u = &units[group[0]];
                if group.len() == 1 {
                    return one(u);
                }
                let mut all: Vec<chrono::NaiveDateTime> = group
                    .iter()
                    .flat_map(|&i| instants_of(&units[i]).iter().copied())
                    .collect();
                all.sort();
                all.dedup();
                let columns = group
                    .iter()
                    .map(|&i| {
                        instants_of(&units[i])
                            .iter()
                            .map(|t| all.binary_search(t).expect("in the union"))
                            .collect()
                    })
                    .collect();
                let mut s = one(&Unit {
                    shape: Shape::AtInstants(all),
                    ..u.clone()
                })?;
                s.merged = Some(Merged {
                    units: group,
                    columns,
                });
                Ok(s)
            })
            .collect()
    };
    match &plan.body {
        PlanBody::Metric(m) => units(&m.units),
        PlanBody::List(l) => Ok(vec![compile_list(l, catalog, &plan.workspace, dialect)?]),
        PlanBody::Explain(e) => units(&e.units),
        PlanBody::Anomalies(a) => units(&a.units),
        // A definition reads nothing; the query asked with it compiles as if alone.
        PlanBody::Define(d) => match &d.then {
            Some(then) => compile(then, dialect),
            None => Ok(Vec::new()),
        },
        PlanBody::Funnel(f) => f
            .units
            .iter()
            .map(|u| compile_funnel(f, u, catalog, &plan.workspace, dialect))
            .collect(),
        PlanBody::Retention(r) => r
            .units
            .iter()
            .map(|u| retention::compile(r, u, catalog, &plan.workspace, dialect))
            .collect(),
    }
}

fn col(alias: &str, column: &str) -> Expr {
    Expr::col((Alias::new(alias), Alias::new(column)))
}

/// A catalog table's name in the warehouse, schema-qualified when the catalog gives a schema.
fn table_ref(t: &Table) -> TableRef {
    schema_table(t.schema.as_deref(), &t.source)
}

/// `schema.table`, or `table` in the connection's own schema.
fn schema_table(schema: Option<&str>, table: &str) -> TableRef {
    match schema {
        Some(schema) => (Alias::new(schema), Alias::new(table)).into(),
        None => Alias::new(table).into(),
    }
}

fn out(name: &str) -> Expr {
    Expr::col(Alias::new(name))
}

/// FROM and JOINs for one base table, with the tenant predicate on each.
struct Scope<'a> {
    catalog: &'a Catalog,
    workspace: &'a WorkspaceId,
    /// Table name → alias.
    aliases: BTreeMap<String, String>,
    /// Reading a rollup's table instead: its dimensions are its own columns, no joins.
    rollup: Option<&'a Rollup>,
}

impl<'a> Scope<'a> {
    fn new(
        q: &mut SelectStatement,
        table: &str,
        catalog: &'a Catalog,
        workspace: &'a WorkspaceId,
    ) -> Scope<'a> {
        let mut scope = Scope {
            catalog,
            workspace,
            aliases: BTreeMap::new(),
            rollup: None,
        };
        q.from_as(table_ref(&catalog.tables[table]), Alias::new("t0"));
        scope.aliases.insert(table.to_string(), "t0".into());
        match &catalog.tables[table].tenant {
            Tenant::Column(c) => {
                q.and_where(col("t0", c).eq(Expr::val(workspace.as_str())));
            }
            Tenant::Unscoped => {}
            Tenant::Via(via) => {
                // The table is scoped through its join: an inner join that carries the predicate.
                let on = catalog.tables[table].joins[via].clone();
                scope.join(q, table, via, &on, JoinType::InnerJoin);
            }
        }
        scope
    }

    /// A rollup's table for `workspace`: the workspace column, never a join.
    fn rollup(
        q: &mut SelectStatement,
        rollup: &'a Rollup,
        catalog: &'a Catalog,
        workspace: &'a WorkspaceId,
    ) -> Scope<'a> {
        q.from_as(Alias::new(rollup.source()), Alias::new("t0"));
        q.and_where(col("t0", Rollup::WORKSPACE).eq(Expr::val(workspace.as_str())));
        Scope {
            catalog,
            workspace,
            aliases: BTreeMap::new(),
            rollup: Some(rollup),
        }
    }

    /// The tenant column of a join target, `None` in a single-tenant catalog.
    fn tenant_column(&self, table: &str) -> Option<&'a str> {
        match &self.catalog.tables[table].tenant {
            Tenant::Column(c) => Some(c),
            Tenant::Unscoped => None,
            Tenant::Via(_) => unreachable!("join targets have tenant columns (catalog load check)"),
        }
    }

    fn join(
        &mut self,
        q: &mut SelectStatement,
        from: &str,
        to: &str,
        join: &JoinOn,
        kind: JoinType,
    ) {
        if self.aliases.contains_key(to) {
            return;
        }
        let alias = format!("t{}", self.aliases.len());
        let from_alias = self.aliases[from].clone();
        let to_tenant = self.tenant_column(to);
        let mut on = Cond::all().add(col(&alias, &join.references).equals((
            Alias::new(from_alias.as_str()),
            Alias::new(join.column.as_str()),
        )));
        if let Some(to_tenant) = to_tenant {
            if let Tenant::Column(from_tenant) = &self.catalog.tables[from].tenant {
                on = on.add(col(&alias, to_tenant).equals((
                    Alias::new(from_alias.as_str()),
                    Alias::new(from_tenant.as_str()),
                )));
            }
            on = on.add(col(&alias, to_tenant).eq(Expr::val(self.workspace.as_str())));
        }
        q.join_as(
            kind,
            table_ref(&self.catalog.tables[to]),
            Alias::new(alias.as_str()),
            on,
        );
        self.aliases.insert(to.to_string(), alias);
    }

    /// The column expression for `dimension` as seen from `table`, joining what it needs.
    fn dimension(&mut self, q: &mut SelectStatement, table: &str, dimension: &str) -> Expr {
        if self.rollup.is_some() {
            return col("t0", &Rollup::dimension_column(dimension));
        }
        let reach = self
            .catalog
            .reach(table, dimension)
            .expect("check ensures the dimension is reachable")
            .clone();
        for hop in &reach.path {
            self.join(q, &hop.from, &hop.to, &hop.on, JoinType::LeftJoin);
        }
        col(&self.aliases[&reach.table], &reach.column)
    }
}

fn filter_value(v: &FilterValue) -> Expr {
    match v {
        FilterValue::Text(s) => Expr::val(s.as_str()),
        FilterValue::Number(n) => Expr::val(*n),
    }
}

fn like_pattern(v: &FilterValue) -> String {
    let raw = v.to_string().to_lowercase();
    let mut p = String::from("%");
    for c in raw.chars() {
        if matches!(c, '%' | '_' | '!') {
            p.push('!');
        }
        p.push(c);
    }
    p.push('%');
    p
}

fn condition(
    e: Expr,
    op: FilterOp,
    values: &[FilterValue],
    ty: ValueType,
    dialect: Dialect,
) -> Expr {
    let value = |v: &FilterValue| match (ty, v) {
        (ValueType::Date, FilterValue::Text(t)) => {
            let d: chrono::NaiveDate = t.parse().expect("check validates dates");
            dialect.timestamp(d.and_hms_opt(0, 0, 0).expect("midnight"))
        }
        _ => filter_value(v),
    };
    let first = || value(&values[0]);
    match op {
        FilterOp::Eq => e.eq(first()),
        FilterOp::Neq => e.ne(first()),
        FilterOp::In => e.is_in(values.iter().map(value)),
        FilterOp::NotIn => e.is_not_in(values.iter().map(value)),
        FilterOp::Gt => e.gt(first()),
        FilterOp::Gte => e.gte(first()),
        FilterOp::Lt => e.lt(first()),
        FilterOp::Lte => e.lte(first()),
        FilterOp::Contains => {
            Expr::from(Func::lower(e)).like(LikeExpr::new(like_pattern(&values[0])).escape('!'))
        }
    }
}

/// The plan's units in statements: each alone, or, for ungrouped snapshots of one aggregate,
/// with the others that differ from it only in their instants (see [`Merged`]). Groups come in
/// the order of their first unit; a unit is in exactly one group.
fn merge_groups(units: &[Unit]) -> Vec<Vec<usize>> {
    // A grouped snapshot keeps its statement: over a later instant, a group with no row valid
    // at the unit's own instants would appear (with zeros).
    let mergeable = |u: &Unit| matches!(u.shape, Shape::AtInstants(_)) && u.group_by.is_empty();
    let same_but_instants = |a: &Unit, b: &Unit| {
        Unit {
            range: a.range,
            shape: a.shape.clone(),
            ..b.clone()
        } == *a
    };
    let mut placed = vec![false; units.len()];
    let mut groups = Vec::new();
    for i in 0..units.len() {
        if placed[i] {
            continue;
        }
        let group: Vec<usize> = if mergeable(&units[i]) {
            (i..units.len())
                .filter(|&j| {
                    !placed[j] && mergeable(&units[j]) && same_but_instants(&units[i], &units[j])
                })
                .collect()
        } else {
            vec![i]
        };
        for &j in &group {
            placed[j] = true;
        }
        groups.push(group);
    }
    groups
}

fn instants_of(u: &Unit) -> &[chrono::NaiveDateTime] {
    match &u.shape {
        Shape::AtInstants(instants) => instants,
        _ => unreachable!("a snapshot unit"),
    }
}

fn measure(m: &Measure, dialect: Dialect) -> Expr {
    match m {
        Measure::Column(c) => col("t0", c),
        Measure::Duration { from, to, .. } => {
            dialect.seconds_between(col("t0", from), col("t0", to))
        }
    }
}

fn compile_unit(
    unit: &Unit,
    catalog: &Catalog,
    workspace: &WorkspaceId,
    dialect: Dialect,
) -> Result<Statement, CompileError> {
    let agg = &unit.aggregate;
    let mut q = Query::select();
    let rollup = unit.rollup.as_ref().map(|r| &catalog.rollups[r]);
    let mut scope = match rollup {
        Some(r) => Scope::rollup(&mut q, r, catalog, workspace),
        None => Scope::new(&mut q, &agg.table, catalog, workspace),
    };
    let mut columns = Vec::new();

    // Time: a half-open range on the raw column, or the snapshot's validity.
    match (&agg.time, &unit.shape) {
        (TimeBasis::Column(t), _) => {
            q.and_where(col("t0", t).gte(dialect.timestamp(unit.range.from_instant())));
            q.and_where(col("t0", t).lt(dialect.timestamp(unit.range.until_instant())));
        }
        (TimeBasis::Snapshot { from, .. }, Shape::AtInstants(instants)) => {
            let last = *instants.iter().max().expect("at least one instant");
            q.and_where(col("t0", from).lt(dialect.timestamp(last)));
        }
        (TimeBasis::Snapshot { .. }, _) => unreachable!("snapshots are planned as instants"),
    }
    for (c, v) in &agg.filters {
        q.and_where(col("t0", c).eq(Expr::val(v.as_str())));
    }
    for (i, f) in unit.filters.iter().enumerate() {
        let e = scope.dimension(&mut q, &agg.table, f.dimension.as_str());
        let ty = catalog.dimensions[f.dimension.as_str()].ty;
        let kept = condition(e.clone(), f.op, &f.values, ty, dialect);
        if unit.key.complement() == Some(i) {
            // The rows this filter drops: where it is false, or unknown (a NULL value).
            q.and_where(kept.not().or(e.is_null()));
        } else {
            q.and_where(kept);
        }
    }

    // Keys: the bucket or window, then the groups.
    let mut keys: Vec<(String, Expr)> = Vec::new();
    if let Shape::ByBucket(w) | Shape::ByWindow(w) = &unit.shape {
        let TimeBasis::Column(t) = &agg.time else {
            unreachable!("buckets need a time column")
        };
        keys.push((alias::BUCKET.into(), dialect.bucket(col("t0", t), *w)));
    }
    // A rollup's time column holds day starts, in index order: a day bucket groups and sorts by
    // the column itself (no sort of its own), its text being the day.
    let by_stored_day = rollup.is_some()
        && matches!(
            unit.shape,
            Shape::ByBucket(Window::Day) | Shape::ByWindow(Window::Day)
        );
    if by_stored_day {
        let TimeBasis::Column(t) = &agg.time else {
            unreachable!("buckets need a time column")
        };
        keys[0].1 = dialect.stored_day(col("t0", t));
    }
    for (i, d) in unit.group_by.iter().enumerate() {
        let e = scope.dimension(&mut q, &agg.table, d);
        keys.push((alias::group(i), e));
    }
    for (name, _) in &keys {
        columns.push(Column {
            name: name.clone(),
            kind: ColumnKind::Text,
        });
    }

    if let AggFunc::Median(m) = &agg.func {
        return median(q, keys, measure(m, dialect), columns, dialect);
    }

    for (name, e) in &keys {
        q.expr_as(e.clone(), Alias::new(name.as_str()));
    }
    let mut value = |q: &mut SelectStatement, name: String, e: Expr, kind: ColumnKind| {
        q.expr_as(e, Alias::new(name.as_str()));
        columns.push(Column { name, kind });
    };
    match &unit.shape {
        Shape::AtInstants(instants) => {
            let TimeBasis::Snapshot { from, to, .. } = &agg.time else {
                unreachable!("instants are for snapshots")
            };
            for (i, t) in instants.iter().enumerate() {
                let valid = Cond::all()
                    .add(col("t0", from).lt(dialect.timestamp(*t)))
                    .add(
                        Cond::any()
                            .add(col("t0", to).is_null())
                            .add(col("t0", to).gte(dialect.timestamp(*t))),
                    );
                match &agg.func {
                    AggFunc::Count => value(
                        &mut q,
                        alias::instant(i),
                        Expr::case(valid, Expr::cust("1")).into_expr_count(),
                        ColumnKind::Int,
                    ),
                    AggFunc::CountDistinct(c) => value(
                        &mut q,
                        alias::instant(i),
                        {
                            let e: Expr = Expr::case(valid, col("t0", c)).into();
                            Func::count_distinct(e).into()
                        },
                        ColumnKind::Int,
                    ),
                    AggFunc::Sum(m) => value(
                        &mut q,
                        alias::instant(i),
                        dialect.to_double(
                            Func::sum(
                                Expr::case(valid, measure(m, dialect)).finally(Expr::cust("0")),
                            )
                            .into(),
                        ),
                        ColumnKind::Float,
                    ),
                    other => unreachable!("catalog refuses snapshot {other:?}"),
                }
            }
        }
        _ => match &agg.func {
            // A rollup row stands for `ROWS` rows of the table.
            AggFunc::Count if rollup.is_some() => value(
                &mut q,
                alias::COUNT.into(),
                Func::coalesce([Func::sum(col("t0", Rollup::ROWS)).into(), Expr::val(0_i64)])
                    .into(),
                ColumnKind::Int,
            ),
            AggFunc::Count => value(
                &mut q,
                alias::COUNT.into(),
                Func::count(Expr::cust("*")).into(),
                ColumnKind::Int,
            ),
            AggFunc::CountDistinct(c) | AggFunc::ActiveUsers { column: c, .. } => value(
                &mut q,
                alias::COUNT.into(),
                Func::count_distinct(col("t0", c)).into(),
                ColumnKind::Int,
            ),
            AggFunc::Sum(m) => value(
                &mut q,
                alias::SUM.into(),
                dialect.to_double(Func::sum(measure(m, dialect)).into()),
                ColumnKind::Float,
            ),
            AggFunc::Avg(m) => {
                value(
                    &mut q,
                    alias::SUM.into(),
                    dialect.to_double(Func::sum(measure(m, dialect)).into()),
                    ColumnKind::Float,
                );
                value(
                    &mut q,
                    alias::COUNT.into(),
                    Func::count(measure(m, dialect)).into(),
                    ColumnKind::Int,
                );
            }
            AggFunc::Median(_) => unreachable!("handled above"),
        },
    }
    for (i, (name, _)) in keys.iter().enumerate() {
        let key = match (&agg.time, i) {
            (TimeBasis::Column(t), 0) if by_stored_day => col("t0", t),
            _ => out(name),
        };
        q.add_group_by([key.clone()]);
        q.order_by_expr(key, SqlOrder::Asc);
    }
    finish(&q, columns, dialect)
}

trait CountCase {
    fn into_expr_count(self) -> Expr;
}

impl CountCase for sea_query::CaseStatement {
    /// COUNT(CASE WHEN … THEN 1 END): an integer count on every engine.
    fn into_expr_count(self) -> Expr {
        let e: Expr = self.into();
        Func::count(e).into()
    }
}

/// The median as the sum and count of the middle row(s) per group, by window functions:
/// rows with rn*2 between cnt and cnt+2 are the middle one (odd) or two (even).
fn median(
    mut inner: SelectStatement,
    keys: Vec<(String, Expr)>,
    value: Expr,
    mut columns: Vec<Column>,
    dialect: Dialect,
) -> Result<Statement, CompileError> {
    for (name, e) in &keys {
        inner.expr_as(e.clone(), Alias::new(name.as_str()));
    }
    inner.and_where(value.clone().is_not_null());
    inner.expr_as(value, Alias::new("v"));

    let mut window = WindowStatement::new();
    for (name, _) in &keys {
        OverStatement::partition_by(&mut window, Alias::new(name.as_str()));
    }
    let mut ordered = window.clone();
    ordered.order_by(Alias::new("v"), SqlOrder::Asc);

    let mut middle = Query::select();
    for (name, _) in &keys {
        middle.column(Alias::new(name.as_str()));
    }
    middle.column(Alias::new("v"));
    middle.expr_window_as(
        Func::cust(Alias::new("ROW_NUMBER")),
        ordered,
        Alias::new("rn"),
    );
    middle.expr_window_as(Func::count(Expr::cust("*")), window, Alias::new("cnt"));
    middle.from_subquery(inner, Alias::new("m0"));

    let mut outer = Query::select();
    for (name, _) in &keys {
        outer.column(Alias::new(name.as_str()));
    }
    outer.expr_as(
        dialect.to_double(Func::sum(out("v")).into()),
        Alias::new(alias::SUM),
    );
    outer.expr_as(Func::count(Expr::cust("*")), Alias::new(alias::COUNT));
    outer.from_subquery(middle, Alias::new("m1"));
    outer.and_where(out("rn").mul(Expr::cust("2")).gte(out("cnt")));
    outer.and_where(
        out("rn")
            .mul(Expr::cust("2"))
            .lte(out("cnt").add(Expr::cust("2"))),
    );
    for (name, _) in &keys {
        outer.add_group_by([out(name)]);
    }
    for (name, _) in &keys {
        outer.order_by_expr(out(name), SqlOrder::Asc);
    }
    columns.push(Column {
        name: alias::SUM.into(),
        kind: ColumnKind::Float,
    });
    columns.push(Column {
        name: alias::COUNT.into(),
        kind: ColumnKind::Int,
    });
    finish(&outer, columns, dialect)
}

/// Users reaching each step of a funnel over one range, in total or per group.
///
/// Every first-step event in the range is an attempt; for each attempt the chain takes, step by
/// step, the earliest later event of the next step that is no earlier than the previous one and
/// before the first step's time plus the window (the earliest is always the best choice, so an
/// attempt reaches step k exactly when some ordered sequence of events does). A user reaches
/// step k when any of their attempts does; a group is read on the attempt's first event.
///
/// ```text
/// c1: SELECT t0.user AS u, [dim AS g0,] t0.ts AS a1 FROM events t0 … WHERE tenant, step 1, range, filters
/// ck: SELECT u, [g0,] a1 … a(k-1), MIN(ek.ts) AS ak FROM c(k-1)
///       LEFT JOIN events ek ON tenant AND ek.user = u AND step k AND ek.ts >= a(k-1) AND ek.ts < a1 + window
///       GROUP BY u, [g0,] a1 … a(k-1)
/// per user: SELECT u, [g0,] MAX(a2) … MAX(an) FROM cn GROUP BY u, [g0]
/// SELECT [g0,] COUNT(*) AS s1, COUNT(a2) AS s2 … FROM per_user GROUP BY [g0] ORDER BY [g0]
/// ```
fn compile_funnel(
    plan: &FunnelPlan,
    unit: &FunnelUnit,
    catalog: &Catalog,
    workspace: &WorkspaceId,
    dialect: Dialect,
) -> Result<Statement, CompileError> {
    let table = &catalog.tables[&plan.table];
    let (Some(time), Some(actor), Some(event)) = (
        table.time.as_deref(),
        table.entity.as_deref(),
        table.event.as_deref(),
    ) else {
        unreachable!("the catalog only lets funnels run on funnel-ready tables")
    };
    let tenant = match &table.tenant {
        Tenant::Column(c) => Some(c.as_str()),
        Tenant::Unscoped => None,
        Tenant::Via(_) => unreachable!("funnel tables carry their own tenant column"),
    };
    let step_time = |k: usize| format!("a{k}");
    let grouped = unit.split == Split::Grouped && plan.group_by.is_some();
    let mut keys: Vec<String> = vec!["u".into()];
    if grouped {
        keys.push(alias::group(0));
    }

    // The attempts: first-step events in the range.
    let mut first = Query::select();
    let mut scope = Scope::new(&mut first, &plan.table, catalog, workspace);
    first.expr_as(col("t0", actor), Alias::new("u"));
    if let (true, Some(d)) = (grouped, &plan.group_by) {
        let e = scope.dimension(&mut first, &plan.table, d);
        first.expr_as(e, Alias::new(alias::group(0)));
    }
    first.expr_as(col("t0", time), Alias::new(step_time(1).as_str()));
    first.and_where(col("t0", event).eq(Expr::val(plan.steps[0].as_str())));
    first.and_where(col("t0", time).gte(dialect.timestamp(unit.range.from_instant())));
    first.and_where(col("t0", time).lt(dialect.timestamp(unit.range.until_instant())));
    for f in &plan.filters {
        let e = scope.dimension(&mut first, &plan.table, f.dimension.as_str());
        let ty = catalog.dimensions[f.dimension.as_str()].ty;
        first.and_where(condition(e, f.op, &f.values, ty, dialect));
    }

    // Each later step: the earliest matching event after the previous one, within the window.
    let window_seconds = i64::from(plan.window_hours) * 3600;
    let mut chain = first;
    for (k, step) in plan
        .steps
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, s)| (i + 1, s))
    {
        let prev = format!("c{}", k - 1);
        let ev = format!("e{k}");
        let mut next = Query::select();
        let mut carried: Vec<String> = keys.clone();
        carried.extend((1..k).map(step_time));
        for c in &carried {
            next.expr_as(col(&prev, c), Alias::new(c.as_str()));
        }
        next.expr_as(Func::min(col(&ev, time)), Alias::new(step_time(k).as_str()));
        next.from_subquery(chain, Alias::new(prev.as_str()));
        let mut on = Cond::all();
        if let Some(tenant) = tenant {
            on = on.add(col(&ev, tenant).eq(Expr::val(workspace.as_str())));
        }
        let on = on
            .add(col(&ev, actor).equals((Alias::new(prev.as_str()), Alias::new("u"))))
            .add(col(&ev, event).eq(Expr::val(step.as_str())))
            .add(col(&ev, time).gte(col(&prev, &step_time(k - 1))))
            .add(col(&ev, time).lt(dialect.add_seconds(col(&prev, &step_time(1)), window_seconds)));
        next.join_as(
            JoinType::LeftJoin,
            table_ref(table),
            Alias::new(ev.as_str()),
            on,
        );
        for c in &carried {
            next.add_group_by([col(&prev, c)]);
        }
        chain = next;
    }

    // Per user (and group): the furthest any attempt got.
    let last = format!("c{}", plan.steps.len());
    let mut per_user = Query::select();
    for c in &keys {
        per_user.expr_as(col(&last, c), Alias::new(c.as_str()));
    }
    for k in 2..=plan.steps.len() {
        per_user.expr_as(
            Func::max(col(&last, &step_time(k))),
            Alias::new(step_time(k).as_str()),
        );
    }
    per_user.from_subquery(chain, Alias::new(last.as_str()));
    for c in &keys {
        per_user.add_group_by([col(&last, c)]);
    }

    let mut q = Query::select();
    let mut columns = Vec::new();
    if grouped {
        q.expr_as(col("f", &alias::group(0)), Alias::new(alias::group(0)));
        columns.push(Column {
            name: alias::group(0),
            kind: ColumnKind::Text,
        });
    }
    for k in 1..=plan.steps.len() {
        let e: Expr = if k == 1 {
            Func::count(Expr::cust("*")).into()
        } else {
            Func::count(col("f", &step_time(k))).into()
        };
        let name = alias::step(k);
        q.expr_as(e, Alias::new(name.as_str()));
        columns.push(Column {
            name,
            kind: ColumnKind::Int,
        });
    }
    q.from_subquery(per_user, Alias::new("f"));
    if grouped {
        q.add_group_by([col("f", &alias::group(0))]);
        q.order_by_expr(col("f", &alias::group(0)), SqlOrder::Asc);
    }
    finish(&q, columns, dialect)
}

fn compile_list(
    l: &ListPlan,
    catalog: &Catalog,
    workspace: &WorkspaceId,
    dialect: Dialect,
) -> Result<Statement, CompileError> {
    let entity = &catalog.entities[&l.entity];
    let mut q = Query::select();
    Scope::new(&mut q, &l.table, catalog, workspace);
    let mut columns = Vec::new();
    for f in &l.fields {
        let field = &entity.fields[f];
        let (e, kind) = match field.ty {
            ValueType::String => (col("t0", f), ColumnKind::Text),
            ValueType::Number => (dialect.to_double(col("t0", f)), ColumnKind::Float),
            ValueType::Date => (
                dialect.bucket(col("t0", f), crate::catalog::Window::Day),
                ColumnKind::Text,
            ),
        };
        q.expr_as(e, Alias::new(f.as_str()));
        columns.push(Column {
            name: f.clone(),
            kind,
        });
    }
    for FieldFilter { field, op, values } in &l.filters {
        let ty = entity.fields[field.as_str()].ty;
        q.and_where(condition(
            col("t0", field.as_str()),
            *op,
            values,
            ty,
            dialect,
        ));
    }
    if let Some((period, field)) = &l.period {
        q.and_where(col("t0", field).gte(dialect.timestamp(period.range.from_instant())));
        q.and_where(col("t0", field).lt(dialect.timestamp(period.range.until_instant())));
    }
    if let Some((field, order)) = &l.sort {
        let o = match order {
            Order::Asc => SqlOrder::Asc,
            Order::Desc => SqlOrder::Desc,
        };
        q.order_by_expr_with_nulls(col("t0", field), o, NullOrdering::Last);
    }
    q.order_by_expr(col("t0", &l.key), SqlOrder::Asc);
    q.limit(l.limit as u64);
    finish(&q, columns, dialect)
}

fn finish(
    q: &SelectStatement,
    columns: Vec<Column>,
    dialect: Dialect,
) -> Result<Statement, CompileError> {
    let (sql, values) = dialect.select(q);
    let params = values
        .into_iter()
        .map(|v| match v {
            Value::String(Some(s)) => Ok(Param::Text(s)),
            Value::BigInt(Some(i)) => Ok(Param::Int(i)),
            Value::Int(Some(i)) => Ok(Param::Int(i as i64)),
            Value::BigUnsigned(Some(i)) => Ok(Param::Int(i as i64)),
            Value::Unsigned(Some(i)) => Ok(Param::Int(i as i64)),
            Value::Double(Some(f)) => Ok(Param::Float(f)),
            Value::ChronoDateTime(Some(t)) => Ok(Param::Timestamp(t)),
            other => Err(CompileError::UnsupportedValue(format!("{other:?}"))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Statement {
        sql,
        params,
        columns,
        rollup: None,
        merged: None,
    })
}

/// The rows of `rollup` for `workspace`'s days in `days`, read from the warehouse to build it:
/// per day (`YYYY-MM-DD` text, as the time column), value of each dimension, `where` column and
/// entity, the number of rows. Read through the same joins and tenant predicates as a query.
pub fn rollup_rows(
    rollup: &Rollup,
    catalog: &Catalog,
    workspace: &WorkspaceId,
    days: &crate::plan::DateRange,
    dialect: Dialect,
) -> Result<Statement, CompileError> {
    let mut q = Query::select();
    let mut scope = Scope::new(&mut q, &rollup.table, catalog, workspace);
    let time = col("t0", &rollup.time);
    q.and_where(time.clone().gte(dialect.timestamp(days.from_instant())));
    q.and_where(time.clone().lt(dialect.timestamp(days.until_instant())));
    let mut keys: Vec<Expr> = vec![dialect.bucket(time, crate::catalog::Window::Day)];
    for d in &rollup.dimensions {
        keys.push(scope.dimension(&mut q, &rollup.table, d));
    }
    for c in rollup.columns.iter().chain(&rollup.entity) {
        keys.push(dialect.cast_text(col("t0", c)));
    }
    // Output names of their own (`k0`, …): a key named like a column of the table or a join
    // would be that column in GROUP BY. The store's columns follow the same order.
    let mut columns = Vec::new();
    for (i, e) in keys.iter().enumerate() {
        let name = format!("k{i}");
        q.expr_as(e.clone(), Alias::new(name.as_str()));
        q.add_group_by([out(&name)]);
        columns.push(Column {
            name,
            kind: ColumnKind::Text,
        });
    }
    q.expr_as(Func::count(Expr::cust("*")), Alias::new(Rollup::ROWS));
    columns.push(Column {
        name: Rollup::ROWS.into(),
        kind: ColumnKind::Int,
    });
    finish(&q, columns, dialect)
}

/// The workspaces holding rows of `table` (its tenant column's distinct values, or its tenant
/// join's), as text in column `workspace`; `None` for an unscoped table.
pub fn table_workspaces(catalog: &Catalog, table: &str, dialect: Dialect) -> Option<Statement> {
    let t = &catalog.tables[table];
    let (source, tenant) = match &t.tenant {
        Tenant::Column(c) => (t, c),
        Tenant::Via(via) => {
            let target = &catalog.tables[via];
            let Tenant::Column(c) = &target.tenant else {
                unreachable!("join targets have tenant columns (catalog load check)")
            };
            (target, c)
        }
        Tenant::Unscoped => return None,
    };
    let mut q = Query::select();
    q.from_as(table_ref(source), Alias::new("t0"));
    q.expr_as(
        dialect.cast_text(col("t0", tenant)),
        Alias::new("workspace"),
    );
    q.distinct();
    q.order_by(Alias::new("workspace"), SqlOrder::Asc);
    finish(
        &q,
        vec![Column {
            name: "workspace".into(),
            kind: ColumnKind::Text,
        }],
        dialect,
    )
    .ok()
}

/// The first day of `table`'s rows in `workspace` by `time` (`YYYY-MM-DD` text in column
/// `first`, NULL when it has none).
pub fn first_day(
    catalog: &Catalog,
    table: &str,
    time: &str,
    workspace: &WorkspaceId,
    dialect: Dialect,
) -> Result<Statement, CompileError> {
    let mut q = Query::select();
    Scope::new(&mut q, table, catalog, workspace);
    q.expr_as(
        dialect.bucket(
            Func::min(col("t0", time)).into(),
            crate::catalog::Window::Day,
        ),
        Alias::new("first"),
    );
    finish(
        &q,
        vec![Column {
            name: "first".into(),
            kind: ColumnKind::Text,
        }],
        dialect,
    )
}

/// Renders statements for reading: SQL text with its parameters listed after it.
pub fn render(statements: &[Statement]) -> String {
    statements
        .iter()
        .map(|s| {
            let params: Vec<String> = s
                .params
                .iter()
                .map(|p| match p {
                    Param::Text(t) => format!("'{}'", t.replace('\'', "''")),
                    Param::Int(i) => i.to_string(),
                    Param::Float(f) => f.to_string(),
                    Param::Timestamp(t) => format!("'{}'", t.format("%Y-%m-%d %H:%M:%S")),
                })
                .collect();
            let from = match &s.rollup {
                Some(r) => format!("-- from rollup {r}\n"),
                None => String::new(),
            };
            format!("{from}{};\n-- params: [{}]", s.sql, params.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The most frequent values of `column` among the first `rows` rows of `schema.table` (a bounded
/// sample, whatever the table's size), at most `limit`: for `tally catalog init`, which guesses
/// from them whether a column is a dimension (few values) or personal data.
pub fn sample_values(
    schema: Option<&str>,
    table: &str,
    column: &str,
    rows: u64,
    limit: u64,
    dialect: Dialect,
) -> Result<Statement, CompileError> {
    let source = schema_table(schema, table);
    let mut sample = Query::select();
    sample
        .expr_as(
            dialect.cast_text(col("t0", column)),
            Alias::new(alias::VALUE),
        )
        .from_as(source, Alias::new("t0"))
        .limit(rows);
    let mut q = Query::select();
    q.column(Alias::new(alias::VALUE))
        .expr_as(Func::count(Expr::cust("*")), Alias::new(alias::COUNT))
        .from_subquery(sample, Alias::new("s0"))
        .and_where(out(alias::VALUE).is_not_null())
        .group_by_col(Alias::new(alias::VALUE))
        .order_by(Alias::new(alias::COUNT), SqlOrder::Desc)
        .order_by(Alias::new(alias::VALUE), SqlOrder::Asc)
        .limit(limit);
    finish(&q, value_count_columns(), dialect)
}

fn value_count_columns() -> Vec<Column> {
    vec![
        Column {
            name: alias::VALUE.into(),
            kind: ColumnKind::Text,
        },
        Column {
            name: alias::COUNT.into(),
            kind: ColumnKind::Int,
        },
    ]
}

/// Whose rows `top_values` reads.
#[derive(Debug, Clone, Copy)]
pub enum ValuesScope<'a> {
    /// Every workspace's: `tally catalog check`, run by the operator, comparing listed values
    /// with the data.
    AllWorkspaces,
    /// One workspace's, scoped like any query: discovered values served to that workspace.
    Workspace(&'a WorkspaceId),
}

/// The most frequent values of a catalog table's column with their row counts (most frequent
/// first, then by value), at most `limit`. Identifiers come from the catalog; the limit is bound.
pub fn top_values(
    catalog: &Catalog,
    table: &str,
    column: &str,
    scope: ValuesScope<'_>,
    limit: u64,
    dialect: Dialect,
) -> Result<Statement, CompileError> {
    let mut q = Query::select();
    let value = col("t0", column);
    q.expr_as(dialect.cast_text(value.clone()), Alias::new(alias::VALUE))
        .expr_as(Func::count(Expr::cust("*")), Alias::new(alias::COUNT));
    match scope {
        ValuesScope::AllWorkspaces => {
            q.from_as(table_ref(&catalog.tables[table]), Alias::new("t0"));
        }
        ValuesScope::Workspace(w) => {
            Scope::new(&mut q, table, catalog, w);
        }
    }
    q.and_where(value.clone().is_not_null())
        .group_by_col(Alias::new(alias::VALUE))
        .order_by(Alias::new(alias::COUNT), SqlOrder::Desc)
        .order_by(Alias::new(alias::VALUE), SqlOrder::Asc)
        .limit(limit);
    finish(&q, value_count_columns(), dialect)
}
