//! Rule translation: question → DSL JSON (no validation, no execution). Medians in the README.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use tally::catalog::Catalog;
use tally::translate::rules::Rules;
use tally::translate::Translation;

#[path = "../tests/it/common/large_catalog.rs"]
#[allow(dead_code)]
mod large_catalog;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bench(c: &mut Criterion) {
    let catalog = Catalog::embedded_default();
    let rules = Rules::new(&catalog);
    let today = "2026-11-23".parse().unwrap();
    let questions = [
        ("dau_vs", "What was our DAU last week vs the week before?"),
        ("breakdown_filter", "Can you pull daily active users for France over the past 2 weeks, broken down by device please"),
        ("typos", "singups yday on andriod"),
        ("pii_list", "Show me the email addresses of customers who churned last month."),
        ("clarify", "what's the weather in Paris?"),
        ("unknown_code", "signups in IT last week"),
        ("verb_phrase", "how long did tickets take to resolve last week?"),
        ("versus_values", "ios vs android signups last week, per day"),
        ("ranking_records", "which customers opened the most tickets in October?"),
    ];
    let mut group = c.benchmark_group("translate");
    for (name, q) in questions {
        assert!(matches!(
            rules.translate(q, &catalog, today, None),
            Translation::Dsl { .. } | Translation::Clarify(_)
        ));
        group.bench_function(name, |b| {
            b.iter(|| black_box(rules.translate(black_box(q), &catalog, today, None)))
        });
    }
    // Every question of the Metrica tuning set, once each (follow-ups without their context):
    // the mean per question is this time divided by the count printed below.
    let set: Vec<String> = include_str!("../examples/metrica/questions.jsonl")
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["question"].as_str().map(String::from))
        .collect();
    eprintln!("tuning_set: {} questions per iteration", set.len());
    group.bench_function("tuning_set", |b| {
        b.iter(|| {
            for q in &set {
                black_box(rules.translate(black_box(q), &catalog, today, None));
            }
        })
    });
    // The same questions on the large catalog (Metrica and distractors: 500 metrics, 200
    // dimensions): the lexicon grows, the questions stay.
    let large = large_catalog::large_catalog();
    let large_rules = Rules::new(&large);
    group.bench_function("tuning_set_large_catalog", |b| {
        b.iter(|| {
            for q in &set {
                black_box(large_rules.translate(black_box(q), &large, today, None));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
