//! The offline rule translator, in stages:
//!
//! | stage | input → output | module |
//! |---|---|---|
//! | tokens | question → `Token`s (case kept, stems, numbers, quotes) | `tokens` |
//! | scan | tokens → `Item`s and a ledger of every token | `scan` (with `lexicon`, `time`) |
//! | read | items → `Reading` (what is asked, what was not understood) | `read` |
//! | build | reading → typed `dsl::Query`, or a clarification | `build`, `clarify` |
//!
//! Invariants: every token of the question is taken by a reading or is a known filler; anything
//! else that may carry meaning (an unknown word, a capitalised name, a short code in capitals
//! such as "IT", a number with nothing to apply to) makes the outcome a clarification that names
//! it, never a silent drop. Clarifications offer complete readings as ready questions. English
//! lives in `english.toml`; everything domain-specific comes from the catalog (names, synonyms,
//! `phrases`, values). Deterministic; no IO after construction.

mod build;
mod clarify;
mod lexicon;
mod read;
mod scan;
mod time;
mod tokens;

#[cfg(test)]
mod tests;

use chrono::NaiveDate;
use rust_stemmers::Stemmer;
use serde_json::Value;

use self::build::Built;
use self::clarify::Clarify;
pub(crate) use self::lexicon::Concept;
use self::lexicon::{English, Lexicon, Word};
use self::scan::Item;
use super::{Clarification, Translation};
use crate::catalog::Catalog;
use crate::dsl::Query;

/// What [`Rules::mentions`] finds in a question.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Mentions {
    pub concepts: Vec<Concept>,
    /// The words read as a period or a granularity, as typed.
    pub time_words: Vec<String>,
}

/// The rule translator for one catalog: its lexicon, built once.
pub struct Rules {
    lexicon: Lexicon,
    english: &'static English,
    stemmer: Stemmer,
    /// The catalog's example questions, offered when nothing else can be.
    examples: Vec<String>,
}

impl Rules {
    pub fn new(catalog: &Catalog) -> Rules {
        let english = English::get();
        let stemmer = tokens::stemmer();
        Rules {
            lexicon: Lexicon::new(catalog, english, &stemmer),
            english,
            stemmer,
            examples: catalog.example_questions.clone(),
        }
    }

    /// Translates one question. `previous` is the conversation's last DSL, for follow-ups.
    pub fn translate(
        &self,
        question: &str,
        catalog: &Catalog,
        today: NaiveDate,
        previous: Option<&Value>,
    ) -> Translation {
        match self.query(question, catalog, today, previous) {
            Ok(q) => Translation::Dsl {
                dsl: serde_json::to_value(&q).expect("queries serialize"),
            },
            Err(c) => Translation::Clarify(Clarification {
                suggestions: clarify::suggestions(&c, catalog, &self.examples),
                message: c.message,
                unmapped: c.unmapped,
            }),
        }
    }

    /// `question`'s tokens as the lexicon reads them, typos corrected.
    fn scan(&self, question: &str, catalog: &Catalog, today: NaiveDate) -> scan::Scan {
        scan::scan(
            question,
            today,
            catalog,
            &self.lexicon,
            self.english,
            &self.stemmer,
        )
    }

    /// What the lexicon finds in `question` (after typo correction), without reading it: the
    /// catalog entries it names, each once, and the words it reads as a period or a granularity
    /// ("last week", "daily"), which name no entry. A large catalog's LLM prompt is chosen by
    /// these.
    pub(crate) fn mentions(&self, question: &str, catalog: &Catalog, today: NaiveDate) -> Mentions {
        let scanned = self.scan(question, catalog, today);
        let mut out = Mentions::default();
        for item in &scanned.items {
            match item {
                Item::Concept { concepts, .. } => {
                    for c in concepts {
                        if !out.concepts.contains(c) {
                            out.concepts.push(c.clone());
                        }
                    }
                }
                Item::Time(_, said) | Item::Word(Word::Granularity(_), said) => {
                    out.time_words.push(said.clone());
                }
                _ => {}
            }
        }
        out
    }

    /// The typed reading of a question.
    pub(crate) fn query(
        &self,
        question: &str,
        catalog: &Catalog,
        today: NaiveDate,
        previous: Option<&Value>,
    ) -> Built {
        // "what is churn rate and what was it last month?": a definition, then the question
        // asked with it, each read on its own ("it" is the metric defined).
        if let Some((first, second)) = compound(question) {
            if let Ok(Query::Define(mut d)) = self.query(first, catalog, today, None) {
                let second = referred(second, &d, catalog);
                match self.query(&second, catalog, today, None)? {
                    Query::Define(more) => {
                        for m in more.metrics {
                            if !d.metrics.contains(&m) {
                                d.metrics.push(m);
                            }
                        }
                        for x in more.dimensions {
                            if !d.dimensions.contains(&x) {
                                d.dimensions.push(x);
                            }
                        }
                        d.search = match (d.search.take(), more.search) {
                            (Some(a), Some(b)) => Some(format!("{a} {b}")),
                            (a, b) => a.or(b),
                        };
                    }
                    other => d.then = Some(Box::new(other)),
                }
                return Ok(Query::Define(d));
            }
        }
        let scanned = self.scan(question, catalog, today);
        let items = &scanned.items;
        let previous: Option<Query> = previous.and_then(|p| serde_json::from_value(p.clone()).ok());
        // A follow-up to a list that names no new metric continues the list.
        let names_metric = items.iter().any(|i| {
            matches!(i, Item::Concept { concepts, .. } if concepts.iter().all(|c| matches!(c, Concept::Metric(_))))
        });
        let list_entity = match &previous {
            Some(Query::List(l)) if !names_metric => Some(l.entity.0.clone()),
            _ => None,
        };
        let context = if previous.is_some() {
            read::Context::FollowUp
        } else {
            read::Context::Fresh
        };
        let mut r = read::read(items, catalog, list_entity.as_deref(), context);

        if items.is_empty() {
            return Err(Clarify::message("What would you like to know?".into()));
        }
        if r.write {
            return Err(Clarify::message(
                "Tally only reads data; it cannot change or delete anything.".into(),
            ));
        }
        // "what does churn rate mean?", "how is DAU calculated?", "what is ARPA?": words, not
        // numbers. A question with a period ("what is DAU last week?") stays a metric question.
        if r.define_intent || bare_definition(question, items) {
            return build::define(items, catalog);
        }
        if let Some(f) = &r.future {
            return Err(Clarify::message(format!(
                "Tally reports what has happened and does not forecast (“{f}”); ask about a past period."
            ))
            .with_reading(&without_period_if_future(&r)));
        }
        if let Some(h) = &r.holiday {
            return Err(Clarify::message(format!(
                "Which dates do you mean by “{h}”? Give them, for example “between Dec 20 and Dec 31”."
            ))
            .with_reading(&r));
        }
        if let Some(s) = &r.unsupported {
            let mut c = Clarify::message(format!(
                "I can compare with the period just before or with the same period a year earlier, not with {s}."
            ));
            for compare in [
                crate::dsl::Compare::PreviousPeriod,
                crate::dsl::Compare::PreviousYear,
            ] {
                let mut d = clarify::Draft::of(&r);
                d.compare = Some(compare);
                c.drafts.push(d);
            }
            return Err(c);
        }
        if r.retention_intent && !catalog.retention.is_empty() && !r.why {
            return build::retention(r, catalog);
        }
        if r.anomalies_intent && !r.why {
            return build::anomalies(r, catalog);
        }
        if r.why {
            return build::explain(r, catalog, today);
        }
        // "did signups drop last week?", "how did sessions change WoW": a movement word asks
        // for the comparison with the period before.
        if !r.movement.is_empty() {
            let movement = std::mem::take(&mut r.movement);
            r.unknown.retain(|w| !movement.contains(w));
            r.compare.get_or_insert(crate::dsl::Compare::PreviousPeriod);
        }
        if !r.ambiguous.is_empty() {
            let (words, metrics) = &r.ambiguous[0];
            let mut c = Clarify::message(format!(
                "“{words}” could mean {}; which one?",
                metrics.join(" or ")
            ));
            for m in metrics {
                let mut d = clarify::Draft::of(&r);
                d.metrics.retain(|x| !metrics.contains(x));
                d.metrics.insert(0, m.clone());
                d.period
                    .get_or_insert(crate::dsl::Period::Preset(crate::dsl::Preset::LastWeek));
                c.drafts.push(d);
            }
            return Err(c);
        }
        if r.pii_ambiguous {
            return Err(Clarify::message("Do you mean a channel or personal contact data? Personal data is never listed; ask for a count or a breakdown instead.".into()));
        }
        if let Some(Query::List(prev)) = &previous {
            if list_entity.is_some() {
                if !r.unknown.is_empty() || !r.strays.is_empty() || !r.loose_names.is_empty() {
                    return Err(Clarify::unknown_words(&r, catalog));
                }
                return build::list_follow_up(prev.clone(), r, catalog);
            }
        }
        if r.list && !(r.list_by_which_only && matches!(previous, Some(Query::Metric(_)))) {
            return build::list(r, catalog);
        }
        if !r.unknown.is_empty() || !r.strays.is_empty() || !r.loose_names.is_empty() {
            return Err(Clarify::unknown_words(&r, catalog));
        }
        // Follow-ups edit the previous query: "and by country?", "only android", "what about wau?"
        if let Some(prev) = &previous {
            let prev_metric = matches!(prev, Query::Metric(_));
            if prev_metric || matches!(prev, Query::Overview(_)) {
                if r.list_by_which_only {
                    r.list = false;
                }
                let modifier_only =
                    r.metrics.is_empty() && !r.overview && !r.list && r.funnel.is_none();
                let swap = !r.metrics.is_empty() && r.period.is_none() && prev_metric;
                if modifier_only || swap {
                    return build::follow_up(prev.clone(), r, catalog, today);
                }
            }
        }
        if r.overview && r.metrics.iter().all(|m| r.subject_metrics.contains(m)) {
            return build::overview(r);
        }
        let funnel = r.funnel.clone().or_else(|| {
            // "where do users drop off?": the catalog's one funnel.
            (r.funnel_intent && catalog.funnels.len() == 1)
                .then(|| catalog.funnels.keys().next().cloned())
                .flatten()
        });
        if let Some(name) = funnel {
            let metric_asked = r.metrics.iter().any(|m| !r.subject_metrics.contains(m));
            if r.funnel.is_some() || !metric_asked {
                return build::funnel(&name, r, catalog);
            }
        }
        build::metric(r, catalog, today)
    }
}

/// A reading whose period was in the future has no period to offer.
fn without_period_if_future(r: &read::Reading) -> read::Reading {
    let mut r = r.clone();
    r.period = None;
    r
}

/// "what is ARPA?", "what are WAU and MAU?": a bare "what is" and catalog names only, nothing
/// else (no period, no "the" or "our" before the name, which ask for its value now).
fn bare_definition(question: &str, items: &[Item]) -> bool {
    let q = question.to_lowercase().replace('’', "'");
    let rest = ["what is ", "what's ", "whats ", "what are "]
        .iter()
        .find_map(|p| q.trim_start().strip_prefix(p));
    let Some(rest) = rest else {
        return false;
    };
    let next = rest
        .split(|c: char| !c.is_alphanumeric())
        .find(|w| !w.is_empty())
        .unwrap_or("");
    const VALUE_NOW: &[&str] = &[
        "the", "our", "my", "your", "their", "current", "today", "todays", "this", "that", "it",
        "total", "latest",
    ];
    if VALUE_NOW.contains(&next) {
        return false;
    }
    let names = items.iter().any(|i| matches!(i, Item::Concept { .. }));
    names
        && items.iter().all(|i| match i {
            Item::Word(w, _) => matches!(w, Word::Which | Word::And),
            Item::Concept { concepts, .. } => concepts
                .iter()
                .any(|c| matches!(c, Concept::Metric(_) | Concept::Dimension(_))),
            _ => false,
        })
}

/// A question of two asks joined by "and" and a question word ("… and what was it last
/// month?"): the two parts.
fn compound(question: &str) -> Option<(&str, &str)> {
    let lower = question.to_ascii_lowercase();
    // (joint, bytes before the question word that starts the second part)
    [
        (" and what ", 5),
        (" and how ", 5),
        (", and what ", 6),
        (", and how ", 6),
        (" and which ", 5),
    ]
    .iter()
    .filter_map(|(joint, skip)| lower.find(joint).map(|i| (i, *skip)))
    .min()
    .map(|(i, skip)| (question[..i].trim(), question[i + skip..].trim()))
}

/// The second part of a compound question with "it", "its", "they" and "them" said as what the
/// definition names (one metric or dimension), so it reads on its own.
fn referred(second: &str, d: &crate::dsl::DefineQuery, catalog: &Catalog) -> String {
    let name = match (d.metrics.as_slice(), d.dimensions.as_slice()) {
        ([m], []) => catalog
            .metrics
            .get(m.as_str())
            .map_or_else(|| m.to_string(), |x| x.label.clone()),
        ([], [x]) => x.as_str().replace('_', " "),
        _ => return second.to_string(),
    };
    second
        .split(' ')
        .map(|w| {
            let bare = w.trim_end_matches(['?', '!', '.', ',']);
            match bare.to_ascii_lowercase().as_str() {
                "it" | "they" | "them" | "that" => format!("{name}{}", &w[bare.len()..]),
                _ => w.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
