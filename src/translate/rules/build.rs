//! A `Reading` → a typed `dsl::Query`, or a clarification when the reading is incomplete,
//! ambiguous or holds words nothing understood. Follow-ups edit the previous query.

use chrono::NaiveDate;

use super::clarify::{Clarify, Draft};
use super::read::{Literal, Reading, ValueFilter};
use super::scan::entity_dimension;
use crate::catalog::{AggFunc, Catalog, MetricDef, TimeBasis, ValueType};
use crate::dsl::{
    Between, Compare, DimensionName, EntityName, ExplainQuery, FieldFilter, FieldName, Filter,
    FilterOp, FilterValue, FunnelName, FunnelQuery, Granularity, LastN, ListQuery, MetricName,
    MetricQuery, Order, OverviewQuery, Period, PeriodUnit, Preset, Query, Sort,
};
use crate::plan::time::{compare_range, resolve};

/// What building a reading gives: a query, or what to ask the user.
pub(crate) type Built = Result<Query, Clarify>;

fn period_days(p: &Period, today: NaiveDate) -> i64 {
    resolve(p, today).range.days()
}

/// Whether every aggregate behind the metric is a snapshot (MRR, active customers): with no
/// period such a metric means "as of today".
pub(crate) fn is_snapshot(catalog: &Catalog, metric: &str) -> bool {
    let aggs = catalog.aggregates_of(metric);
    !aggs.is_empty()
        && aggs
            .iter()
            .all(|(_, a)| matches!(a.time, TimeBasis::Snapshot { .. }))
}

/// The count metric of a table's own rows dated by its own time column (events → `events`,
/// support_tickets → `tickets_opened`), for a value asked as a noun ("page views").
fn count_metric_of(catalog: &Catalog, table: &str) -> Option<String> {
    let t = catalog.tables.get(table)?;
    let own_time = |basis: &TimeBasis| match basis {
        TimeBasis::Column(c) => t.time.as_deref() == Some(c.as_str()),
        TimeBasis::Snapshot { .. } => false,
    };
    let found: Vec<&String> = catalog
        .metrics
        .values()
        .filter(|m| {
            matches!(&m.def, MetricDef::Aggregate(a)
                if a.table == table && a.func == AggFunc::Count && a.filters.is_empty() && own_time(&a.time))
        })
        .map(|m| &m.name)
        .collect();
    match found.as_slice() {
        [one] => Some((*one).clone()),
        _ => None,
    }
}

/// The metric a question implies when it names only values of one table ("feature requests
/// last month" → tickets opened), if exactly one.
fn implied_metric(catalog: &Catalog, r: &Reading) -> Option<String> {
    let dims: Vec<&String> = if r.filters.is_empty() {
        r.group_by.iter().collect()
    } else {
        r.filters.iter().map(|f| &f.dimension).collect()
    };
    let mut tables = dims.into_iter().map(|d| {
        let d = &catalog.dimensions[d];
        match d.bindings.as_slice() {
            [(t, _)] => Some(t.clone()),
            _ => None,
        }
    });
    let first = tables.next()??;
    if tables.any(|t| t.as_deref() != Some(first.as_str())) {
        return None;
    }
    count_metric_of(catalog, &first)
}

/// A series over the period: days up to a month, weeks up to a quarter, months beyond.
fn trend_granularity(p: &Period, today: NaiveDate) -> Granularity {
    match period_days(p, today) {
        ..=31 => Granularity::Day,
        32..=92 => Granularity::Week,
        _ => Granularity::Month,
    }
}

/// A series never finer than the windows of its active-user metrics (WAU per week, not per day).
fn coarse_enough(g: Granularity, catalog: &Catalog, metrics: &[String]) -> Granularity {
    let mut g = g;
    for m in metrics {
        for (_, a) in catalog.aggregates_of(m) {
            if let AggFunc::ActiveUsers { window, .. } = a.func {
                let w = match window {
                    crate::catalog::Window::Day => Granularity::Day,
                    crate::catalog::Window::Week => Granularity::Week,
                    crate::catalog::Window::Month => Granularity::Month,
                };
                g = g.max(w);
            }
        }
    }
    g
}

fn value_filters(filters: &[ValueFilter]) -> Vec<Filter> {
    filters
        .iter()
        .filter(|f| !f.values.is_empty())
        .map(|f| Filter {
            dimension: DimensionName(f.dimension.clone()),
            op: match (f.negated, f.values.len()) {
                (false, 1) => FilterOp::Eq,
                (true, 1) => FilterOp::Neq,
                (false, _) => FilterOp::In,
                (true, _) => FilterOp::NotIn,
            },
            values: f.values.iter().cloned().map(FilterValue::Text).collect(),
        })
        .collect()
}

fn literal_value(l: &Literal) -> FilterValue {
    match l {
        Literal::Number(n) => FilterValue::Number(*n),
        Literal::Text(t) => FilterValue::Text(t.clone()),
    }
}

/// Filters on dimensions: values, then spelled-out literals on dimensions.
fn dimension_filters(r: &Reading, catalog: &Catalog) -> Result<Vec<Filter>, Clarify> {
    let mut out = value_filters(&r.filters);
    for (name, op, l) in &r.literals {
        if !catalog.dimensions.contains_key(name) {
            return Err(Clarify::message(format!(
                "I could not tell what to compare with “{}”.",
                match l {
                    Literal::Number(n) => super::read::format_number(*n),
                    Literal::Text(t) => t.clone(),
                }
            ))
            .with_reading(r));
        }
        out.push(Filter {
            dimension: DimensionName(name.clone()),
            op: *op,
            values: vec![literal_value(l)],
        });
    }
    Ok(out)
}

/// What a reading asks that one query cannot: two periods, two metrics with nothing joining
/// them, or a comparison with a period that is not the one just before.
fn half_read(r: &Reading, catalog: &Catalog, today: NaiveDate) -> Result<(), Clarify> {
    // "the month before" shifts a previous question's period; in a question of its own it
    // would be dropped, so ask what was meant.
    if r.shift {
        let mut c = Clarify::message(
            "“… before” shifts the period of an earlier question; to compare, ask for the period vs the one before.".into(),
        );
        let mut d = Draft::of(r);
        d.period.get_or_insert(Period::Preset(Preset::LastWeek));
        d.compare = Some(Compare::PreviousPeriod);
        c.drafts.push(d);
        return Err(c);
    }
    if r.periods.len() > 1 {
        let mut c = Clarify::message(
            "Which period do you mean? One question covers one period, optionally compared with the one before or the same one a year earlier.".into(),
        );
        for p in &r.periods {
            let mut d = Draft::of(r);
            d.period = Some(*p);
            c.drafts.push(d);
        }
        return Err(c);
    }
    if let Some((a, b)) = &r.unjoined {
        if r.metrics.contains(a) && r.metrics.contains(b) {
            let label = |m: &str| {
                catalog
                    .metrics
                    .get(m)
                    .map_or(m.to_string(), |x| x.label.clone())
            };
            let mut c = Clarify::message(format!(
                "I could not tell how {} and {} go together; ask for both with “and”, or one at a time.",
                label(a),
                label(b)
            ));
            for ms in [vec![a.clone()], vec![b.clone()], vec![a.clone(), b.clone()]] {
                let mut d = Draft::of(r);
                d.metrics = ms;
                d.period.get_or_insert(Period::Preset(Preset::LastWeek));
                c.drafts.push(d);
            }
            return Err(c);
        }
    }
    if let (Some(base), Some(length)) = (&r.period, &r.compare_length) {
        // "last week vs the 7 days before": the period before is as long as the base, or the
        // words name another comparison than the DSL can make.
        let range = resolve(base, today).range;
        let before = compare_range(&resolve(base, today), Compare::PreviousPeriod);
        let days = (range.end - range.start).num_days() + 1;
        let same_length = match length.unit {
            crate::dsl::PeriodUnit::Day => days == i64::from(length.count),
            crate::dsl::PeriodUnit::Week => days == 7 * i64::from(length.count),
            crate::dsl::PeriodUnit::Month => {
                use chrono::Datelike;
                let months = (range.end.year() - range.start.year()) * 12
                    + range.end.month() as i32
                    - range.start.month() as i32
                    + 1;
                range.start.day() == 1 && before.start.day() == 1 && months == length.count as i32
            }
        };
        if !same_length {
            let mut c = Clarify::message(
                "I can compare a period with the one just before it, of the same length; those two periods are not like that.".into(),
            );
            let mut d = Draft::of(r);
            d.compare = Some(Compare::PreviousPeriod);
            c.drafts.push(d);
            return Err(c);
        }
    }
    if let (Some(base), Some(against)) = (&r.period, &r.compare_against) {
        let (b, a) = (resolve(base, today), resolve(against, today));
        // "last 7 days vs the previous 7 days" names the same words twice; "this week vs last
        // week" names the same unit; either way the period just before is meant.
        let just_before = base == against
            || b.unit.is_some() && b.unit == a.unit
            || compare_range(&b, Compare::PreviousPeriod) == a.range;
        if !just_before {
            let mut c = Clarify::message(
                "I can compare a period with the one just before it or with the same period a year earlier; those two periods are not like that.".into(),
            );
            for p in [base, against] {
                let mut d = Draft::of(r);
                d.period = Some(*p);
                d.compare = Some(Compare::PreviousPeriod);
                c.drafts.push(d);
            }
            return Err(c);
        }
    }
    Ok(())
}

/// Builds a metric query from a reading.
pub(crate) fn metric(mut r: Reading, catalog: &Catalog, today: NaiveDate) -> Built {
    half_read(&r, catalog, today)?;
    if r.metrics.is_empty() {
        if let Some(m) = implied_metric(catalog, &r) {
            r.metrics.push(m);
        }
    }
    if r.metrics.is_empty() {
        return Err(Clarify::missing_metric(&r));
    }
    // Fields of records asked alongside a number: nothing in a metric query shows them.
    if !r.fields.is_empty() || r.personal {
        let said: Vec<String> = r.fields.iter().map(|f| f.replace('_', " ")).collect();
        return Err(Clarify::message(format!(
            "I can give numbers or list records, not both at once; which do you want{}?",
            if said.is_empty() {
                String::new()
            } else {
                format!(" (I read the fields {})", said.join(", "))
            }
        ))
        .with_reading(&r));
    }
    // `the mrr of "Greenline GmbH"`: the one record dimension the metrics reach.
    for name in std::mem::take(&mut r.quoted_names) {
        let records: Vec<&str> = catalog
            .dimensions
            .values()
            .filter(|d| d.entity)
            .map(|d| d.name.as_str())
            .filter(|d| {
                r.metrics
                    .iter()
                    .all(|m| catalog.dimensions_for_metric(m).contains(d))
            })
            .collect();
        let [d] = records.as_slice() else {
            return Err(Clarify::message(format!(
                "Which records is “{name}” one of?"
            )));
        };
        r.literals
            .push((d.to_string(), FilterOp::Eq, Literal::Text(name)));
    }
    // "which customers opened the most tickets": the customers ranked, not counted.
    if let Some((entity, singular)) = r.ranked.clone() {
        let counted = catalog
            .entities
            .get(&entity)
            .and_then(|e| e.count_metric.clone());
        if r.metrics.len() > 1 {
            r.metrics.retain(|m| Some(m) != counted.as_ref());
        }
        if let Some(d) = entity_dimension(catalog, &entity) {
            if !r.group_by.contains(&d) && r.metrics.iter().all(|m| Some(m) != counted.as_ref()) {
                r.group_by.insert(0, d);
                r.group_singular = singular;
            }
        }
    }
    if r.metrics.len() > 4 {
        return Err(Clarify::message(
            "That is more than four metrics; ask for at most four at a time.".into(),
        ));
    }
    let period = match r.period {
        Some(p) => p,
        None if r.metrics.iter().all(|m| is_snapshot(catalog, m)) && r.compare.is_none() => {
            // MRR, customers: a level, which with no period means today's.
            Period::Preset(Preset::Today)
        }
        None => match r.compare_unit {
            // "sessions MoM": this month against the one before.
            Some(u) => Period::Preset(u.current()),
            // "DAU trend", "signups over time": the last 30 days (the answer states the dates).
            None if r.trend => Period::LastN(LastN {
                count: 30,
                unit: PeriodUnit::Day,
            }),
            None => return Err(Clarify::missing_period(&r)),
        },
    };
    for d in r.compared.clone() {
        if !r.group_by.contains(&d) {
            r.group_by.push(d);
        }
    }
    if r.group_by.len() > 2 {
        return Err(Clarify::message(
            "A breakdown takes at most two dimensions at a time.".into(),
        ));
    }
    let filters = dimension_filters(&r, catalog)?;
    // Every dimension must reach every metric, or the reading asks something impossible.
    for d in r
        .group_by
        .iter()
        .chain(filters.iter().map(|f| &f.dimension.0))
    {
        for m in &r.metrics {
            if !catalog.dimensions_for_metric(m).contains(&d.as_str()) {
                return Err(Clarify::not_applicable(d, m, &r, catalog));
            }
        }
    }
    let granularity = match (r.granularity, r.trend) {
        (Some(g), _) => Some(g),
        (None, true) => Some(trend_granularity(&period, today)),
        (None, false) => None,
    }
    .map(|g| coarse_enough(g, catalog, &r.metrics));
    let grouped = !r.group_by.is_empty();
    let top_n = r
        .top_n
        .or((r.superlative && r.group_singular).then_some(1))
        .filter(|_| grouped)
        .map(|n| n.clamp(1, 50));
    Ok(Query::Metric(MetricQuery {
        version: None,
        metrics: r.metrics.iter().cloned().map(MetricName).collect(),
        period,
        granularity,
        compare: r.compare,
        group_by: r.group_by.iter().cloned().map(DimensionName).collect(),
        filters,
        top_n,
        order: (grouped && r.asc).then_some(Order::Asc),
    }))
}

/// "Why did signups drop last Tuesday?": one metric on a date or period, explained against its
/// usual level (the validator picks the baseline and says which).
pub(crate) fn explain(mut r: Reading, catalog: &Catalog, today: NaiveDate) -> Built {
    half_read(&r, catalog, today)?;
    // The direction words of a why-question say what moved, not what to compute.
    let movement = std::mem::take(&mut r.movement);
    r.unknown.retain(|w| !movement.contains(w));
    if r.metrics.is_empty() {
        if let Some(m) = implied_metric(catalog, &r) {
            r.metrics.push(m);
        }
    }
    if r.metrics.len() > 1 {
        r.metrics.retain(|m| !r.subject_metrics.contains(m));
    }
    if r.metrics.len() != 1 {
        let example = catalog
            .metrics
            .values()
            .find(|m| catalog.explainable(&m.name))
            .map(|m| {
                format!(
                    " For example “why did {} drop yesterday?”",
                    m.label.to_lowercase()
                )
            })
            .unwrap_or_default();
        return Err(
            Clarify::message(format!("Which one metric should I explain?{example}"))
                .with_reading(&r),
        );
    }
    if !r.unknown.is_empty() || !r.strays.is_empty() || !r.loose_names.is_empty() {
        return Err(Clarify::unknown_words(&r, catalog));
    }
    if !r.group_by.is_empty() || r.granularity.is_some() || r.top_n.is_some() {
        return Err(Clarify::message(
            "An explanation decomposes the change across the catalog's driver dimensions by itself; ask without a breakdown or a time series.".into(),
        ).with_reading(&r));
    }
    let Some(period) = r.period else {
        return Err(Clarify::missing_period(&r));
    };
    Ok(Query::Explain(ExplainQuery {
        version: None,
        metric: MetricName(r.metrics[0].clone()),
        period,
        baseline: (r.compare == Some(Compare::PreviousPeriod))
            .then_some(crate::dsl::Baseline::PreviousPeriod),
        filters: dimension_filters(&r, catalog)?,
    }))
}

/// A named funnel ("conversion rate for the checkout flow", "where do users drop off"): steps
/// per user in order, over the period asked or the last 30 days (a funnel's usual look-back;
/// the answer states the dates).
pub(crate) fn funnel(name: &str, r: Reading, catalog: &Catalog) -> Built {
    let own_metric = catalog.funnels.get(name).and_then(|f| f.metric.as_deref());
    if r.metrics
        .iter()
        .any(|m| Some(m.as_str()) != own_metric && !r.subject_metrics.contains(m))
    {
        return Err(Clarify::message(
            "Do you mean the funnel or the metric? Ask for one of them at a time.".into(),
        ));
    }
    if r.granularity.is_some() || r.top_n.is_some() || r.superlative || r.trend {
        return Err(Clarify::message(
            "A funnel counts users per step over one period; ask without a time series or a top list.".into(),
        ));
    }
    let group_by = one_grouping(&r, "A funnel")?;
    Ok(Query::Funnel(FunnelQuery {
        version: None,
        funnel: Some(FunnelName(name.to_string())),
        steps: Vec::new(),
        window_hours: None,
        period: r.period.unwrap_or(Period::LastN(LastN {
            count: 30,
            unit: PeriodUnit::Day,
        })),
        compare: r.compare,
        group_by: group_by.into_iter().map(DimensionName).collect(),
        filters: dimension_filters(&r, catalog)?,
    }))
}

/// A retention question ("week 1 retention", "do users come back", "cohort retention by
/// channel"): the catalog's retention definition over the cohorts of the period asked, or of the
/// last 8 complete weeks. Metrics named on the cohort's or the activity's table ("users who
/// signed up in October") say who the cohort is, not what to compute.
pub(crate) fn retention(mut r: Reading, catalog: &Catalog) -> Built {
    let names: Vec<&String> = catalog.retention.keys().collect();
    let [name] = names.as_slice() else {
        return Err(Clarify::message(format!(
            "Which retention do you mean: {}?",
            names
                .iter()
                .map(|n| catalog.retention[*n].label.clone())
                .collect::<Vec<_>>()
                .join(" or ")
        )));
    };
    let def = &catalog.retention[name.as_str()];
    let tables = [def.cohort.table.as_str(), def.activity.table.as_str()];
    r.metrics.retain(|m| {
        !r.subject_metrics.contains(m)
            && !catalog
                .aggregates_of(m)
                .iter()
                .all(|(_, a)| tables.contains(&a.table.as_str()))
    });
    if !r.metrics.is_empty() {
        return Err(Clarify::message(format!(
            "Do you mean {} or a metric? Ask for one of them at a time.",
            def.label
        )));
    }
    let movement = std::mem::take(&mut r.movement);
    r.unknown.retain(|w| !movement.contains(w));
    // "week 1 retention", "day 7 retention": the offset's unit is the granularity; "come back
    // after signing up" says what retention is.
    let unit = |w: &str| match w {
        "day" | "days" => Some(Granularity::Day),
        "week" | "weeks" => Some(Granularity::Week),
        "month" | "months" => Some(Granularity::Month),
        _ => None,
    };
    if let Some(g) = r.unknown.iter().find_map(|w| unit(w)) {
        r.granularity.get_or_insert(g);
    }
    r.unknown.retain(|w| {
        unit(w).is_none() && w != "after" && !w.parse::<u32>().is_ok_and(|n| (1..=26).contains(&n))
    });
    if !r.unknown.is_empty() || !r.strays.is_empty() || !r.loose_names.is_empty() {
        return Err(Clarify::unknown_words(&r, catalog));
    }
    if r.top_n.is_some() || r.superlative {
        return Err(Clarify::message(
            "Retention shows every cohort of the period; ask without a top list.".into(),
        ));
    }
    let group_by = one_grouping(&r, "Retention")?;
    Ok(Query::Retention(crate::dsl::RetentionQuery {
        version: None,
        retention: crate::dsl::RetentionName(name.to_string()),
        period: r.period.unwrap_or(Period::LastN(LastN {
            count: 8,
            unit: PeriodUnit::Week,
        })),
        granularity: r.granularity,
        periods: None,
        group_by: group_by.into_iter().map(DimensionName).collect(),
        filters: dimension_filters(&r, catalog)?,
    }))
}

/// An anomaly scan ("anything unusual last week?", "any anomalies in signups", "what changed
/// yesterday?"): the metrics named (none: the watched ones or the role's KPIs, filled by
/// `check`) over the period asked (none: the last 7 complete days). The scan segments by every
/// driver itself, so a breakdown or a filter is asked about, not dropped.
pub(crate) fn anomalies(mut r: Reading, catalog: &Catalog) -> Built {
    let movement = std::mem::take(&mut r.movement);
    // "unusual days": the scan's unit is the day.
    r.unknown
        .retain(|w| !movement.contains(w) && w != "day" && w != "days");
    if !r.unknown.is_empty() || !r.strays.is_empty() || !r.loose_names.is_empty() {
        return Err(Clarify::unknown_words(&r, catalog));
    }
    if !r.group_by.is_empty() || !r.filters.is_empty() {
        return Err(Clarify::message(
            "An anomaly scan already looks at every driver segment by itself; ask without a breakdown or a filter.".into(),
        ));
    }
    let mut metrics: Vec<String> = Vec::new();
    for m in &r.metrics {
        if !metrics.contains(m) {
            metrics.push(m.clone());
        }
    }
    if let Some(m) = metrics.iter().find(|m| {
        catalog
            .metrics
            .get(m.as_str())
            .is_some_and(|x| !x.counts_per_day())
    }) {
        return Err(Clarify::message(format!(
            "The anomaly scan tests counts per day, and {} is not one; ask about a count such as {}.",
            catalog.metrics[m.as_str()].label,
            catalog
                .metrics
                .values()
                .filter(|x| x.counts_per_day())
                .take(3)
                .map(|x| x.label.clone())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(Query::Anomalies(crate::dsl::AnomaliesQuery {
        version: None,
        period: r.period,
        metrics: metrics.into_iter().map(crate::dsl::MetricName).collect(),
    }))
}

/// The one dimension a funnel or retention may be broken down by: the asked group-bys and the
/// dimensions whose values were compared ("ios vs android").
fn one_grouping(r: &Reading, what: &str) -> Result<Vec<String>, Clarify> {
    let mut group_by = r.group_by.clone();
    for d in &r.compared {
        if !group_by.contains(d) {
            group_by.push(d.clone());
        }
    }
    if group_by.len() > 1 {
        return Err(Clarify::message(format!(
            "{what} can be broken down by one dimension at a time."
        )));
    }
    Ok(group_by)
}

pub(crate) fn overview(r: Reading) -> Built {
    if !r.filters.is_empty() || !r.group_by.is_empty() || !r.literals.is_empty() {
        return Err(Clarify::message(
            "An overview covers the whole workspace; ask for a metric to filter or break down."
                .into(),
        ));
    }
    Ok(Query::Overview(OverviewQuery {
        version: None,
        period: r.period.unwrap_or(Period::Preset(Preset::LastWeek)),
        compare: Some(r.compare.unwrap_or(Compare::PreviousPeriod)),
    }))
}

/// The fields of an entity that hold personal data.
fn personal_fields(catalog: &Catalog, entity: &str) -> Vec<String> {
    catalog
        .entities
        .get(entity)
        .map(|e| {
            e.fields
                .values()
                .filter(|f| f.sensitivity == crate::catalog::Sensitivity::Pii)
                .map(|f| f.name.clone())
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn list(mut r: Reading, catalog: &Catalog) -> Built {
    if r.entity.is_none() && r.personal {
        // "phone numbers of …" with no entity named: the one entity that holds personal data.
        let holders: Vec<&String> = catalog
            .entities
            .keys()
            .filter(|e| !personal_fields(catalog, e).is_empty())
            .collect();
        if let [one] = holders.as_slice() {
            r.entity = Some((*one).clone());
        }
    }
    let Some(entity) = r.entity.as_ref().and_then(|e| catalog.entities.get(e)) else {
        return Err(Clarify::message("Which records do you want to list?".into()).with_reading(&r));
    };
    // A name nobody knows, asked about records: that record's name ("the contact at Acme").
    if let Some(d) =
        entity_dimension(catalog, &entity.name).filter(|d| entity.fields.contains_key(d))
    {
        if let [name] = r.loose_names.as_slice() {
            r.literals
                .push((d, FilterOp::Eq, Literal::Text(name.clone())));
            r.loose_names.clear();
        }
    }
    if !r.unknown.is_empty() || !r.strays.is_empty() || !r.loose_names.is_empty() {
        return Err(Clarify::unknown_words(&r, catalog));
    }
    // "the emails of users who signed up": users are a number here, not records to list.
    let counted = entity.count_metric.as_deref();
    if let Some(m) = r.metrics.iter().find(|m| {
        Some(m.as_str()) != counted
            && !entity.fields.contains_key(m.as_str())
            && super::read::counted_records(catalog, m).is_none_or(|(e, _)| e != entity.name)
    }) {
        return Err(Clarify::message(format!(
            "I can list {} records, and {} is not one of them; ask for {} as a number instead.",
            entity.name,
            catalog
                .metrics
                .get(m)
                .map_or(m.as_str(), |x| x.label.as_str()),
            catalog
                .metrics
                .get(m)
                .map_or(m.as_str(), |x| x.label.as_str()),
        )));
    }
    let mut time_field = None;
    let mut fields = Vec::new();
    for f in &r.fields {
        let is_date = entity
            .fields
            .get(f)
            .is_some_and(|x| x.ty == ValueType::Date);
        if is_date && r.period.is_some() && time_field.is_none() {
            time_field = Some(f.clone());
        } else if r.literals.iter().any(|(n, _, _)| n == f) {
            // "mrr over 5000", "name contains …": a filter, not a column request.
        } else {
            fields.push(f.clone());
        }
    }
    if r.personal {
        for f in personal_fields(catalog, &entity.name) {
            if !fields.contains(&f) {
                fields.push(f);
            }
        }
    }
    if fields.is_empty() {
        fields = entity.default_fields.clone();
    }
    for f in &r.added_fields {
        let is_date = entity
            .fields
            .get(f)
            .is_some_and(|x| x.ty == ValueType::Date);
        if is_date && r.period.is_some() && time_field.is_none() {
            time_field = Some(f.clone());
        }
        if !fields.contains(f) {
            fields.push(f.clone());
        }
    }
    let mut filters = Vec::new();
    for f in &r.filters {
        if !entity.fields.contains_key(&f.dimension) {
            return Err(Clarify::message(format!(
                "`{}` does not apply to {} records.",
                f.dimension, entity.name
            )));
        }
    }
    for f in value_filters(&r.filters) {
        filters.push(FieldFilter {
            field: FieldName(f.dimension.0),
            op: f.op,
            values: f.values,
        });
    }
    for (name, op, l) in &r.literals {
        if !entity.fields.contains_key(name) {
            return Err(Clarify::message(format!(
                "`{name}` does not apply to {} records.",
                entity.name
            )));
        }
        filters.push(FieldFilter {
            field: FieldName(name.clone()),
            op: *op,
            values: vec![literal_value(l)],
        });
    }
    let order = |asc: bool| if asc { Order::Asc } else { Order::Desc };
    let sort = match (&r.sort, r.newest, &entity.default_time) {
        (Some(s), _, _) => Some(Sort {
            field: FieldName(s.clone()),
            order: order(r.asc),
        }),
        (None, Some(asc), Some(t)) => Some(Sort {
            field: FieldName(t.clone()),
            order: order(asc),
        }),
        _ => None,
    };
    let limit = r
        .top_n
        .or((r.superlative && r.ranked.as_ref().is_some_and(|(_, s)| *s)).then_some(1))
        .map(|n| n.clamp(1, 100));
    Ok(Query::List(ListQuery {
        version: None,
        entity: EntityName(entity.name.clone()),
        fields: fields.into_iter().map(FieldName).collect(),
        filters,
        period: r.period,
        time_field: r.period.as_ref().and(time_field).map(FieldName),
        sort,
        limit,
    }))
}

/// New filters replace old ones on the same dimension and keep the others.
fn merge_filters(old: &mut Vec<Filter>, new: Vec<Filter>) {
    old.retain(|f| !new.iter().any(|n| n.dimension == f.dimension));
    old.extend(new);
}

/// A follow-up that edits the previous metric or overview query: "and by country?", "only
/// android", "what about the month before?", "same for churn rate".
pub(crate) fn follow_up(prev: Query, mut r: Reading, catalog: &Catalog, today: NaiveDate) -> Built {
    let shift = |period: &Period| -> Period {
        let before = compare_range(&resolve(period, today), Compare::PreviousPeriod);
        if before.start == before.end {
            Period::Date(before.start)
        } else {
            Period::Between(Between {
                start: before.start,
                end: before.end,
            })
        }
    };
    match prev {
        Query::Overview(mut q) => {
            if let Some(p) = r.period.take() {
                q.period = p;
            } else if r.shift {
                q.period = shift(&q.period);
            }
            if let Some(c) = r.compare {
                q.compare = Some(c);
            }
            Ok(Query::Overview(q))
        }
        Query::Metric(mut q) => {
            if let Some((entity, singular)) = r.ranked.clone() {
                if let Some(d) = entity_dimension(catalog, &entity) {
                    if !r.group_by.contains(&d) {
                        r.group_by.push(d);
                        r.group_singular = singular;
                    }
                }
                let counted = catalog
                    .entities
                    .get(&entity)
                    .and_then(|e| e.count_metric.clone());
                r.metrics.retain(|m| Some(m) != counted.as_ref());
            }
            if !r.metrics.is_empty() {
                q.metrics = r.metrics.iter().cloned().map(MetricName).collect();
            }
            if let Some(p) = r.period.take() {
                q.period = p;
            } else if r.shift {
                q.period = shift(&q.period);
            }
            if let Some(g) = r.granularity {
                q.granularity = Some(coarse_enough(g, catalog, &r.metrics));
            } else if r.trend {
                q.granularity = Some(trend_granularity(&q.period, today));
            }
            if let (Some(c), false) = (r.compare, r.shift) {
                q.compare = Some(c);
            }
            for d in r.compared.clone() {
                if !r.group_by.contains(&d) {
                    r.group_by.push(d);
                }
            }
            if !r.group_by.is_empty() {
                q.group_by = r.group_by.iter().cloned().map(DimensionName).collect();
                q.top_n = None;
                q.order = None;
            }
            if !q.group_by.is_empty() {
                if let Some(n) = r.top_n.or((r.superlative && r.group_singular).then_some(1)) {
                    q.top_n = Some(n.clamp(1, 50));
                }
                if r.asc {
                    q.order = Some(Order::Asc);
                }
            }
            if r.drop_filters {
                q.filters.clear();
            }
            merge_filters(&mut q.filters, dimension_filters(&r, catalog)?);
            Ok(Query::Metric(q))
        }
        other => Ok(other),
    }
}

/// A follow-up to a list: "sort by mrr", "include their emails", "only the top 5".
pub(crate) fn list_follow_up(prev: ListQuery, r: Reading, catalog: &Catalog) -> Built {
    let mut q = prev;
    let Some(entity) = catalog.entities.get(q.entity.as_str()) else {
        return Err(Clarify::message(
            "I could not read the previous list.".into(),
        ));
    };
    let mut fields: Vec<String> = q.fields.iter().map(|f| f.0.clone()).collect();
    for f in r.added_fields.iter().chain(&r.fields) {
        if !fields.contains(f) {
            fields.push(f.clone());
        }
    }
    if r.personal {
        for f in personal_fields(catalog, &entity.name) {
            if !fields.contains(&f) {
                fields.push(f);
            }
        }
    }
    q.fields = fields.into_iter().map(FieldName).collect();
    let order = |asc: bool| if asc { Order::Asc } else { Order::Desc };
    if let Some(s) = &r.sort {
        q.sort = Some(Sort {
            field: FieldName(s.clone()),
            order: order(r.asc),
        });
    }
    if let (Some(asc), Some(t)) = (r.newest, &entity.default_time) {
        q.sort = Some(Sort {
            field: FieldName(t.clone()),
            order: order(asc),
        });
    }
    if let Some(n) = r.top_n {
        q.limit = Some(n.clamp(1, 100));
    }
    if let Some(p) = r.period {
        q.period = Some(p);
    }
    if r.drop_filters {
        q.filters.clear();
    }
    Ok(Query::List(q))
}

/// A definition ("what does churn rate mean?", "difference between WAU and MAU", "what counts
/// as a power user?"): the metrics and dimensions named (a phrase that could be several metrics
/// names them all), and the other words that may carry meaning as `search` text for the docs.
/// A period or a number says nothing about a definition and is not asked about.
pub(crate) fn define(items: &[super::scan::Item], catalog: &Catalog) -> Built {
    use super::lexicon::{Concept, Word};
    use super::scan::Item;
    // Each piece in order: a metric reading (with whether it was one who-did-it noun such as
    // "users"), a dimension, or words to look up.
    enum Piece {
        Metrics(Vec<String>, String, bool),
        Dimension(String),
        Words(String),
    }
    let mut pieces: Vec<Piece> = Vec::new();
    let mut time_said: Option<String> = None;
    for item in items {
        match item {
            Item::Concept {
                concepts,
                words: said,
                subject,
                ..
            } => {
                let named: Vec<String> = concepts
                    .iter()
                    .filter_map(|c| match c {
                        Concept::Metric(m) => Some(m.clone()),
                        _ => None,
                    })
                    .collect();
                let dimension = concepts.iter().find_map(|c| match c {
                    Concept::Dimension(d) => Some(d.clone()),
                    _ => None,
                });
                pieces.push(if !named.is_empty() {
                    Piece::Metrics(named, said.clone(), *subject)
                } else if let Some(d) = dimension {
                    Piece::Dimension(d)
                } else {
                    Piece::Words(said.clone())
                });
            }
            Item::Word(
                Word::Define | Word::Which | Word::And | Word::Versus | Word::CompareVerb,
                _,
            ) => {}
            Item::Word(_, said) => pieces.push(Piece::Words(said.clone())),
            Item::Unknown(w) | Item::Code(w) | Item::Quoted(w) => {
                pieces.push(Piece::Words(w.clone()))
            }
            Item::Name { text, .. } => pieces.push(Piece::Words(text.clone())),
            Item::Number { value, .. } => pieces.push(Piece::Words(format!("{value}"))),
            // "how is DAU calculated last week": a definition has no period, and a value asked
            // for is another question; say so rather than drop the words.
            Item::Time(_, said) => time_said = Some(said.clone()),
            Item::Top { .. } => pieces.push(Piece::Words("top".into())),
        }
    }
    if let Some(said) = time_said {
        let named = pieces.iter().find_map(|p| match p {
            Piece::Metrics(names, _, _) => catalog.metrics.get(&names[0]).map(|m| m.label.clone()),
            _ => None,
        });
        let name = named.unwrap_or_else(|| "it".into());
        return Err(Clarify::message(format!(
            "A definition has no period (“{said}”): ask what {name} means, or ask for its value as its own question, for example “what was {name} {said}?”."
        )));
    }
    // "a power user": beside words no catalog entry has, a bare "user" is part of the term
    // looked up, not the metric it names alone.
    let has_words = pieces.iter().any(|p| matches!(p, Piece::Words(_)));
    let mut metrics: Vec<String> = Vec::new();
    let mut dimensions: Vec<String> = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let push = |list: &mut Vec<String>, name: &str| {
        if !list.iter().any(|x| x == name) {
            list.push(name.to_string());
        }
    };
    for piece in pieces {
        match piece {
            Piece::Metrics(_, said, true) if has_words => words.push(said),
            Piece::Metrics(names, _, _) => names.iter().for_each(|m| push(&mut metrics, m)),
            Piece::Dimension(d) => push(&mut dimensions, &d),
            Piece::Words(w) => words.push(w),
        }
    }
    if metrics.len() > 4 || dimensions.len() > 4 {
        return Err(Clarify::message(
            "Ask what at most four metrics and four dimensions mean at a time.".into(),
        ));
    }
    let search: String = words
        .join(" ")
        .chars()
        .take(crate::dsl::MAX_DEFINE_SEARCH_CHARS)
        .collect();
    let search = (!search.trim().is_empty()).then(|| search.trim().to_string());
    if metrics.is_empty() && dimensions.is_empty() && search.is_none() {
        let some: Vec<String> = catalog
            .metrics
            .values()
            .take(3)
            .map(|m| m.label.clone())
            .collect();
        return Err(Clarify::message(format!(
            "Which metric or term do you mean? For example: {}.",
            some.join(", ")
        )));
    }
    Ok(Query::Define(crate::dsl::DefineQuery {
        version: None,
        metrics: metrics.into_iter().map(MetricName).collect(),
        dimensions: dimensions.into_iter().map(DimensionName).collect(),
        search,
        then: None,
    }))
}
