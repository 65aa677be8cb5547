//! A `define` answer: each metric and dimension asked about in words (what it is, how it is
//! computed, where it is read, how it is shown), the difference between two metrics of one
//! type, and the docs' passages as quotations with their file and heading.
//!
//! Invariants: no numbers of the data; a passage is said only inside quotation marks, with its
//! source, and never changes what else is said.

use super::{join_and, Answer, Source};
use crate::catalog::Catalog;
use crate::result::{DefineOut, DimensionDefinition, MetricDefinition, QueryResult};

/// `withheld`: passages that matched but name what the role may not ask about (not quoted,
/// and said only when nothing else is).
pub(super) fn answer(result: &QueryResult, catalog: &Catalog, withheld: usize) -> Answer {
    let Some(d) = &result.define else {
        return Answer {
            text: String::new(),
            chart: None,
            sources: Vec::new(),
        };
    };
    let mut paragraphs: Vec<String> = Vec::new();
    for m in &d.metrics {
        paragraphs.push(metric_text(m, catalog));
    }
    if let Some(sentence) = difference(&d.metrics, catalog) {
        paragraphs.push(sentence);
    }
    for x in &d.dimensions {
        paragraphs.push(dimension_text(x));
    }
    paragraphs.push(passages_text(d, catalog, withheld));
    let mut sources = super::sources(
        catalog,
        &d.metrics.iter().map(|m| m.name.clone()).collect::<Vec<_>>(),
    );
    sources.extend(d.dimensions.iter().map(|x| Source {
        metric: Some(x.name.clone()),
        label: x.name.replace('_', " "),
        definition: x.description.clone(),
        ..Source::default()
    }));
    sources.extend(d.passages.iter().map(|p| Source {
        metric: None,
        label: format!("{} › {}", p.file, p.heading),
        definition: p.text.clone(),
        file: Some(p.file.clone()),
        heading: Some(p.heading.clone()),
    }));
    Answer {
        text: paragraphs
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("\n\n"),
        chart: None,
        sources,
    }
}

fn label(catalog: &Catalog, name: &str) -> String {
    super::label(catalog, name)
}

/// "Churn rate (`churn_rate`): Customers churned in the period / customers active at its
/// start. Computed as Churned customers divided by Active customers at period start, shown as
/// a percentage; lower is better. Also called …"
fn metric_text(m: &MetricDefinition, catalog: &Catalog) -> String {
    let mut s = format!("{} ({}): {}", m.label, m.name, sentence(&m.description));
    s.push_str(&format!(
        " Computed as {}, shown as {}",
        formula(m, catalog),
        format_words(&m.format)
    ));
    if m.lower_is_better {
        s.push_str("; lower is better");
    }
    s.push('.');
    if !m.synonyms.is_empty() {
        let quoted: Vec<String> = m.synonyms.iter().map(|x| format!("“{x}”")).collect();
        s.push_str(&format!(" Also asked as {}.", join_or(&quoted)));
    }
    s
}

fn sentence(text: &str) -> String {
    let t = text.trim();
    if t.is_empty() || t.ends_with('.') {
        t.to_string()
    } else {
        format!("{t}.")
    }
}

/// How the metric is computed, in words.
fn formula(m: &MetricDefinition, catalog: &Catalog) -> String {
    let table = m.table.as_deref().unwrap_or("");
    let rows = rows_words(m);
    let measure = || match (&m.column, &m.duration) {
        (_, Some(d)) => format!("the time from {} to {} in {}s", d.from, d.to, d.unit),
        (Some(c), None) => c.clone(),
        (None, None) => "the value".into(),
    };
    match m.ty.as_str() {
        "count" => format!("the number of rows of {table}{rows}"),
        "count_distinct" => format!(
            "the number of distinct {} values in {table}{rows}",
            m.column.as_deref().unwrap_or("")
        ),
        "sum" => format!("the sum of {} over the rows of {table}{rows}", measure()),
        "avg" => format!("the mean of {} over the rows of {table}{rows}", measure()),
        "median" => format!("the median of {} over the rows of {table}{rows}", measure()),
        "active_users" => {
            let window = m.window.as_deref().unwrap_or("day");
            let windows = match window {
                "week" => "ISO weeks (Monday to Sunday)",
                "month" => "calendar months",
                _ => "days",
            };
            format!(
                "the number of distinct {} values in {table} with a row in each {window}{}, averaged over the {windows} of the period",
                m.column.as_deref().unwrap_or(""),
                time_words(m)
            )
        }
        "ratio" => format!(
            "{} divided by {}",
            label(catalog, m.numerator.as_deref().unwrap_or("")),
            label(catalog, m.denominator.as_deref().unwrap_or(""))
        ),
        "derived" => {
            let e = m
                .expression
                .as_deref()
                .and_then(|e| crate::catalog::Expr::parse(e).ok());
            match e {
                Some(e) => e.render(&|n| label(catalog, n)),
                None => m.expression.clone().unwrap_or_default(),
            }
        }
        other => other.replace('_', " "),
    }
}

/// Which rows an aggregate reads: its conditions and its time basis.
fn rows_words(m: &MetricDefinition) -> String {
    let mut s = String::new();
    if !m.conditions.is_empty() {
        let each: Vec<String> = m
            .conditions
            .iter()
            .map(|(c, v)| format!("{c} is {v}"))
            .collect();
        s.push_str(&format!(" where {}", join_and(&each)));
    }
    s.push_str(&time_words(m));
    s
}

fn time_words(m: &MetricDefinition) -> String {
    if let Some(t) = &m.time {
        return format!(" (dated by {t}, in the period)");
    }
    if let Some(snap) = &m.snapshot {
        return format!(
            " valid at the {} of the period ({} before it, {} empty or after it)",
            snap.at, snap.from, snap.to
        );
    }
    String::new()
}

fn format_words(format: &str) -> &'static str {
    match format {
        "integer" => "a whole number",
        "percent" => "a percentage",
        "currency" => "an amount of money",
        "duration_minutes" => "minutes",
        "duration_hours" => "hours",
        _ => "a decimal number",
    }
}

/// For two metrics of the same type: what sets them apart, in one sentence.
fn difference(metrics: &[MetricDefinition], catalog: &Catalog) -> Option<String> {
    let [a, b] = metrics else {
        return None;
    };
    if a.ty != b.ty {
        return None;
    }
    let (la, lb) = (a.label.as_str(), b.label.as_str());
    let mut parts: Vec<String> = Vec::new();
    let mut differs = |what: &str, x: Option<String>, y: Option<String>| {
        if x != y {
            let say = |v: Option<String>| v.unwrap_or_else(|| "none".into());
            parts.push(format!("{what}: {} for {la}, {} for {lb}", say(x), say(y)));
        }
    };
    let window = |m: &MetricDefinition| {
        m.window.as_deref().map(|w| {
            match w {
                "week" => "an ISO week",
                "month" => "a calendar month",
                _ => "a day",
            }
            .to_string()
        })
    };
    differs("the window", window(a), window(b));
    differs("the table", a.table.clone(), b.table.clone());
    differs("the date column", a.time.clone(), b.time.clone());
    differs(
        "the moment counted",
        a.snapshot
            .as_ref()
            .map(|s| format!("the {} of the period", s.at)),
        b.snapshot
            .as_ref()
            .map(|s| format!("the {} of the period", s.at)),
    );
    differs("the column", a.column.clone(), b.column.clone());
    let conditions = |m: &MetricDefinition| {
        (!m.conditions.is_empty()).then(|| {
            let each: Vec<String> = m
                .conditions
                .iter()
                .map(|(c, v)| format!("{c} is {v}"))
                .collect();
            join_and(&each)
        })
    };
    differs("the rows kept", conditions(a), conditions(b));
    let name = |n: &Option<String>| n.as_deref().map(|n| label(catalog, n));
    differs("the numerator", name(&a.numerator), name(&b.numerator));
    differs(
        "the denominator",
        name(&a.denominator),
        name(&b.denominator),
    );
    differs("the expression", a.expression.clone(), b.expression.clone());
    if parts.is_empty() {
        return Some(format!(
            "{la} and {lb} are computed the same way; they differ only in name."
        ));
    }
    let kind = match a.ty.as_str() {
        "active_users" => "active-user counts".to_string(),
        "count_distinct" => "distinct counts".to_string(),
        "count" => "counts of rows".to_string(),
        "ratio" => "ratios".to_string(),
        "derived" => "derived metrics".to_string(),
        other => format!("{other} metrics"),
    };
    Some(format!(
        "The difference: both are {kind}; they differ in {}.",
        parts.join("; ")
    ))
}

fn dimension_text(x: &DimensionDefinition) -> String {
    let mut s = format!(
        "{} ({}): {}",
        crate::catalog::capitalise(&x.name.replace('_', " ")),
        x.name,
        sentence(&x.description)
    );
    if let Some(values) = &x.values {
        s.push_str(&format!(" Its values: {}.", values.join(", ")));
    }
    if !x.synonyms.is_empty() {
        let quoted: Vec<String> = x.synonyms.iter().map(|v| format!("“{v}”")).collect();
        s.push_str(&format!(" Also asked as {}.", join_or(&quoted)));
    }
    s
}

/// The passages as quotations with file and heading, or what the docs did not have (or had
/// only for other roles: said so, without saying what).
fn passages_text(d: &DefineOut, catalog: &Catalog, withheld: usize) -> String {
    if d.passages.is_empty() {
        let has_docs = !catalog.docs.passages().is_empty();
        return match (&d.search, has_docs) {
            (Some(s), true) if withheld > 0 => format!(
                "The docs say nothing about “{}” that this role may read.",
                s.trim()
            ),
            (Some(s), true) => format!("The docs say nothing about “{}”.", s.trim()),
            (Some(s), false) => format!("This catalog has no docs to look up “{}” in.", s.trim()),
            (None, _) => String::new(),
        };
    }
    let quotes: Vec<String> = d
        .passages
        .iter()
        .map(|p| {
            let flat: Vec<&str> = p.text.split_whitespace().collect();
            format!("“{}” ({} › {})", flat.join(" "), p.file, p.heading)
        })
        .collect();
    format!("From the docs:\n{}", quotes.join("\n"))
}

fn join_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}
