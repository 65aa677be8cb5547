//! The generated schemas in dsl-spec/schemas are committed and must equal what the code
//! generates. Regenerate with `TALLY_BLESS=1 cargo test --test it dsl_spec::` and review the diff.

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
        "catalog.schema.json",
        tally::catalog::file_schema(),
        &mut stale,
    );
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
         `TALLY_BLESS=1 cargo test --test it dsl_spec::` and commit the reviewed diff"
    );
}

/// The catalog file's schema accepts every example catalog and a starter from `catalog init`'s
/// shapes, and rejects a misspelt key (what an editor would underline).
#[test]
fn the_catalog_file_schema_validates_the_examples() {
    let schema = tally::catalog::file_schema();
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path().join("catalog.toml");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let value: serde_json::Value = toml::from_str(&text).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        seen += 1;
    }
    assert!(seen >= 2, "found the example catalogs");
    let single: serde_json::Value = toml::from_str(
        r#"
[catalog]
name = "shop"
version = "1"
tenancy = "single"
[tables."shop.orders"]
time = "ordered_at"
joins."shop.customers" = { column = "customer_id", references = "id" }
[dimensions.status]
bindings = ["shop.orders.status"]
values = "discover"
"#,
    )
    .unwrap();
    assert!(validator.is_valid(&single));
    let typo: serde_json::Value =
        toml::from_str("[catalog]\nname = \"x\"\nversion = \"1\"\ntenansy = \"single\"\n").unwrap();
    assert!(!validator.is_valid(&typo));
    let bad_values: serde_json::Value = toml::from_str(
        "[catalog]\nname = \"x\"\nversion = \"1\"\n[dimensions.d]\nbindings = [\"t.c\"]\nvalues = \"all\"\n",
    )
    .unwrap();
    assert!(!validator.is_valid(&bad_values));
}
