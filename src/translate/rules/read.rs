//! Items → a `Reading`: what the question asks, item by item in context ("pro plan" is one
//! filter, "users signed up" one metric, "ios vs android" a comparison of two values, "which
//! customers … the most tickets" a ranking of customers). Everything that could carry meaning
//! and was not understood is kept in the reading so the builder can name it.

use std::collections::BTreeSet;

use super::lexicon::{Concept, Word};
use super::scan::{entity_dimension, Item};
use super::time::{Time, Unit};
use crate::catalog::{Catalog, Sensitivity, ValueType};
use crate::dsl::{Compare, FilterOp, Granularity, Period};

/// Values of one dimension the question filters on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ValueFilter {
    pub dimension: String,
    pub negated: bool,
    pub values: Vec<String>,
}

/// A filter the question spells out on a field or dimension: a number ("mrr over 1000"), a
/// quoted text or a name ("the Retargeting campaign").
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Number(f64),
    Text(String),
}

/// Something that may be a value the catalog does not know: a code ("IT"), a name ("Italy")
/// or a word after a preposition ("on linux").
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stray {
    pub text: String,
    pub code: bool,
}

/// The reading of a question, before it becomes DSL.
#[derive(Debug, Default, Clone)]
pub(crate) struct Reading {
    pub metrics: Vec<String>,
    /// Metrics read from a who-did-it noun alone ("users"): a funnel or an explanation of
    /// something else does not count them.
    pub subject_metrics: Vec<String>,
    pub group_by: Vec<String>,
    /// The grouped dimension was named in the singular, not after "by" ("which country …").
    pub group_singular: bool,
    pub filters: Vec<ValueFilter>,
    /// Dimensions whose values are compared with each other ("ios vs android").
    pub compared: BTreeSet<String>,
    /// (field or dimension, op, literal), in the question's order.
    pub literals: Vec<(String, FilterOp, Literal)>,
    pub period: Option<Period>,
    pub compare: Option<Compare>,
    /// The unit a comparison word names ("MoM": month).
    pub compare_unit: Option<Unit>,
    pub granularity: Option<Granularity>,
    pub trend: bool,
    pub top_n: Option<u32>,
    /// "top", "most", "least" without a number.
    pub superlative: bool,
    pub asc: bool,
    pub newest: Option<bool>,
    pub entity: Option<String>,
    /// "which customers …", "top customers by …": the entity ranked, and whether its noun was
    /// singular.
    pub ranked: Option<(String, bool)>,
    pub fields: Vec<String>,
    pub added_fields: Vec<String>,
    /// Personal data asked for in words no field is named by ("phone numbers").
    pub personal: bool,
    pub sort: Option<String>,
    pub overview: bool,
    pub list: bool,
    /// Only a "which"/"who" and an entity made this a list.
    pub list_by_which_only: bool,
    pub why: bool,
    pub funnel_intent: bool,
    /// "retention", "cohorts", "come back": a retention question.
    pub retention_intent: bool,
    /// "anomalies", "anything unusual", "what changed": an anomaly scan.
    pub anomalies_intent: bool,
    /// "what does … mean", "how is … calculated", "difference between": a definition.
    pub define_intent: bool,
    pub funnel: Option<String>,
    pub shift: bool,
    pub drop_filters: bool,
    /// Dimensions asked for as a whole ("all countries").
    pub scopes: Vec<String>,
    pub unknown: Vec<String>,
    pub strays: Vec<Stray>,
    /// Capitalised words nobody knows, which a list may take as its entity's name.
    pub loose_names: Vec<String>,
    /// Quoted names after a metric: a record of the entity the metric is about.
    pub quoted_names: Vec<String>,
    pub holiday: Option<String>,
    pub future: Option<String>,
    pub unsupported: Option<String>,
    pub write: bool,
    /// A value was read from a phrase that could also name personal data ("email").
    pub pii_ambiguous: bool,
    /// One phrase, several metrics, nothing to choose between them.
    pub ambiguous: Vec<(String, Vec<String>)>,
    pub count: bool,
    /// Words that say which way something moved ("drop"): meaningful only in a why-question.
    pub movement: Vec<String>,
    /// Two metrics side by side with nothing joining them ("revenue from new customers"): how
    /// they go together is not understood.
    pub unjoined: Option<(String, String)>,
    /// The period a comparison named ("vs last month"), to check it is the one just before.
    pub compare_against: Option<Period>,
    /// "vs the 7 days before": how long the period compared with is said to be.
    pub compare_length: Option<crate::dsl::LastN>,
    /// Two different periods with no comparison between them.
    pub periods: Vec<Period>,
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

fn prefer(set: &BTreeSet<Concept>, order: &[fn(&Concept) -> bool]) -> Concept {
    for f in order {
        if let Some(c) = set.iter().find(|c| f(c)) {
            return c.clone();
        }
    }
    set.iter().next().cloned().expect("non-empty")
}

fn concepts(item: Option<&Item>) -> Option<&BTreeSet<Concept>> {
    match item {
        Some(Item::Concept { concepts, .. }) => Some(concepts),
        _ => None,
    }
}

fn has(item: Option<&Item>, f: fn(&Concept) -> bool) -> bool {
    concepts(item).is_some_and(|s| s.iter().any(f))
}

pub(crate) fn pii_field(c: &Concept, catalog: &Catalog) -> bool {
    match c {
        Concept::Field(f) => catalog.entities.values().any(|e| {
            e.fields
                .get(f)
                .is_some_and(|x| x.sensitivity == Sensitivity::Pii)
        }),
        _ => false,
    }
}

/// A dimension that names single records (`entity = true`): a campaign, a company.
fn entity_dim(c: &Concept, catalog: &Catalog) -> bool {
    matches!(c, Concept::Dimension(d) if catalog.dimensions.get(d).is_some_and(|x| x.entity))
}

/// The count metric of an entity's records dated by `field` ("churned" → churned customers).
pub(crate) fn dated_count_metric(catalog: &Catalog, field: &str) -> Option<String> {
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

/// The entity whose records a count metric counts, and the date field it is dated by:
/// `churned_customers` → (customer, churned_at); `active_customers` → (customer, none).
pub(crate) fn counted_records(catalog: &Catalog, metric: &str) -> Option<(String, Option<String>)> {
    let m = catalog.metrics.get(metric)?;
    let crate::catalog::MetricDef::Aggregate(a) = &m.def else {
        return None;
    };
    if a.func != crate::catalog::AggFunc::Count || !a.filters.is_empty() {
        return None;
    }
    let e = catalog.entities.values().find(|e| e.table == a.table)?;
    let field = match &a.time {
        crate::catalog::TimeBasis::Column(c) => {
            Some(c.clone()).filter(|c| e.fields.get(c).is_some_and(|f| f.ty == ValueType::Date))
        }
        crate::catalog::TimeBasis::Snapshot { .. } => None,
    };
    Some((e.name.clone(), field))
}

/// A plural noun as typed ("countries", "campaigns"; "status" is singular).
fn plural(words: &str) -> bool {
    let w = words.rsplit(' ').next().unwrap_or(words);
    w.len() > 3 && w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us")
}

/// Whether the question asks for records of an entity rather than numbers.
fn list_mode(items: &[Item], catalog: &Catalog) -> (bool, bool) {
    let pii = |c: &Concept| pii_field(c, catalog);
    let sets: Vec<&BTreeSet<Concept>> = items.iter().filter_map(|i| concepts(Some(i))).collect();
    let has_entity = sets.iter().any(|s| s.iter().any(is_entity));
    let personal = items
        .iter()
        .any(|i| matches!(i, Item::Word(Word::PersonalData, _)));
    let has_pii = personal || sets.iter().any(|s| s.iter().any(pii));
    let pure_metric = sets
        .iter()
        .any(|s| s.iter().any(is_metric) && !s.iter().any(|c| is_entity(c) || is_field(c)));
    let counting = items
        .iter()
        .any(|i| matches!(i, Item::Word(Word::Count, _)));
    let verb = items.iter().any(|i| matches!(i, Item::Word(Word::List, _))) && !counting;
    // "which …" and "who …" ask for records when they open the question; after a noun they
    // only relate ("customers who churned").
    let opening_which = !counting
        && items
            .iter()
            .take_while(|i| !matches!(i, Item::Concept { .. }))
            .any(|i| matches!(i, Item::Word(Word::Which, _)));
    let first_concept = items.iter().find(|i| matches!(i, Item::Concept { .. }));
    // "which country has the most customers" asks about countries, not customer records.
    let which = opening_which
        && concepts(first_concept).is_some_and(|s| s.iter().any(|c| is_entity(c) || is_field(c)));
    // "which customers cancelled last month?": an opening "which" before a verb phrase of a
    // count metric whose subject is the plural noun of the records it counts asks for those
    // records, as "list customers who cancelled" does ("how many customers cancelled" counts).
    let which_counted = opening_which
        && first_concept.is_some_and(|i| {
            matches!(i, Item::Concept { concepts, words, gapped: true, .. }
            if plural(words.split(' ').next().unwrap_or(""))
                && concepts.iter().any(|c| {
                    matches!(c, Concept::Metric(m) if counted_records(catalog, m).is_some())
                }))
        });
    let which = which || which_counted;
    let counted_entity = (0..items.len()).any(|k| {
        matches!(
            items[k],
            Item::Top { .. } | Item::Number { .. } | Item::Word(Word::Newest | Word::Oldest, _)
        ) && (has(items.get(k + 1), is_entity) || has(items.get(k + 2), is_entity))
    });
    let pii_only = sets.iter().any(|s| s.iter().all(pii)) || personal;
    // "customers with mrr over 1000": records compared on a number of theirs.
    let numeric_field = sets.iter().any(|s| {
        s.iter().any(|c| match c {
            Concept::Field(f) => catalog
                .entities
                .values()
                .any(|e| e.fields.get(f).is_some_and(|x| x.ty == ValueType::Number)),
            _ => false,
        })
    });
    let compares = items
        .iter()
        .any(|i| matches!(i, Item::Word(Word::Cmp(_), _)));
    let has_entity = has_entity
        || (verb || has_pii || which_counted)
            && sets.iter().any(|s| {
                s.iter().any(
                    |c| matches!(c, Concept::Metric(m) if counted_records(catalog, m).is_some()),
                )
            });
    let pure_metric = pure_metric
        && !((verb || has_pii || which_counted)
            && sets.iter().all(|s| {
                !s.iter().any(is_metric)
                || s.iter().any(
                    |c| matches!(c, Concept::Metric(m) if counted_records(catalog, m).is_some()),
                )
            }));
    let listy = verb || which || has_entity && numeric_field && compares;
    let list = pii_only && listy
        || (has_entity || has_pii) && (listy || counted_entity || has_pii) && !pure_metric;
    let fields_named = sets
        .iter()
        .any(|s| s.iter().any(is_field) && !s.iter().any(|c| is_metric(c) || is_entity(c)));
    let which_only = list && which && !verb && !has_pii && !counted_entity && !fields_named;
    (list, which_only)
}

/// Whether a question stands alone or follows a previous one (whose metric it may keep).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Context {
    Fresh,
    FollowUp,
}

/// Reads the items. `list_entity` continues a list of the previous question.
pub(crate) fn read(
    items: &[Item],
    catalog: &Catalog,
    list_entity: Option<&str>,
    context: Context,
) -> Reading {
    let (list, which_only) = list_mode(items, catalog);
    let mut r = Reading {
        list: list_entity.is_some() || list,
        list_by_which_only: list_entity.is_none() && which_only,
        entity: list_entity.map(String::from),
        ..Reading::default()
    };
    let mut negate = false;
    let mut last_group = false;
    let mut last_value_dim: Option<String> = None;
    let mut last_name: Option<String> = None;
    let mut pending_cmp: Option<FilterOp> = None;
    let mut pending_number: Option<(FilterOp, f64)> = None;
    let mut pending_contains = false;
    let mut including = false;
    let mut after_all = false;
    let mut scope_run = false;
    // The dimension whose value was followed by "vs".
    let mut versus: Option<String> = None;
    let compare_verb = items
        .iter()
        .any(|i| matches!(i, Item::Word(Word::CompareVerb, _)));
    // The metric read from a who-did-it noun, and where: it gives way to a verb right after it.
    let mut weak: Option<(String, usize)> = None;
    // Whether "and", "or", "vs" or a comma came since the last metric.
    let mut joined = false;
    // "which customers …", "top campaigns …" rank records; "what was …" does not.
    let ranking = items.iter().any(|i| {
        matches!(i, Item::Top { .. }) || matches!(i, Item::Word(Word::Which, w) if w == "which")
    });
    for k in 0..items.len() {
        let item = &items[k];
        let prev = k.checked_sub(1).map(|p| &items[p]);
        let next = items.get(k + 1);
        let after_by = matches!(prev, Some(Item::Word(Word::By, _) | Item::Top { .. }));
        let next_quoted = matches!(next, Some(Item::Quoted(_)));
        let mut grouped_now = false;
        let mut value_now = None;
        let all_now = std::mem::take(&mut after_all);
        if !matches!(item, Item::Word(Word::And, _)) && !all_now {
            scope_run = false;
        }
        match item {
            Item::Concept {
                concepts: set,
                words,
                gapped: _,
                subject,
            } => {
                // "the Retargeting campaign", "campaign Summer Sale": the noun of a name.
                let named = |i: Option<&Item>| matches!(i, Some(Item::Name { dimension: Some(d), .. }) if set.iter().any(|c| matches!(c, Concept::Dimension(x) if x == d) || matches!(c, Concept::Entity(e) if entity_dimension(catalog, e).as_deref() == Some(d.as_str()))));
                if named(prev) || named(next) {
                    continue;
                }
                // "all countries": every value, no filter.
                if all_now {
                    if let Some(Concept::Dimension(d)) = set.iter().find(|c| is_dimension(c)) {
                        r.scopes.push(d.clone());
                        // "all countries and devices": the scope runs on over "and".
                        scope_run = true;
                        continue;
                    }
                }
                if let Some(d) = &last_value_dim {
                    let has_metric =
                        !r.metrics.is_empty() || r.list || context == Context::FollowUp;
                    // "pro plan", "email channel": the dimension's own noun after its value.
                    let same = set
                        .iter()
                        .any(|c| matches!(c, Concept::Dimension(x) | Concept::Field(x) if x == d));
                    if same && (has_metric || !set.iter().any(is_metric)) {
                        r.pii_ambiguous = false;
                        continue;
                    }
                    // "enterprise customers", "Google campaigns": the noun of what is filtered.
                    if set.iter().any(|c| is_entity(c) || is_metric(c)) && has_metric
                        || set.iter().all(|c| entity_dim(c, catalog))
                    {
                        if r.list {
                            if let Some(Concept::Entity(e)) = set.iter().find(|c| is_entity(c)) {
                                r.entity.get_or_insert(e.clone());
                            }
                        }
                        // The noun closes the value's phrase.
                        last_value_dim = None;
                        last_group = false;
                        continue;
                    }
                }
                let ranks_here =
                    matches!(prev, Some(Item::Word(Word::Which, _) | Item::Top { .. }))
                        || ranking && !r.list;
                // "customers signed up": the verb is the customers' own date, not the users'.
                let subject_date = set.iter().find(|c| match c {
                    Concept::Field(f) => {
                        let owner = catalog
                            .entities
                            .values()
                            .find(|e| e.fields.get(f).is_some_and(|x| x.ty == ValueType::Date));
                        owner.is_some_and(|e| {
                            concepts(prev).is_some_and(|p| {
                                p.contains(&Concept::Entity(e.name.clone()))
                                    || e.count_metric
                                        .as_ref()
                                        .is_some_and(|m| p.contains(&Concept::Metric(m.clone())))
                            })
                        })
                    }
                    _ => false,
                });
                let c = if next_quoted && set.iter().any(is_dimension) {
                    prefer(set, &[is_dimension])
                } else if let (Some(f), false) = (subject_date, r.list) {
                    f.clone()
                } else if r.list && after_by {
                    prefer(set, &[is_field, is_metric, is_dimension])
                } else if r.list
                    && matches!(prev, Some(Item::Top { .. }))
                    && set.iter().any(is_field)
                {
                    prefer(set, &[is_field])
                } else if r.list {
                    prefer(
                        set,
                        &[is_entity, is_field, is_value, is_dimension, is_metric],
                    )
                } else if set.iter().any(is_funnel)
                    && (r.funnel_intent
                        || items
                            .iter()
                            .any(|i| matches!(i, Item::Word(Word::Funnel, _))))
                {
                    prefer(set, &[is_funnel])
                } else if after_by || last_group {
                    prefer(
                        set,
                        &[is_dimension, is_metric, is_value, is_entity, is_field],
                    )
                } else if set.iter().any(is_entity) && ranks_here {
                    prefer(set, &[is_entity])
                } else if set.iter().any(is_value) && has(next, is_metric) {
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
                        let metrics: Vec<String> = set
                            .iter()
                            .filter_map(|c| match c {
                                Concept::Metric(m) => Some(m.clone()),
                                _ => None,
                            })
                            .collect();
                        if metrics.len() > 1 && !(r.list && after_by) {
                            r.ambiguous.push((words.clone(), metrics));
                        }
                        if let Some(n) = pending_number.take() {
                            r.literals.push((m.clone(), n.0, Literal::Number(n.1)));
                            last_name = Some(m.clone());
                            continue;
                        }
                        let per = matches!(prev, Some(Item::Word(Word::By, w)) if w == "per" || w.starts_with("for e") || w == "each");
                        let each_record = (per && r.list)
                            .then(|| counted_records(catalog, &m))
                            .flatten();
                        if per && !r.list {
                            // "signups per user": a ratio the catalog does not define.
                            r.unknown.push(format!("per {words}"));
                        } else if let Some((e, _)) = each_record {
                            // "the e-mail for each customer": every record, not an order.
                            r.entity.get_or_insert(e);
                        } else if r.list && after_by {
                            r.sort = Some(m);
                        } else if let Some((e, field)) =
                            r.list.then(|| counted_records(catalog, &m)).flatten()
                        {
                            // "show me churned customers": the records, dated by their field.
                            r.entity.get_or_insert(e);
                            if let Some(f) = field {
                                if !r.fields.contains(&f) {
                                    r.fields.push(f);
                                }
                            }
                        } else {
                            // "users signed up": the noun was only who did it.
                            if let Some((w, at)) = weak.take() {
                                if at + 1 == k && w != m {
                                    r.metrics.retain(|x| *x != w);
                                }
                            }
                            if !r.metrics.contains(&m) {
                                if let (Some(first), false) = (r.metrics.last(), joined) {
                                    r.unjoined.get_or_insert((first.clone(), m.clone()));
                                }
                                r.metrics.push(m.clone());
                            }
                            joined = false;
                            if *subject {
                                weak = Some((m.clone(), k));
                                r.subject_metrics.push(m.clone());
                            }
                            last_name = Some(m);
                        }
                    }
                    Concept::Dimension(d) => {
                        last_name = Some(d.clone());
                        if next_quoted {
                            // `company "Greenline GmbH"`: a filter on the quoted value.
                        } else if after_by
                            || last_group
                            || matches!(
                                prev,
                                Some(Item::Word(Word::List | Word::Which, _) | Item::Number { .. })
                            )
                        {
                            if let Some(Item::Number {
                                value,
                                money: false,
                            }) = prev
                            {
                                if value.fract() == 0.0 && (1.0..=50.0).contains(value) {
                                    r.top_n = Some(*value as u32);
                                }
                            }
                            if !r.group_by.contains(&d) {
                                if r.group_by.is_empty() {
                                    r.group_singular = !plural(words)
                                        && !matches!(prev, Some(Item::Word(Word::By, _)));
                                }
                                r.group_by.push(d);
                            }
                            grouped_now = true;
                        } else if entity_dim(&Concept::Dimension(d.clone()), catalog) {
                            // "spend on campaigns": the records themselves, all of them.
                        } else {
                            r.unknown.push(d.replace('_', " "));
                        }
                    }
                    Concept::Value { dimension, .. } => {
                        if set.iter().any(|c| pii_field(c, catalog)) {
                            r.pii_ambiguous = true;
                        }
                        // "mobile": every value of one dimension the phrase names.
                        let values: Vec<String> = set
                            .iter()
                            .filter_map(|c| match c {
                                Concept::Value {
                                    dimension: d,
                                    value,
                                } if *d == dimension => Some(value.clone()),
                                _ => None,
                            })
                            .collect();
                        let at = match r.filters.iter().position(|f| f.dimension == dimension) {
                            Some(at) => {
                                if versus.as_deref() == Some(dimension.as_str()) || compare_verb {
                                    r.compared.insert(dimension.clone());
                                }
                                at
                            }
                            None => {
                                r.filters.push(ValueFilter {
                                    dimension: dimension.clone(),
                                    negated: negate,
                                    values: Vec::new(),
                                });
                                r.filters.len() - 1
                            }
                        };
                        let f = &mut r.filters[at];
                        f.negated |= negate;
                        for v in values {
                            if !f.values.contains(&v) {
                                f.values.push(v);
                            }
                        }
                        negate = false;
                        versus = None;
                        value_now = Some(dimension);
                    }
                    Concept::Entity(e) => {
                        if let Some(Item::Number {
                            value,
                            money: false,
                        }) = prev
                        {
                            if value.fract() == 0.0 && *value >= 1.0 {
                                r.top_n = Some(*value as u32);
                            }
                        }
                        if ranking {
                            r.ranked = Some((e.clone(), !plural(words)));
                        }
                        r.entity = Some(e);
                    }
                    Concept::Field(f) => {
                        last_name = Some(f.clone());
                        if let Some(n) = pending_number.take() {
                            r.literals.push((f.clone(), n.0, Literal::Number(n.1)));
                            continue;
                        }
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
                        if r.list && (after_by || matches!(prev, Some(Item::Top { .. }))) {
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
                    Concept::Funnel(f) => r.funnel = Some(f),
                }
            }
            Item::Time(t, said) => match t {
                Time::Period(p) => {
                    if std::mem::take(&mut negate) {
                        // "excluding weekends": a period is not a filter.
                        r.unknown.push(format!("excluding {said}"));
                    }
                    if !r.periods.contains(p) {
                        r.periods.push(*p);
                    }
                    r.period = Some(*p);
                }
                Time::Compare {
                    compare,
                    unit,
                    against,
                } => {
                    r.compare = Some(*compare);
                    r.compare_unit = *unit;
                    r.compare_against = *against;
                }
                Time::Shift => r.shift = true,
                Time::CompareBefore(length) => {
                    r.compare = Some(Compare::PreviousPeriod);
                    r.compare_length = Some(*length);
                }
                Time::Unsupported(s) => r.unsupported = Some(s.clone()),
            },
            Item::Word(Word::And, _) => {
                // A joiner keeps the phrase it is in: "by device and channel", "ios and android".
                joined = true;
                after_all = std::mem::take(&mut scope_run);
                continue;
            }
            Item::Word(w, said) => match w {
                Word::And => {}
                Word::Overview => r.overview = true,
                Word::By | Word::List | Word::Money => {}
                Word::BreakDown => {}
                Word::Which => {}
                Word::Why => r.why = true,
                Word::Count => r.count = true,
                Word::Not => negate = true,
                Word::Including => including = true,
                Word::Contains => pending_contains = true,
                Word::DropFilters => r.drop_filters = true,
                Word::Funnel => r.funnel_intent = true,
                Word::Retention => r.retention_intent = true,
                Word::Anomalies => r.anomalies_intent = true,
                Word::Define => r.define_intent = true,
                Word::Trend => r.trend = true,
                Word::Versus => {
                    versus = last_value_dim.clone();
                    joined = true;
                }
                Word::CompareVerb => {}
                Word::LowestFirst => r.asc = true,
                Word::HighestFirst => r.asc = false,
                Word::Newest => r.newest = Some(false),
                Word::Oldest => r.newest = Some(true),
                Word::Cmp(op) => pending_cmp = Some(*op),
                Word::Top | Word::Bottom => {}
                Word::All => after_all = true,
                Word::Holiday => r.holiday = Some(said.clone()),
                Word::Future => r.future = Some(said.clone()),
                Word::PersonalData => r.personal = true,
                Word::Movement => {
                    r.unknown.push(said.clone());
                    r.movement.push(said.clone());
                }
                Word::Write => r.write = true,
                Word::Granularity(g) => r.granularity = Some(*g),
            },
            Item::Top { n, asc } => {
                match n {
                    Some(n) => r.top_n = Some(*n),
                    None => r.superlative = true,
                }
                r.asc |= *asc;
            }
            Item::Number { value, money } => {
                let counts_next = (has(next, is_dimension)
                    || has(next, is_entity)
                    || matches!(next, Some(Item::Word(Word::Newest | Word::Oldest, _)))
                    || r.list
                        && (k + 1..(k + 4).min(items.len())).any(|j| has(items.get(j), is_entity)))
                    && !money
                    && value.fract() == 0.0
                    && *value >= 1.0;
                match (pending_cmp.take(), &last_name) {
                    (Some(op), Some(name)) => {
                        r.literals.push((name.clone(), op, Literal::Number(*value)))
                    }
                    (Some(op), None) => pending_number = Some((op, *value)),
                    _ if counts_next => r.top_n = Some(*value as u32),
                    _ => r.unknown.push(format_number(*value)),
                }
            }
            Item::Quoted(text) => match &last_name {
                // "the contact email for \"Greenline GmbH\"": the record, not the email.
                Some(name) if pii_field(&Concept::Field(name.clone()), catalog) => {
                    r.loose_names.push(text.clone())
                }
                // `the mrr of "Greenline GmbH"`: a record the metric is about.
                Some(name) if catalog.metrics.contains_key(name) && !r.list => {
                    r.quoted_names.push(text.clone())
                }
                Some(name) => {
                    let op = if pending_contains {
                        FilterOp::Contains
                    } else {
                        FilterOp::Eq
                    };
                    r.literals
                        .push((name.clone(), op, Literal::Text(text.clone())));
                    pending_contains = false;
                }
                None => r.unknown.push(format!("\"{text}\"")),
            },
            Item::Name { text, dimension } => {
                let op = if std::mem::take(&mut negate) {
                    FilterOp::Neq
                } else {
                    FilterOp::Eq
                };
                match dimension {
                    Some(d) => r
                        .literals
                        .push((d.clone(), op, Literal::Text(text.clone()))),
                    None => r.loose_names.push(text.clone()),
                }
            }
            Item::Code(c) => {
                negate = false;
                r.strays.push(Stray {
                    text: c.clone(),
                    code: true,
                })
            }
            Item::Unknown(w) => {
                // "excluding bots": the negation was the unknown word's.
                negate = false;
                r.unknown.push(w.clone())
            }
        }
        last_group = grouped_now;
        last_value_dim = value_now;
    }
    if let Some((op, n)) = pending_number {
        r.unknown
            .push(format!("{} {}", op_words(op), format_number(n)));
    }
    if pending_cmp.is_some() || pending_contains {
        r.unknown.push("(a comparison without a value)".into());
    }
    r
}

fn op_words(op: FilterOp) -> &'static str {
    match op {
        FilterOp::Gt => "over",
        FilterOp::Gte => "at least",
        FilterOp::Lt => "under",
        FilterOp::Lte => "at most",
        _ => "",
    }
}

pub(crate) fn format_number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}
