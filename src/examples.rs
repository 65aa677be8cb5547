//! The embedded examples: the one registry of what `examples/<name>/` holds and the binary
//! carries, so it works from any directory. Each entry is an example's catalog, its few-shot
//! examples for the LLM and the follow-up phrasings its instructions quote, `tally demo`'s
//! showcase queries, and its data generator (compiled in through `#[path]`).
//!
//! Invariants: this is the only file of `src/` that names an example, and it names each only
//! through the files it embeds (`tests/it/tidy.rs` checks that no string of `src/` holds an
//! example's names); an example's name is its directory's and its catalog's (checked by
//! `tests/it/examples.rs`); the first entry is the default (`Catalog::embedded_default`).
//! Everything domain-specific reaches the rest of Tally from here, as data.

use serde::Deserialize;
use serde_json::Value;

use crate::demo::Generator;

#[path = "../examples/adnavi/generate.rs"]
mod adnavi_gen;
#[path = "../examples/metrica/generate.rs"]
mod metrica_gen;

/// One embedded example: `examples/<name>/`'s files, as text.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    /// The directory's name, which is also the catalog's.
    pub name: &'static str,
    /// Where the catalog comes from, for its load errors: `examples/<name>/catalog.toml`.
    pub catalog_file: &'static str,
    pub catalog_toml: &'static str,
    /// The catalog's docs folder (`docs/*.md`), as (file name, markdown).
    pub docs: &'static [(&'static str, &'static str)],
    /// `fewshot.jsonl`: questions and their DSL shown to the LLM ("" when there are none).
    pub fewshot: &'static str,
    /// `followups.txt`: follow-up phrasings, one a line, that the LLM's instructions quote to
    /// show what a follow-up is ("" when there are none).
    pub followups: &'static str,
    /// `demo.json`: `tally demo`'s showcase, a JSON array of [`ShowcaseQuery`].
    pub demo_queries: &'static str,
    /// `generate.rs`: the demo warehouse's tables and rows.
    pub generator: Generator,
}

/// One of `tally demo`'s showcase queries.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShowcaseQuery {
    /// The question the DSL answers, as the showcase prints it.
    pub title: String,
    pub role: String,
    pub workspace: String,
    pub dsl: Value,
}

impl Example {
    /// `tally demo`'s showcase queries, in order.
    pub fn showcase(&self) -> Result<Vec<ShowcaseQuery>, serde_json::Error> {
        serde_json::from_str(self.demo_queries)
    }
}

/// An entry of the registry: each file of `examples/<dir>/` named once, by the directory.
macro_rules! example {
    ($dir:ident, $generator:ident, fewshot: $fewshot:expr, followups: $followups:expr, docs: [$($doc:literal),*]) => {
        Example {
            name: stringify!($dir),
            catalog_file: concat!("examples/", stringify!($dir), "/catalog.toml"),
            catalog_toml: include_str!(concat!("../examples/", stringify!($dir), "/catalog.toml")),
            docs: &[$(($doc, include_str!(concat!("../examples/", stringify!($dir), "/docs/", $doc)))),*],
            fewshot: $fewshot,
            followups: $followups,
            demo_queries: include_str!(concat!("../examples/", stringify!($dir), "/demo.json")),
            generator: Generator {
                tables: $generator::tables,
                generate: $generator::generate,
                workspaces: $generator::workspaces,
                estimated_rows: $generator::estimated_rows,
            },
        }
    };
}

/// Every embedded example, the default first.
pub fn all() -> Vec<Example> {
    vec![metrica(), adnavi()]
}

/// The default example: the catalog and demo used when none is named.
pub fn default_example() -> Example {
    all().remove(0)
}

/// The embedded example whose catalog is named `catalog_name`, if there is one.
pub fn find(catalog_name: &str) -> Option<Example> {
    all().into_iter().find(|e| e.name == catalog_name)
}

/// Product analytics for a B2B SaaS platform (DESIGN §4 "Metrica demo data").
pub fn metrica() -> Example {
    example!(
        metrica,
        metrica_gen,
        fewshot: include_str!("../examples/metrica/fewshot.jsonl"),
        followups: include_str!("../examples/metrica/followups.txt"),
        docs: ["metrics.md", "active-users.md", "churn.md", "data-freshness.md", "support.md"]
    )
}

/// Ad analytics across Google, Meta and TikTok (DESIGN §4, `examples/adnavi`); no few-shot
/// examples or follow-up phrasings of its own yet.
pub fn adnavi() -> Example {
    example!(adnavi, adnavi_gen, fewshot: "", followups: "", docs: ["attribution.md"])
}
