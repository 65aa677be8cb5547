//! What words mean: the English tables (`english.toml`, compiled in) and the catalog lexicon
//! (metric, dimension, value, entity, field and funnel names, synonyms and `phrases`), both as
//! patterns of words with optional gaps ("tickets … closed"). Built once per catalog.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::OnceLock;

use rust_stemmers::Stemmer;
use serde::Deserialize;

use super::tokens::{tokenize, Token, TokenKind};
use crate::catalog::Catalog;
use crate::dsl::{FilterOp, Granularity};

const ENGLISH_TOML: &str = include_str!("english.toml");

/// The most words a gap (`…`) in a phrase may span.
const MAX_GAP: usize = 3;

/// An English phrase's meaning for the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Word {
    Overview,
    By,
    BreakDown,
    List,
    Which,
    Why,
    Count,
    Not,
    Including,
    Contains,
    DropFilters,
    Funnel,
    Retention,
    Anomalies,
    Define,
    Trend,
    Versus,
    CompareVerb,
    LowestFirst,
    HighestFirst,
    Newest,
    Oldest,
    Cmp(FilterOp),
    Top,
    Bottom,
    All,
    Holiday,
    Future,
    PersonalData,
    Movement,
    Write,
    Money,
    Granularity(Granularity),
    /// "and", "or", a comma: two asks joined.
    And,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnglish {
    fillers: Vec<String>,
    abbreviations: HashMap<String, String>,
    numbers: HashMap<String, u32>,
    months: Vec<String>,
    weekdays: Vec<String>,
    weekday_abbreviations: HashMap<String, String>,
    subjects: Vec<String>,
    granularity: HashMap<String, Vec<String>>,
    phrases: HashMap<String, Vec<String>>,
}

/// A phrase as words, split at its gaps: `[["tickets"], ["closed"]]` for "tickets … closed".
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Pattern(pub Vec<Vec<String>>);

impl Pattern {
    pub fn words(&self) -> usize {
        self.0.iter().map(Vec::len).sum()
    }

    pub fn gapped(&self) -> bool {
        self.0.len() > 1
    }

    /// The positions the pattern takes when it starts at `i`, comparing `key(token)` with its
    /// words. Words already taken are not available; a gap skips at most `MAX_GAP` tokens and
    /// never crosses a conjunction or a quoted value.
    pub fn at(
        &self,
        tokens: &[Token],
        i: usize,
        taken: &[bool],
        key: impl Fn(&Token) -> &str,
    ) -> Option<Vec<usize>> {
        let mut positions = Vec::with_capacity(self.words());
        let mut at = i;
        for (s, segment) in self.0.iter().enumerate() {
            let fits = |start: usize| {
                segment.iter().enumerate().all(|(k, w)| {
                    tokens.get(start + k).is_some_and(|t| {
                        !taken[start + k] && t.kind != TokenKind::Quoted && key(t) == w
                    })
                })
            };
            let start = if s == 0 {
                fits(at).then_some(at)?
            } else {
                (at..=(at + MAX_GAP).min(tokens.len()))
                    .take_while(|&p| p == at || !is_stop(&tokens[p - 1]))
                    .find(|&p| fits(p))?
            };
            positions.extend(start..start + segment.len());
            at = start + segment.len();
        }
        Some(positions)
    }
}

/// Words a gap may not cross: they join two separate asks.
fn is_stop(t: &Token) -> bool {
    matches!(t.kind, TokenKind::Quoted | TokenKind::Comma)
        || matches!(
            t.lower.as_str(),
            "and" | "or" | "vs" | "versus" | "but" | "than"
        )
}

/// The English tables, parsed once.
pub(crate) struct English {
    pub fillers: HashSet<String>,
    pub abbreviations: HashMap<String, String>,
    pub numbers: HashMap<String, u32>,
    pub months: Vec<String>,
    pub weekdays: Vec<String>,
    pub weekday_abbreviations: HashMap<String, String>,
    /// Who-did-it nouns ("users", "people").
    pub subjects: HashSet<String>,
    /// Phrases and their meanings, indexed by first word.
    phrases: HashMap<String, Vec<(Pattern, Word)>>,
    /// Every word of every English phrase and table (for typo correction and the stem guard).
    pub known: HashSet<String>,
}

impl English {
    pub fn get() -> &'static English {
        static ENGLISH: OnceLock<English> = OnceLock::new();
        ENGLISH.get_or_init(|| English::parse(ENGLISH_TOML))
    }

    fn parse(text: &str) -> English {
        let raw: RawEnglish = toml::from_str(text).expect("english.toml is valid");
        let mut english = English {
            fillers: raw.fillers.into_iter().collect(),
            abbreviations: raw.abbreviations,
            numbers: raw.numbers,
            months: raw.months,
            weekdays: raw.weekdays,
            weekday_abbreviations: raw.weekday_abbreviations,
            subjects: raw.subjects.into_iter().collect(),
            phrases: HashMap::new(),
            known: HashSet::new(),
        };
        let stemmer = super::tokens::stemmer();
        let mut all: Vec<(String, Word)> = Vec::new();
        for (group, list) in &raw.phrases {
            let word = match group.as_str() {
                "overview" => Word::Overview,
                "by" => Word::By,
                "break_down" => Word::BreakDown,
                "list" => Word::List,
                "which" => Word::Which,
                "why" => Word::Why,
                "count" => Word::Count,
                "not" => Word::Not,
                "including" => Word::Including,
                "contains" => Word::Contains,
                "drop_filters" => Word::DropFilters,
                "funnel" => Word::Funnel,
                "retention" => Word::Retention,
                "anomalies" => Word::Anomalies,
                "define" => Word::Define,
                "trend" => Word::Trend,
                "versus" => Word::Versus,
                "compare_verb" => Word::CompareVerb,
                "lowest_first" => Word::LowestFirst,
                "highest_first" => Word::HighestFirst,
                "newest" => Word::Newest,
                "oldest" => Word::Oldest,
                "gt" => Word::Cmp(FilterOp::Gt),
                "gte" => Word::Cmp(FilterOp::Gte),
                "lt" => Word::Cmp(FilterOp::Lt),
                "lte" => Word::Cmp(FilterOp::Lte),
                "top" => Word::Top,
                "bottom" => Word::Bottom,
                "all" => Word::All,
                "holidays" => Word::Holiday,
                "future" => Word::Future,
                "personal_data" => Word::PersonalData,
                "movement" => Word::Movement,
                "writes" => Word::Write,
                "money" => Word::Money,
                "and" => Word::And,
                other => panic!("english.toml: unknown phrase group `{other}`"),
            };
            all.extend(list.iter().map(|p| (p.clone(), word)));
        }
        for (unit, list) in &raw.granularity {
            let g = match unit.as_str() {
                "day" => Granularity::Day,
                "week" => Granularity::Week,
                "month" => Granularity::Month,
                other => panic!("english.toml: unknown granularity `{other}`"),
            };
            all.extend(list.iter().map(|p| (p.clone(), Word::Granularity(g))));
        }
        for (phrase, word) in all {
            let pattern = english.pattern(&phrase, &stemmer, false);
            for w in pattern.0.iter().flatten() {
                english.known.insert(w.clone());
            }
            if let Some(first) = pattern.0.first().and_then(|s| s.first()) {
                english
                    .phrases
                    .entry(first.clone())
                    .or_default()
                    .push((pattern, word));
            }
        }
        let tables: Vec<String> = english
            .fillers
            .iter()
            .chain(&english.months)
            .chain(&english.weekdays)
            .chain(english.numbers.keys())
            .chain(english.weekday_abbreviations.keys())
            .cloned()
            .collect();
        english.known.extend(tables);
        english.known.extend(
            [
                "today",
                "yesterday",
                "week",
                "weeks",
                "month",
                "months",
                "quarter",
                "quarters",
                "year",
                "years",
                "day",
                "days",
                "last",
                "this",
                "past",
                "previous",
                "prior",
                "since",
                "between",
                "until",
                "before",
                "after",
                "ago",
                "current",
                "trailing",
                "ytd",
                "mtd",
                "wtd",
                "qtd",
                "weekend",
                "weekends",
                "wow",
                "mom",
                "yoy",
                "qoq",
                "dod",
            ]
            .map(String::from),
        );
        english
    }

    /// A phrase as a pattern of lowercase words (or stems), split at `…`.
    pub fn pattern(&self, phrase: &str, stemmer: &Stemmer, stems: bool) -> Pattern {
        Pattern(
            phrase
                .split('…')
                .map(|segment| {
                    tokenize(segment, self, stemmer)
                        .into_iter()
                        .map(|t| if stems { t.stem } else { t.lower })
                        .collect::<Vec<_>>()
                })
                .filter(|s| !s.is_empty())
                .collect(),
        )
    }

    /// The longest English phrase at `i`: (positions, meaning). Among equally long phrases a
    /// contiguous one wins over a gapped one.
    pub fn phrase_at(
        &self,
        tokens: &[Token],
        i: usize,
        taken: &[bool],
    ) -> Option<(Vec<usize>, Word)> {
        let mut best: Option<(Vec<usize>, Word, bool)> = None;
        for (pattern, word) in self.phrases.get(&tokens[i].lower)? {
            if let Some(p) = pattern.at(tokens, i, taken, |t| t.lower.as_str()) {
                let better = match &best {
                    None => true,
                    Some((b, _, gapped)) => {
                        p.len() > b.len() || (p.len() == b.len() && *gapped && !pattern.gapped())
                    }
                };
                if better {
                    best = Some((p, *word, pattern.gapped()));
                }
            }
        }
        best.map(|(p, w, _)| (p, w))
    }

    pub fn is_filler(&self, t: &Token) -> bool {
        t.kind == TokenKind::Word && !t.is_code() && self.fillers.contains(&t.lower)
    }

    pub fn month(&self, word: &str) -> Option<u32> {
        let i = self.months.iter().position(|m| {
            m == word
                || (word.len() >= 3 && word != "mar" && word != "may" && m.starts_with(word))
                || (word == "mar" && m == "march")
        })?;
        Some(i as u32 + 1)
    }

    pub fn weekday(&self, word: &str) -> Option<chrono::Weekday> {
        let full = self
            .weekday_abbreviations
            .get(word)
            .map(String::as_str)
            .unwrap_or(word);
        let i = self.weekdays.iter().position(|d| d == full)?;
        Some(chrono::Weekday::try_from(i as u8).expect("seven weekdays"))
    }
}

/// A catalog meaning of a phrase.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Concept {
    Metric(String),
    Dimension(String),
    Value { dimension: String, value: String },
    Entity(String),
    Field(String),
    Funnel(String),
}

#[derive(Debug, Clone)]
struct Entry {
    stems: Pattern,
    words: Pattern,
    concept: Concept,
}

/// A catalog phrase found in the question.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Found {
    pub positions: Vec<usize>,
    pub concepts: BTreeSet<Concept>,
    pub gapped: bool,
}

/// The catalog's phrases, indexed by the stem of their first word.
pub(crate) struct Lexicon {
    entries: Vec<Entry>,
    by_first: HashMap<String, Vec<usize>>,
    /// Every word and stem of the catalog's phrases (for typo correction).
    pub vocabulary: BTreeSet<String>,
    pub stems: HashSet<String>,
    /// Words a slip may be corrected to, by first letter: the catalog's words and English words
    /// that mean something (never a filler, which would make the slip vanish), four letters or
    /// more, in a fixed order.
    pub corrections: HashMap<char, Vec<String>>,
}

impl Lexicon {
    pub fn new(catalog: &Catalog, english: &English, stemmer: &Stemmer) -> Lexicon {
        let mut lexicon = Lexicon {
            entries: Vec::new(),
            by_first: HashMap::new(),
            vocabulary: BTreeSet::new(),
            stems: HashSet::new(),
            corrections: HashMap::new(),
        };
        let mut add = |phrase: &str, concept: Concept| {
            let phrase = phrase.replace('_', " ");
            let words = english.pattern(&phrase, stemmer, false);
            let stems = english.pattern(&phrase, stemmer, true);
            if stems.0.is_empty() {
                return;
            }
            lexicon.vocabulary.extend(words.0.iter().flatten().cloned());
            lexicon.stems.extend(stems.0.iter().flatten().cloned());
            let at = lexicon.entries.len();
            lexicon
                .by_first
                .entry(stems.0[0][0].clone())
                .or_default()
                .push(at);
            lexicon.entries.push(Entry {
                stems,
                words,
                concept,
            });
        };
        for m in catalog.metrics.values() {
            let c = Concept::Metric(m.name.clone());
            add(&m.name, c.clone());
            add(&m.label, c.clone());
            for s in m.synonyms.iter().chain(&m.phrases) {
                add(s, c.clone());
            }
        }
        for d in catalog.dimensions.values() {
            let c = Concept::Dimension(d.name.clone());
            add(&d.name, c.clone());
            for s in d.synonyms.iter().chain(&d.phrases) {
                add(s, c.clone());
            }
            for v in &d.values {
                let c = Concept::Value {
                    dimension: d.name.clone(),
                    value: v.clone(),
                };
                // Codes in capitals ("US", "DE") are read only as typed, in `scan`: "us" and
                // "in" are English words.
                if !is_code_value(v) {
                    add(v, c.clone());
                }
                for s in d.value_synonyms.get(v).into_iter().flatten() {
                    add(s, c.clone());
                }
            }
        }
        for e in catalog.entities.values() {
            let c = Concept::Entity(e.name.clone());
            add(&e.name, c.clone());
            for s in &e.synonyms {
                add(s, c.clone());
            }
            for f in e.fields.values() {
                let c = Concept::Field(f.name.clone());
                add(&f.name, c.clone());
                for s in &f.synonyms {
                    add(s, c.clone());
                }
            }
        }
        for f in catalog.funnels.values() {
            let c = Concept::Funnel(f.name.clone());
            add(&f.name, c.clone());
            add(&f.label, c.clone());
            for s in &f.synonyms {
                add(s, c.clone());
            }
        }
        let mut targets: BTreeSet<&String> = lexicon.vocabulary.iter().collect();
        targets.extend(
            english
                .known
                .iter()
                .filter(|w| !english.fillers.contains(*w)),
        );
        let mut corrections: HashMap<char, Vec<String>> = HashMap::new();
        for w in targets.into_iter().filter(|w| w.len() >= 4) {
            if let Some(c) = w.chars().next() {
                corrections.entry(c).or_default().push(w.clone());
            }
        }
        lexicon.corrections = corrections;
        lexicon
    }

    /// The longest catalog phrase at `i`, with every meaning it has. Phrases typed exactly win
    /// over phrases matched by stem; a stem match is refused where a word is English in its own
    /// right ("active" is not "activity"); a contiguous phrase wins over a gapped one of the
    /// same length.
    pub fn at(
        &self,
        tokens: &[Token],
        i: usize,
        taken: &[bool],
        english: &English,
    ) -> Option<Found> {
        let mut found: Vec<(Vec<usize>, bool, bool, &Concept)> = Vec::new();
        for &e in self.by_first.get(&tokens[i].stem)? {
            let entry = &self.entries[e];
            let Some(p) = entry.stems.at(tokens, i, taken, |t| t.stem.as_str()) else {
                continue;
            };
            let surface: Vec<&String> = entry.words.0.iter().flatten().collect();
            let exact = p.iter().zip(&surface).all(|(&k, w)| &tokens[k].lower == *w);
            let guarded = p
                .iter()
                .zip(&surface)
                .any(|(&k, w)| &tokens[k].lower != *w && english.known.contains(&tokens[k].lower));
            if !exact && guarded {
                continue;
            }
            found.push((p, exact, entry.stems.gapped(), &entry.concept));
        }
        // Longest first, contiguous before gapped; then, within each kind of meaning, words
        // typed exactly win over words matched by stem ("purchasers" is not "purchases").
        let rank = |(p, _, gapped, _): &(Vec<usize>, bool, bool, &Concept)| (p.len(), !*gapped);
        let best = found.iter().map(rank).max()?;
        let top: Vec<&(Vec<usize>, bool, bool, &Concept)> =
            found.iter().filter(|f| rank(f) == best).collect();
        let kind = |c: &Concept| std::mem::discriminant(c);
        let concepts: BTreeSet<Concept> = top
            .iter()
            .filter(|f| f.1 || !top.iter().any(|g| g.1 && kind(g.3) == kind(f.3)))
            .map(|f| f.3.clone())
            .collect();
        let positions = top.first().map(|f| f.0.clone())?;
        Some(Found {
            positions,
            concepts,
            gapped: !best.1,
        })
    }
}

/// A value written as a short code in capitals ("US", "DE"), matched only as typed.
pub(crate) fn is_code_value(v: &str) -> bool {
    (2..=3).contains(&v.chars().count()) && v.chars().all(|c| c.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::super::tokens::stemmer;
    use super::*;

    fn tokens(q: &str) -> Vec<Token> {
        tokenize(q, English::get(), &stemmer())
    }

    #[test]
    fn english_phrases_take_the_longest_match_and_gaps() {
        let e = English::get();
        let t = tokens("how are my campaigns doing");
        let taken = vec![false; t.len()];
        let (p, w) = e.phrase_at(&t, 0, &taken).unwrap();
        assert_eq!(w, Word::Overview);
        assert_eq!(p, vec![0, 1, 4]);
        let t = tokens("broken down by country");
        let (p, w) = e.phrase_at(&t, 0, &vec![false; t.len()]).unwrap();
        assert_eq!((p.len(), w), (3, Word::By));
        let t = tokens("step by step");
        assert_eq!(
            e.phrase_at(&t, 0, &vec![false; t.len()]).unwrap().1,
            Word::Funnel
        );
    }

    #[test]
    fn gaps_do_not_cross_conjunctions() {
        let p = Pattern(vec![vec!["tickets".into()], vec!["closed".into()]]);
        let t = tokens("tickets that got closed");
        assert_eq!(
            p.at(&t, 0, &[false; 4], |t| t.lower.as_str()),
            Some(vec![0, 3])
        );
        let t = tokens("tickets and sessions closed");
        assert_eq!(p.at(&t, 0, &[false; 4], |t| t.lower.as_str()), None);
        let t = tokens("tickets a b c d closed");
        assert_eq!(p.at(&t, 0, &[false; 6], |t| t.lower.as_str()), None);
    }

    #[test]
    fn catalog_phrases_prefer_exact_words_and_guard_english_words() {
        let catalog = Catalog::embedded_default();
        let e = English::get();
        let lex = Lexicon::new(&catalog, e, &stemmer());
        let t = tokens("purchasers");
        let f = lex.at(&t, 0, &[false], e).unwrap();
        assert_eq!(
            f.concepts.into_iter().collect::<Vec<_>>(),
            vec![Concept::Metric("order_users".into())]
        );
        // "active" stems like "activity" (an events synonym) but is an English word of its own.
        let t = tokens("active");
        assert!(lex.at(&t, 0, &[false], e).is_none());
        let t = tokens("closed tickets");
        let f = lex.at(&t, 0, &[false; 2], e).unwrap();
        assert!(f
            .concepts
            .contains(&Concept::Metric("tickets_resolved".into())));
    }
}
