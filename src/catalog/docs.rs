//! A catalog's docs folder as a BM25 index: each markdown file cut into passages at its
//! headings, searched by `define` for the words asked about.
//!
//! Invariants: the text is data. It is indexed and quoted, never parsed for anything but its
//! headings, and nothing here (or downstream) reads it as an instruction. Searching is
//! deterministic: ties in score are broken by the passage's place in the folder (file name,
//! then position), and files are indexed in name order.

use bm25::{Document, SearchEngine, SearchEngineBuilder, Tokenizer};
use rust_stemmers::{Algorithm, Stemmer};

/// The most characters of a passage kept for quoting (cut at a word, with "…").
pub const MAX_PASSAGE_CHARS: usize = 600;

/// One file of the docs folder: its name (relative to the folder) and its markdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocFile {
    pub name: String,
    pub text: String,
}

/// A passage: the text under one heading of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passage {
    /// The file, relative to the docs folder (`churn.md`).
    pub file: String,
    /// The nearest heading above the text (the file's name when it has none).
    pub heading: String,
    /// The text under the heading, trimmed, at most `MAX_PASSAGE_CHARS`.
    pub text: String,
}

impl Passage {
    /// Whether the heading or the text holds `term` as whole words, in order, case and
    /// punctuation ignored (`_` reads as a space: `churn_rate` is "churn rate"). Words are
    /// compared as written, not stemmed: "event" does not name `events`.
    pub fn names(&self, term: &str) -> bool {
        self.names_outside(term, &[])
    }

    /// [`Passage::names`], except that an occurrence lying wholly inside an occurrence of a
    /// longer term of `longer` is that term's word, not a mention of `term` ("active users" in
    /// "daily active users").
    pub fn names_outside(&self, term: &str, longer: &[Vec<String>]) -> bool {
        let term = plain_words(term);
        if term.is_empty() {
            return false;
        }
        [&self.heading, &self.text].iter().any(|part| {
            let words = plain_words(part);
            let spans: Vec<(usize, usize)> = longer
                .iter()
                .filter(|l| l.len() > term.len())
                .flat_map(|l| occurrences(&words, l).map(move |i| (i, i + l.len())))
                .collect();
            let mention = occurrences(&words, &term)
                .any(|i| !spans.iter().any(|&(a, b)| a <= i && i + term.len() <= b));
            mention
        })
    }
}

/// Where `term` starts in `words`, as whole words in order.
fn occurrences<'a>(words: &'a [String], term: &'a [String]) -> impl Iterator<Item = usize> + 'a {
    words
        .windows(term.len().max(1))
        .enumerate()
        .filter(move |(_, w)| !term.is_empty() && *w == term)
        .map(|(i, _)| i)
}

/// The lower-cased runs of letters and digits of `text` (`_`, `-` and punctuation split).
pub fn plain_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The passages of every file, and the BM25 index over them (heading and text).
pub struct DocIndex {
    passages: Vec<Passage>,
    engine: Option<SearchEngine<u32, u32, Words>>,
}

impl std::fmt::Debug for DocIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocIndex")
            .field("passages", &self.passages.len())
            .finish()
    }
}

impl DocIndex {
    /// An index of nothing (a catalog without docs).
    pub fn empty() -> DocIndex {
        DocIndex {
            passages: Vec::new(),
            engine: None,
        }
    }

    /// Cuts `files` into passages at their headings (files in name order) and indexes them.
    pub fn build(mut files: Vec<DocFile>) -> DocIndex {
        files.sort_by(|a, b| a.name.cmp(&b.name));
        let passages: Vec<Passage> = files.iter().flat_map(passages_of).collect();
        if passages.is_empty() {
            return DocIndex::empty();
        }
        let documents: Vec<Document<u32>> = passages
            .iter()
            .enumerate()
            .map(|(i, p)| Document::new(i as u32, format!("{}\n{}", p.heading, p.text)))
            .collect();
        let engine =
            SearchEngineBuilder::<u32, u32, Words>::with_tokenizer_and_documents(Words, documents)
                .build();
        DocIndex {
            passages,
            engine: Some(engine),
        }
    }

    /// Every passage, in folder order.
    pub fn passages(&self) -> &[Passage] {
        &self.passages
    }

    /// The `limit` passages that match `query` best, with their BM25 score, best first (ties:
    /// folder order). Passages sharing no word with the query are never returned.
    pub fn search(&self, query: &str, limit: usize) -> Vec<(&Passage, f32)> {
        let Some(engine) = &self.engine else {
            return Vec::new();
        };
        let mut found: Vec<(u32, f32)> = engine
            .search(query, None)
            .into_iter()
            .filter(|r| r.score > 0.0)
            .map(|r| (r.document.id, r.score))
            .collect();
        found.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        found
            .into_iter()
            .take(limit)
            .map(|(id, score)| (&self.passages[id as usize], score))
            .collect()
    }
}

/// A file's passages: one per heading with text under it (text before the first heading is
/// under the file's name).
fn passages_of(file: &DocFile) -> Vec<Passage> {
    let mut out = Vec::new();
    let mut heading = file.name.clone();
    let mut body: Vec<&str> = Vec::new();
    let mut in_code = false;
    let flush = |heading: &str, body: &mut Vec<&str>, out: &mut Vec<Passage>| {
        let text = unwrap_lines(&body.join("\n"));
        body.clear();
        if !text.is_empty() {
            out.push(Passage {
                file: file.name.clone(),
                heading: heading.to_string(),
                text: clip(&text),
            });
        }
    };
    for line in file.text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
        }
        let title = (!in_code)
            .then(|| heading_text(line))
            .flatten()
            .filter(|t| !t.is_empty());
        match title {
            Some(title) => {
                flush(&heading, &mut body, &mut out);
                heading = title;
            }
            None => body.push(line),
        }
    }
    flush(&heading, &mut body, &mut out);
    out
}

/// Markdown's soft line breaks as spaces, paragraphs (blank lines) kept, trimmed: the text as
/// it reads, not as it was wrapped.
fn unwrap_lines(text: &str) -> String {
    let paragraphs: Vec<String> = text
        .split("\n\n")
        .map(|p| {
            p.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|p| !p.is_empty())
        .collect();
    paragraphs.join("\n\n")
}

/// The text of an ATX heading line (`## Churn policy` → "Churn policy").
fn heading_text(line: &str) -> Option<String> {
    let hashes = line.chars().take_while(|c| *c == '#').count();
    if hashes == 0 || hashes > 6 {
        return None;
    }
    let rest = &line[hashes..];
    if !rest.is_empty() && !rest.starts_with(' ') {
        return None;
    }
    Some(rest.trim().trim_end_matches('#').trim().to_string())
}

/// `text` cut to `MAX_PASSAGE_CHARS` at a word, with "…" when cut.
fn clip(text: &str) -> String {
    if text.chars().count() <= MAX_PASSAGE_CHARS {
        return text.to_string();
    }
    let cut: String = text.chars().take(MAX_PASSAGE_CHARS).collect();
    let at = cut.rfind(char::is_whitespace).unwrap_or(cut.len());
    format!("{}…", cut[..at].trim_end())
}

/// Words for the index: lower-cased runs of letters and digits, common English function words
/// dropped, each stemmed (so "churned" finds "churn"). Shared with the LLM prompt's catalog
/// index (`translate/llm/select.rs`), so docs and catalog entries are searched alike.
#[derive(Debug, Clone, Copy, Default)]
pub struct Words;

/// Words too common to tell passages apart.
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "does", "for", "from", "how", "in", "is",
    "it", "its", "mean", "means", "of", "on", "or", "that", "the", "this", "to", "was", "we",
    "what", "when", "which", "who", "with",
];

impl Tokenizer for Words {
    fn tokenize(&self, input_text: &str) -> Vec<String> {
        let stemmer = Stemmer::create(Algorithm::English);
        input_text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .filter(|w| !STOP_WORDS.contains(&w.as_str()))
            .map(|w| stemmer.stem(&w).into_owned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> DocFile {
        DocFile {
            name: name.into(),
            text: text.into(),
        }
    }

    #[test]
    fn passages_are_cut_at_headings_and_code_blocks_are_not_headings() {
        let f = file(
            "a.md",
            "intro line\n# Title\n\nfirst\n## Part two\nsecond\n```\n# not a heading\n```\n#nospace\n",
        );
        let p = passages_of(&f);
        let heads: Vec<&str> = p.iter().map(|p| p.heading.as_str()).collect();
        assert_eq!(heads, vec!["a.md", "Title", "Part two"]);
        assert_eq!(p[1].text, "first");
        assert!(p[2].text.contains("# not a heading"));
        assert!(p[2].text.contains("#nospace"));
    }

    #[test]
    fn search_ranks_by_bm25_and_stems_and_breaks_ties_by_folder_order() {
        let index = DocIndex::build(vec![
            file("b.md", "# Churn\nA customer churns when the subscription is cancelled."),
            file("a.md", "# Freshness\nEvents arrive within an hour.\n# Sessions\nA session ends after 30 minutes idle."),
        ]);
        let found = index.search("what does churned mean", 3);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0.heading, "Churn");
        assert!(index.search("the of and", 3).is_empty());
        let both = index.search("events session", 3);
        assert_eq!(both.len(), 2);
        assert_eq!(both[0].0.file, "a.md");
    }

    #[test]
    fn a_passage_names_a_term_by_whole_words_in_its_heading_or_text() {
        let p = Passage {
            file: "a.md".into(),
            heading: "Customers and MRR".into(),
            text: "Churn_rate and revenue-churn, tracked events.".into(),
        };
        assert!(p.names("mrr"));
        assert!(p.names("churn_rate"));
        assert!(p.names("Revenue churn"));
        assert!(p.names("events"));
        assert!(!p.names("event"), "words are not stemmed");
        assert!(!p.names("rate and churn"), "in order");
        assert!(!p.names("custom"), "whole words");
        assert!(!p.names("  "));
        let q = Passage {
            file: "b.md".into(),
            heading: "MRR".into(),
            text: "Monthly recurring revenue is summed.".into(),
        };
        let longer = [plain_words("monthly recurring revenue")];
        assert!(
            !q.names_outside("recurring revenue", &longer),
            "inside a longer name"
        );
        assert!(q.names_outside("recurring revenue", &[]));
        assert!(q.names_outside("revenue is", &longer), "partly outside");
    }

    #[test]
    fn long_passages_are_clipped_at_a_word() {
        let long = "word ".repeat(400);
        let p = passages_of(&file("x.md", &format!("# H\n{long}")));
        assert!(p[0].text.chars().count() <= MAX_PASSAGE_CHARS + 1);
        assert!(p[0].text.ends_with("word…"));
    }
}
