//! The generated schemas in dsl-spec/schemas are committed and must equal what the code
//! generates. Regenerate with `TALLY_BLESS=1 cargo test --test dsl_spec` and review the diff.

use std::path::PathBuf;

use tally::catalog::Catalog;
use tally::dsl::schema::{schema, Form, Names};

fn check(file: &str, value: serde_json::Value, stale: &mut Vec<String>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("dsl-spec/schemas")
        .join(file);
    let text = serde_json::to_string_pretty(&value).unwrap() + "\n";
    if std::env::var_os("TALLY_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    match std::fs::read_to_string(&path) {
        Ok(existing) if existing == text => {}
        _ => stale.push(file.to_string()),
    }
}

#[test]
fn generated_schemas_are_committed_and_fresh() {
    let catalog = Catalog::embedded_default();
    let mut stale = Vec::new();
    check(
        "metrica.catalog.strict.json",
        schema(&Names::of_catalog(&catalog), Form::Strict),
        &mut stale,
    );
    check(
        "metrica.catalog.validation.json",
        schema(&Names::of_catalog(&catalog), Form::Validation),
        &mut stale,
    );
    for role in catalog.roles.values() {
        check(
            &format!("metrica.{}.strict.json", role.name),
            schema(&Names::of_role(&catalog, role), Form::Strict),
            &mut stale,
        );
    }
    assert!(
        stale.is_empty(),
        "stale generated schemas in dsl-spec/schemas: {stale:?}; regenerate with \
         `TALLY_BLESS=1 cargo test --test dsl_spec` and commit the reviewed diff"
    );
}
