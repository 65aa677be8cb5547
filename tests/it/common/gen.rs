//! Random DSL documents drawn from a catalog (proptest strategies): every kind, periods of
//! every form (one-day, month ends, leap days, year boundaries, future dates), granularities,
//! group_by, filters with every operator and values present and absent in the data, top_n and
//! compare. Names come from the catalog, so a document is often valid and sometimes not, as a
//! user's or an LLM's would be; shrinking drops what does not matter.

use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{json, Map, Value};
use tally::catalog::{Catalog, Sensitivity};

const OPS: &[&str] = &[
    "eq", "neq", "in", "not_in", "contains", "gt", "gte", "lt", "lte",
];
const PRESETS: &[&str] = &[
    "today",
    "yesterday",
    "this_week",
    "last_week",
    "this_month",
    "last_month",
    "this_quarter",
    "last_quarter",
    "this_year",
    "last_year",
];
/// Edges of the calendar: leap day, month and year ends, the demo's last day, the future.
const DATES: &[&str] = &[
    "2024-02-29",
    "2025-12-31",
    "2026-01-01",
    "2026-02-28",
    "2026-03-31",
    "2026-06-30",
    "2026-11-17",
    "2026-11-22",
    "2026-11-23",
    "2027-01-01",
];

/// A period in every form the DSL has.
pub fn period() -> impl Strategy<Value = Value> {
    prop_oneof![
        select(PRESETS).prop_map(|p| json!({"preset": p})),
        (1u32..=90, select(&["day", "week", "month"][..]))
            .prop_map(|(count, unit)| json!({"last_n": {"count": count, "unit": unit}})),
        (select(DATES), 0u64..=120).prop_map(|(start, len)| {
            let s: chrono::NaiveDate = start.parse().unwrap();
            let e = s + chrono::Days::new(len);
            json!({"between": {"start": start, "end": e.to_string()}})
        }),
        select(DATES).prop_map(|d| json!({"date": d})),
    ]
}

/// A filter value: one the dimension has, or one it does not.
fn values(known: Vec<String>) -> impl Strategy<Value = Vec<Value>> {
    let one = if known.is_empty() {
        prop_oneof![Just("x".to_string()), "[a-z]{1,6}"].boxed()
    } else {
        prop_oneof![
            4 => select(known),
            1 => prop_oneof![Just("nope".to_string()), "[a-zA-Z_]{1,8}", Just("10".to_string())],
        ]
        .boxed()
    };
    proptest::collection::vec(one.prop_map(Value::String), 1..=3)
}

/// Dimensions a query may name (no personal data: that is refused before anything runs).
fn dimension_names(catalog: &Catalog) -> Vec<(String, Vec<String>)> {
    catalog
        .dimensions
        .values()
        .filter(|d| d.sensitivity < Sensitivity::Pii)
        .map(|d| (d.name.clone(), d.values.clone()))
        .collect()
}

fn filter(dims: Vec<(String, Vec<String>)>) -> impl Strategy<Value = Value> {
    select(dims).prop_flat_map(|(name, known)| {
        (select(OPS), values(known)).prop_map(move |(op, mut vals)| {
            if !matches!(op, "in" | "not_in") {
                vals.truncate(1);
            }
            json!({"dimension": name, "op": op, "values": vals})
        })
    })
}

/// A `metric` query.
pub fn metric_query(catalog: &Catalog) -> impl Strategy<Value = Value> {
    let metrics: Vec<String> = catalog.metrics.keys().cloned().collect();
    let dims = dimension_names(catalog);
    let names: Vec<String> = dims.iter().map(|(n, _)| n.clone()).collect();
    (
        proptest::sample::subsequence(metrics, 1..=2),
        period(),
        proptest::option::weighted(0.3, select(&["previous_period", "previous_year"][..])),
        proptest::option::weighted(0.3, select(&["day", "week", "month"][..])),
        proptest::sample::subsequence(names, 0..=1),
        proptest::collection::vec(filter(dims), 0..=2),
        proptest::option::weighted(0.2, 1u32..=20),
    )
        .prop_map(
            |(metrics, period, compare, granularity, group_by, filters, top_n)| {
                let mut q = Map::new();
                q.insert("kind".into(), json!("metric"));
                q.insert("metrics".into(), json!(metrics));
                q.insert("period".into(), period);
                if let Some(c) = compare {
                    q.insert("compare".into(), json!(c));
                }
                if let Some(g) = granularity {
                    q.insert("granularity".into(), json!(g));
                }
                if !group_by.is_empty() {
                    q.insert("group_by".into(), json!(group_by));
                }
                if !filters.is_empty() {
                    q.insert("filters".into(), json!(filters));
                }
                if let Some(n) = top_n {
                    q.insert("top_n".into(), json!(n));
                }
                Value::Object(q)
            },
        )
}

/// A `list` query over one of the catalog's entities.
pub fn list_query(catalog: &Catalog) -> impl Strategy<Value = Value> {
    let entities: Vec<(String, Vec<String>)> = catalog
        .entities
        .values()
        .map(|e| {
            let fields = e
                .fields
                .values()
                .filter(|f| f.sensitivity < Sensitivity::Pii)
                .map(|f| f.name.clone())
                .collect();
            (e.name.clone(), fields)
        })
        .collect();
    select(entities).prop_flat_map(|(entity, fields)| {
        (
            proptest::sample::subsequence(fields.clone(), 1..=fields.len().min(4)),
            proptest::option::weighted(0.5, (select(fields), select(&["asc", "desc"][..]))),
            proptest::option::weighted(0.3, period()),
            1u32..=30,
        )
            .prop_map(move |(fields, sort, period, limit)| {
                let mut q = json!({"kind": "list", "entity": entity, "fields": fields,
                                   "limit": limit});
                if let Some((field, order)) = sort {
                    q["sort"] = json!({"field": field, "order": order});
                }
                if let Some(p) = period {
                    q["period"] = p;
                }
                q
            })
    })
}

/// Any kind: mostly metrics, some lists, explains, overviews and funnels.
pub fn query(catalog: &Catalog) -> impl Strategy<Value = Value> {
    let funnels: Vec<String> = catalog.funnels.keys().cloned().collect();
    let funnel = if funnels.is_empty() {
        Just(json!({"kind": "funnel", "funnel": "none", "period": {"preset": "last_week"}})).boxed()
    } else {
        (select(funnels), period())
            .prop_map(|(f, p)| json!({"kind": "funnel", "funnel": f, "period": p}))
            .boxed()
    };
    let list = if catalog.entities.is_empty() {
        metric_query(catalog).boxed()
    } else {
        list_query(catalog).boxed()
    };
    let metrics: Vec<String> = catalog.metrics.keys().cloned().collect();
    let explain = (
        select(metrics),
        prop_oneof![
            select(DATES).prop_map(|d| json!({"date": d})),
            select(&["yesterday", "last_week", "last_month"][..])
                .prop_map(|p| json!({"preset": p})),
        ],
        proptest::option::of(select(&["same_weekday_avg_4w", "previous_period"][..])),
    )
        .prop_map(|(metric, period, baseline)| {
            let mut q = json!({"kind": "explain", "metric": metric, "period": period});
            if let Some(b) = baseline {
                q["baseline"] = json!(b);
            }
            q
        });
    prop_oneof![
        6 => metric_query(catalog),
        1 => explain,
        2 => list,
        1 => (period(), proptest::option::of(Just("previous_period")))
            .prop_map(|(p, c)| {
                let mut q = json!({"kind": "overview", "period": p});
                if let Some(c) = c {
                    q["compare"] = json!(c);
                }
                q
            }),
        1 => funnel,
    ]
}
