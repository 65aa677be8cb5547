//! Clarifications that are never a dead end: a message naming what was not understood, and the
//! nearest complete readings built from what was, each written as a question the translator
//! itself reads ("Signups last week for US", "Signups last week, all countries").

use super::lexicon::is_code_value;
use super::read::{Reading, ValueFilter};
use crate::catalog::{plural, Catalog};
use crate::check::nearest::nearest;
use crate::dsl::{Compare, Granularity, Period, PeriodUnit, Preset};

/// A complete reading to offer, before it is written out.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Draft {
    pub metrics: Vec<String>,
    pub period: Option<Period>,
    pub compare: Option<Compare>,
    pub group_by: Vec<String>,
    pub filters: Vec<ValueFilter>,
    pub granularity: Option<Granularity>,
    /// Dimensions said as a whole ("all countries").
    pub scopes: Vec<String>,
}

impl Draft {
    /// The draft of a reading, for suggestions.
    pub(crate) fn of(r: &Reading) -> Draft {
        Draft {
            metrics: r.metrics.clone(),
            period: r.period,
            compare: r.compare,
            group_by: r.group_by.clone(),
            filters: r.filters.clone(),
            granularity: r.granularity,
            scopes: Vec::new(),
        }
    }
}

/// What to ask the user.
#[derive(Debug, Clone, Default)]
pub(crate) struct Clarify {
    pub message: String,
    pub unmapped: Vec<String>,
    pub drafts: Vec<Draft>,
    /// Words to look up as metric names for "did you mean" suggestions.
    pub lookups: Vec<String>,
    pub period: Option<Period>,
}

const MAX_VALUES_SHOWN: usize = 8;
const MAX_SUGGESTIONS: usize = 5;

impl Clarify {
    pub fn message(message: String) -> Clarify {
        Clarify {
            message,
            ..Clarify::default()
        }
    }

    /// Adds the reading's own completions: itself with a period when it lacks one.
    pub fn with_reading(mut self, r: &Reading) -> Clarify {
        self.unmapped.extend(r.unknown.iter().cloned());
        self.lookups.extend(r.unknown.iter().cloned());
        self.period = r.period;
        if !r.metrics.is_empty() {
            let d = Draft::of(r);
            if d.period.is_some() {
                self.drafts.push(d);
            } else {
                for p in usual_periods() {
                    self.drafts.push(Draft {
                        period: Some(p),
                        ..d.clone()
                    });
                }
            }
        }
        self
    }

    pub fn missing_metric(r: &Reading) -> Clarify {
        let mut c = Clarify::message("Which metric do you mean?".into());
        c.unmapped = r.unknown.clone();
        c.lookups = r.unknown.clone();
        c.period = r.period;
        c
    }

    pub fn missing_period(r: &Reading) -> Clarify {
        Clarify::message(
            "For which period? For example “last week”, “yesterday”, “last 30 days” or “in October”."
                .into(),
        )
        .with_reading(r)
    }

    /// A dimension the metric cannot be broken down or filtered by.
    pub fn not_applicable(d: &str, m: &str, r: &Reading, catalog: &Catalog) -> Clarify {
        let can: Vec<String> = catalog
            .dimensions_for_metric(m)
            .iter()
            .map(|x| x.replace('_', " "))
            .collect();
        let mut c = Clarify::message(format!(
            "{} cannot be broken down or filtered by {}; it can be by {}.",
            label(catalog, m),
            d.replace('_', " "),
            if can.is_empty() {
                "nothing".to_string()
            } else {
                can.join(", ")
            }
        ));
        let mut draft = Draft::of(r);
        draft.group_by.retain(|g| g != d);
        draft.filters.retain(|f| f.dimension != d);
        if draft.period.is_none() {
            draft.period = Some(Period::Preset(Preset::LastWeek));
        }
        c.drafts.push(draft);
        c
    }

    /// Words, names or codes nothing understood: say which, and what the question can be
    /// narrowed by instead.
    pub fn unknown_words(r: &Reading, catalog: &Catalog) -> Clarify {
        let metric = r.metrics.first();
        let applicable: Vec<&str> = match metric {
            Some(m) => catalog.dimensions_for_metric(m),
            None => catalog.dimensions.keys().map(String::as_str).collect(),
        };
        let with_values: Vec<&str> = applicable
            .iter()
            .copied()
            .filter(|d| !catalog.dimensions[*d].values.is_empty())
            .collect();
        let values_of = |d: &str| {
            let v = &catalog.dimensions[d].values;
            let mut shown: Vec<String> = v.iter().take(MAX_VALUES_SHOWN).cloned().collect();
            if v.len() > MAX_VALUES_SHOWN {
                shown.push("…".into());
            }
            shown.join(", ")
        };
        let mut sentences = Vec::new();
        let mut unmapped: Vec<String> = Vec::new();
        // The dimension a stray most likely meant, for the suggestions.
        let mut meant: Option<&str> = None;
        for s in &r.strays {
            unmapped.push(s.text.clone());
            let code_dims: Vec<&str> = with_values
                .iter()
                .copied()
                .filter(|d| {
                    catalog.dimensions[*d]
                        .values
                        .iter()
                        .all(|v| is_code_value(v))
                })
                .collect();
            match code_dims.first() {
                Some(d) => {
                    sentences.push(format!(
                        "“{}” is not a known {} ({}).",
                        s.text,
                        d.replace('_', " "),
                        values_of(d)
                    ));
                    meant.get_or_insert(d);
                }
                None => sentences.push(format!("I don't know “{}”.", s.text)),
            }
        }
        let words: Vec<String> = r
            .loose_names
            .iter()
            .cloned()
            .chain(r.unknown.iter().cloned())
            .collect();
        if !words.is_empty() {
            let quoted: Vec<String> = words.iter().map(|w| format!("“{w}”")).collect();
            let narrow: Vec<String> = with_values
                .iter()
                .take(3)
                .map(|d| format!("{} ({})", d.replace('_', " "), values_of(d)))
                .collect();
            let by = match (metric, narrow.is_empty()) {
                (Some(m), false) => format!(
                    " {} can be narrowed by {}.",
                    label(catalog, m),
                    narrow.join("; ")
                ),
                _ => String::new(),
            };
            sentences.push(format!(
                "I don't know what {} {} here.{by}",
                quoted.join(", "),
                if quoted.len() == 1 { "means" } else { "mean" }
            ));
            if !r.loose_names.is_empty() {
                meant = meant.or(with_values.first().copied());
            }
            unmapped.extend(words);
        }
        let mut c = Clarify::message(sentences.join(" "));
        c.unmapped = unmapped;
        c.lookups = r.unknown.clone();
        c.period = r.period;
        if !r.metrics.is_empty() {
            let mut base = Draft::of(r);
            if base.period.is_none() {
                base.period = Some(Period::Preset(Preset::LastWeek));
            }
            if let Some(d) = meant {
                let values = &catalog.dimensions[d].values;
                for v in values.iter().take(3) {
                    let mut draft = base.clone();
                    draft.filters.retain(|f| f.dimension != d);
                    draft.filters.push(ValueFilter {
                        dimension: d.to_string(),
                        negated: false,
                        values: vec![v.clone()],
                    });
                    c.drafts.push(draft);
                }
                let mut all = base.clone();
                all.filters.retain(|f| f.dimension != d);
                all.scopes.push(d.to_string());
                c.drafts.push(all);
            } else {
                c.drafts.push(base);
            }
        }
        c
    }
}

fn usual_periods() -> [Period; 3] {
    [
        Period::Preset(Preset::LastWeek),
        Period::LastN(crate::dsl::LastN {
            count: 30,
            unit: PeriodUnit::Day,
        }),
        Period::Preset(Preset::ThisMonth),
    ]
}

fn label(catalog: &Catalog, metric: &str) -> String {
    catalog
        .metrics
        .get(metric)
        .map(|m| m.label.clone())
        .unwrap_or_else(|| metric.replace('_', " "))
}

fn period_words(p: &Period) -> String {
    match p {
        Period::Preset(p) => p.words().to_string(),
        Period::LastN(n) => {
            let unit = match n.unit {
                PeriodUnit::Day => "days",
                PeriodUnit::Week => "weeks",
                PeriodUnit::Month => "months",
            };
            format!("in the last {} {unit}", n.count)
        }
        Period::Between(b) => format!("between {} and {}", b.start, b.end),
        Period::Date(d) => format!("on {d}"),
    }
}

/// A value as a question says it: codes as typed, the rest with spaces; a value that is also
/// another word of the catalog ("email") with its dimension's noun.
fn value_words(catalog: &Catalog, dimension: &str, value: &str) -> String {
    if is_code_value(value) {
        return value.to_string();
    }
    let text = value.replace('_', " ");
    let elsewhere = catalog
        .metrics
        .values()
        .any(|m| m.name == value || m.synonyms.iter().any(|s| s.eq_ignore_ascii_case(&text)))
        || catalog.entities.values().any(|e| {
            e.fields.values().any(|f| {
                f.name == value || f.synonyms.iter().any(|s| s.eq_ignore_ascii_case(&text))
            })
        });
    if elsewhere {
        format!("{text} {}", dimension.replace('_', " "))
    } else {
        text
    }
}

/// Writes a draft as a question the rule translator reads back as that draft.
pub(crate) fn render(d: &Draft, catalog: &Catalog) -> Option<String> {
    let period = d.period.as_ref()?;
    let labels: Vec<String> = d.metrics.iter().map(|m| label(catalog, m)).collect();
    if labels.is_empty() {
        return None;
    }
    let mut q = labels.join(" and ");
    if !d.group_by.is_empty() {
        let by: Vec<String> = d.group_by.iter().map(|g| g.replace('_', " ")).collect();
        q.push_str(&format!(" by {}", by.join(" and ")));
    }
    if let Some(g) = d.granularity {
        q.push_str(&format!(" per {}", g.as_str()));
    }
    q.push(' ');
    q.push_str(&period_words(period));
    match d.compare {
        Some(Compare::PreviousPeriod) => q.push_str(" vs the previous period"),
        Some(Compare::PreviousYear) => q.push_str(" vs the same period last year"),
        None => {}
    }
    for f in &d.filters {
        if f.values.is_empty() {
            continue;
        }
        let values: Vec<String> = f
            .values
            .iter()
            .map(|v| value_words(catalog, &f.dimension, v))
            .collect();
        let lead = if f.negated { "excluding" } else { "for" };
        q.push_str(&format!(" {lead} {}", values.join(" and ")));
    }
    for s in &d.scopes {
        q.push_str(&format!(", all {}", plural(s)));
    }
    let mut chars = q.chars();
    let first = chars.next()?;
    Some(first.to_uppercase().collect::<String>() + chars.as_str())
}

/// The suggestions of a clarification: its drafts as questions, "did you mean" metrics, and
/// the catalog's example questions only when nothing else could be offered.
pub(crate) fn suggestions(c: &Clarify, catalog: &Catalog, examples: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for d in &c.drafts {
        if let Some(q) = render(d, catalog) {
            if !out.contains(&q) {
                out.push(q);
            }
        }
    }
    let candidates: Vec<(&str, Vec<&str>)> = catalog
        .metrics
        .values()
        .map(|m| {
            (
                m.name.as_str(),
                m.synonyms.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    for w in &c.lookups {
        if let Some(m) = nearest(w, &candidates) {
            let d = Draft {
                metrics: vec![m.to_string()],
                period: Some(c.period.unwrap_or(Period::Preset(Preset::LastWeek))),
                ..Draft::default()
            };
            if let Some(q) = render(&d, catalog) {
                if !out.contains(&q) {
                    out.push(q);
                }
            }
        }
    }
    out.truncate(MAX_SUGGESTIONS);
    if out.is_empty() {
        out.extend(examples.iter().cloned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drafts_render_as_questions() {
        let catalog = Catalog::embedded_default();
        let d = Draft {
            metrics: vec!["signups".into()],
            period: Some(Period::Preset(Preset::LastWeek)),
            filters: vec![ValueFilter {
                dimension: "acquisition_channel".into(),
                negated: false,
                values: vec!["paid_search".into(), "email".into()],
            }],
            scopes: vec!["country".into()],
            ..Draft::default()
        };
        assert_eq!(
            render(&d, &catalog).unwrap(),
            "Signups last week for paid search and email acquisition channel, all countries"
        );
    }
}
