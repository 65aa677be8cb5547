//! Which catalog entries a large catalog's prompt carries: a BM25 index over every metric,
//! dimension, entity and funnel (built once with the translator), and per question the entries
//! the conversation's previous query names, those the rule translator's lexicon finds in the
//! question, then the best-ranked others, up to `TOP_K` ranked entries and the token budget.
//!
//! Invariants: a catalog whose whole prompt fits `PROMPT_BUDGET_TOKENS` is never cut (the
//! translator does not build an index for it, and its prompt is the same bytes as without this
//! module). Tokens are estimated, never counted by a tokenizer: `estimate_tokens` is characters
//! / 4 of the request body's JSON (messages and response schema), which over-counts English
//! and JSON for OpenAI's tokenizers. Selecting is deterministic: ties in score go to catalog
//! order. The index holds names, labels, synonyms, phrases, descriptions and values, all catalog
//! text; no user text is indexed.

use std::collections::{BTreeSet, HashMap};

use bm25::{Document, SearchEngine, SearchEngineBuilder};
use serde_json::Value;

use super::prompt;
pub(crate) use super::prompt::EntryKind;
use crate::catalog::docs::Words;
use crate::catalog::Catalog;
use crate::dsl::schema::Names;

/// The most tokens (estimated: [`estimate_tokens`]) a first request to the model may carry:
/// instructions, catalog digest, few-shot examples, context, question and the response schema.
/// Both example catalogs fit whole (about 6,800 and 4,500 estimated tokens); a larger catalog is cut to fit.
pub const PROMPT_BUDGET_TOKENS: usize = 12_000;

/// The most entries a cut prompt carries by rank (entries named by the previous query or found
/// by the rule translator's lexicon come on top of these).
pub const TOP_K: usize = 40;

/// Estimated tokens of `text`: characters / 4, rounded up (OpenAI's rule of thumb for English;
/// JSON punctuation tokenizes denser, so this over-counts the digest and the schema).
pub fn estimate_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(4)
}

/// The entries one prompt carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Selection {
    chosen: BTreeSet<(EntryKind, String)>,
    /// In the order they were chosen (forced first, then by rank), for trimming from the end.
    order: Vec<(EntryKind, String)>,
    forced: usize,
}

impl Selection {
    pub(crate) fn contains(&self, kind: EntryKind, name: &str) -> bool {
        self.chosen.contains(&(kind, name.to_string()))
    }

    fn push(&mut self, entry: (EntryKind, String)) -> bool {
        if self.chosen.insert(entry.clone()) {
            self.order.push(entry);
            true
        } else {
            false
        }
    }

    /// Drops the last entry chosen by rank; false when only forced entries are left.
    fn pop_ranked(&mut self) -> bool {
        if self.order.len() <= self.forced {
            return false;
        }
        let last = self.order.pop().expect("more than forced");
        self.chosen.remove(&last);
        true
    }

    /// The response schema's names: the chosen entries (an entity's fields with it), and every
    /// kind, event name and retention of the catalog (few, and not entries).
    pub(crate) fn names(&self, catalog: &Catalog) -> Names {
        let all = Names::of_catalog(catalog);
        let keep = |kind, list: Vec<String>| -> Vec<String> {
            list.into_iter()
                .filter(|n| self.contains(kind, n))
                .collect()
        };
        let mut fields: Vec<String> = catalog
            .entities
            .values()
            .filter(|e| self.contains(EntryKind::Entity, &e.name))
            .flat_map(|e| e.fields.keys().cloned())
            .collect();
        fields.sort();
        fields.dedup();
        Names {
            metrics: keep(EntryKind::Metric, all.metrics),
            dimensions: keep(EntryKind::Dimension, all.dimensions),
            entities: keep(EntryKind::Entity, all.entities),
            funnels: keep(EntryKind::Funnel, all.funnels),
            fields,
            ..all
        }
    }

    /// The chosen entries' digest.
    pub(crate) fn digest(&self, catalog: &Catalog) -> Value {
        prompt::digest_of(catalog, |kind, name| self.contains(kind, name))
    }
}

/// One entry: what it is and what carrying it costs (its digest and its name in the schema).
struct Entry {
    kind: EntryKind,
    name: String,
    tokens: usize,
}

/// The catalog's entries and a BM25 index over their text.
pub(crate) struct EntryIndex {
    entries: Vec<Entry>,
    by_name: HashMap<(EntryKind, String), usize>,
    engine: SearchEngine<u32, u32, Words>,
}

impl EntryIndex {
    /// Indexes every metric, dimension, entity and funnel of `catalog`. `schema_mentions` says
    /// how often the response schema spells a name of each kind (measured on the whole schema by
    /// the caller), so an entry's cost counts its names there too.
    pub(crate) fn build(catalog: &Catalog, schema_mentions: impl Fn(EntryKind) -> usize) -> Self {
        let mut entries = Vec::new();
        let mut texts = Vec::new();
        let mut add = |kind: EntryKind, name: &str, digest: Value, text: Vec<&str>| {
            let schema_chars = schema_mentions(kind) * (name.chars().count() + 3);
            entries.push(Entry {
                kind,
                name: name.to_string(),
                tokens: estimate_tokens(&digest.to_string()) + 1 + schema_chars.div_ceil(4),
            });
            texts.push(text.join("\n").replace('…', " "));
        };
        for m in catalog.metrics.values() {
            let mut text = vec![m.name.as_str(), m.label.as_str(), m.description.as_str()];
            text.extend(m.synonyms.iter().map(String::as_str));
            text.extend(m.phrases.iter().map(String::as_str));
            add(EntryKind::Metric, &m.name, prompt::metric_digest(m), text);
        }
        for d in catalog.dimensions.values() {
            let mut text = vec![d.name.as_str(), d.description.as_str()];
            text.extend(d.synonyms.iter().map(String::as_str));
            text.extend(d.phrases.iter().map(String::as_str));
            text.extend(d.values.iter().map(String::as_str));
            text.extend(d.value_synonyms.values().flatten().map(String::as_str));
            add(
                EntryKind::Dimension,
                &d.name,
                prompt::dimension_digest(d),
                text,
            );
        }
        for e in catalog.entities.values() {
            let mut text = vec![e.name.as_str(), e.description.as_str()];
            text.extend(e.synonyms.iter().map(String::as_str));
            for f in e.fields.values() {
                text.push(f.name.as_str());
                text.extend(f.synonyms.iter().map(String::as_str));
            }
            add(EntryKind::Entity, &e.name, prompt::entity_digest(e), text);
        }
        for f in catalog.funnels.values() {
            let mut text = vec![f.name.as_str(), f.label.as_str(), f.description.as_str()];
            text.extend(f.steps.iter().map(String::as_str));
            text.extend(f.synonyms.iter().map(String::as_str));
            add(EntryKind::Funnel, &f.name, prompt::funnel_digest(f), text);
        }
        let documents: Vec<Document<u32>> = texts
            .into_iter()
            .enumerate()
            .map(|(i, t)| Document::new(i as u32, t))
            .collect();
        let engine =
            SearchEngineBuilder::<u32, u32, Words>::with_tokenizer_and_documents(Words, documents)
                .build();
        let by_name = entries
            .iter()
            .enumerate()
            .map(|(i, e)| ((e.kind, e.name.clone()), i))
            .collect();
        EntryIndex {
            entries,
            by_name,
            engine,
        }
    }

    /// The entries for `question`: every `forced` entry the catalog has, then the best-ranked
    /// others (sharing a word with the question) while there is room: at most `TOP_K` of them,
    /// each only if its estimated tokens fit in what `room` has left.
    pub(crate) fn select(
        &self,
        question: &str,
        forced: impl IntoIterator<Item = (EntryKind, String)>,
        room: usize,
    ) -> Selection {
        let mut selection = Selection::default();
        let mut left = room;
        for entry in forced {
            if let Some(&i) = self.by_name.get(&entry) {
                if selection.push(entry) {
                    left = left.saturating_sub(self.entries[i].tokens);
                }
            }
        }
        selection.forced = selection.order.len();
        let mut ranked: Vec<(u32, f32)> = self
            .engine
            .search(question, None)
            .into_iter()
            .filter(|r| r.score > 0.0)
            .map(|r| (r.document.id, r.score))
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        // The best of each kind first: the question's kind (a list needs an entity, a funnel a
        // funnel) is the model's to read, so each kind that matches at all is offered.
        let mut best: Vec<(u32, f32)> = Vec::new();
        for r in &ranked {
            let kind = self.entries[r.0 as usize].kind;
            if best.iter().all(|b| self.entries[b.0 as usize].kind != kind) {
                best.push(*r);
            }
        }
        best.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut taken = 0;
        for (id, _) in best.into_iter().chain(ranked) {
            if taken == TOP_K {
                break;
            }
            let entry = &self.entries[id as usize];
            if entry.tokens > left || selection.contains(entry.kind, &entry.name) {
                continue;
            }
            selection.push((entry.kind, entry.name.clone()));
            left -= entry.tokens;
            taken += 1;
        }
        selection
    }

    /// Builds from `selection` and drops ranked entries from its end until `build` says what
    /// it built fits (the caller measures the real request: the per-entry costs are
    /// estimates), or none is left to drop; returns what it built last, so the request that
    /// fits is built once.
    pub(crate) fn trim<T>(
        &self,
        selection: &mut Selection,
        build: impl Fn(&Selection) -> (T, bool),
    ) -> T {
        loop {
            let (built, fits) = build(selection);
            if fits || !selection.pop_ranked() {
                return built;
            }
        }
    }

    /// The entry of `kind` named `name`, if the catalog has one.
    pub(crate) fn has(&self, kind: EntryKind, name: &str) -> bool {
        self.by_name.contains_key(&(kind, name.to_string()))
    }
}

/// The general entries `entries` refine, by name: a metric `mobile_signups` or
/// `weekly_active_teams` refines `signups` or `active_teams` and `teams` when the catalog has
/// them (catalogs name variants by prefixing a qualifier), so a question naming the variant
/// also carries the metric it varies, which a question about a filtered metric usually means.
pub(crate) fn generalisations(
    index: &EntryIndex,
    entries: &[(EntryKind, String)],
) -> Vec<(EntryKind, String)> {
    let mut out = Vec::new();
    for (kind, name) in entries {
        for (at, _) in name.match_indices('_') {
            let general = &name[at + 1..];
            if index.has(*kind, general) {
                out.push((*kind, general.to_string()));
            }
        }
    }
    out
}

/// Every catalog name `query` (a DSL document) spells, as the entries they may be: every
/// string in it, wherever it stands, is tried as each kind of entry.
pub(crate) fn named_in(index: &EntryIndex, query: &Value) -> Vec<(EntryKind, String)> {
    let mut strings = Vec::new();
    strings_of(query, &mut strings);
    let mut out = Vec::new();
    for s in strings {
        for kind in [
            EntryKind::Metric,
            EntryKind::Dimension,
            EntryKind::Entity,
            EntryKind::Funnel,
        ] {
            if index.has(kind, s) {
                out.push((kind, s.to_string()));
            }
        }
    }
    out
}

fn strings_of<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| strings_of(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings_of(x, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small catalog with a general metric, its qualified variants and words shared
    /// between them.
    const SHOP: &str = r#"
[catalog]
name = "shop"
version = "1"

[tables.sales]
tenant = "ws"
time = "ts"
entity = "buyer_id"
event = "step"

[dimensions.colour]
bindings = ["sales.colour"]
description = "Colour of the widget"
values = ["red", "blue"]

[dimensions.size]
bindings = ["sales.size"]
description = "Size of the widget"

[entities.buyer]
table = "sales"
key = "buyer_id"
description = "People who bought widgets"
synonyms = ["buyers", "purchasers"]
[entities.buyer.fields]
nickname = { type = "string", description = "What they go by" }

[metrics.widgets]
label = "Widgets sold"
description = "Number of widgets sold, of any colour or size"
type = "count"
table = "sales"
synonyms = ["widget sales", "units sold", "units", "widgets sold"]

[metrics.mobile_widgets]
label = "Mobile widgets"
description = "Widgets sold in the mobile shop"
type = "count"
table = "sales"
where = { colour = "red" }

[metrics.weekly_mobile_widgets]
label = "Weekly mobile widgets"
description = "Widgets sold in the mobile shop, per week"
type = "count"
table = "sales"
where = { colour = "blue" }

[metrics.gadgets]
label = "Gadgets"
description = "Number of gadgets sold"
type = "count"
table = "sales"
where = { size = "large" }

[roles.r]
kinds = ["metric", "list"]
metrics = "*"
dimensions = "*"
max_sensitivity = "public"
record_level = true
"#;

    fn index() -> (Catalog, EntryIndex) {
        let catalog = Catalog::from_toml(SHOP, "shop.toml").unwrap();
        let index = EntryIndex::build(&catalog, |_| 2);
        (catalog, index)
    }

    fn metric(name: &str) -> (EntryKind, String) {
        (EntryKind::Metric, name.to_string())
    }

    fn cost(index: &EntryIndex, s: &Selection) -> usize {
        s.order
            .iter()
            .map(|e| index.entries[index.by_name[e]].tokens)
            .sum()
    }

    #[test]
    fn ranked_entries_share_a_word_with_the_question_best_first() {
        let (_, index) = index();
        let s = index.select("mobile widgets", Vec::new(), 100_000);
        assert_eq!(s.order[0], metric("mobile_widgets"), "{:?}", s.order);
        assert!(!s.contains(EntryKind::Metric, "gadgets"), "{:?}", s.order);
        assert!(s.contains(EntryKind::Metric, "widgets"), "{:?}", s.order);
        assert!(index
            .select("the of and", Vec::new(), 100_000)
            .order
            .is_empty());
        // Deterministic: the same question, the same entries in the same order.
        assert_eq!(s, index.select("mobile widgets", Vec::new(), 100_000));
    }

    #[test]
    fn forced_entries_come_first_and_unknown_names_are_not_forced() {
        let (_, index) = index();
        let s = index.select("widgets", vec![metric("gadgets"), metric("nope")], 100_000);
        assert_eq!(s.order[0], metric("gadgets"));
        assert_eq!(s.forced, 1);
        assert!(!s.contains(EntryKind::Metric, "nope"));
    }

    #[test]
    fn room_bounds_the_ranked_entries() {
        let (_, index) = index();
        let all = index.select("widgets sold colour size", Vec::new(), 100_000);
        assert!(all.order.len() >= 4, "{:?}", all.order);
        let room = cost(&index, &all) / 2;
        let half = index.select("widgets sold colour size", Vec::new(), room);
        assert!(
            cost(&index, &half) <= room,
            "{} > {room}",
            cost(&index, &half)
        );
        assert!(!half.order.is_empty() && half.order.len() < all.order.len());
        assert!(index.select("widgets", Vec::new(), 0).order.is_empty());
    }

    #[test]
    fn trimming_keeps_forced_entries() {
        let (_, index) = index();
        let mut s = index.select("widgets colour", vec![metric("gadgets")], 100_000);
        assert!(s.order.len() > 1);
        index.trim(&mut s, |_| ((), false));
        assert_eq!(s.order, vec![metric("gadgets")]);
    }

    #[test]
    fn the_best_of_each_kind_comes_before_the_rest() {
        let (_, index) = index();
        // Every metric says "widgets" more often than the entity does; the entity still comes.
        let s = index.select("widgets bought", Vec::new(), 100_000);
        let kinds: Vec<EntryKind> = s.order.iter().map(|e| e.0).take(2).collect();
        assert!(kinds.contains(&EntryKind::Entity), "{:?}", s.order);
    }

    #[test]
    fn the_selection_names_and_digests_only_what_it_chose() {
        let (catalog, index) = index();
        let s = index.select("buyers nickname", vec![metric("gadgets")], 100_000);
        let names = s.names(&catalog);
        assert_eq!(names.metrics, ["gadgets"]);
        assert_eq!(names.entities, ["buyer"]);
        assert_eq!(names.fields, ["nickname"]);
        assert!(names.dimensions.is_empty(), "{:?}", names.dimensions);
        let digest = s.digest(&catalog);
        assert_eq!(digest["metrics"].as_array().unwrap().len(), 1);
        assert_eq!(digest["entities"][0]["name"], "buyer");
    }

    #[test]
    fn a_qualified_name_brings_the_general_one() {
        let (_, index) = index();
        let found = generalisations(
            &index,
            &[
                metric("weekly_mobile_widgets"),
                (EntryKind::Dimension, "mobile_widgets".into()),
            ],
        );
        assert_eq!(found, vec![metric("mobile_widgets"), metric("widgets")]);
    }

    #[test]
    fn names_in_a_query_are_found_wherever_they_stand() {
        let (_, index) = index();
        let q = serde_json::json!({"kind": "metric", "metrics": ["widgets"],
            "filters": [{"dimension": "colour", "op": "eq", "value": "size"}]});
        let found: BTreeSet<(EntryKind, String)> = named_in(&index, &q).into_iter().collect();
        let expected = [
            metric("widgets"),
            (EntryKind::Dimension, "colour".to_string()),
            (EntryKind::Dimension, "size".to_string()),
        ];
        assert_eq!(found, expected.into_iter().collect());
    }
}
