//! Question text → tokens: words as typed and lowercased (apostrophes dropped, abbreviations
//! expanded), their stems, numbers ("1,500", "$2k", "17th"), ISO dates, and quoted text kept
//! whole. Nothing here knows a catalog.

use chrono::NaiveDate;
use rust_stemmers::{Algorithm, Stemmer};

use super::lexicon::English;

/// One token of the question.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    /// As typed (quoted text without its quotes).
    pub raw: String,
    /// Lowercased, apostrophes dropped, abbreviations expanded.
    pub lower: String,
    /// The stem of `lower` ("tickets" → "ticket", "closed" → "close").
    pub stem: String,
    pub kind: TokenKind,
    /// How the word was written, which says something only away from the question's start.
    pub case: Case,
    /// The first token of the question (its capital means nothing).
    pub first: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum TokenKind {
    Word,
    /// A number as written ("1,500" → 1500, "2k" → 2000); `money` when a currency sign led it.
    Number {
        value: f64,
        money: bool,
    },
    /// "17th", "3rd": a day of the month.
    Ordinal(u32),
    Date(NaiveDate),
    /// Text in quotes: a value passed exactly as written.
    Quoted,
    /// "%".
    Percent,
    /// "," or ";": it joins two asks ("sessions, orders and signups").
    Comma,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Case {
    Lower,
    /// "Italy", "Acme".
    Capitalised,
    /// "IT", "US", "DAU".
    Upper,
    Other,
}

impl Token {
    /// Written with a capital where a capital says something: a name or a code.
    pub fn looks_proper(&self) -> bool {
        !self.first && matches!(self.case, Case::Capitalised | Case::Upper)
    }

    /// A short code in capitals ("IT", "US", "DE"): a value candidate before anything else.
    pub fn is_code(&self) -> bool {
        self.case == Case::Upper
            && (2..=3).contains(&self.raw.chars().count())
            && self.kind == TokenKind::Word
    }

    #[cfg(test)]
    pub fn number(&self) -> Option<f64> {
        match self.kind {
            TokenKind::Number { value, .. } => Some(value),
            _ => None,
        }
    }

    /// A whole number written as digits or as a word ("two").
    pub fn count(&self, english: &English) -> Option<u32> {
        match self.kind {
            TokenKind::Number {
                value,
                money: false,
            } if value.fract() == 0.0 && (0.0..=100_000.0).contains(&value) => Some(value as u32),
            TokenKind::Word => english.numbers.get(&self.lower).copied(),
            _ => None,
        }
    }
}

/// The stemmer every lookup uses (Snowball English).
pub(crate) fn stemmer() -> Stemmer {
    Stemmer::create(Algorithm::English)
}

fn case_of(raw: &str) -> Case {
    let letters: Vec<char> = raw.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.is_empty() {
        Case::Other
    } else if letters.iter().all(|c| c.is_lowercase()) {
        Case::Lower
    } else if letters.iter().all(|c| c.is_uppercase()) {
        Case::Upper
    } else if letters[0].is_uppercase() && letters[1..].iter().all(|c| c.is_lowercase()) {
        Case::Capitalised
    } else {
        Case::Other
    }
}

/// "1,500" → 1500, "2k" → 2000, "2.5m" → 2_500_000, "40" → 40.
fn parse_number(word: &str) -> Option<f64> {
    let w = word.replace(',', "");
    let (digits, factor) = match w.chars().last()? {
        'k' | 'K' => (&w[..w.len() - 1], 1_000.0),
        'm' | 'M' if w.len() > 1 => (&w[..w.len() - 1], 1_000_000.0),
        _ => (w.as_str(), 1.0),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    digits.parse::<f64>().ok().map(|v| v * factor)
}

fn parse_ordinal(word: &str) -> Option<u32> {
    let lower = word.to_lowercase();
    for suffix in ["st", "nd", "rd", "th"] {
        if let Some(d) = lower.strip_suffix(suffix) {
            if !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()) {
                return d.parse().ok().filter(|d| (1..=31).contains(d));
            }
        }
    }
    None
}

/// Splits a question into tokens.
pub(crate) fn tokenize(question: &str, english: &English, stemmer: &Stemmer) -> Vec<Token> {
    let mut words: Vec<(String, TokenKind)> = Vec::new();
    let chars: Vec<char> = question.chars().collect();
    let mut i = 0;
    let mut current = String::new();
    let mut money = false;
    let flush = |current: &mut String, money: &mut bool, words: &mut Vec<(String, TokenKind)>| {
        if !current.is_empty() {
            let raw = std::mem::take(current);
            let kind = if let Ok(d) = raw.parse::<NaiveDate>() {
                TokenKind::Date(d)
            } else if let Some(v) = parse_number(&raw) {
                TokenKind::Number {
                    value: v,
                    money: *money,
                }
            } else if let Some(d) = parse_ordinal(&raw) {
                TokenKind::Ordinal(d)
            } else {
                TokenKind::Word
            };
            words.push((raw, kind));
        }
        *money = false;
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let digits_so_far = !current.is_empty() && current.chars().all(|x| x.is_ascii_digit());
        if matches!(c, '"' | '“' | '”') {
            flush(&mut current, &mut money, &mut words);
            let mut text = String::new();
            i += 1;
            while i < chars.len() && !matches!(chars[i], '"' | '“' | '”') {
                text.push(chars[i]);
                i += 1;
            }
            let text = text.trim().to_string();
            if !text.is_empty() {
                words.push((text, TokenKind::Quoted));
            }
        } else if c == '$' || c == '€' || c == '£' {
            flush(&mut current, &mut money, &mut words);
            money = true;
        } else if c == '%' {
            flush(&mut current, &mut money, &mut words);
            words.push(("%".into(), TokenKind::Percent));
        } else if c == '&' {
            flush(&mut current, &mut money, &mut words);
            words.push(("and".into(), TokenKind::Word));
        } else if c.is_alphanumeric() || c == '\'' || c == '’' {
            current.push(if c == '’' { '\'' } else { c });
        } else if (c == ',' || c == '.')
            && digits_so_far
            && next.is_some_and(|n| n.is_ascii_digit())
        {
            // "1,500" and "2.5" stay one number.
            current.push(c);
        } else if c == '-'
            && !current.is_empty()
            && current.chars().all(|x| x.is_ascii_digit() || x == '-')
            && next.is_some_and(|n| n.is_ascii_digit())
        {
            // ISO dates keep their dashes.
            current.push(c);
        } else {
            let keep_money = money && current.is_empty();
            flush(&mut current, &mut money, &mut words);
            money = keep_money;
            if matches!(c, ',' | ';') {
                words.push((",".into(), TokenKind::Comma));
            }
        }
        i += 1;
    }
    flush(&mut current, &mut money, &mut words);

    let mut out = Vec::with_capacity(words.len());
    for (raw, kind) in words {
        let mut lower = match kind {
            TokenKind::Quoted => raw.to_lowercase(),
            TokenKind::Percent => "percent".to_string(),
            TokenKind::Comma => ",".to_string(),
            _ => raw.to_lowercase().replace('\'', ""),
        };
        if kind == TokenKind::Word {
            if let Some(full) = english.abbreviations.get(&lower) {
                lower = full.clone();
            }
        }
        if lower.is_empty() {
            continue;
        }
        let stem = stemmer.stem(&lower).into_owned();
        out.push(Token {
            case: case_of(&raw),
            first: out.is_empty(),
            raw: raw.trim_matches('\'').to_string(),
            lower,
            stem,
            kind,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(q: &str) -> Vec<Token> {
        tokenize(q, English::get(), &stemmer())
    }

    #[test]
    fn words_are_lowercased_stemmed_and_keep_their_case() {
        let t = toks("What's the DAU in IT, Italy?");
        let lower: Vec<&str> = t.iter().map(|t| t.lower.as_str()).collect();
        assert_eq!(lower, ["whats", "the", "dau", "in", "it", ",", "italy"]);
        assert!(t[0].first && !t[1].first);
        assert!(t[4].is_code() && t[4].looks_proper());
        assert_eq!(t[5].kind, TokenKind::Comma);
        assert_eq!(t[6].case, Case::Capitalised);
        assert!(!t[3].is_code());
        assert_eq!(toks("tickets closed")[1].stem, "close");
    }

    #[test]
    fn numbers_money_ordinals_and_dates() {
        let t = toks("mrr over $1,500 and 2k on the 17th 2026-11-03 2.5");
        assert_eq!(
            t[2].kind,
            TokenKind::Number {
                value: 1500.0,
                money: true
            }
        );
        assert_eq!(t[4].number(), Some(2000.0));
        assert_eq!(t[7].kind, TokenKind::Ordinal(17));
        assert_eq!(
            t[8].kind,
            TokenKind::Date(NaiveDate::from_ymd_opt(2026, 11, 3).unwrap())
        );
        assert_eq!(t[9].number(), Some(2.5));
    }

    #[test]
    fn quotes_percent_hyphens_and_abbreviations() {
        let t = toks("spend for \"Brand Search\" yday churn % month-over-month e-mail & co");
        assert_eq!(t[2].kind, TokenKind::Quoted);
        assert_eq!(t[2].raw, "Brand Search");
        assert_eq!(t[3].lower, "yesterday");
        assert_eq!(t[5].kind, TokenKind::Percent);
        let lower: Vec<&str> = t[6..].iter().map(|t| t.lower.as_str()).collect();
        assert_eq!(lower, ["month", "over", "month", "e", "mail", "and", "co"]);
    }

    #[test]
    fn counts_read_digits_and_number_words() {
        let e = English::get();
        let t = toks("top two 5 $3 4.5");
        assert_eq!(t[1].count(e), Some(2));
        assert_eq!(t[2].count(e), Some(5));
        assert_eq!(t[3].count(e), None);
        assert_eq!(t[4].count(e), None);
    }
}
