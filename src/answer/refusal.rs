//! What a rejected query's answer says: the first problem of an invalid query, or why a query
//! was refused and what the role may ask instead.

use crate::catalog::Catalog;
use crate::check::{Diagnostic, Refusal};
use crate::dsl::Query;

use super::period_words;

/// "The query is not valid: …", with how many problems there are in all.
pub fn invalid_text(diagnostics: &[Diagnostic]) -> String {
    let first = diagnostics
        .first()
        .map(|d| d.to_string())
        .unwrap_or_default();
    let more = if diagnostics.len() > 1 {
        format!(" ({} problems in all)", diagnostics.len())
    } else {
        String::new()
    };
    format!("The query is not valid: {first}{more}.")
}

/// "I can't answer that: …", and the suggestion in words when there is one.
pub fn refused_text(refusal: &Refusal, catalog: &Catalog) -> String {
    let offer = refusal
        .suggestion
        .as_ref()
        .map(|s| format!(" You may ask instead: {}", describe_suggestion(s, catalog)))
        .unwrap_or_default();
    format!("I can't answer that: {}{offer}", refusal.message)
}

/// A short description of a suggested query: "the number of Churned customers last month".
fn describe_suggestion(q: &Query, catalog: &Catalog) -> String {
    let when = q
        .period()
        .map(period_words)
        .and_then(|w| w.name().map(|n| format!(" {n}")))
        .unwrap_or_default();
    match q {
        Query::Metric(m) => {
            let labels: Vec<String> = m
                .metrics
                .iter()
                .map(|n| {
                    catalog
                        .metrics
                        .get(n.as_str())
                        .map_or(n.to_string(), |x| x.label.clone())
                })
                .collect();
            format!("{}{when} (see refusal.suggestion).", labels.join(", "))
        }
        Query::List(l) => {
            let fields: Vec<&str> = l.fields.iter().map(|f| f.as_str()).collect();
            format!(
                "the {} list with {}{when} (see refusal.suggestion).",
                l.entity,
                fields.join(", ")
            )
        }
        Query::Overview(_) => format!("an overview{when}."),
        Query::Explain(e) => format!("why `{}` changed{when}.", e.metric),
        Query::Retention(r) => format!("{} retention{when}.", r.retention),
        Query::Anomalies(a) => {
            let names: Vec<&str> = a.metrics.iter().map(|m| m.as_str()).collect();
            format!(
                "an anomaly scan of {}{when} (see refusal.suggestion).",
                names.join(", ")
            )
        }
        Query::Funnel(f) => match &f.funnel {
            Some(name) => format!("the {name} funnel{when} (see refusal.suggestion)."),
            None => format!("the funnel{when} (see refusal.suggestion)."),
        },
    }
}
