//! Tokens → recognised items, left to right, the longest reading at each position winning. The
//! scan keeps a ledger: every token is taken by an item or is a known filler; anything else
//! becomes an `Unknown`, a `Name` (capitalised words) or a `Code` (short capitals such as "IT"),
//! which the reader never drops silently.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use rust_stemmers::Stemmer;

use super::lexicon::{is_code_value, Concept, English, Lexicon, Word};
use super::time::{compare_at, period_at, Time};
use super::tokens::{tokenize, Case, Token, TokenKind};
use crate::catalog::Catalog;
use crate::check::nearest::distance;

/// One recognised piece of the question.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Item {
    /// A catalog phrase with every meaning it may have; `words` as typed, `gapped` when the
    /// phrase had a gap (a verb phrase such as "tickets … closed"), `subject` when it is one
    /// who-did-it noun ("users").
    Concept {
        concepts: BTreeSet<Concept>,
        words: String,
        gapped: bool,
        subject: bool,
    },
    /// A time expression and its words as typed.
    Time(Time, String),
    Word(Word, String),
    /// "top 5", "bottom 3", "most" (`n` absent).
    Top {
        n: Option<u32>,
        asc: bool,
    },
    Number {
        value: f64,
        money: bool,
    },
    Quoted(String),
    /// Capitalised words the catalog does not know; `dimension` when an entity noun stands next
    /// to them ("the Retargeting campaign"), which makes them that entity's name.
    Name {
        text: String,
        dimension: Option<String>,
    },
    /// A short code in capitals that is no known value ("IT", "NL").
    Code(String),
    Unknown(String),
}

/// A scanned question: its items in order.
pub(crate) struct Scan {
    pub items: Vec<Item>,
}

/// Reads the question into items.
pub(crate) fn scan(
    question: &str,
    today: NaiveDate,
    catalog: &Catalog,
    lexicon: &Lexicon,
    english: &English,
    stemmer: &Stemmer,
) -> Scan {
    let mut tokens = tokenize(question, english, stemmer);
    correct_typos(&mut tokens, lexicon, english, stemmer);
    // A question typed in capitals throughout says nothing by its capitals.
    let words: Vec<&Token> = tokens
        .iter()
        .filter(|t| t.kind == TokenKind::Word && t.raw.chars().count() >= 2)
        .collect();
    let shouting = words.len() >= 3 && words.iter().all(|t| t.case == Case::Upper);
    if shouting {
        for t in &mut tokens {
            if t.case == Case::Upper {
                t.case = if is_code_value(&t.raw) && english.fillers.contains(&t.lower) {
                    Case::Upper
                } else {
                    Case::Lower
                };
            }
        }
    }
    let codes = code_values(catalog);
    let n = tokens.len();
    let mut taken = vec![false; n];
    // Each item with the token it applies at, sorted at the end: a gapped phrase such as
    // "break … down by" applies where its last word is.
    let mut items: Vec<(usize, Item)> = Vec::new();
    let mut i = 0;
    while i < n {
        if taken[i] {
            i += 1;
            continue;
        }
        let tok = &tokens[i];
        if tok.kind == TokenKind::Quoted {
            // `the "Spark Ads" campaign`: the name of a record.
            let noun = (i + 1 < n)
                .then(|| lexicon.at(&tokens, i + 1, &taken, english))
                .flatten()
                .and_then(|f| entity_noun(&f.concepts, catalog));
            items.push((
                i,
                match noun {
                    Some(d) => Item::Name {
                        text: tok.raw.clone(),
                        dimension: Some(d),
                    },
                    None => Item::Quoted(tok.raw.clone()),
                },
            ));
            taken[i] = true;
            i += 1;
            continue;
        }
        // "US", "DE": a code value only as typed in capitals ("us" is a pronoun).
        if tok.is_code() {
            if let Some((d, v)) = codes.iter().find(|(_, v)| *v == tok.raw) {
                items.push((
                    i,
                    Item::Concept {
                        concepts: [Concept::Value {
                            dimension: d.clone(),
                            value: v.clone(),
                        }]
                        .into(),
                        words: tok.raw.clone(),
                        gapped: false,
                        subject: false,
                    },
                ));
                taken[i] = true;
                i += 1;
                continue;
            }
        }
        if let Some((len, dimension)) = named_entity(&tokens, i, &taken, catalog, lexicon, english)
        {
            let text: Vec<&str> = tokens[i..i + len].iter().map(|t| t.raw.as_str()).collect();
            items.push((
                i,
                Item::Name {
                    text: text.join(" "),
                    dimension: Some(dimension),
                },
            ));
            taken[i..i + len].iter_mut().for_each(|t| *t = true);
            i += len;
            continue;
        }
        let free = |len: usize| (i..i + len).all(|k| k < n && !taken[k]);
        let compare = compare_at(&tokens, i, today, english).filter(|(len, _)| free(*len));
        let time = period_at(&tokens, i, today, english).filter(|(len, _)| free(*len));
        let phrase = english.phrase_at(&tokens, i, &taken);
        let concept = lexicon.at(&tokens, i, &taken, english);
        let phrase_len = phrase.as_ref().map_or(0, |(p, _)| p.len());
        let concept_len = concept.as_ref().map_or(0, |c| c.positions.len());
        let time_len = time.as_ref().map_or(0, |(l, _)| *l);
        let compare_len = compare.as_ref().map_or(0, |(l, _)| *l);
        let best = phrase_len.max(concept_len).max(time_len).max(compare_len);
        let mut positions: Vec<usize> = Vec::new();
        let said = |len: usize| {
            tokens[i..i + len]
                .iter()
                .map(|t| t.raw.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        };
        if best > 0 && compare_len == best {
            let (len, t) = compare.expect("best");
            items.push((i, Item::Time(t, said(len))));
            positions.extend(i..i + len);
        } else if best > 0 && time_len == best {
            let (len, t) = time.expect("best");
            items.push((i, Item::Time(t, said(len))));
            positions.extend(i..i + len);
        } else if best > 0 && concept_len == best && !(phrase_len == best && best > 1) {
            let c = concept.expect("best");
            let words: Vec<&str> = c
                .positions
                .iter()
                .map(|&k| tokens[k].lower.as_str())
                .collect();
            let subject = c.positions.len() == 1 && english.subjects.contains(&tokens[i].lower);
            items.push((
                i,
                Item::Concept {
                    concepts: c.concepts,
                    words: words.join(" "),
                    gapped: c.gapped,
                    subject,
                },
            ));
            positions = c.positions;
        } else if best > 0 {
            let (p, word) = phrase.expect("best");
            let next = p.last().map_or(i, |l| l + 1);
            let said: Vec<&str> = p.iter().map(|&k| tokens[k].lower.as_str()).collect();
            let said = said.join(" ");
            match word {
                Word::Top | Word::Bottom => {
                    let count = tokens
                        .get(next)
                        .filter(|_| next < n && !taken[next])
                        .and_then(|t| t.count(english))
                        .filter(|c| (1..=100).contains(c));
                    items.push((
                        i,
                        Item::Top {
                            n: count,
                            asc: word == Word::Bottom,
                        },
                    ));
                    positions = p;
                    if count.is_some() {
                        positions.push(next);
                    }
                }
                // "over 1000", "at least 5k": a comparison only before a number.
                Word::Cmp(_)
                    if !tokens
                        .get(next)
                        .is_some_and(|t| matches!(t.kind, TokenKind::Number { .. })) =>
                {
                    positions.clear();
                }
                Word::Money => positions.clear(),
                _ => {
                    let at = if word == Word::By {
                        *p.last().expect("words")
                    } else {
                        i
                    };
                    items.push((at, Item::Word(word, said)));
                    positions = p;
                }
            }
        }
        if !positions.is_empty() {
            for k in positions {
                taken[k] = true;
            }
            i += 1;
            continue;
        }
        // Nothing recognised: a number, a filler, or something the reader must not ignore.
        taken[i] = true;
        match tok.kind {
            TokenKind::Number { value, mut money } => {
                // "100 dollars"
                if let Some(next) = tokens.get(i + 1) {
                    if english
                        .phrase_at(&tokens, i + 1, &taken)
                        .is_some_and(|(_, w)| w == Word::Money)
                        && next.kind == TokenKind::Word
                    {
                        money = true;
                        taken[i + 1] = true;
                    }
                }
                items.push((i, Item::Number { value, money }));
            }
            TokenKind::Comma => items.push((i, Item::Word(super::lexicon::Word::And, ",".into()))),
            _ if english.is_filler(tok) => {}
            _ if tok.is_code() => items.push((i, Item::Code(tok.raw.clone()))),
            _ if tok.looks_proper() && tok.kind == TokenKind::Word => {
                // Consecutive capitalised words are one name ("Acme Corp").
                let mut text = tok.raw.clone();
                let mut j = i + 1;
                while j < n
                    && !taken[j]
                    && tokens[j].looks_proper()
                    && tokens[j].kind == TokenKind::Word
                    && !tokens[j].is_code()
                    && lexicon.at(&tokens, j, &taken, english).is_none()
                {
                    text.push(' ');
                    text.push_str(&tokens[j].raw);
                    taken[j] = true;
                    j += 1;
                }
                items.push((
                    i,
                    Item::Name {
                        text,
                        dimension: None,
                    },
                ));
            }
            _ => items.push((i, Item::Unknown(tok.raw.clone()))),
        }
        i += 1;
    }
    items.sort_by_key(|(at, _)| *at);
    Scan {
        items: items.into_iter().map(|(_, item)| item).collect(),
    }
}

/// Every (dimension, value) whose value is a code in capitals.
fn code_values(catalog: &Catalog) -> Vec<(String, String)> {
    catalog
        .dimensions
        .values()
        .flat_map(|d| {
            d.values
                .iter()
                .filter(|v| is_code_value(v))
                .map(|v| (d.name.clone(), v.clone()))
        })
        .collect()
}

/// Dimensions that name single records (`entity = true`), and entities through theirs.
fn entity_noun(concepts: &BTreeSet<Concept>, catalog: &Catalog) -> Option<String> {
    concepts.iter().find_map(|c| match c {
        Concept::Dimension(d) if catalog.dimensions.get(d).is_some_and(|x| x.entity) => {
            Some(d.clone())
        }
        Concept::Entity(e) => entity_dimension(catalog, e),
        _ => None,
    })
}

/// The dimension that names an entity's records (the `entity = true` dimension on its table).
pub(crate) fn entity_dimension(catalog: &Catalog, entity: &str) -> Option<String> {
    let e = catalog.entities.get(entity)?;
    catalog
        .dimensions
        .values()
        .find(|d| d.entity && d.bindings.iter().any(|(t, _)| *t == e.table))
        .map(|d| d.name.clone())
}

/// Capitalised words next to an entity noun ("the Retargeting campaign", "campaign Summer
/// Sale"): that entity's name, even when a word of it means something else alone.
fn named_entity(
    tokens: &[Token],
    i: usize,
    taken: &[bool],
    catalog: &Catalog,
    lexicon: &Lexicon,
    english: &English,
) -> Option<(usize, String)> {
    let proper = |t: &Token| {
        t.looks_proper() && t.kind == TokenKind::Word && !t.is_code() && !english.is_filler(t)
    };
    if !proper(&tokens[i]) {
        return None;
    }
    let mut j = i;
    while j < tokens.len() && !taken[j] && proper(&tokens[j]) {
        j += 1;
    }
    // One word that means something alone ("Google", "October") is that thing, not a name.
    let known = |k: usize| {
        english.known.contains(&tokens[k].lower) || lexicon.at(tokens, k, taken, english).is_some()
    };
    if j == i + 1 && known(i) {
        return None;
    }
    let noun_at = |k: usize| -> Option<String> {
        if k >= tokens.len() || taken[k] {
            return None;
        }
        let found = lexicon.at(tokens, k, taken, english)?;
        entity_noun(&found.concepts, catalog)
    };
    if let Some(d) = noun_at(j) {
        return Some((j - i, d));
    }
    let mut k = i;
    while k > 0 && matches!(tokens[k - 1].lower.as_str(), "named" | "called" | "the") {
        k -= 1;
    }
    if k > 0 {
        if let Some(d) = noun_at(k - 1).or_else(|| {
            // The noun was read already: look at it without the ledger.
            let found = lexicon.at(tokens, k - 1, &vec![false; tokens.len()], english)?;
            entity_noun(&found.concepts, catalog)
        }) {
            return Some((j - i, d));
        }
    }
    None
}

/// Corrects words the translator does not know to a known word one or two edits away; among
/// equally near words the longest wins ("monthy" → "monthly"), a tie of equal length is no
/// correction. Capitalised words away from the start are names, never corrected.
fn correct_typos(tokens: &mut [Token], lexicon: &Lexicon, english: &English, stemmer: &Stemmer) {
    for t in tokens.iter_mut() {
        let eligible = t.kind == TokenKind::Word
            && (t.case == Case::Lower || t.first && t.case == Case::Capitalised)
            && t.lower.chars().count() >= 4
            && t.lower.chars().all(|c| c.is_ascii_alphabetic())
            && !english.known.contains(&t.lower)
            && !lexicon.vocabulary.contains(&t.lower)
            && !lexicon.stems.contains(&t.stem);
        if !eligible {
            continue;
        }
        if let Some(w) = nearest_word(&t.lower, lexicon) {
            t.stem = stemmer.stem(&w).into_owned();
            t.lower = w;
        }
    }
}

fn nearest_word(word: &str, lexicon: &Lexicon) -> Option<String> {
    let limit = if word.len() >= 7 { 2 } else { 1 };
    let mut best: Option<(usize, usize, &String)> = None;
    let mut tie = false;
    let mut first = word.chars();
    let (c0, c1) = (first.next()?, first.next());
    // Slips keep the first letter, or swap the first two.
    let same = lexicon.corrections.get(&c0).into_iter().flatten();
    let swapped = c1
        .and_then(|c| lexicon.corrections.get(&c))
        .into_iter()
        .flatten()
        .filter(|v| v.chars().nth(1) == Some(c0));
    for v in same.chain(swapped) {
        if v.len().abs_diff(word.len()) > limit {
            continue;
        }
        let d = distance(word, v);
        if d > limit {
            continue;
        }
        let key = (d, usize::MAX - v.len());
        match best {
            Some((bd, bl, bv)) if (bd, bl) == key && bv != v => tie = true,
            Some((bd, bl, _)) if (bd, bl) <= key => {}
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

#[cfg(test)]
mod tests {
    use super::super::tokens::stemmer;
    use super::*;

    fn items(q: &str, catalog: &Catalog) -> Vec<Item> {
        let e = English::get();
        let s = stemmer();
        let lex = Lexicon::new(catalog, e, &s);
        scan(q, "2026-11-23".parse().unwrap(), catalog, &lex, e, &s).items
    }

    fn adnavi() -> Catalog {
        Catalog::from_toml(
            include_str!("../../../examples/adnavi/catalog.toml"),
            "examples/adnavi/catalog.toml",
        )
        .unwrap()
    }

    #[test]
    fn codes_in_capitals_are_values_or_value_candidates() {
        let c = Catalog::embedded_default();
        let got = items("signups in US and IT", &c);
        assert!(
            matches!(&got[1], Item::Concept { concepts, .. } if concepts.contains(&Concept::Value { dimension: "country".into(), value: "US".into() }))
        );
        assert_eq!(got[2], Item::Word(Word::And, "and".into()));
        assert_eq!(got[3], Item::Code("IT".into()));
        // Lowercase "us" and "it" are English.
        assert_eq!(items("tell it to us", &c), Vec::<Item>::new());
    }

    #[test]
    fn names_next_to_an_entity_noun_are_entity_names() {
        let c = adnavi();
        let got = items("ctr for the Brand Search campaign", &c);
        assert!(got.contains(&Item::Name {
            text: "Brand Search".into(),
            dimension: Some("campaign".into())
        }));
        let got = items("spend for campaign Summer Sale", &c);
        assert!(got.contains(&Item::Name {
            text: "Summer Sale".into(),
            dimension: Some("campaign".into())
        }));
        // Without the noun, capitalised words are a name nobody knows.
        let got = items("spend on Brand Search", &c);
        assert!(got.contains(&Item::Name {
            text: "Brand Search".into(),
            dimension: None
        }));
        // A known value is that value, not a name.
        let got = items("spend on Google campaigns", &c);
        assert!(!got.iter().any(|i| matches!(i, Item::Name { .. })));
    }

    #[test]
    fn nothing_meaningful_is_dropped() {
        let c = Catalog::embedded_default();
        let got = items("signups from Italy excluding bots", &c);
        assert!(got.contains(&Item::Name {
            text: "Italy".into(),
            dimension: None
        }));
        assert!(got.contains(&Item::Unknown("bots".into())));
    }

    #[test]
    fn typos_are_corrected_but_names_are_not() {
        let c = Catalog::embedded_default();
        let got = items("singups", &c);
        assert!(
            matches!(&got[0], Item::Concept { concepts, .. } if concepts.contains(&Concept::Metric("signups".into())))
        );
        let got = items("dau in Germny", &c);
        assert!(got.contains(&Item::Name {
            text: "Germny".into(),
            dimension: None
        }));
    }

    #[test]
    fn top_takes_its_number_and_comparisons_need_one() {
        let c = Catalog::embedded_default();
        let got = items("top 5 countries", &c);
        assert_eq!(
            got[0],
            Item::Top {
                n: Some(5),
                asc: false
            }
        );
        let got = items("mrr over 1k", &c);
        assert!(got.contains(&Item::Word(
            Word::Cmp(crate::dsl::FilterOp::Gt),
            "over".into()
        )));
        assert!(got.contains(&Item::Number {
            value: 1000.0,
            money: false
        }));
        // "over" before no number is a filler.
        assert_eq!(items("signups over", &c).len(), 1);
    }
}
