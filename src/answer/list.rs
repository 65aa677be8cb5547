//! A list answer: the records of an entity that match, counted and described; the rows
//! themselves are the result's.

use super::format;
use super::{condition_text, join_and, period_words, Answer, PeriodWords, Source};
use crate::catalog::Catalog;
use crate::plan::ListPlan;
use crate::result::QueryResult;

/// A list answer: how many records match, how they are sorted and whether there may be more.
pub(super) fn answer(plan: &ListPlan, result: &QueryResult, catalog: &Catalog) -> Answer {
    let entity = &catalog.entities[&plan.entity];
    let noun = entity
        .synonyms
        .first()
        .cloned()
        .unwrap_or_else(|| plan.entity.clone());
    let when = match &plan.period {
        Some((p, field)) => {
            let field = field.replace('_', " ");
            let dates = format::range(&p.range);
            match period_words(&p.asked) {
                PeriodWords::Named(w) => format!(
                    " whose {field} falls in {} ({dates})",
                    w.strip_prefix("in ").unwrap_or(&w)
                ),
                PeriodWords::OnDay => format!(" whose {field} is on {dates}"),
                PeriodWords::Dates => format!(" whose {field} falls from {dates}"),
            }
        }
        None => String::new(),
    };
    // The filters, said: "with plan tier pro or enterprise and mrr > 1000".
    let filters: Vec<String> = plan
        .filters
        .iter()
        .map(|f| condition_text(f.field.as_str(), f.op, &f.values))
        .collect();
    let with = if filters.is_empty() {
        String::new()
    } else {
        format!(" with {}", join_and(&filters))
    };
    let n = result.rows.len();
    let mut text = if n == 0 {
        format!("No {noun}{with} match{when}.")
    } else {
        format!("{n} {noun}{with}{when}")
    };
    if n > 0 {
        if let Some((field, order)) = &plan.sort {
            let date = entity
                .fields
                .get(field.as_str())
                .is_some_and(|f| f.ty == crate::catalog::ValueType::Date);
            let dir = match (order, date) {
                (crate::dsl::Order::Asc, false) => "lowest first",
                (crate::dsl::Order::Desc, false) => "highest first",
                (crate::dsl::Order::Asc, true) => "oldest first",
                (crate::dsl::Order::Desc, true) => "newest first",
            };
            text.push_str(&format!(", sorted by {}, {dir}", field.replace('_', " ")));
        }
        if n == plan.limit {
            text.push_str(&format!(" (the first {n}; there may be more)"));
        }
        text.push('.');
    }
    Answer {
        text,
        chart: None,
        sources: vec![Source {
            metric: Some(plan.entity.clone()),
            label: noun,
            definition: entity.description.clone(),
            ..Source::default()
        }],
    }
}
