//! Golden cases: every file in golden/cases is checked, planned, compiled for all three dialects
//! and run on the seeded demo warehouse with a pinned clock; the plan (`Plan::outline`), the SQL
//! per dialect, the result and the answer are snapshotted under golden/snapshots. A changed snapshot is a reviewed decision:
//! `cargo insta review` locally; CI never accepts (insta does not write snapshots when CI is set).
//!
//! A case runs on the catalog its `catalog` field names (an embedded example: `adnavi`) and that
//! example's demo warehouse; without the field, on the default Metrica catalog.

use crate::common;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Value};
use tally::catalog::Catalog;
use tally::check::Checker;
use tally::pipeline::{self, CompileOnlyError, Engine};
use tally::plan::Clock;
use tally::sql::{self, Dialect};

#[test]
fn golden_cases() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Per catalog, built when a case first needs it.
    let mut engines: BTreeMap<String, (Engine, Checker)> = BTreeMap::new();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../../golden/snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.add_redaction(".response.query_id", "[query_id]");
    settings.add_redaction(".response.timings_ms", "[timings]");
    settings.bind(|| {
        insta::glob!("../../golden/cases", "*.json", |path| {
            let case: Value =
                serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            let raw: Vec<u8> = match case.get("raw") {
                Some(Value::String(s)) => s.as_bytes().to_vec(),
                _ => serde_json::to_vec(&case["dsl"]).unwrap(),
            };
            let role = case["role"].as_str().unwrap();
            let workspace = case["workspace"].as_str().unwrap();
            let clock = Clock::fixed(case["today"].as_str().unwrap().parse().unwrap());
            let catalog = common::case_catalog(&case).to_owned();
            let (engine, checker) = engines.entry(catalog.clone()).or_insert_with(|| {
                let checker = match catalog.as_str() {
                    "metrica" => Checker::new(Arc::new(Catalog::embedded_default())),
                    name => Checker::new(Arc::new(common::catalog_named(name))),
                };
                (rt.block_on(common::engine_for(&catalog)), checker)
            });

            // The plan stage on its own, so a planning change reads as such before its SQL.
            let plan = match checker.check_bytes(&raw, role) {
                Err(r) => format!("not planned: {}\n", r.code()),
                Ok(checked) => match tally::plan::WorkspaceId::parse(workspace)
                    .and_then(|w| tally::plan::plan(&checked, &w, &clock))
                {
                    Ok(p) => p.outline(),
                    Err(e) => format!("not planned: {}\n", e.code()),
                },
            };
            insta::assert_snapshot!(format!("{}.plan", case["name"].as_str().unwrap()), plan);

            let mut compiled = serde_json::Map::new();
            for d in Dialect::ALL {
                let v = match pipeline::compile_only(checker, &raw, role, workspace, &clock, d) {
                    Ok(statements) => json!(sql::render(&statements)),
                    Err(CompileOnlyError::Rejected(r)) => json!({"not_compiled": r.code()}),
                    Err(CompileOnlyError::Plan(e)) => json!({"not_compiled": e.code()}),
                    Err(CompileOnlyError::Compile(e)) => json!({"not_compiled": e.code()}),
                };
                compiled.insert(d.as_str().to_string(), v);
            }
            let (response, _) = rt
                .block_on(engine.run(&raw, role, workspace, &clock))
                .expect("the pipeline runs on the demo warehouse");
            // The answer only ever states what the result holds: it never says "estimate".
            assert!(
                !response.answer.to_lowercase().contains("estimat")
                    || response.answer.contains("nothing is estimated")
            );
            let snapshot = json!({
                "case": case,
                "sql": compiled,
                "response": response,
            });
            insta::assert_json_snapshot!(case["name"].as_str().unwrap(), snapshot);
        });
    });
}
