//! Compile path: raw JSON bytes → checked → planned → SQL strings, per kind (no execution).
//! `cargo bench --bench compile`; medians are reported in the README.

use std::hint::black_box;

/// The same allocator as the binary, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use tally::catalog::Catalog;
use tally::check::Checker;
use tally::pipeline::compile_only;
use tally::plan::Clock;
use tally::sql::Dialect;

fn bench(c: &mut Criterion) {
    let checker = Checker::new(Arc::new(Catalog::embedded_default()));
    let clock = Clock::fixed("2026-11-23".parse().unwrap());
    let cases: [(&str, &str, &str); 4] = [
        (
            "metric",
            "analyst",
            r#"{"kind":"metric","metrics":["dau"],"period":{"preset":"last_week"},"compare":"previous_period"}"#,
        ),
        (
            "metric_grouped_filtered",
            "analyst",
            r#"{"kind":"metric","metrics":["signups","checkout_conversion"],"period":{"last_n":{"count":30,"unit":"day"}},"granularity":"week","group_by":["country"],"filters":[{"dimension":"device","op":"in","values":["ios","android"]}],"compare":"previous_period"}"#,
        ),
        (
            "overview",
            "executive",
            r#"{"kind":"overview","period":{"preset":"last_week"},"compare":"previous_period"}"#,
        ),
        (
            "list",
            "analyst",
            r#"{"kind":"list","entity":"customer","fields":["company_name","plan_tier","mrr"],"filters":[{"field":"plan_tier","op":"eq","values":["enterprise"]}],"sort":{"field":"mrr","order":"desc"},"limit":20}"#,
        ),
    ];
    let mut group = c.benchmark_group("compile");
    for (name, role, raw) in cases {
        // The case must compile, or the benchmark measures an error path.
        compile_only(
            &checker,
            raw.as_bytes(),
            role,
            "acme",
            &clock,
            Dialect::Postgres,
        )
        .expect(name);
        group.bench_function(name, |b| {
            b.iter(|| {
                let statements = compile_only(
                    &checker,
                    black_box(raw.as_bytes()),
                    role,
                    "acme",
                    &clock,
                    Dialect::Postgres,
                )
                .expect("compiles");
                black_box(statements.iter().map(|s| s.sql.len()).sum::<usize>())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
