//! An overview answer: the role's KPIs over the period in one sentence, each with its change
//! when a comparison was asked.

use super::metric;
use super::{compare_phrase, label, metric_change, period_text, scoped, sources, Answer};
use crate::catalog::Catalog;
use crate::plan::MetricPlan;
use crate::result::QueryResult;

/// "Overview last week (…), compared with the week before: Signups 564 (down 1.6% from 573); …".
pub(super) fn answer(plan: &MetricPlan, result: &QueryResult, catalog: &Catalog) -> Answer {
    let when = scoped(&plan.filters, period_text(&plan.period));
    let text = if result.empty {
        metric::no_data(plan, catalog, &when)
    } else {
        let parts: Vec<String> = result
            .summary
            .iter()
            .map(|row| {
                let change = metric_change(catalog, &row.metric, row.value, row.previous);
                let mut s = format!("{} {}", label(catalog, &row.metric), change.value);
                if plan.compare.is_some() {
                    s.push_str(&format!(" ({} {})", change.words(), change.previous));
                }
                s
            })
            .collect();
        let vs = compare_phrase(&plan.period, plan.compare)
            .map(|c| format!(", compared with {c}"))
            .unwrap_or_default();
        format!("Overview {when}{vs}: {}.", parts.join("; "))
    };
    // An overview has no series, no breakdown and no single metric to set against its
    // comparison, so it has no chart.
    Answer {
        text,
        chart: None,
        sources: sources(catalog, &plan.metrics),
    }
}
