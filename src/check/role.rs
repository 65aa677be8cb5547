//! Role capabilities: what a valid query may not do for this caller, and what to offer instead.
//! PII is checked first and for every role, so a PII ask is always refused as such.

use serde::Serialize;

use crate::catalog::{capitalise, Catalog, MetricDef, Role, Sensitivity, TimeBasis};
use crate::dsl::{DefineQuery, DimensionName, Filter, Kind, ListQuery, MetricQuery, Query};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[derive(strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum RefusalCode {
    PiiNotPermitted,
    KindNotPermitted,
    RecordLevelNotPermitted,
    MetricNotPermitted,
    SensitivityNotPermitted,
    DimensionNotPermitted,
    NoKpis,
}

impl RefusalCode {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A policy refusal: the first (most important) reason, every reason, and an offer when one exists.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Refusal {
    pub code: RefusalCode,
    pub message: String,
    /// Every reason, most important first.
    pub reasons: Vec<Reason>,
    /// A query this role may run instead, when one keeps the spirit of the question.
    pub suggestion: Option<Box<Query>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Reason {
    pub code: RefusalCode,
    pub pointer: String,
    pub message: String,
}

pub(super) fn check(query: &Query, catalog: &Catalog, role: &Role) -> Option<Refusal> {
    let mut reasons = Vec::new();
    let reason = |code, pointer: &str, message: String| Reason {
        code,
        pointer: pointer.to_string(),
        message,
    };
    // 1. PII, for every role and every kind.
    if let Query::List(q) = query {
        if let Some(entity) = catalog.entities.get(q.entity.as_str()) {
            let pii = |name: &str| {
                entity
                    .fields
                    .get(name)
                    .is_some_and(|f| f.sensitivity == Sensitivity::Pii)
            };
            for (i, f) in q.fields.iter().enumerate() {
                if pii(f.as_str()) {
                    reasons.push(reason(
                        RefusalCode::PiiNotPermitted,
                        &format!("/fields/{i}"),
                        format!("`{f}` is personal data (PII) and is never returned"),
                    ));
                }
            }
            for (i, f) in q.filters.iter().enumerate() {
                if pii(f.field.as_str()) {
                    reasons.push(reason(
                        RefusalCode::PiiNotPermitted,
                        &format!("/filters/{i}/field"),
                        format!(
                            "`{}` is personal data (PII) and cannot be filtered on",
                            f.field
                        ),
                    ));
                }
            }
            if let Some(s) = &q.sort {
                if pii(s.field.as_str()) {
                    reasons.push(reason(
                        RefusalCode::PiiNotPermitted,
                        "/sort/field",
                        format!(
                            "`{}` is personal data (PII) and cannot be sorted on",
                            s.field
                        ),
                    ));
                }
            }
        }
    }
    if let Query::Define(q) = query {
        for (i, d) in q.dimensions.iter().enumerate() {
            if catalog.dimensions[d.as_str()].sensitivity == Sensitivity::Pii {
                reasons.push(reason(
                    RefusalCode::PiiNotPermitted,
                    &format!("/dimensions/{i}"),
                    format!("`{d}` is personal data (PII)"),
                ));
            }
        }
    }
    if let Some((group_by, filters)) = dimensions_of(query) {
        for (i, d) in group_by.iter().enumerate() {
            if catalog.dimensions[d.as_str()].sensitivity == Sensitivity::Pii {
                reasons.push(reason(
                    RefusalCode::PiiNotPermitted,
                    &format!("/group_by/{i}"),
                    format!("`{d}` is personal data (PII)"),
                ));
            }
        }
        for (i, f) in filters.iter().enumerate() {
            if catalog.dimensions[f.dimension.as_str()].sensitivity == Sensitivity::Pii {
                reasons.push(reason(
                    RefusalCode::PiiNotPermitted,
                    &format!("/filters/{i}/dimension"),
                    format!("`{}` is personal data (PII)", f.dimension),
                ));
            }
        }
    }
    // 2. The kind.
    let kind = query.kind();
    if !role.kinds.contains(&kind) {
        reasons.push(reason(
            RefusalCode::KindNotPermitted,
            "/kind",
            format!(
                "the {} role may not run `{}` queries",
                role.name,
                kind.as_str()
            ),
        ));
    }
    match query {
        Query::List(q) => list(q, catalog, role, &mut reasons),
        Query::Metric(q) => metric(q, catalog, role, &mut reasons),
        Query::Funnel(q) => dimensions(&q.group_by, &q.filters, catalog, role, &mut reasons),
        Query::Retention(q) => dimensions(&q.group_by, &q.filters, catalog, role, &mut reasons),
        Query::Explain(q) => {
            if let Some((code, message)) = metric_refusal(catalog, role, q.metric.as_str()) {
                reasons.push(Reason {
                    code,
                    pointer: "/metric".into(),
                    message,
                });
            }
            dimensions(&[], &q.filters, catalog, role, &mut reasons);
        }
        Query::Anomalies(q) => {
            metrics(&q.metrics, catalog, role, &mut reasons);
            if q.metrics.is_empty() && role.kinds.contains(&Kind::Anomalies) {
                reasons.push(reason(
                    RefusalCode::NoKpis,
                    "/metrics",
                    format!(
                        "the {} role has no KPI set that counts per day and the catalog watches no metric it may see: name the metrics to scan",
                        role.name
                    ),
                ));
            }
        }
        Query::Define(q) => define(q, catalog, role, &mut reasons),
        Query::Overview(_) => {
            if role.overview.is_empty() && role.kinds.contains(&Kind::Overview) {
                reasons.push(reason(
                    RefusalCode::NoKpis,
                    "",
                    format!("the {} role has no KPI set for an overview", role.name),
                ));
            }
        }
    }
    if reasons.is_empty() {
        return None;
    }
    reasons.sort_by_key(|r| r.code);
    let first = &reasons[0];
    let message = if reasons.len() == 1 {
        format!("{}.", capitalise(&first.message))
    } else {
        let rest: Vec<&str> = reasons[1..].iter().map(|r| r.message.as_str()).collect();
        format!("{}; also: {}.", capitalise(&first.message), rest.join("; "))
    };
    Some(Refusal {
        code: first.code,
        message,
        suggestion: suggest(query, catalog, role, first.code),
        reasons,
    })
}

pub(super) fn metric_refusal(
    catalog: &Catalog,
    role: &Role,
    name: &str,
) -> Option<(RefusalCode, String)> {
    let m = &catalog.metrics[name];
    if !role.metrics.allows(name) {
        return Some((
            RefusalCode::MetricNotPermitted,
            format!("the {} role may not see `{name}`", role.name),
        ));
    }
    if m.sensitivity > role.max_sensitivity {
        return Some((
            RefusalCode::SensitivityNotPermitted,
            format!(
                "`{name}` is {} and the {} role sees at most {} data",
                m.sensitivity.as_str(),
                role.name,
                role.max_sensitivity.as_str()
            ),
        ));
    }
    None
}

fn dimension_refusal(catalog: &Catalog, role: &Role, name: &str) -> Option<(RefusalCode, String)> {
    let d = &catalog.dimensions[name];
    if d.sensitivity == Sensitivity::Pii {
        return None; // reported as PII already
    }
    if d.entity && !role.record_level {
        return Some((
            RefusalCode::RecordLevelNotPermitted,
            format!(
                "`{name}` identifies single records and the {} role sees aggregates only",
                role.name
            ),
        ));
    }
    if !role.dimensions.allows(name) {
        return Some((
            RefusalCode::DimensionNotPermitted,
            format!(
                "the {} role may not break down or filter by `{name}`",
                role.name
            ),
        ));
    }
    if d.sensitivity > role.max_sensitivity {
        return Some((
            RefusalCode::SensitivityNotPermitted,
            format!(
                "`{name}` is {} and the {} role sees at most {} data",
                d.sensitivity.as_str(),
                role.name,
                role.max_sensitivity.as_str()
            ),
        ));
    }
    None
}

/// The dimensions a query groups and filters by, for kinds that have them.
fn dimensions_of(query: &Query) -> Option<(&[DimensionName], &[Filter])> {
    match query {
        Query::Metric(q) => Some((&q.group_by, &q.filters)),
        Query::Funnel(q) => Some((&q.group_by, &q.filters)),
        Query::Retention(q) => Some((&q.group_by, &q.filters)),
        Query::Explain(q) => Some((&[], &q.filters)),
        Query::Overview(_) | Query::List(_) | Query::Anomalies(_) | Query::Define(_) => None,
    }
}

/// Only what the role may ask about is described: its metrics and dimensions.
fn define(q: &DefineQuery, catalog: &Catalog, role: &Role, reasons: &mut Vec<Reason>) {
    metrics(&q.metrics, catalog, role, reasons);
    for (i, d) in q.dimensions.iter().enumerate() {
        if let Some((code, message)) = dimension_refusal(catalog, role, d.as_str()) {
            reasons.push(Reason {
                code,
                pointer: format!("/dimensions/{i}"),
                message,
            });
        }
    }
}

fn metric(q: &MetricQuery, catalog: &Catalog, role: &Role, reasons: &mut Vec<Reason>) {
    metrics(&q.metrics, catalog, role, reasons);
    dimensions(&q.group_by, &q.filters, catalog, role, reasons);
}

/// A reason at `/metrics/i` for each metric the role may not see.
fn metrics(
    names: &[crate::dsl::MetricName],
    catalog: &Catalog,
    role: &Role,
    reasons: &mut Vec<Reason>,
) {
    for (i, m) in names.iter().enumerate() {
        if let Some((code, message)) = metric_refusal(catalog, role, m.as_str()) {
            reasons.push(Reason {
                code,
                pointer: format!("/metrics/{i}"),
                message,
            });
        }
    }
}

fn dimensions(
    group_by: &[DimensionName],
    filters: &[Filter],
    catalog: &Catalog,
    role: &Role,
    reasons: &mut Vec<Reason>,
) {
    for (i, d) in group_by.iter().enumerate() {
        if let Some((code, message)) = dimension_refusal(catalog, role, d.as_str()) {
            reasons.push(Reason {
                code,
                pointer: format!("/group_by/{i}"),
                message,
            });
        }
    }
    for (i, f) in filters.iter().enumerate() {
        if let Some((code, message)) = dimension_refusal(catalog, role, f.dimension.as_str()) {
            reasons.push(Reason {
                code,
                pointer: format!("/filters/{i}/dimension"),
                message,
            });
        }
    }
}

fn list(q: &ListQuery, catalog: &Catalog, role: &Role, reasons: &mut Vec<Reason>) {
    if !role.record_level {
        reasons.push(Reason {
            code: RefusalCode::RecordLevelNotPermitted,
            pointer: "/kind".into(),
            message: format!("the {} role sees aggregates only, not records", role.name),
        });
    }
    let Some(entity) = catalog.entities.get(q.entity.as_str()) else {
        return;
    };
    let mut named: Vec<(String, &str)> = q
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| (format!("/fields/{i}"), f.as_str()))
        .collect();
    named.extend(
        q.filters
            .iter()
            .enumerate()
            .map(|(i, f)| (format!("/filters/{i}/field"), f.field.as_str())),
    );
    if let Some(s) = &q.sort {
        named.push(("/sort/field".into(), s.field.as_str()));
    }
    for (pointer, name) in named {
        let Some(f) = entity.fields.get(name) else {
            continue;
        };
        if f.sensitivity != Sensitivity::Pii && f.sensitivity > role.max_sensitivity {
            reasons.push(Reason {
                code: RefusalCode::SensitivityNotPermitted,
                pointer,
                message: format!(
                    "`{name}` is {} and the {} role sees at most {} data",
                    f.sensitivity.as_str(),
                    role.name,
                    role.max_sensitivity.as_str()
                ),
            });
        }
    }
}

/// A query in the spirit of the refused one that this role may run, if there is one.
fn suggest(query: &Query, catalog: &Catalog, role: &Role, code: RefusalCode) -> Option<Box<Query>> {
    let may_run = |q: &Query| {
        let mut reasons = Vec::new();
        if !role.kinds.contains(&q.kind()) {
            return false;
        }
        match q {
            Query::Metric(m) => metric(m, catalog, role, &mut reasons),
            Query::List(l) => list(l, catalog, role, &mut reasons),
            Query::Funnel(f) => dimensions(&f.group_by, &f.filters, catalog, role, &mut reasons),
            Query::Retention(r) => dimensions(&r.group_by, &r.filters, catalog, role, &mut reasons),
            Query::Anomalies(a) => metrics(&a.metrics, catalog, role, &mut reasons),
            Query::Define(d) => define(d, catalog, role, &mut reasons),
            Query::Explain(_) => {}
            Query::Overview(_) => {}
        }
        reasons.is_empty()
    };
    match query {
        Query::List(q) => {
            let entity = catalog.entities.get(q.entity.as_str())?;
            // The same list without the fields the role may not see…
            let visible = |name: &str| {
                entity.fields.get(name).is_some_and(|f| {
                    f.sensitivity != Sensitivity::Pii && f.sensitivity <= role.max_sensitivity
                })
            };
            if code == RefusalCode::PiiNotPermitted || code == RefusalCode::SensitivityNotPermitted
            {
                let mut l = q.clone();
                l.fields.retain(|f| visible(f.as_str()));
                l.filters.retain(|f| visible(f.field.as_str()));
                if l.sort.as_ref().is_some_and(|s| !visible(s.field.as_str())) {
                    l.sort = None;
                }
                let candidate = Query::List(l.clone());
                if !l.fields.is_empty() && may_run(&candidate) {
                    return Some(Box::new(candidate));
                }
            }
            // …or the count of the same records: a count metric dated by the same field.
            let time_field = q
                .time_field
                .as_ref()
                .map(|f| f.as_str().to_string())
                .or(entity.default_time.clone());
            let counting = catalog
                .metrics
                .values()
                .find(|m| {
                    matches!(&m.def, MetricDef::Aggregate(a)
                        if a.table == entity.table
                            && a.func == crate::catalog::AggFunc::Count
                            && a.filters.is_empty()
                            && q.period.is_some()
                            && matches!(&a.time, TimeBasis::Column(c) if Some(c) == time_field.as_ref()))
                })
                .map(|m| m.name.clone())
                .or(entity.count_metric.clone())?;
            let period = q
                .period
                .unwrap_or(crate::dsl::Period::Preset(crate::dsl::Preset::ThisMonth));
            let candidate = Query::Metric(MetricQuery {
                version: Some(crate::dsl::DSL_VERSION),
                metrics: vec![crate::dsl::MetricName(counting)],
                period,
                granularity: None,
                compare: None,
                group_by: vec![],
                filters: vec![],
                top_n: None,
                order: None,
            });
            may_run(&candidate).then(|| Box::new(candidate))
        }
        Query::Metric(q) => {
            let mut m = q.clone();
            m.metrics
                .retain(|name| metric_refusal(catalog, role, name.as_str()).is_none());
            m.group_by.retain(|d| {
                dimension_refusal(catalog, role, d.as_str()).is_none()
                    && catalog.dimensions[d.as_str()].sensitivity != Sensitivity::Pii
            });
            if m.group_by.is_empty() {
                m.top_n = None;
                m.order = None;
            }
            if m.metrics.is_empty() {
                return None;
            }
            let candidate = Query::Metric(m);
            (may_run(&candidate) && &candidate != query).then(|| Box::new(candidate))
        }
        Query::Funnel(q) if code == RefusalCode::KindNotPermitted => {
            // The conversion as a plain metric, when the catalog names one the role may see.
            let metric = q
                .funnel
                .as_ref()
                .and_then(|f| catalog.funnels.get(f.as_str()))
                .and_then(|f| f.metric.clone())?;
            let group_by: Vec<DimensionName> = q
                .group_by
                .iter()
                .filter(|d| dimension_refusal(catalog, role, d.as_str()).is_none())
                .cloned()
                .collect();
            let candidate = Query::Metric(MetricQuery {
                version: Some(crate::dsl::DSL_VERSION),
                metrics: vec![crate::dsl::MetricName(metric)],
                period: q.period,
                granularity: None,
                compare: q.compare,
                top_n: (!group_by.is_empty()).then_some(10),
                order: (!group_by.is_empty()).then_some(crate::dsl::Order::Desc),
                group_by,
                filters: q
                    .filters
                    .iter()
                    .filter(|f| dimension_refusal(catalog, role, f.dimension.as_str()).is_none())
                    .cloned()
                    .collect(),
            });
            may_run(&candidate).then(|| Box::new(candidate))
        }
        Query::Funnel(q) => {
            let mut f = q.clone();
            f.group_by.retain(|d| {
                dimension_refusal(catalog, role, d.as_str()).is_none()
                    && catalog.dimensions[d.as_str()].sensitivity != Sensitivity::Pii
            });
            let candidate = Query::Funnel(f);
            (may_run(&candidate) && &candidate != query).then(|| Box::new(candidate))
        }
        Query::Explain(q) if code == RefusalCode::KindNotPermitted => {
            // The metric on the same period against the previous one, when the role may see it.
            let candidate = Query::Metric(MetricQuery {
                version: Some(crate::dsl::DSL_VERSION),
                metrics: vec![q.metric.clone()],
                period: q.period,
                granularity: None,
                compare: Some(crate::dsl::Compare::PreviousPeriod),
                group_by: vec![],
                filters: vec![],
                top_n: None,
                order: None,
            });
            may_run(&candidate).then(|| Box::new(candidate))
        }
        Query::Retention(q) => {
            // The same retention without the dimensions the role may not use.
            let mut r = q.clone();
            let allowed = |d: &str| dimension_refusal(catalog, role, d).is_none();
            r.group_by.retain(|d| allowed(d.as_str()));
            r.filters.retain(|f| allowed(f.dimension.as_str()));
            let candidate = Query::Retention(r);
            (may_run(&candidate) && &candidate != query).then(|| Box::new(candidate))
        }
        Query::Anomalies(q) => {
            // The same scan over the metrics the role may see.
            let mut a = q.clone();
            a.metrics
                .retain(|m| metric_refusal(catalog, role, m.as_str()).is_none());
            let candidate = Query::Anomalies(a.clone());
            (!a.metrics.is_empty() && may_run(&candidate) && &candidate != query)
                .then(|| Box::new(candidate))
        }
        Query::Define(q) => {
            // The same question about what the role may see (PII never).
            let mut d = q.clone();
            d.metrics
                .retain(|m| metric_refusal(catalog, role, m.as_str()).is_none());
            d.dimensions.retain(|x| {
                dimension_refusal(catalog, role, x.as_str()).is_none()
                    && catalog.dimensions[x.as_str()].sensitivity != Sensitivity::Pii
            });
            let asks = !d.metrics.is_empty() || !d.dimensions.is_empty() || d.search.is_some();
            let candidate = Query::Define(d);
            (asks && may_run(&candidate) && &candidate != query).then(|| Box::new(candidate))
        }
        Query::Explain(_) | Query::Overview(_) => None,
    }
}
