//! A plan in words, one line per decision and per unit: what the golden cases snapshot as the
//! plan stage, so a change to planning shows as its own diff, before the SQL it leads to.

use std::fmt::Write;

use super::{
    AnomaliesPlan, Asked, DateRange, DefinePlan, ExplainPlan, FunnelPlan, ListPlan, MetricPlan,
    Plan, PlanBody, ResolvedPeriod, RetentionPlan, Unit,
};
use crate::dsl::{FieldFilter, Filter, FilterOp, FilterValue};

impl std::fmt::Display for DateRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

impl Plan {
    /// The plan as text: the scope, the resolved dates, and every unit (one statement each).
    pub fn outline(&self) -> String {
        let mut out = format!(
            "workspace {} · today {} · catalog {} · min_group_size {}\n",
            self.workspace.as_str(),
            self.today,
            self.catalog_version,
            self.min_group_size
        );
        match &self.body {
            PlanBody::Metric(m) => metric(&mut out, m),
            PlanBody::List(l) => list(&mut out, l),
            PlanBody::Funnel(f) => funnel(&mut out, f),
            PlanBody::Explain(e) => explain(&mut out, e),
            PlanBody::Retention(r) => retention(&mut out, r),
            PlanBody::Anomalies(a) => anomalies(&mut out, a),
            PlanBody::Define(d) => define(&mut out, d),
        }
        out
    }
}

fn define(out: &mut String, d: &DefinePlan) {
    let _ = writeln!(
        out,
        "define metrics [{}] dimensions [{}] search {:?} · no units",
        d.metrics.join(", "),
        d.dimensions.join(", "),
        d.search.as_deref().unwrap_or("")
    );
    for r in &d.passages {
        let _ = writeln!(
            out,
            "  passage {} › {} (score {:.3}, for {:?})",
            r.passage.file, r.passage.heading, r.score, r.found_for
        );
    }
    if let Some(then) = &d.then {
        out.push_str("then:\n");
        out.push_str(&then.outline());
    }
}

fn period(p: &ResolvedPeriod) -> String {
    let mut s = format!("{}", p.range);
    if let Some(unit) = p.unit {
        let _ = write!(s, " ({unit:?})");
    }
    if p.to_date {
        s.push_str(" to date");
    }
    s
}

/// `name op [values]`, for a query filter and a list's field filter alike.
fn condition(name: &str, op: FilterOp, values: &[FilterValue]) -> String {
    let values = serde_json::to_string(values).unwrap_or_default();
    format!("{name} {} {values}", op.as_str())
}

fn filters(fs: &[Filter]) -> String {
    let each: Vec<String> = fs
        .iter()
        .map(|f| condition(f.dimension.as_str(), f.op, &f.values))
        .collect();
    format!("[{}]", each.join(", "))
}

fn field_filters(fs: &[FieldFilter]) -> String {
    let each: Vec<String> = fs
        .iter()
        .map(|f| condition(f.field.as_str(), f.op, &f.values))
        .collect();
    format!("[{}]", each.join(", "))
}

fn units(out: &mut String, units: &[Unit]) {
    for (i, u) in units.iter().enumerate() {
        let _ = writeln!(
            out,
            "unit {i}: {} {:?} · {:?} on {} · {} · {:?} · by {:?} · filters {}",
            u.key.aggregate,
            u.key.counts,
            u.aggregate.func,
            u.aggregate.table,
            u.range,
            u.shape,
            u.group_by,
            filters(&u.filters)
        );
    }
}

fn compare(c: &Option<(crate::dsl::Compare, DateRange)>) -> String {
    match c {
        Some((how, range)) => format!("{how:?} {range}"),
        None => "none".into(),
    }
}

fn metric(out: &mut String, m: &MetricPlan) {
    let _ = writeln!(
        out,
        "{} {:?} · period {} · compare {} · granularity {} ({} buckets) · group_by {:?} · \
         filters {} · top {} {:?}",
        match m.asked {
            Asked::Overview => "overview",
            Asked::Metrics => "metric",
        },
        m.metrics,
        period(&m.period),
        compare(&m.compare),
        m.granularity.map_or("none", |g| g.as_str()),
        m.buckets.len(),
        m.group_by,
        filters(&m.filters),
        m.top_n,
        m.order
    );
    units(out, &m.units);
}

fn list(out: &mut String, l: &ListPlan) {
    let _ =
        writeln!(
        out,
        "list {} from {} (key {}) · fields {:?} · filters {} · period {} · sort {:?} · limit {}",
        l.entity,
        l.table,
        l.key,
        l.fields,
        field_filters(&l.filters),
        l.period
            .as_ref()
            .map_or("none".into(), |(p, field)| format!("{} by {field}", period(p))),
        l.sort,
        l.limit
    );
}

fn funnel(out: &mut String, f: &FunnelPlan) {
    let _ = writeln!(
        out,
        "funnel {} ({}) · steps {:?} on {} within {} h · period {} · compare {} · group_by {:?} · \
         filters {}",
        f.funnel.as_deref().unwrap_or("ad hoc"),
        f.label,
        f.steps,
        f.table,
        f.window_hours,
        period(&f.period),
        compare(&f.compare),
        f.group_by,
        filters(&f.filters)
    );
    for (i, u) in f.units.iter().enumerate() {
        let _ = writeln!(out, "unit {i}: {} · {:?}", u.range, u.split);
    }
}

fn explain(out: &mut String, e: &ExplainPlan) {
    let ranges: Vec<String> = e.baseline_ranges.iter().map(|r| r.to_string()).collect();
    let _ = writeln!(
        out,
        "explain {} · period {} · baseline {} over [{}] · drivers {:?} · {} groupings · series {} \
         · filters {}",
        e.metric,
        period(&e.period),
        e.baseline.as_str(),
        ranges.join(", "),
        e.drivers,
        e.groupings.len(),
        e.series,
        filters(&e.filters)
    );
    units(out, &e.units);
}

fn retention(out: &mut String, r: &RetentionPlan) {
    let _ = writeln!(
        out,
        "retention {} · cohorts {}.{} by {} ({}) · activity {}.{} by {} before {} · period {} · \
         {} cohorts by {} · offsets 0..={} · group_by {:?} · filters {}",
        r.retention.name,
        r.retention.cohort.table,
        r.retention.cohort.time,
        r.retention.entity,
        r.retention.label,
        r.retention.activity.table,
        r.retention.activity.time,
        r.retention.entity,
        r.activity_until,
        period(&r.period),
        r.cohorts.len(),
        r.granularity.as_str(),
        r.periods,
        r.group_by,
        filters(&r.filters)
    );
    for (i, u) in r.units.iter().enumerate() {
        let _ = writeln!(out, "unit {i}: {:?} · {:?}", u.counts, u.split);
    }
}

fn anomalies(out: &mut String, a: &AnomaliesPlan) {
    let days = match (a.days.first(), a.days.last()) {
        (Some(first), Some(last)) => format!("{first}..{last}"),
        _ => "none".into(),
    };
    let _ = writeln!(
        out,
        "anomalies · period {} · days tested {days} · series {} · baseline the same weekday of {} weeks",
        period(&a.period),
        a.series,
        super::BASELINE_WEEKS
    );
    for m in &a.metrics {
        let _ = writeln!(
            out,
            "metric {} · drivers {:?} · {} groupings",
            m.name,
            m.drivers,
            m.groupings.len()
        );
    }
    units(out, &a.units);
}
