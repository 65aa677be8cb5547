//! The offline rule translator: canonicalises the question (case, punctuation, typos, catalog
//! names and synonyms, known values, time expressions), reads it as a sequence of recognised
//! items, and builds DSL only when nothing is left over. Everything domain-specific comes from the
//! catalog; this file knows English, calendars and the DSL.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde_json::{json, Map, Value};

use super::{Clarification, Translation};
use crate::catalog::{Catalog, ValueType};
use crate::check::nearest::{distance, nearest};
use crate::dsl::{Compare, Period};
use crate::plan::time::{compare_range, resolve};

/// A catalog meaning of a phrase.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Concept {
    Metric(String),
    Dimension(String),
    Value { dimension: String, value: String },
    Entity(String),
    Field(String),
    Funnel(String),
}

/// One recognised piece of the question.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    Concept(Concept),
    Period(Value),
    Compare(Compare),
    Granularity(&'static str),
    /// "by", "per", "broken down by", "split by", "for each", "across".
    By,
    /// "top 5" / "bottom 3".
    Top {
        n: u32,
        asc: bool,
    },
    /// "not", "excluding", "except", "without".
    Not,
    /// "how are we doing", "overview", "kpis".
    Overview,
    /// "show me", "list", "which", "who".
    ListVerb,
    /// "why", "what caused", "explain": the explain kind.
    Why,
    /// "how many", "number of", "count of": a count, not a list.
    Count,
    Number(u32),
    /// A quoted string: a free-text value passed exactly as written.
    Quoted(String),
    /// "lowest first" (true), "highest first" (false).
    Order(bool),
    /// "newest" (false: descending by the entity's time field), "oldest" (true).
    Newest(bool),
    /// "over", "at least", "under", "at most" before a number.
    Cmp(&'static str),
    /// "contains", "containing", "matching".
    Contains,
    /// "including", "with their", "plus": fields added to the defaults.
    Including,
    /// "the month before", "the 7 days before that": the period just before the previous one.
    Shift,
    /// "drop the filter", "without filters".
    DropFilters,
    Unknown(String),
}

/// Words that carry no meaning for the query (after time, concept and intent phrases are taken).
const STOPWORDS: &[&str] = &[
    "a",
    "about",
    "all",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "been",
    "can",
    "could",
    "data",
    "did",
    "do",
    "does",
    "doing",
    "during",
    "for",
    "from",
    "get",
    "give",
    "go",
    "going",
    "got",
    "had",
    "has",
    "have",
    "hey",
    "hi",
    "how",
    "i",
    "in",
    "is",
    "it",
    "its",
    "just",
    "kindly",
    "know",
    "let",
    "like",
    "look",
    "looking",
    "me",
    "much",
    "my",
    "need",
    "numbers",
    "number",
    "of",
    "on",
    "our",
    "over",
    "please",
    "pls",
    "plz",
    "quick",
    "quickly",
    "see",
    "show",
    "so",
    "tell",
    "than",
    "thanks",
    "that",
    "the",
    "their",
    "them",
    "there",
    "these",
    "this",
    "those",
    "to",
    "total",
    "up",
    "us",
    "was",
    "we",
    "were",
    "what",
    "whats",
    "what's",
    "which",
    "with",
    "would",
    "you",
    "your",
    "yo",
    "ok",
    "okay",
    "there",
    "currently",
    "right",
    "now",
    "value",
    "values",
    "metric",
    "metrics",
    "stats",
    "statistics",
    "figure",
    "figures",
    "level",
    "levels",
    "amount",
    "overall",
    "check",
    "curious",
    "wondering",
    "want",
    "wanna",
    "could",
    "report",
    "info",
    "information",
    "breakdown",
    "been",
    "happening",
    "happened",
    "rate",
    "count",
    "many",
    "recent",
    "period",
    "time",
    "whole",
    "entire",
    "exactly",
    "roughly",
    "trend",
    "trends",
    "trending",
    "look",
    "looks",
    "did",
    "compare",
    "comparison",
    "change",
    "changed",
    "vs",
    "versus",
    "against",
    "compared",
    "same",
    "find",
    "out",
    "pull",
    "fetch",
    "display",
    "only",
    "far",
    "people",
    "folks",
    "via",
    "their",
    "date",
    "dates",
    "first",
    "end",
    "start",
    "beginning",
    "active",
    "brought",
    "came",
    "placed",
    "happen",
    "records",
    "record",
    "board",
    "deck",
    "meeting",
    "presentation",
    "slide",
    "slides",
    "audit",
    "compliance",
    "it",
    "when",
    "where",
    "while",
    "again",
    "also",
    "too",
    "some",
    "then",
    "sure",
    "really",
    "actually",
    "whose",
    "open",
    "opened",
    "get",
    "got",
    "there",
];

/// Common abbreviations, expanded before anything else reads the question.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("yday", "yesterday"),
    ("yest", "yesterday"),
    ("lst", "last"),
    ("wk", "week"),
    ("wks", "weeks"),
    ("mo", "month"),
    ("mos", "months"),
    ("mth", "month"),
    ("mths", "months"),
    ("yr", "year"),
    ("yrs", "years"),
    ("prev", "previous"),
    ("avg", "average"),
    ("tix", "tickets"),
    ("thx", "thanks"),
];

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

const NUMBER_WORDS: [(&str, u32); 20] = [
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
    ("eleven", 11),
    ("twelve", 12),
    ("fourteen", 14),
    ("fifteen", 15),
    ("twenty", 20),
    ("thirty", 30),
    ("sixty", 60),
    ("ninety", 90),
    ("a", 1),
    ("an", 1),
];

fn month_of(word: &str) -> Option<u32> {
    MONTHS
        .iter()
        .position(|m| {
            *m == word
                || (word.len() >= 3 && m.starts_with(word) && word != "mar"
                    || word == "mar" && *m == "march")
        })
        .map(|i| i as u32 + 1)
}

fn weekday_of(word: &str) -> Option<Weekday> {
    Some(match word {
        "monday" | "mon" => Weekday::Mon,
        "tuesday" | "tue" | "tues" => Weekday::Tue,
        "wednesday" | "wed" => Weekday::Wed,
        "thursday" | "thu" | "thurs" => Weekday::Thu,
        "friday" | "fri" => Weekday::Fri,
        "saturday" | "sat" => Weekday::Sat,
        "sunday" | "sun" => Weekday::Sun,
        _ => return None,
    })
}

fn number_of(word: &str) -> Option<u32> {
    word.parse::<u32>().ok().or_else(|| {
        NUMBER_WORDS
            .iter()
            .find(|(w, _)| *w == word)
            .map(|(_, n)| *n)
    })
}

/// Light stemming so "sessions" and "session", "companies" and "company" meet.
fn stem(word: &str) -> String {
    if word.len() > 4 && word.ends_with("ies") {
        return format!("{}y", &word[..word.len() - 3]);
    }
    if word.len() > 3 && word.ends_with('s') && !word.ends_with("ss") && !word.ends_with("us") {
        return word[..word.len() - 1].to_string();
    }
    word.to_string()
}

/// A token: the word as typed (for case-sensitive codes such as `US`) and lowercased; quoted
/// text is one token.
#[derive(Debug, Clone)]
struct Token {
    raw: String,
    lower: String,
    quoted: bool,
}

fn tokenize(question: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut current = String::new();
    let flush = |current: &mut String, out: &mut Vec<Token>| {
        if !current.is_empty() {
            let raw = std::mem::take(current);
            let mut lower = raw.to_lowercase().replace('\'', "");
            if let Some((_, full)) = ABBREVIATIONS.iter().find(|(a, _)| *a == lower) {
                lower = full.to_string();
            }
            if !lower.is_empty() {
                out.push(Token {
                    raw,
                    lower,
                    quoted: false,
                });
            }
        }
    };
    let mut chars = question.chars().peekable();
    while let Some(c) = chars.next() {
        if matches!(c, '"' | '“' | '”') {
            flush(&mut current, &mut out);
            let mut text = String::new();
            for q in chars.by_ref() {
                if matches!(q, '"' | '“' | '”') {
                    break;
                }
                text.push(q);
            }
            let text = text.trim().to_string();
            if !text.is_empty() {
                out.push(Token {
                    lower: text.to_lowercase(),
                    raw: text,
                    quoted: true,
                });
            }
        } else if c.is_alphanumeric()
            || c == '\''
            || c == '-'
                && !current.is_empty()
                && current.chars().all(|x| x.is_ascii_digit() || x == '-')
        {
            current.push(c);
        } else {
            flush(&mut current, &mut out);
        }
    }
    flush(&mut current, &mut out);
    out
}

/// The rule translator for one catalog: its phrase lexicon, built once.
pub struct Rules {
    /// Stemmed phrase → concepts it may mean.
    lexicon: BTreeMap<Vec<String>, BTreeSet<Concept>>,
    longest: usize,
    /// Every word the translator knows, for typo correction.
    vocabulary: BTreeSet<String>,
    metric_names: Vec<(String, Vec<String>)>,
    /// Intent and structure phrases with their word counts.
    keywords: Vec<(&'static str, usize, Item)>,
    /// The catalog's example questions, offered with a clarification.
    examples: Vec<String>,
}

impl Rules {
    pub fn new(catalog: &Catalog) -> Rules {
        let mut lexicon: BTreeMap<Vec<String>, BTreeSet<Concept>> = BTreeMap::new();
        let mut add = |phrase: &str, c: Concept| {
            let words: Vec<String> = tokenize(phrase).iter().map(|t| stem(&t.lower)).collect();
            if !words.is_empty() {
                lexicon.entry(words).or_default().insert(c);
            }
        };
        for m in catalog.metrics.values() {
            add(&m.name, Concept::Metric(m.name.clone()));
            add(&m.label, Concept::Metric(m.name.clone()));
            for s in &m.synonyms {
                add(s, Concept::Metric(m.name.clone()));
            }
        }
        for d in catalog.dimensions.values() {
            add(&d.name, Concept::Dimension(d.name.clone()));
            for s in &d.synonyms {
                add(s, Concept::Dimension(d.name.clone()));
            }
            for v in &d.values {
                // Two-letter codes are matched case-sensitively in `scan` ("US" vs "us").
                if v.chars().count() > 2 {
                    add(
                        v,
                        Concept::Value {
                            dimension: d.name.clone(),
                            value: v.clone(),
                        },
                    );
                    add(
                        &v.replace('_', " "),
                        Concept::Value {
                            dimension: d.name.clone(),
                            value: v.clone(),
                        },
                    );
                }
                for s in d.value_synonyms.get(v).into_iter().flatten() {
                    add(
                        s,
                        Concept::Value {
                            dimension: d.name.clone(),
                            value: v.clone(),
                        },
                    );
                }
            }
        }
        for e in catalog.entities.values() {
            add(&e.name, Concept::Entity(e.name.clone()));
            for s in &e.synonyms {
                add(s, Concept::Entity(e.name.clone()));
            }
            for f in e.fields.values() {
                add(&f.name, Concept::Field(f.name.clone()));
                for s in &f.synonyms {
                    add(s, Concept::Field(f.name.clone()));
                }
            }
        }
        for f in catalog.funnels.values() {
            add(&f.name, Concept::Funnel(f.name.clone()));
            for s in &f.synonyms {
                add(s, Concept::Funnel(f.name.clone()));
            }
        }
        let longest = lexicon.keys().map(Vec::len).max().unwrap_or(1);
        let mut vocabulary: BTreeSet<String> = lexicon.keys().flatten().cloned().collect();
        for w in STOPWORDS.iter().chain(MONTHS.iter()) {
            vocabulary.insert(w.to_string());
        }
        for (phrase, _) in keyword_table() {
            for w in phrase.split(' ') {
                vocabulary.insert(stem(w));
                vocabulary.insert(w.to_string());
            }
        }
        for (w, _) in NUMBER_WORDS {
            vocabulary.insert(w.to_string());
        }
        for w in [
            "today",
            "yesterday",
            "week",
            "month",
            "quarter",
            "year",
            "day",
            "last",
            "this",
            "past",
            "previous",
            "prior",
            "since",
            "between",
            "daily",
            "weekly",
            "monthly",
            "top",
            "bottom",
            "before",
            "ago",
            "doing",
            "overview",
            "business",
            "emails",
            "email",
            "tuesday",
            "monday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
            "sunday",
            "why",
            "show",
            "list",
            "excluding",
            "except",
            "without",
            "only",
            "each",
            "broken",
            "split",
            "vs",
            "versus",
            "compared",
            "against",
            "relative",
            "half",
            "second",
            "most",
            "least",
            "fewest",
            "highest",
            "lowest",
            "biggest",
            "largest",
            "smallest",
            "best",
            "worst",
            "current",
            "trailing",
            "ytd",
            "mtd",
            "wtd",
            "qtd",
            "whose",
        ] {
            vocabulary.insert(w.to_string());
        }
        let metric_names = catalog
            .metrics
            .values()
            .map(|m| (m.name.clone(), m.synonyms.clone()))
            .collect();
        let keywords = keyword_table()
            .into_iter()
            .map(|(p, item)| (p, p.split(' ').count(), item))
            .collect();
        Rules {
            keywords,
            lexicon,
            longest,
            vocabulary,
            metric_names,
            examples: catalog.example_questions.clone(),
        }
    }
}

/// Intent and structure phrases, longest match wins.
fn keyword_table() -> Vec<(&'static str, Item)> {
    vec![
        ("how are we doing", Item::Overview),
        ("how are we performing", Item::Overview),
        ("how is business", Item::Overview),
        ("hows business", Item::Overview),
        ("how is it going", Item::Overview),
        ("how are things", Item::Overview),
        ("how did we do", Item::Overview),
        ("how we doing", Item::Overview),
        ("overview", Item::Overview),
        ("kpis", Item::Overview),
        ("kpi", Item::Overview),
        ("key metrics", Item::Overview),
        ("broken down by", Item::By),
        ("break down by", Item::By),
        ("breakdown by", Item::By),
        ("split by", Item::By),
        ("grouped by", Item::By),
        ("group by", Item::By),
        ("for each", Item::By),
        ("for every", Item::By),
        ("by", Item::By),
        ("per", Item::By),
        ("across", Item::By),
        ("day by day", Item::Granularity("day")),
        ("per day", Item::Granularity("day")),
        ("by day", Item::Granularity("day")),
        ("each day", Item::Granularity("day")),
        ("every day", Item::Granularity("day")),
        ("daily", Item::Granularity("day")),
        ("per week", Item::Granularity("week")),
        ("by week", Item::Granularity("week")),
        ("each week", Item::Granularity("week")),
        ("week by week", Item::Granularity("week")),
        ("weekly", Item::Granularity("week")),
        ("per month", Item::Granularity("month")),
        ("by month", Item::Granularity("month")),
        ("each month", Item::Granularity("month")),
        ("month by month", Item::Granularity("month")),
        ("monthly", Item::Granularity("month")),
        ("break it down by", Item::By),
        ("break it down", Item::By),
        ("sort by", Item::By),
        ("sorted by", Item::By),
        ("order by", Item::By),
        ("ordered by", Item::By),
        ("ranked by", Item::By),
        ("lowest first", Item::Order(true)),
        ("smallest first", Item::Order(true)),
        ("fewest first", Item::Order(true)),
        ("ascending", Item::Order(true)),
        ("highest first", Item::Order(false)),
        ("largest first", Item::Order(false)),
        ("biggest first", Item::Order(false)),
        ("descending", Item::Order(false)),
        ("newest", Item::Newest(false)),
        ("latest", Item::Newest(false)),
        ("most recent", Item::Newest(false)),
        ("oldest", Item::Newest(true)),
        ("over", Item::Cmp("gt")),
        ("above", Item::Cmp("gt")),
        ("more than", Item::Cmp("gt")),
        ("greater than", Item::Cmp("gt")),
        ("at least", Item::Cmp("gte")),
        ("under", Item::Cmp("lt")),
        ("below", Item::Cmp("lt")),
        ("less than", Item::Cmp("lt")),
        ("at most", Item::Cmp("lte")),
        ("contains", Item::Contains),
        ("containing", Item::Contains),
        ("contain", Item::Contains),
        ("matching", Item::Contains),
        ("including", Item::Including),
        ("include", Item::Including),
        ("with their", Item::Including),
        ("along with", Item::Including),
        ("drop the filter", Item::DropFilters),
        ("drop the filters", Item::DropFilters),
        ("remove the filter", Item::DropFilters),
        ("without the filter", Item::DropFilters),
        ("no filter", Item::DropFilters),
        ("summary", Item::Overview),
        ("outside", Item::Not),
        ("not", Item::Not),
        ("excluding", Item::Not),
        ("exclude", Item::Not),
        ("except", Item::Not),
        ("without", Item::Not),
        ("other than", Item::Not),
        ("non", Item::Not),
        ("show me", Item::ListVerb),
        ("list", Item::ListVerb),
        ("which", Item::ListVerb),
        ("who", Item::ListVerb),
        ("give me", Item::ListVerb),
        ("export", Item::ListVerb),
        ("summarize", Item::ListVerb),
        ("summarise", Item::ListVerb),
        ("dump", Item::ListVerb),
        ("why", Item::Why),
        ("what caused", Item::Why),
        ("explain", Item::Why),
        ("how many", Item::Count),
        ("number of", Item::Count),
        ("count of", Item::Count),
    ]
}

/// What a multi-word phrase starting at a position means, and how many tokens it takes.
type Match = (usize, Vec<Item>);

fn starts(tokens: &[Token], i: usize, phrase: &str) -> bool {
    let mut n = 0;
    for (k, word) in phrase.split(' ').enumerate() {
        match tokens.get(i + k) {
            Some(t) if t.lower == word => n += 1,
            _ => return false,
        }
    }
    n > 0
}

fn period_between(start: NaiveDate, end: NaiveDate) -> Value {
    json!({"between": {"start": start.to_string(), "end": end.to_string()}})
}

fn last_weekday(today: NaiveDate, w: Weekday) -> NaiveDate {
    let mut d = today - Days::new(1);
    while d.weekday() != w {
        d = d - Days::new(1);
    }
    d
}

/// A calendar date written as "march 1", "1 march", "nov 17", "2026-11-17" or "march 1 2026".
fn date_at(tokens: &[Token], i: usize, today: NaiveDate) -> Option<(usize, NaiveDate)> {
    let t = |k: usize| tokens.get(i + k).map(|t| t.lower.as_str());
    if let Some(d) = t(0).and_then(|w| w.parse::<NaiveDate>().ok()) {
        return Some((1, d));
    }
    let year_after = |k: usize| {
        t(k).and_then(|w| w.parse::<i32>().ok())
            .filter(|y| (1970..2200).contains(y))
    };
    let build = |m: u32, d: u32, y: Option<i32>| {
        let year = y.unwrap_or_else(|| {
            let this = NaiveDate::from_ymd_opt(today.year(), m, d.min(28));
            if this.is_some_and(|x| x > today) {
                today.year() - 1
            } else {
                today.year()
            }
        });
        NaiveDate::from_ymd_opt(year, m, d)
    };
    let day_of = |w: &str| {
        let w = w
            .trim_end_matches("st")
            .trim_end_matches("nd")
            .trim_end_matches("rd")
            .trim_end_matches("th");
        w.parse::<u32>().ok().filter(|d| (1..=31).contains(d))
    };
    if let (Some(m), Some(d)) = (t(0).and_then(month_of), t(1).and_then(day_of)) {
        let y = year_after(2);
        return build(m, d, y).map(|date| (2 + usize::from(y.is_some()), date));
    }
    if let (Some(d), Some(m)) = (t(0).and_then(day_of), t(1).and_then(month_of)) {
        let y = year_after(2);
        return build(m, d, y).map(|date| (2 + usize::from(y.is_some()), date));
    }
    None
}

impl Rules {
    /// A time expression at `i`: a period, possibly with a comparison.
    fn time_at(&self, tokens: &[Token], i: usize, today: NaiveDate) -> Option<Match> {
        let t = |k: usize| tokens.get(i + k).map(|t| t.lower.as_str());
        let preset = |p: &str| Item::Period(json!({"preset": p}));
        let unit_word = |w: Option<&str>| match w.map(stem).as_deref() {
            Some("day") => Some("day"),
            Some("week") | Some("wk") => Some("week"),
            Some("month") | Some("mo") => Some("month"),
            Some("quarter") | Some("qtr") => Some("quarter"),
            Some("year") | Some("yr") => Some("year"),
            _ => None,
        };
        match t(0)? {
            "today" => return Some((1, vec![preset("today")])),
            "yesterday" => return Some((1, vec![preset("yesterday")])),
            "ytd" => return Some((1, vec![preset("this_year")])),
            "mtd" => return Some((1, vec![preset("this_month")])),
            "wtd" => return Some((1, vec![preset("this_week")])),
            "qtd" => return Some((1, vec![preset("this_quarter")])),
            _ => {}
        }
        // "this week", "current month", "so far this year"
        if matches!(t(0)?, "this" | "current") {
            if let Some(u) = unit_word(t(1)) {
                return Some((2, vec![preset(&format!("this_{u}"))]));
            }
        }
        // "last/past/previous N days|weeks|months", "last week", "the last 30 days"
        if matches!(t(0)?, "last" | "past" | "previous" | "prior" | "trailing") {
            if let Some(n) = t(1).and_then(number_of) {
                if let Some(u) = unit_word(t(2)) {
                    if matches!(u, "day" | "week" | "month") && (1..=366).contains(&n) {
                        return Some((
                            3,
                            vec![Item::Period(json!({"last_n": {"count": n, "unit": u}}))],
                        ));
                    }
                }
            }
            if let Some(u) = unit_word(t(1)) {
                return Some((2, vec![preset(&format!("last_{u}"))]));
            }
            if let Some(w) = t(1).and_then(weekday_of) {
                let d = last_weekday(today, w);
                return Some((2, vec![Item::Period(json!({"date": d.to_string()}))]));
            }
        }
        // "wednesday last week", "monday this week"
        if let Some(w) = t(0).and_then(weekday_of) {
            let offset = Days::new(w.num_days_from_monday() as u64);
            let this_monday = crate::plan::time::monday_of(today);
            if matches!(t(1), Some("last" | "previous")) && unit_word(t(2)) == Some("week") {
                return Some((
                    3,
                    vec![Item::Period(
                        json!({"date": (this_monday - Days::new(7) + offset).to_string()}),
                    )],
                ));
            }
            if t(1) == Some("this") && unit_word(t(2)) == Some("week") {
                return Some((
                    3,
                    vec![Item::Period(
                        json!({"date": (this_monday + offset).to_string()}),
                    )],
                ));
            }
        }
        // "first half of the year", "h2 2025"
        let half = match (t(0)?, t(1)) {
            ("first", Some("half")) | ("h1", _) => Some(1),
            ("second", Some("half")) | ("h2", _) => Some(2),
            _ => None,
        };
        if let Some(h) = half {
            let mut n = if t(0)?.starts_with('h') { 1 } else { 2 };
            if t(n) == Some("of") {
                n += 1;
                if matches!(t(n), Some("the" | "this")) {
                    n += 1;
                }
                if unit_word(t(n)) == Some("year") {
                    n += 1;
                }
            }
            let y = t(n)
                .and_then(|w| w.parse::<i32>().ok())
                .filter(|y| (1970..2200).contains(y));
            let year = y.unwrap_or(today.year());
            let (sm, em, ed) = if h == 1 { (1, 6, 30) } else { (7, 12, 31) };
            let start = NaiveDate::from_ymd_opt(year, sm, 1)?;
            let end = NaiveDate::from_ymd_opt(year, em, ed)?.min(today);
            if start <= today {
                return Some((
                    n + usize::from(y.is_some()),
                    vec![Item::Period(period_between(start, end))],
                ));
            }
        }
        // "on tuesday", "tuesday"
        if let Some(w) = t(0).and_then(weekday_of) {
            if t(0)?.len() > 3 {
                let d = last_weekday(today, w);
                return Some((1, vec![Item::Period(json!({"date": d.to_string()}))]));
            }
        }
        // "q3", "q3 2025"
        if let Some(q) = t(0)?
            .strip_prefix('q')
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|q| (1..=4).contains(q))
        {
            let y = t(1)
                .and_then(|w| w.parse::<i32>().ok())
                .filter(|y| (1970..2200).contains(y));
            let start_month = (q - 1) * 3 + 1;
            let mut year = y.unwrap_or(today.year());
            let mut start = NaiveDate::from_ymd_opt(year, start_month, 1)?;
            if y.is_none() && start > today {
                year -= 1;
                start = NaiveDate::from_ymd_opt(year, start_month, 1)?;
            }
            let end = start.checked_add_months(chrono::Months::new(3))? - Days::new(1);
            return Some((
                1 + usize::from(y.is_some()),
                vec![Item::Period(period_between(start, end))],
            ));
        }
        // "since march 1", "since 2026-03-01", "since march"
        if t(0)? == "since" {
            if let Some((n, d)) = date_at(tokens, i + 1, today) {
                return Some((1 + n, vec![Item::Period(period_between(d, today))]));
            }
            if let Some(m) = t(1).and_then(month_of) {
                let mut year = today.year();
                if m > today.month() {
                    year -= 1;
                }
                let d = NaiveDate::from_ymd_opt(year, m, 1)?;
                return Some((2, vec![Item::Period(period_between(d, today))]));
            }
        }
        // "between X and Y", "from X to Y"
        if matches!(t(0)?, "between" | "from") {
            if let Some((n1, a)) = date_at(tokens, i + 1, today) {
                if matches!(t(1 + n1), Some("and" | "to" | "until" | "through" | "till")) {
                    if let Some((n2, b)) = date_at(tokens, i + 2 + n1, today) {
                        return Some((2 + n1 + n2, vec![Item::Period(period_between(a, b))]));
                    }
                }
            }
        }
        // "on nov 17", "2026-11-17"
        if let Some((n, d)) = date_at(tokens, i, today) {
            return Some((n, vec![Item::Period(json!({"date": d.to_string()}))]));
        }
        // "in october", "october", "october 2025", "in 2025"
        if let Some(m) = t(0).and_then(month_of).filter(|_| {
            t(0).is_some_and(|w| {
                w.len() >= 3 && w != "may" || w == "may" && i > 0 && tokens[i - 1].lower == "in"
            })
        }) {
            let y = t(1)
                .and_then(|w| w.parse::<i32>().ok())
                .filter(|y| (1970..2200).contains(y));
            let mut year = y.unwrap_or(today.year());
            if y.is_none() && m > today.month() {
                year -= 1;
            }
            let start = NaiveDate::from_ymd_opt(year, m, 1)?;
            let end = (start.checked_add_months(chrono::Months::new(1))? - Days::new(1)).min(
                if year == today.year() && m == today.month() {
                    today
                } else {
                    NaiveDate::MAX
                },
            );
            return Some((
                1 + usize::from(y.is_some()),
                vec![Item::Period(period_between(start, end))],
            ));
        }
        if i > 0 && tokens[i - 1].lower == "in" {
            if let Some(y) = t(0)
                .and_then(|w| w.parse::<i32>().ok())
                .filter(|y| (1970..=today.year()).contains(y))
            {
                let start = NaiveDate::from_ymd_opt(y, 1, 1)?;
                let end = NaiveDate::from_ymd_opt(y, 12, 31)?.min(today);
                return Some((1, vec![Item::Period(period_between(start, end))]));
            }
        }
        None
    }

    /// Comparison phrases: "vs the week before", "compared to last year", "week over week".
    fn compare_at(&self, tokens: &[Token], i: usize, today: NaiveDate) -> Option<Match> {
        for (phrase, c) in [
            ("year over year", Compare::PreviousYear),
            ("yoy", Compare::PreviousYear),
            ("week over week", Compare::PreviousPeriod),
            ("wow", Compare::PreviousPeriod),
            ("month over month", Compare::PreviousPeriod),
            ("mom", Compare::PreviousPeriod),
            ("quarter over quarter", Compare::PreviousPeriod),
            ("qoq", Compare::PreviousPeriod),
            ("day over day", Compare::PreviousPeriod),
        ] {
            if starts(tokens, i, phrase) {
                return Some((phrase.split(' ').count(), vec![Item::Compare(c)]));
            }
        }
        // Lead-less "the month before", "the 7 days before that": the period before the previous one.
        {
            let mut j = i;
            if matches!(
                tokens.get(j).map(|t| t.lower.as_str()),
                Some("the" | "and" | "what" | "how")
            ) {
                while matches!(
                    tokens.get(j).map(|t| t.lower.as_str()),
                    Some("the" | "and" | "what" | "how" | "about")
                ) {
                    j += 1;
                }
            }
            let mut k = j;
            if tokens.get(k).is_some_and(|t| number_of(&t.lower).is_some()) {
                k += 1;
            }
            if let Some(n) = self
                .before_at(tokens, k)
                .filter(|_| tokens.get(k + 1).is_some_and(|t| t.lower == "before"))
            {
                let mut end = k + n;
                if tokens.get(end).is_some_and(|t| t.lower == "that") {
                    end += 1;
                }
                return Some((end - i, vec![Item::Shift]));
            }
        }
        let lead = [
            "vs",
            "versus",
            "v",
            "compared to",
            "compared with",
            "compare to",
            "against",
            "relative to",
            "than",
            "and",
            "vs.",
        ]
        .iter()
        .find(|p| starts(tokens, i, p))
        .map(|p| p.split(' ').count())?;
        let mut j = i + lead;
        if tokens
            .get(j)
            .is_some_and(|t| t.lower == "the" || t.lower == "a")
        {
            j += 1;
        }
        let year_phrases = [
            "same period last year",
            "same time last year",
            "last year",
            "previous year",
            "prior year",
            "year before",
            "year ago",
            "same week last year",
            "same month last year",
            "same day last year",
        ];
        if let Some(p) = year_phrases.iter().find(|p| starts(tokens, j, p)) {
            return Some((
                j - i + p.split(' ').count(),
                vec![Item::Compare(Compare::PreviousYear)],
            ));
        }
        if let Some(n) = self.before_at(tokens, j) {
            return Some((j - i + n, vec![Item::Compare(Compare::PreviousPeriod)]));
        }
        // "vs last week" after "this week": a previous-period comparison.
        if lead > 0 && tokens[i].lower != "and" {
            if let Some((n, items)) = self.time_at(tokens, j, today) {
                if matches!(items.as_slice(), [Item::Period(p)] if p.get("last_n").is_some() || p.get("preset").and_then(Value::as_str).is_some_and(|s| s.starts_with("last_") || s == "yesterday"))
                {
                    return Some((j - i + n, vec![Item::Compare(Compare::PreviousPeriod)]));
                }
            }
        }
        None
    }

    /// "week before", "previous week", "prior period", "period before", "previous period".
    fn before_at(&self, tokens: &[Token], j: usize) -> Option<usize> {
        let unit = |w: &str| {
            matches!(
                stem(w).as_str(),
                "day" | "week" | "month" | "quarter" | "period"
            )
        };
        let a = tokens.get(j).map(|t| t.lower.as_str());
        let b = tokens.get(j + 1).map(|t| t.lower.as_str());
        match (a, b) {
            (Some(u), Some("before")) if unit(u) => Some(2),
            (Some("previous" | "prior" | "preceding"), Some(u)) if unit(u) => Some(2),
            _ => None,
        }
    }

    fn keyword_at(&self, tokens: &[Token], i: usize) -> Option<Match> {
        let table = &self.keywords;
        let mut best: Option<Match> = None;
        for (phrase, n, item) in table {
            let n = *n;
            if matches!(item, Item::Cmp(_))
                && !tokens
                    .get(i + n)
                    .is_some_and(|t| t.lower.chars().all(|c| c.is_ascii_digit()))
            {
                continue;
            }
            if starts(tokens, i, phrase) && best.as_ref().is_none_or(|(b, _)| n > *b) {
                best = Some((n, vec![item.clone()]));
            }
        }
        // "top 5", "top five", "bottom 3", "best 10", "worst 3"
        if let Some(w) = tokens.get(i).map(|t| t.lower.as_str()) {
            if let Some(asc) = match w {
                "top" | "best" | "highest" | "most" | "biggest" | "largest" => Some(false),
                "bottom" | "worst" | "lowest" | "least" | "smallest" | "fewest" => Some(true),
                _ => None,
            } {
                let n = tokens.get(i + 1).and_then(|t| number_of(&t.lower));
                let take = 1 + usize::from(n.is_some());
                if best.as_ref().is_none_or(|(b, _)| take >= *b) {
                    best = Some((
                        take,
                        vec![Item::Top {
                            n: n.unwrap_or(0),
                            asc,
                        }],
                    ));
                }
            }
        }
        best
    }

    /// The longest catalog phrase at `i`.
    fn concept_at(
        &self,
        tokens: &[Token],
        stems: &[String],
        i: usize,
        catalog: &Catalog,
    ) -> Option<(usize, BTreeSet<Concept>)> {
        // Two-letter value codes ("US", "DE") only as typed in capitals: "us" is a pronoun.
        let raw = &tokens[i].raw;
        if raw.len() == 2 && raw.chars().all(|c| c.is_ascii_uppercase()) {
            for d in catalog.dimensions.values() {
                if d.values.iter().any(|v| v == raw) {
                    let mut set = BTreeSet::new();
                    set.insert(Concept::Value {
                        dimension: d.name.clone(),
                        value: raw.clone(),
                    });
                    return Some((1, set));
                }
            }
        }
        for n in (1..=self.longest.min(stems.len() - i)).rev() {
            if let Some(set) = self.lexicon.get(&stems[i..i + n]) {
                return Some((n, set.clone()));
            }
        }
        None
    }

    /// Corrects words the translator does not know to a known word one or two edits away; among
    /// equally near words the longest wins ("monthy" → "monthly"), a tie of equal length is no
    /// correction.
    fn correct(&self, stemmed: &str) -> Option<String> {
        if self.vocabulary.contains(stemmed)
            || stemmed.len() < 4
            || stemmed.chars().any(|c| c.is_ascii_digit())
        {
            return None;
        }
        let limit = if stemmed.len() >= 7 { 2 } else { 1 };
        let mut best: Option<(usize, usize, &String)> = None;
        let mut tie = false;
        let mut first = stemmed.chars();
        let (c0, c1) = (first.next(), first.next());
        for v in &self.vocabulary {
            if v.len().abs_diff(stemmed.len()) > limit || v.len() < 4 {
                continue;
            }
            // Slips keep the first letter, or swap the first two: a cheap filter before the distance.
            let mut vc = v.chars();
            let (v0, v1) = (vc.next(), vc.next());
            if v0 != c0 && !(v0 == c1 && v1 == c0) {
                continue;
            }
            let d = distance(stemmed, v);
            if d > limit {
                continue;
            }
            // Nearer first, then longer.
            let key = (d, usize::MAX - v.len());
            match best {
                Some((bd, bl, _)) if (bd, bl) < key => {}
                Some((bd, bl, _)) if (bd, bl) == key => tie = true,
                _ => {
                    best = Some((key.0, key.1, v));
                    tie = false;
                }
            }
        }
        match best {
            Some((_, _, v)) if !tie => Some(v.clone()),
            _ => None,
        }
    }

    fn scan(
        &self,
        question: &str,
        today: NaiveDate,
        catalog: &Catalog,
    ) -> Vec<(Item, Option<BTreeSet<Concept>>)> {
        let tokens = tokenize(question);
        let stems: Vec<String> = tokens
            .iter()
            .map(|t| {
                let s = stem(&t.lower);
                self.correct(&s).unwrap_or(s)
            })
            .collect();
        // Corrected tokens feed every recogniser.
        let tokens: Vec<Token> = tokens
            .iter()
            .zip(&stems)
            .map(|(t, s)| {
                let lower = if stem(&t.lower) == *s {
                    t.lower.clone()
                } else {
                    s.clone()
                };
                Token {
                    raw: t.raw.clone(),
                    lower,
                    quoted: t.quoted,
                }
            })
            .collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            if tokens[i].quoted {
                out.push((Item::Quoted(tokens[i].raw.clone()), None));
                i += 1;
                continue;
            }
            let time = self.time_at(&tokens, i, today);
            let compare = self.compare_at(&tokens, i, today);
            let keyword = self.keyword_at(&tokens, i);
            let concept = self.concept_at(&tokens, &stems, i, catalog);
            let len = |m: &Option<Match>| m.as_ref().map_or(0, |(n, _)| *n);
            let best = [
                len(&compare),
                len(&time),
                len(&keyword),
                concept.as_ref().map_or(0, |(n, _)| *n),
            ]
            .into_iter()
            .max()
            .unwrap_or(0);
            if best == 0 {
                let w = &tokens[i].lower;
                if w.chars().all(|c| c.is_ascii_digit()) && number_of(w).is_some() {
                    out.push((Item::Number(number_of(w).unwrap_or(0)), None));
                } else if !STOPWORDS.contains(&w.as_str())
                    && !STOPWORDS.contains(&stems[i].as_str())
                {
                    out.push((Item::Unknown(tokens[i].raw.clone()), None));
                }
                i += 1;
                continue;
            }
            if len(&compare) == best {
                out.extend(compare.expect("best").1.into_iter().map(|x| (x, None)));
            } else if len(&time) == best {
                out.extend(time.expect("best").1.into_iter().map(|x| (x, None)));
            } else if concept.as_ref().is_some_and(|(n, _)| *n == best)
                && !(len(&keyword) == best && best > 1)
            {
                let (_, set) = concept.expect("best");
                let first = set.iter().next().cloned().expect("non-empty");
                out.push((Item::Concept(first), Some(set)));
            } else {
                out.extend(keyword.expect("best").1.into_iter().map(|x| (x, None)));
            }
            i += best;
        }
        out
    }
}

/// The reading of a question, before it becomes DSL.
#[derive(Debug, Default)]
struct Reading {
    metrics: Vec<String>,
    group_by: Vec<String>,
    /// dimension or field → (negated, values), in the order the question gives them.
    filters: Vec<(String, (bool, Vec<String>))>,
    /// A value was read from a phrase that could also name personal data ("emails").
    pii_ambiguous: bool,
    /// (field or dimension, op, value): numeric comparisons and free text.
    other_filters: Vec<(String, &'static str, Value)>,
    period: Option<Value>,
    compare: Option<Compare>,
    granularity: Option<&'static str>,
    top_n: Option<u32>,
    /// "top"/"most" without a number.
    superlative: bool,
    asc: bool,
    newest: Option<bool>,
    entity: Option<String>,
    fields: Vec<String>,
    added_fields: Vec<String>,
    sort: Option<String>,
    overview: bool,
    list: bool,
    why: bool,
    funnel: bool,
    funnel_name: Option<String>,
    shift: bool,
    drop_filters: bool,
    unknown: Vec<String>,
}

fn prefer(set: &BTreeSet<Concept>, order: &[fn(&Concept) -> bool]) -> Concept {
    for f in order {
        if let Some(c) = set.iter().find(|c| f(c)) {
            return c.clone();
        }
    }
    set.iter().next().cloned().expect("non-empty")
}

fn is_metric(c: &Concept) -> bool {
    matches!(c, Concept::Metric(_))
}
fn is_dimension(c: &Concept) -> bool {
    matches!(c, Concept::Dimension(_))
}
fn is_value(c: &Concept) -> bool {
    matches!(c, Concept::Value { .. })
}
fn is_entity(c: &Concept) -> bool {
    matches!(c, Concept::Entity(_))
}
fn is_field(c: &Concept) -> bool {
    matches!(c, Concept::Field(_))
}
fn is_funnel(c: &Concept) -> bool {
    matches!(c, Concept::Funnel(_))
}

type Items = [(Item, Option<BTreeSet<Concept>>)];

fn pii_field(c: &Concept, catalog: &Catalog) -> bool {
    match c {
        Concept::Field(f) => catalog.entities.values().any(|e| {
            e.fields
                .get(f)
                .is_some_and(|x| x.sensitivity == crate::catalog::Sensitivity::Pii)
        }),
        _ => false,
    }
}

/// The count metric of an entity's records dated by `field` ("churned" → churned customers).
fn dated_count_metric(catalog: &Catalog, field: &str) -> Option<String> {
    let entity = catalog
        .entities
        .values()
        .find(|e| e.fields.get(field).is_some_and(|f| f.ty == ValueType::Date))?;
    catalog
        .metrics
        .values()
        .find(|m| {
            matches!(&m.def, crate::catalog::MetricDef::Aggregate(a)
                if a.table == entity.table
                    && a.func == crate::catalog::AggFunc::Count
                    && a.filters.is_empty()
                    && matches!(&a.time, crate::catalog::TimeBasis::Column(c) if c == field))
        })
        .map(|m| m.name.clone())
}

fn set_has(items: &Items, k: usize, f: fn(&Concept) -> bool) -> bool {
    items
        .get(k)
        .and_then(|(_, s)| s.as_ref())
        .is_some_and(|s| s.iter().any(f))
}

impl Rules {
    /// Whether the question asks for records, and of which entity when a follow-up continues a list.
    fn list_mode(&self, items: &Items, catalog: &Catalog) -> bool {
        let pii = |c: &Concept| pii_field(c, catalog);
        let sets: Vec<&BTreeSet<Concept>> = items.iter().filter_map(|(_, s)| s.as_ref()).collect();
        let has_entity = sets.iter().any(|s| s.iter().any(is_entity));
        let has_pii = sets.iter().any(|s| s.iter().any(pii));
        let pure_metric = sets
            .iter()
            .any(|s| s.iter().any(is_metric) && !s.iter().any(|c| is_entity(c) || is_field(c)));
        let listy = items.iter().any(|(i, _)| matches!(i, Item::ListVerb))
            && !items.iter().any(|(i, _)| matches!(i, Item::Count));
        let counted_entity = (0..items.len()).any(|k| {
            matches!(
                items[k].0,
                Item::Top { .. } | Item::Number(_) | Item::Newest(_)
            ) && (set_has(items, k + 1, is_entity) || set_has(items, k + 2, is_entity))
        });
        let pii_only = sets.iter().any(|s| s.iter().all(pii));
        pii_only && listy
            || (has_entity || has_pii) && (listy || counted_entity || has_pii) && !pure_metric
    }

    fn read(
        &self,
        items: &Items,
        catalog: &Catalog,
        list_entity: Option<&str>,
        follow_up: bool,
    ) -> Reading {
        let mut r = Reading {
            list: list_entity.is_some() || self.list_mode(items, catalog),
            entity: list_entity.map(String::from),
            ..Reading::default()
        };
        let mut negate = false;
        let mut last_group = false;
        let mut last_value_dim: Option<String> = None;
        let mut last_name: Option<String> = None;
        let mut pending_cmp: Option<&'static str> = None;
        let mut pending_contains = false;
        let mut including = false;
        for k in 0..items.len() {
            let (item, set) = &items[k];
            let prev = k.checked_sub(1).map(|p| &items[p].0);
            let after_by = matches!(prev, Some(Item::By | Item::Top { .. }));
            let next_quoted = matches!(items.get(k + 1).map(|x| &x.0), Some(Item::Quoted(_)));
            let mut grouped_now = false;
            let mut value_now = None;
            match item {
                Item::Concept(_) => {
                    let set = set.as_ref().expect("concepts carry their set");
                    // "pro plan", "email channel": the dimension's own noun after its value.
                    if let Some(d) = &last_value_dim {
                        let has_metric = !r.metrics.is_empty() || r.list || follow_up;
                        let same = set.iter().any(
                            |c| matches!(c, Concept::Dimension(x) | Concept::Field(x) if x == d),
                        );
                        if same && (has_metric || !set.iter().any(is_metric)) {
                            // "email channel": the value is the channel, not an email address.
                            r.pii_ambiguous = false;
                            continue;
                        }
                        // "enterprise customers", "urgent tickets": the noun of a filter.
                        if set.iter().any(|c| is_entity(c) || is_metric(c)) && has_metric {
                            if r.list {
                                if let Some(Concept::Entity(e)) = set.iter().find(|c| is_entity(c))
                                {
                                    r.entity.get_or_insert(e.clone());
                                }
                            }
                            continue;
                        }
                    }
                    let c = if r.list && after_by {
                        prefer(set, &[is_field, is_metric, is_dimension])
                    } else if r.list {
                        prefer(
                            set,
                            &[is_entity, is_field, is_value, is_dimension, is_metric],
                        )
                    } else if next_quoted && set.iter().any(is_dimension) {
                        prefer(set, &[is_dimension])
                    } else if after_by || last_group {
                        prefer(
                            set,
                            &[is_dimension, is_metric, is_value, is_entity, is_field],
                        )
                    } else if set.iter().any(is_value) && set_has(items, k + 1, is_metric) {
                        prefer(set, &[is_value])
                    } else {
                        prefer(
                            set,
                            &[
                                is_metric,
                                is_value,
                                is_dimension,
                                is_funnel,
                                is_entity,
                                is_field,
                            ],
                        )
                    };
                    match c {
                        Concept::Metric(m) => {
                            if r.list && after_by {
                                r.sort = Some(m);
                            } else if !r.metrics.contains(&m) {
                                r.metrics.push(m);
                            }
                        }
                        Concept::Dimension(d) => {
                            last_name = Some(d.clone());
                            if next_quoted {
                                // `company "Greenline GmbH"`: a filter on the quoted value.
                            } else if after_by
                                || last_group
                                || matches!(prev, Some(Item::ListVerb | Item::Number(_)))
                            {
                                if let Some(Item::Number(n)) = prev {
                                    r.top_n = Some(*n);
                                }
                                if !r.group_by.contains(&d) {
                                    r.group_by.push(d);
                                }
                                grouped_now = true;
                            } else {
                                r.unknown.push(d.replace('_', " "));
                            }
                        }
                        Concept::Value { dimension, value } => {
                            if set.iter().any(|c| pii_field(c, catalog)) {
                                r.pii_ambiguous = true;
                            }
                            let at = match r.filters.iter().position(|(d, _)| *d == dimension) {
                                Some(at) => at,
                                None => {
                                    r.filters.push((dimension.clone(), (negate, Vec::new())));
                                    r.filters.len() - 1
                                }
                            };
                            let entry = &mut r.filters[at].1;
                            entry.0 |= negate;
                            if !entry.1.contains(&value) {
                                entry.1.push(value);
                            }
                            negate = false;
                            value_now = Some(dimension);
                        }
                        Concept::Entity(e) => {
                            if let Some(Item::Number(n)) = prev {
                                r.top_n = Some(*n);
                            }
                            r.entity = Some(e);
                        }
                        Concept::Field(f) => {
                            last_name = Some(f.clone());
                            if !r.list {
                                // "customers churned", "customers who signed up": the count of the
                                // entity's records dated by that field.
                                if let Some(m) = dated_count_metric(catalog, &f) {
                                    let noun = catalog
                                        .entities
                                        .values()
                                        .find(|e| e.fields.contains_key(&f))
                                        .and_then(|e| e.count_metric.clone());
                                    if let Some(at) =
                                        r.metrics.iter().position(|x| Some(x) == noun.as_ref())
                                    {
                                        r.metrics[at] = m;
                                    } else if !r.metrics.contains(&m) {
                                        r.metrics.push(m);
                                    }
                                    continue;
                                }
                            }
                            if r.list && after_by {
                                r.sort = Some(f.clone());
                            } else if including {
                                if !r.added_fields.contains(&f) {
                                    r.added_fields.push(f.clone());
                                }
                            } else if !r.fields.contains(&f) {
                                r.fields.push(f.clone());
                            }
                            if r.entity.is_none() {
                                r.entity = catalog
                                    .entities
                                    .values()
                                    .find(|e| e.fields.contains_key(&f))
                                    .map(|e| e.name.clone());
                            }
                        }
                        Concept::Funnel(f) => {
                            r.funnel = true;
                            r.funnel_name = Some(f);
                        }
                    }
                }
                Item::Period(p) => r.period = Some(p.clone()),
                Item::Compare(c) => r.compare = Some(*c),
                Item::Granularity(g) => r.granularity = Some(g),
                Item::By | Item::ListVerb | Item::Count => {}
                Item::Top { n, asc } => {
                    if *n > 0 {
                        r.top_n = Some(*n);
                    } else {
                        r.superlative = true;
                    }
                    r.asc |= *asc;
                }
                Item::Not => negate = true,
                Item::Overview => r.overview = true,
                Item::Why => r.why = true,
                Item::Number(n) => {
                    let counts_next = set_has(items, k + 1, |c| is_dimension(c) || is_entity(c))
                        || matches!(items.get(k + 1).map(|x| &x.0), Some(Item::Newest(_)))
                        || (r.list
                            && (k + 1..(k + 4).min(items.len()))
                                .any(|j| set_has(items, j, is_entity)));
                    match (pending_cmp.take(), &last_name) {
                        (Some(op), Some(name)) => {
                            r.other_filters.push((name.clone(), op, json!(n)))
                        }
                        _ if counts_next => r.top_n = Some(*n),
                        _ => r.unknown.push(n.to_string()),
                    }
                }
                Item::Quoted(text) => match &last_name {
                    Some(name) => {
                        let op = if pending_contains { "contains" } else { "eq" };
                        r.other_filters.push((name.clone(), op, json!(text)));
                        pending_contains = false;
                    }
                    None => r.unknown.push(format!("\"{text}\"")),
                },
                Item::Order(asc) => r.asc = *asc,
                Item::Newest(asc) => r.newest = Some(*asc),
                Item::Cmp(op) => pending_cmp = Some(op),
                Item::Contains => pending_contains = true,
                Item::Including => including = true,
                Item::Shift => r.shift = true,
                Item::DropFilters => r.drop_filters = true,
                Item::Unknown(w) => r.unknown.push(w.clone()),
            }
            last_group = grouped_now;
            last_value_dim = value_now;
        }
        if pending_cmp.is_some() || pending_contains {
            r.unknown.push("(a comparison without a value)".into());
        }
        r
    }

    /// Translates one question. `previous` is the conversation's last DSL, for follow-ups.
    pub fn translate(
        &self,
        question: &str,
        catalog: &Catalog,
        today: NaiveDate,
        previous: Option<&Value>,
    ) -> Translation {
        let items = self.scan(question, today, catalog);
        let prev_kind = previous.and_then(|p| p.get("kind")).and_then(Value::as_str);
        // A follow-up to a list that names no new metric continues the list.
        let continues_list = prev_kind == Some("list")
            && !items
                .iter()
                .any(|(_, s)| s.as_ref().is_some_and(|s| s.iter().all(is_metric)));
        // A stored previous query is data, not a promise: an entity the catalog no longer has
        // (or a previous DSL that is not an object) starts afresh instead of continuing it.
        let list_entity = previous
            .filter(|_| continues_list)
            .and_then(|p| p.get("entity"))
            .and_then(Value::as_str)
            .filter(|e| catalog.entities.contains_key(*e));
        let mut r = self.read(&items, catalog, list_entity, previous.is_some());

        if r.why {
            return self.explain(r);
        }
        if r.pii_ambiguous {
            return self.clarify("Do you mean a channel or personal contact data? Personal data is never listed; ask for a count or a breakdown instead.", &r);
        }
        if !r.unknown.is_empty() {
            let words = r.unknown.join(", ");
            return self.clarify(
                &format!("I could not map these words to the catalog: {words}."),
                &r,
            );
        }
        if let (Some(prev), true) = (previous, list_entity.is_some()) {
            return self.list_follow_up(prev.clone(), r, catalog);
        }
        // Follow-ups edit the previous query: "and by country?", "only android", "what about wau?"
        if let Some(prev) = previous.filter(|_| matches!(prev_kind, Some("metric" | "overview"))) {
            let modifier_only = r.metrics.is_empty() && !r.overview && !r.list && !r.funnel;
            let swap = !r.metrics.is_empty() && r.period.is_none() && prev_kind == Some("metric");
            if modifier_only || swap {
                return self.follow_up(prev.clone(), &r, today);
            }
        }

        if r.overview && r.metrics.is_empty() {
            let mut q = Map::new();
            q.insert("kind".into(), json!("overview"));
            q.insert(
                "period".into(),
                r.period.take().unwrap_or(json!({"preset": "last_week"})),
            );
            q.insert(
                "compare".into(),
                json!(compare_str(r.compare.unwrap_or(Compare::PreviousPeriod))),
            );
            if !r.filters.is_empty() || !r.group_by.is_empty() {
                return self.clarify("An overview covers the whole workspace; ask for a metric to filter or break down.", &r);
            }
            return Translation::Dsl {
                dsl: Value::Object(q),
            };
        }
        if r.list {
            return self.list(r, catalog);
        }
        if let Some(name) = r.funnel_name.clone() {
            return self.funnel(&name, r, catalog);
        }
        if r.metrics.is_empty() {
            return self.clarify("Which metric do you mean?", &r);
        }
        let Some(period) = r.period.clone() else {
            return self.clarify("For which period? For example \"last week\", \"yesterday\", \"last 30 days\" or \"in October\".", &r);
        };
        let mut q = Map::new();
        q.insert("kind".into(), json!("metric"));
        q.insert("metrics".into(), json!(r.metrics));
        q.insert("period".into(), period);
        self.apply_modifiers(&mut q, &r);
        Translation::Dsl {
            dsl: Value::Object(q),
        }
    }

    /// "Why did signups drop last Tuesday?": one metric on a date or period, explained against
    /// its usual level (the validator picks the baseline and says what it is). Whether the
    /// metric can be decomposed is the validator's call, not the translator's.
    fn explain(&self, mut r: Reading) -> Translation {
        // The direction words of a why-question say what moved, not what to compute.
        const MOVEMENT: &[&str] = &[
            "drop",
            "dropped",
            "drops",
            "fall",
            "fell",
            "falls",
            "decline",
            "declined",
            "decrease",
            "decreased",
            "dip",
            "dipped",
            "rise",
            "rose",
            "rises",
            "increase",
            "increased",
            "jump",
            "jumped",
            "spike",
            "spiked",
            "grow",
            "grew",
            "change",
            "changed",
            "go",
            "went",
            "down",
            "up",
            "move",
            "moved",
            "so",
            "low",
            "high",
        ];
        r.unknown
            .retain(|w| !MOVEMENT.contains(&w.to_lowercase().as_str()));
        if r.metrics.len() != 1 {
            return self.clarify(
                "Which one metric should I explain? For example \"why did signups drop last Tuesday?\"",
                &r,
            );
        }
        if !r.unknown.is_empty() {
            let words = r.unknown.join(", ");
            return self.clarify(
                &format!("I could not map these words to the catalog: {words}."),
                &r,
            );
        }
        if !r.group_by.is_empty() || r.granularity.is_some() || r.top_n.is_some() {
            return self.clarify(
                "An explanation decomposes the change across the catalog's driver dimensions by itself; ask without a breakdown or a time series.",
                &r,
            );
        }
        let Some(period) = r.period.clone() else {
            return self.clarify(
                "For which date or period? For example \"why did signups drop last Tuesday?\"",
                &r,
            );
        };
        let mut q = Map::new();
        q.insert("kind".into(), json!("explain"));
        q.insert("metric".into(), json!(r.metrics[0]));
        q.insert("period".into(), period);
        if r.compare == Some(Compare::PreviousPeriod) {
            q.insert("baseline".into(), json!("previous_period"));
        }
        if !r.filters.is_empty() || !r.other_filters.is_empty() {
            self.apply_modifiers(&mut q, &r);
            q.remove("compare");
            q.remove("group_by");
            q.remove("top_n");
            q.remove("order");
            q.remove("granularity");
        }
        Translation::Dsl {
            dsl: Value::Object(q),
        }
    }

    /// A named funnel ("conversion rate for the checkout flow"): steps per user in order, over the
    /// period asked, or the last 30 days (a funnel's usual look-back; the answer states the
    /// dates). A conversion metric named alongside is the funnel's own measure, not a second ask.
    fn funnel(&self, name: &str, r: Reading, catalog: &Catalog) -> Translation {
        let own_metric = catalog.funnels.get(name).and_then(|f| f.metric.as_deref());
        if r.metrics.iter().any(|m| Some(m.as_str()) != own_metric) {
            return self.clarify(
                "Do you mean the funnel or the metric? Ask for one of them at a time.",
                &r,
            );
        }
        if r.granularity.is_some() || r.top_n.is_some() || r.superlative {
            return self.clarify(
                "A funnel counts users per step over one period; ask without a time series or a top list.",
                &r,
            );
        }
        if r.group_by.len() > 1 {
            return self.clarify(
                "A funnel can be broken down by one dimension at a time.",
                &r,
            );
        }
        let mut q = Map::new();
        q.insert("kind".into(), json!("funnel"));
        q.insert("funnel".into(), json!(name));
        q.insert(
            "period".into(),
            r.period
                .clone()
                .unwrap_or(json!({"last_n": {"count": 30, "unit": "day"}})),
        );
        self.apply_modifiers(&mut q, &r);
        q.remove("top_n");
        q.remove("order");
        Translation::Dsl {
            dsl: Value::Object(q),
        }
    }

    /// Granularity, compare, group-by, filters and top-n from a reading onto a metric query.
    fn apply_modifiers(&self, q: &mut Map<String, Value>, r: &Reading) {
        if let Some(g) = r.granularity {
            q.insert("granularity".into(), json!(g));
        }
        if let Some(c) = r.compare {
            if !r.shift {
                q.insert("compare".into(), json!(compare_str(c)));
            }
        }
        if !r.group_by.is_empty() {
            q.insert("group_by".into(), json!(r.group_by));
            q.remove("top_n");
            q.remove("order");
        }
        let grouped = q
            .get("group_by")
            .and_then(Value::as_array)
            .is_some_and(|g| !g.is_empty());
        if grouped {
            if let Some(n) = r.top_n.or(r.superlative.then_some(1)) {
                q.insert("top_n".into(), json!(n));
            }
            if r.asc {
                q.insert("order".into(), json!("asc"));
            }
        }
        if r.drop_filters {
            q.remove("filters");
        }
        let filters: Vec<Value> = if r.filters.is_empty() && r.other_filters.is_empty() {
            Vec::new()
        } else {
            // New filters replace old ones on the same dimension and keep the others.
            let mut kept: Vec<Value> = q
                .get("filters")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|f| {
                    let d = f.get("dimension").and_then(Value::as_str).unwrap_or("");
                    !r.filters.iter().any(|(x, _)| x == d)
                        && !r.other_filters.iter().any(|(n, _, _)| n == d)
                })
                .collect();
            kept.extend(
                r.filters
                    .iter()
                    .map(|(d, (neg, vals))| filter_json(d, *neg, vals, "dimension")),
            );
            kept.extend(
                r.other_filters
                    .iter()
                    .map(|(d, op, v)| json!({"dimension": d, "op": op, "values": [v]})),
            );
            kept
        };
        if !filters.is_empty() {
            q.insert("filters".into(), json!(filters));
        }
    }

    fn follow_up(&self, mut prev: Value, r: &Reading, today: NaiveDate) -> Translation {
        let Some(q) = prev.as_object_mut() else {
            return self.clarify(
                "I could not continue the previous question; ask it whole.",
                r,
            );
        };
        if !r.metrics.is_empty() {
            q.insert("metrics".into(), json!(r.metrics));
        }
        if let Some(p) = &r.period {
            q.insert("period".into(), p.clone());
        } else if r.shift {
            // "what about the month before?": the period just before the previous one.
            let Ok(period) = serde_json::from_value::<Period>(q["period"].clone()) else {
                return self.clarify("I could not read the previous question's period.", r);
            };
            let before = compare_range(&resolve(&period, today), Compare::PreviousPeriod);
            let p = if before.start == before.end {
                json!({"date": before.start.to_string()})
            } else {
                period_between(before.start, before.end)
            };
            q.insert("period".into(), p);
        }
        if q.get("kind").and_then(Value::as_str) == Some("overview") {
            if let Some(c) = r.compare {
                q.insert("compare".into(), json!(compare_str(c)));
            }
            return Translation::Dsl { dsl: prev };
        }
        self.apply_modifiers(q, r);
        Translation::Dsl { dsl: prev }
    }

    fn list_follow_up(&self, mut prev: Value, r: Reading, catalog: &Catalog) -> Translation {
        let Some(q) = prev.as_object_mut() else {
            return self.clarify(
                "I could not continue the previous question; ask it whole.",
                &r,
            );
        };
        let Some(entity) = q
            .get("entity")
            .and_then(Value::as_str)
            .and_then(|e| catalog.entities.get(e))
        else {
            return self.clarify(
                "I could not continue the previous question; ask it whole.",
                &r,
            );
        };
        let mut fields: Vec<String> = q
            .get("fields")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        for f in r.added_fields.iter().chain(&r.fields) {
            if !fields.contains(f) {
                fields.push(f.clone());
            }
        }
        q.insert("fields".into(), json!(fields));
        if let Some(s) = &r.sort {
            q.insert(
                "sort".into(),
                json!({"field": s, "order": if r.asc { "asc" } else { "desc" }}),
            );
        }
        if let Some(asc) = r.newest {
            if let Some(t) = &entity.default_time {
                q.insert(
                    "sort".into(),
                    json!({"field": t, "order": if asc { "asc" } else { "desc" }}),
                );
            }
        }
        if let Some(n) = r.top_n {
            q.insert("limit".into(), json!(n.clamp(1, 100)));
        }
        if let Some(p) = r.period {
            q.insert("period".into(), p);
        }
        if r.drop_filters {
            q.remove("filters");
        }
        Translation::Dsl { dsl: prev }
    }

    fn list(&self, r: Reading, catalog: &Catalog) -> Translation {
        let Some(entity) = r.entity.as_ref().and_then(|e| catalog.entities.get(e)) else {
            return self.clarify("Which records do you want to list?", &r);
        };
        let mut time_field = None;
        let mut fields = Vec::new();
        for f in &r.fields {
            let is_date = entity
                .fields
                .get(f)
                .is_some_and(|x| x.ty == ValueType::Date);
            if is_date && r.period.is_some() && time_field.is_none() {
                time_field = Some(f.clone());
            } else if r.other_filters.iter().any(|(n, _, _)| n == f) {
                // "mrr over 5000", "name contains …": a filter, not a column request.
            } else {
                fields.push(f.clone());
            }
        }
        if fields.is_empty() {
            fields = entity.default_fields.clone();
        }
        for f in &r.added_fields {
            let is_date_filter = entity
                .fields
                .get(f)
                .is_some_and(|x| x.ty == ValueType::Date)
                && r.period.is_some()
                && time_field.is_none();
            if is_date_filter {
                time_field = Some(f.clone());
            }
            if !fields.contains(f) {
                fields.push(f.clone());
            }
        }
        let mut q = Map::new();
        q.insert("kind".into(), json!("list"));
        q.insert("entity".into(), json!(entity.name));
        q.insert("fields".into(), json!(fields));
        let mut filters: Vec<Value> = Vec::new();
        for (d, (neg, vals)) in &r.filters {
            if !entity.fields.contains_key(d) {
                return self.clarify(
                    &format!("`{d}` does not apply to {} records.", entity.name),
                    &r,
                );
            }
            filters.push(filter_json(d, *neg, vals, "field"));
        }
        for (name, op, v) in &r.other_filters {
            if !entity.fields.contains_key(name) {
                return self.clarify(
                    &format!("`{name}` does not apply to {} records.", entity.name),
                    &r,
                );
            }
            filters.push(json!({"field": name, "op": op, "values": [v]}));
        }
        if !filters.is_empty() {
            q.insert("filters".into(), json!(filters));
        }
        if let Some(p) = r.period.clone() {
            q.insert("period".into(), p);
            if let Some(t) = time_field {
                q.insert("time_field".into(), json!(t));
            }
        }
        if let Some(s) = &r.sort {
            q.insert(
                "sort".into(),
                json!({"field": s, "order": if r.asc { "asc" } else { "desc" }}),
            );
        } else if let (Some(asc), Some(t)) = (r.newest, &entity.default_time) {
            q.insert(
                "sort".into(),
                json!({"field": t, "order": if asc { "asc" } else { "desc" }}),
            );
        }
        if let Some(n) = r.top_n {
            q.insert("limit".into(), json!(n.clamp(1, 100)));
        }
        Translation::Dsl {
            dsl: Value::Object(q),
        }
    }

    fn clarify(&self, message: &str, r: &Reading) -> Translation {
        let candidates: Vec<(&str, Vec<&str>)> = self
            .metric_names
            .iter()
            .map(|(n, s)| (n.as_str(), s.iter().map(String::as_str).collect()))
            .collect();
        let mut suggestions: Vec<String> = r
            .unknown
            .iter()
            .filter_map(|w| nearest(w, &candidates))
            .map(|m| format!("did you mean the metric `{m}`?"))
            .collect();
        suggestions.dedup();
        // Example phrasings come from the catalog: nothing domain-specific lives here.
        suggestions.extend(self.examples.iter().cloned());
        Translation::Clarify(Clarification {
            message: message.to_string(),
            unmapped: r.unknown.clone(),
            suggestions,
        })
    }
}

fn compare_str(c: Compare) -> &'static str {
    match c {
        Compare::PreviousPeriod => "previous_period",
        Compare::PreviousYear => "previous_year",
    }
}

fn filter_json(name: &str, negated: bool, values: &[String], key: &str) -> Value {
    let op = match (negated, values.len()) {
        (false, 1) => "eq",
        (true, 1) => "neq",
        (false, _) => "in",
        (true, _) => "not_in",
    };
    json!({key: name, "op": op, "values": values})
}
