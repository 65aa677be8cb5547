//! What a rejected query's answer says: the first problem of an invalid query, or why a query
//! was refused and what the role may ask instead.

use crate::catalog::{capitalise, Catalog};
use crate::check::{Diagnostic, Refusal, RefusalCode};
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

/// "I can't answer that: …", in words for people (labels, not names in backticks), the
/// catalog's data-access contact when personal data was asked for, and the suggestion in words
/// when there is one (the response's `refusal` keeps the technical message and the query).
pub fn refused_text(refusal: &Refusal, catalog: &Catalog) -> String {
    let offer = refusal
        .suggestion
        .as_ref()
        .map(|s| format!(" You may ask instead: {}", describe_suggestion(s, catalog)))
        .unwrap_or_default();
    let contact = catalog
        .data_access_contact
        .as_ref()
        .filter(|_| {
            refusal
                .reasons
                .iter()
                .any(|r| r.code == RefusalCode::PiiNotPermitted)
        })
        .map(|c| format!(" For a legitimate need (an audit, a legal request), ask {c}."))
        .unwrap_or_default();
    format!(
        "I can't answer that: {}{contact}{offer}",
        plain(&refusal.message, catalog)
    )
}

/// `text` with every `name` in backticks said for people: a metric by its label, a dimension,
/// field or role with spaces for underscores; a label starts with a capital only at the start
/// of the text (or keeps one when it is an acronym such as MRR). Role names are spaced too.
fn plain(text: &str, catalog: &Catalog) -> String {
    let human = |name: &str, first: bool| -> String {
        let said = catalog
            .metrics
            .get(name)
            .map(|m| m.label.clone())
            .unwrap_or_else(|| name.replace('_', " "));
        let mut chars = said.chars();
        let Some(c) = chars.next() else {
            return said;
        };
        let acronym = chars.next().is_some_and(char::is_uppercase);
        if first {
            capitalise(&said)
        } else if acronym {
            said
        } else {
            c.to_lowercase().chain(said.chars().skip(1)).collect()
        }
    };
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('`') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let Some(j) = after.find('`') else {
            out.push_str(after);
            rest = "";
            break;
        };
        out.push_str(&human(&after[..j], out.is_empty()));
        rest = &after[j + 1..];
    }
    out.push_str(rest);
    for role in catalog.roles.keys().filter(|r| r.contains('_')) {
        out = out.replace(
            &format!(" {role} role"),
            &format!(" {} role", role.replace('_', " ")),
        );
    }
    out
}

/// A short description of a suggested query: "the number of Churned customers last month".
fn describe_suggestion(q: &Query, catalog: &Catalog) -> String {
    let when = q
        .period()
        .map(period_words)
        .and_then(|w| w.name().map(|n| format!(" {n}")))
        .unwrap_or_default();
    let label = |n: &str| {
        catalog
            .metrics
            .get(n)
            .map_or(n.replace('_', " "), |x| x.label.clone())
    };
    match q {
        Query::Metric(m) => {
            let labels: Vec<String> = m.metrics.iter().map(|n| label(n.as_str())).collect();
            format!("{}{when}.", labels.join(", "))
        }
        Query::List(l) => {
            let fields: Vec<String> = l
                .fields
                .iter()
                .map(|f| f.as_str().replace('_', " "))
                .collect();
            format!(
                "the {} list with {}{when}.",
                l.entity.as_str().replace('_', " "),
                fields.join(", ")
            )
        }
        Query::Overview(_) => format!("an overview{when}."),
        Query::Explain(e) => format!("why {} changed{when}.", label(e.metric.as_str())),
        Query::Retention(r) => format!(
            "{}{when}.",
            catalog
                .retention
                .get(r.retention.as_str())
                .map_or_else(|| format!("{} retention", r.retention), |d| d.label.clone())
        ),
        Query::Anomalies(a) => {
            let names: Vec<String> = a.metrics.iter().map(|m| label(m.as_str())).collect();
            format!("an anomaly scan of {}{when}.", names.join(", "))
        }
        Query::Define(d) => {
            let mut names: Vec<String> = d.metrics.iter().map(|m| label(m.as_str())).collect();
            names.extend(d.dimensions.iter().map(|x| x.as_str().replace('_', " ")));
            if names.is_empty() {
                "what the docs say.".to_string()
            } else {
                let verb = if names.len() == 1 { "means" } else { "mean" };
                format!("what {} {verb}.", super::join_and(&names))
            }
        }
        Query::Funnel(f) => match &f.funnel {
            Some(name) => format!("the {name} funnel{when}."),
            None => format!("the funnel{when}."),
        },
    }
}
