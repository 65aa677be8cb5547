//! A metric answer: each metric over the period, its change against the comparison period,
//! its breakdown or its series' peak and low, and a chart of what the result holds.

use serde_json::{json, Value};

use super::format;
use super::{
    caveats, compare_phrase, fmt_value, join_and, label, metric_change, metric_format, period_text,
    scoped, sources, Answer,
};
use crate::catalog::{plural, AggFunc, Catalog, Format, MetricDef, TimeBasis};
use crate::plan::{Asked, MetricPlan};
use crate::result::QueryResult;

/// A metric answer: each metric's value (and its change), then its breakdown or its peak.
pub(super) fn answer(
    plan: &MetricPlan,
    result: &QueryResult,
    catalog: &Catalog,
    min_group_size: u32,
    today: chrono::NaiveDate,
) -> Answer {
    let when = scoped(&plan.filters, period_text(&plan.period));
    // The whole scope is said once, in the first sentence.
    let scope_when = match whole_scope(plan, catalog) {
        Some(all) => format!("({all}) {when}"),
        None => when.clone(),
    };
    let mut sentences = Vec::new();
    if result.empty {
        sentences.push(no_data(plan, catalog, &scope_when));
    } else {
        for (i, row) in result.summary.iter().enumerate() {
            let when = if i == 0 { &scope_when } else { &when };
            if row.suppressed {
                sentences.push(format!(
                    "{} {when} is withheld: it covers fewer than {} distinct entities (this role's minimum group size).",
                    label(catalog, &row.metric),
                    min_group_size
                ));
                continue;
            }
            let change = metric_change(catalog, &row.metric, row.value, row.previous);
            let mut s = format!(
                "{} {when} {} {}",
                label(catalog, &row.metric),
                verb(catalog, &row.metric),
                change.value,
            );
            if let Some(c) = compare_phrase(&plan.period, plan.compare) {
                s.push_str(&format!(", {} {} {c}", change.words(), change.previous));
            }
            s.push('.');
            sentences.push(s);
        }
        if !result.breakdown.is_empty() {
            let first = &plan.metrics[0];
            let rows: Vec<_> = result
                .breakdown
                .iter()
                .filter(|r| &r.metric == first)
                .collect();
            let named: Vec<String> = rows
                .iter()
                .take(3)
                .map(|r| {
                    let key: Vec<String> = plan
                        .group_by
                        .iter()
                        .map(|d| r.dimensions[d].clone().unwrap_or_else(|| "(none)".into()))
                        .collect();
                    format!(
                        "{} ({})",
                        key.join(" · "),
                        fmt_value(catalog, first, r.value)
                    )
                })
                .collect();
            let by = plan.group_by.join(" and ");
            let lead = if plan.order == crate::dsl::Order::Asc {
                "lowest"
            } else {
                "highest"
            };
            let total = result.total_groups.unwrap_or(rows.len());
            sentences.push(format!(
                "{} by {by}, {lead} first: {}{}.",
                label(catalog, first),
                join_and(&named),
                if total > rows.len() {
                    format!(" (top {} of {total} shown)", rows.len())
                } else {
                    String::new()
                }
            ));
        }
        // A peak among withheld points would describe only what is left: say nothing then.
        let any_withheld = result.timeseries.iter().any(|p| p.suppressed);
        if let (Some(g), true, false) = (plan.granularity, plan.group_by.is_empty(), any_withheld) {
            sentences.extend(series_sentences(plan, result, catalog, g, today));
        }
        caveats(result, min_group_size, &mut sentences);
    }
    Answer {
        text: sentences.join(" "),
        chart: chart(plan, result, catalog),
        sources: sources(catalog, &plan.metrics),
    }
}

/// The series of the first metric in words: its trend when the result states one (`data.trend`:
/// a least-squares line over the complete buckets), then its peak and its low with dates, over
/// the complete buckets too.
fn series_sentences(
    plan: &MetricPlan,
    result: &QueryResult,
    catalog: &Catalog,
    g: crate::dsl::Granularity,
    today: chrono::NaiveDate,
) -> Vec<String> {
    let first = &plan.metrics[0];
    let all: Vec<_> = result
        .timeseries
        .iter()
        .filter(|p| &p.metric == first && p.value.is_some())
        .collect();
    let points: Vec<_> = all
        .iter()
        .copied()
        .filter(|p| crate::result::complete_bucket(plan, &p.date, today))
        .collect();
    let left_out = all.len() - points.len();
    let at = |date: &str| {
        let d: chrono::NaiveDate = date.parse().expect("iso date");
        match g {
            crate::dsl::Granularity::Day => format!("on {}", format::day(d)),
            crate::dsl::Granularity::Week => format!("in the week of {}", format::day(d)),
            crate::dsl::Granularity::Month => {
                use chrono::Datelike;
                let month = format::MONTH_NAMES[d.month0() as usize];
                format!("in {month} {}", d.year())
            }
        }
    };
    let unit = g.as_str();
    let partial = match left_out {
        0 => String::new(),
        1 => format!(" (a partial {unit} left out)"),
        n => format!(" ({n} partial {unit}s left out)"),
    };
    let mut out = Vec::new();
    if let Some(t) = &result.trend {
        let direction = match t.direction.as_str() {
            "up" => "trended up",
            "down" => "trended down",
            _ => "was flat",
        };
        let rise = t.rise.0;
        let amount = if super::metric_format(catalog, first) == crate::catalog::Format::Percent {
            format!("{} points", format::fixed(rise.abs() * 100.0, 1))
        } else {
            fmt_value(catalog, first, Some(crate::result::Num(rise.abs())))
        };
        let share = t
            .share
            .map(|s| {
                format!(
                    "{} of the mean, {}",
                    format::pct(s.0),
                    fmt_value(catalog, first, Some(t.mean))
                )
            })
            .unwrap_or_else(|| "the mean is 0".into());
        out.push(format!(
            "Over the {} complete {unit}s{partial}, {} {direction}: a least-squares line through the {} values {} {amount} ({share}; under {} is called flat).",
            t.points,
            label(catalog, first),
            super::every(g),
            if rise >= 0.0 { "rises by" } else { "falls by" },
            format::pct(t.flat_below.0),
        ));
    }
    let max = points
        .iter()
        .fold(None::<&&crate::result::SeriesPoint>, |best, p| match best {
            Some(b) if b.value >= p.value => Some(b),
            _ => Some(p),
        });
    let min = points
        .iter()
        .fold(None::<&&crate::result::SeriesPoint>, |best, p| match best {
            Some(b) if b.value <= p.value => Some(b),
            _ => Some(p),
        });
    if let (Some(hi), Some(lo)) = (max, min) {
        let note = match (result.trend.is_none(), left_out) {
            (true, 1) => format!(" (a partial {unit} left out)"),
            (true, 2..) => format!(" (partial {unit}s left out)"),
            _ => String::new(),
        };
        out.push(format!(
            "Per {unit}{note}, {} peaked at {} ({}) and was lowest at {} ({}).",
            label(catalog, first),
            fmt_value(catalog, first, hi.value),
            at(&hi.date),
            fmt_value(catalog, first, lo.value),
            at(&lo.date),
        ));
    }
    out
}

/// "There is no data for Signups (all countries) last week (…); nothing is estimated."
pub(super) fn no_data(plan: &MetricPlan, catalog: &Catalog, when: &str) -> String {
    let names: Vec<String> = plan.metrics.iter().map(|m| label(catalog, m)).collect();
    format!(
        "There is no data for {} {when}; nothing is estimated.",
        names.join(", ")
    )
}

fn verb(catalog: &Catalog, metric: &str) -> &'static str {
    match catalog.metrics.get(metric).map(|m| &m.def) {
        Some(MetricDef::Aggregate(a)) => match (&a.func, &a.time) {
            (AggFunc::ActiveUsers { .. } | AggFunc::Avg(_), _) => "averaged",
            (_, TimeBasis::Snapshot { .. }) => "stood at",
            _ => "was",
        },
        _ => "was",
    }
}

/// With no filter, what the number covers, said outright: "all countries, devices and
/// acquisition channels" (the catalog's driver dimensions that reach every metric and are not
/// broken down), so a reader sees that nothing was narrowed, and would see it if a word of the
/// question had been meant as a filter.
fn whole_scope(plan: &MetricPlan, catalog: &Catalog) -> Option<String> {
    if plan.asked == Asked::Overview || !plan.filters.is_empty() {
        return None;
    }
    let dims: Vec<String> = catalog
        .dimensions
        .values()
        .filter(|d| d.driver && !plan.group_by.contains(&d.name))
        .filter(|d| {
            plan.metrics
                .iter()
                .all(|m| catalog.dimensions_for_metric(m).contains(&d.name.as_str()))
        })
        .map(|d| plural(&d.name))
        .collect();
    (!dims.is_empty()).then(|| format!("all {}", join_and(&dims)))
}

/// How a chart's axis writes a metric's values (d3-format), and the unit its title adds.
fn axis(format: Format) -> (&'static str, &'static str) {
    match format {
        Format::Integer => (",", ""),
        Format::Decimal => (",.2f", ""),
        Format::Percent => (".0%", ""),
        Format::Currency => ("$,.0f", ""),
        Format::DurationMinutes => (",.1f", " (minutes)"),
        Format::DurationHours => (",.1f", " (hours)"),
    }
}

/// The value axis for `metrics`: one metric's label and format; several of one format share
/// its format (the legend names them); mixed formats get no shared format (the chart is split
/// into one row per metric, each with its own scale).
fn value_axis(metrics: &[String], catalog: &Catalog) -> Value {
    let formats: Vec<Format> = metrics.iter().map(|m| metric_format(catalog, m)).collect();
    let same = formats.windows(2).all(|w| w[0] == w[1]);
    match (metrics, same) {
        ([one], _) => {
            let (f, unit) = axis(formats[0]);
            json!({"title": format!("{}{unit}", label(catalog, one)), "format": f})
        }
        (_, true) => json!({"title": null, "format": axis(formats[0]).0}),
        _ => json!({"title": null}),
    }
}

/// The time axis: ticks on the series' grain (one per day up to two weeks of days, else one
/// a week; one per week; one per month), dates as "9 Nov" or "Nov 2026".
fn time_axis(granularity: Option<crate::dsl::Granularity>, points: usize) -> Value {
    use crate::dsl::Granularity;
    match granularity {
        Some(Granularity::Month) => {
            json!({"title": null, "format": "%b %Y", "tickCount": {"interval": "month", "step": 1}})
        }
        Some(Granularity::Week) => {
            json!({"title": null, "format": "%-d %b", "tickCount": {"interval": "week", "step": 1}})
        }
        _ if points > 14 => {
            json!({"title": null, "format": "%-d %b", "tickCount": {"interval": "week", "step": 1}})
        }
        _ => {
            json!({"title": null, "format": "%-d %b", "tickCount": {"interval": "day", "step": 1}})
        }
    }
}

/// The chart's title: the metrics and the period, as the answer says them.
fn chart_title(plan: &MetricPlan, catalog: &Catalog) -> String {
    let labels: Vec<String> = plan.metrics.iter().map(|m| label(catalog, m)).collect();
    let mut title = join_and(&labels);
    if !plan.group_by.is_empty() {
        let by: Vec<String> = plan.group_by.iter().map(|g| g.replace('_', " ")).collect();
        title.push_str(&format!(" by {}", by.join(" and ")));
    }
    format!("{title}, {}", format::range(&plan.period.range))
}

fn chart(plan: &MetricPlan, result: &QueryResult, catalog: &Catalog) -> Option<Value> {
    let schema = "https://vega.github.io/schema/vega-lite/v5.json";
    let title = chart_title(plan, catalog);
    if !result.timeseries.is_empty() {
        let y = value_axis(&plan.metrics, catalog);
        let mixed = plan.metrics.len() > 1 && y.get("format").is_none();
        let values: Vec<Value> = result
            .timeseries
            .iter()
            .flat_map(|p| {
                let series = match &p.dimensions {
                    Some(d) => {
                        let parts: Vec<String> = plan
                            .group_by
                            .iter()
                            .map(|g| d[g].clone().unwrap_or_else(|| "(none)".into()))
                            .collect();
                        format!("{} · {}", label(catalog, &p.metric), parts.join(" · "))
                    }
                    None => label(catalog, &p.metric),
                };
                let mut out = vec![json!({"date": p.date, "series": series, "period": "this period", "value": p.value})];
                // The compare period, drawn dashed at the same offsets.
                if plan.compare.is_some() && p.previous_date.is_some() {
                    out.push(json!({"date": p.date, "series": series, "period": "previous period", "value": p.previous, "previous_date": p.previous_date}));
                }
                if mixed {
                    for v in &mut out {
                        v["metric"] = json!(label(catalog, &p.metric));
                    }
                }
                out
            })
            .collect();
        let mut encoding = json!({
            // Dates are calendar days: a UTC scale keeps a browser west of UTC from
            // labelling each point with the day before.
            "x": {"field": "date", "type": "temporal", "scale": {"type": "utc"}, "axis": time_axis(plan.granularity, plan.buckets.len())},
            "y": {"field": "value", "type": "quantitative", "title": y["title"].clone(), "axis": {"format": y.get("format").cloned().unwrap_or(Value::Null)}},
            "color": {"field": "series", "type": "nominal", "title": null}
        });
        if plan.compare.is_some() {
            encoding["strokeDash"] = json!({"field": "period", "type": "nominal", "title": null, "sort": ["this period", "previous period"]});
        }
        let mut spec = json!({
            "$schema": schema,
            "title": title,
            "data": {"values": values},
            "mark": {"type": "line", "point": true},
            "encoding": encoding
        });
        if mixed {
            // Metrics in different units: one row each, each with its own scale.
            spec["encoding"]["row"] =
                json!({"field": "metric", "type": "nominal", "title": null, "sort": null});
            spec["encoding"]["y"]["axis"] = json!({});
            spec["resolve"] = json!({"scale": {"y": "independent"}});
        }
        return Some(spec);
    }
    if !result.breakdown.is_empty() {
        let first = &plan.metrics[0];
        let values: Vec<Value> = result
            .breakdown
            .iter()
            .filter(|r| &r.metric == first)
            .map(|r| {
                let parts: Vec<String> = plan
                    .group_by
                    .iter()
                    .map(|g| r.dimensions[g].clone().unwrap_or_else(|| "(none)".into()))
                    .collect();
                json!({"group": parts.join(" · "), "value": r.value})
            })
            .collect();
        let x = value_axis(std::slice::from_ref(first), catalog);
        let by: Vec<String> = plan.group_by.iter().map(|g| g.replace('_', " ")).collect();
        let title = format!(
            "{} by {}, {}",
            label(catalog, first),
            by.join(" and "),
            format::range(&plan.period.range)
        );
        return Some(json!({
            "$schema": schema,
            "title": title,
            "data": {"values": values},
            "encoding": {
                "y": {"field": "group", "type": "nominal", "sort": null, "title": null},
                "x": {"field": "value", "type": "quantitative", "title": x["title"].clone(), "axis": {"format": x["format"].clone()}}
            },
            // Bars sorted as the answer ranks them, each with its value written at its end.
            "layer": [
                {"mark": "bar"},
                {"mark": {"type": "text", "align": "left", "dx": 3}, "encoding": {"text": {"field": "value", "type": "quantitative", "format": x["format"].clone()}}}
            ]
        }));
    }
    compare_chart(plan, result, catalog, schema)
}

/// A single metric against its comparison period: two horizontal bars (the period labels
/// read across), the earlier period first. Only
/// numbers that are in the result, and none for a withheld row.
fn compare_chart(
    plan: &MetricPlan,
    result: &QueryResult,
    catalog: &Catalog,
    schema: &str,
) -> Option<Value> {
    let (_, previous_range) = plan.compare.as_ref()?;
    if plan.asked == Asked::Overview || plan.metrics.len() != 1 {
        return None;
    }
    let row = result
        .summary
        .iter()
        .find(|r| r.metric == plan.metrics[0] && !r.suppressed)?;
    let (value, previous) = (row.value?, row.previous?);
    let values = json!([
        {"period": format::range(previous_range), "value": previous},
        {"period": format::range(&plan.period.range), "value": value},
    ]);
    let x = value_axis(std::slice::from_ref(&row.metric), catalog);
    Some(json!({
        "$schema": schema,
        "title": format!("{} against the period before", label(catalog, &row.metric)),
        "data": {"values": values},
        "mark": "bar",
        "encoding": {
            "y": {"field": "period", "type": "nominal", "sort": null, "title": null},
            "x": {"field": "value", "type": "quantitative", "title": x["title"].clone(), "axis": {"format": x["format"].clone()}}
        }
    }))
}
