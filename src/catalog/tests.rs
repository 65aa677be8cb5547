use super::*;

const MINI: &str = r#"
[catalog]
name = "mini"
version = "1"

[tables.facts]
tenant = "ws"
time = "ts"
joins = { a = "a_id", b = "b_id" }

[tables.a]
tenant = "ws"

[tables.b]
tenant = "ws"

[dimensions.colour]
bindings = ["a.colour", "b.colour"]

[metrics.n]
type = "count"
table = "facts"

[roles.r]
kinds = ["metric"]
metrics = "*"
dimensions = "*"
max_sensitivity = "public"
record_level = false
"#;

fn error_of(text: &str) -> CatalogError {
    Catalog::from_toml(text, "mini.toml").expect_err("should not load")
}

#[test]
fn embedded_catalog_loads_and_resolves_joins() {
    let c = Catalog::embedded_default();
    assert_eq!(c.name, "metrica");
    // events reach device through sessions (1 hop), not user_profiles (2 hops).
    let r = c.reach("events", "device").unwrap();
    assert_eq!(r.table, "sessions");
    assert_eq!(r.path.len(), 1);
    let r = c.reach("events", "acquisition_channel").unwrap();
    assert_eq!(r.table, "user_profiles");
    assert_eq!(r.path.len(), 2);
    assert!(c.reach("support_tickets", "device").is_none());
    // Derived metrics inherit the highest sensitivity of their components.
    assert_eq!(c.metrics["arpa"].sensitivity, Sensitivity::Confidential);
    assert_eq!(c.metrics["churn_rate"].sensitivity, Sensitivity::Public);
}

#[test]
fn ambiguous_binding_is_a_load_error_naming_the_key() {
    let e = error_of(MINI);
    assert_eq!(e.file, "mini.toml");
    assert_eq!(e.key, "dimensions.colour.bindings");
    assert!(e.message.contains("ambiguous from table `facts`"), "{e}");
}

#[test]
fn table_without_tenant_is_a_load_error() {
    let text = MINI
        .replace("[tables.b]\ntenant = \"ws\"", "[tables.b]")
        .replace(
            "bindings = [\"a.colour\", \"b.colour\"]",
            "bindings = [\"a.colour\"]",
        );
    let e = error_of(&text);
    assert_eq!(e.key, "tables.b");
    assert!(e.message.contains("no tenant column"), "{e}");
}

#[test]
fn derived_cycle_is_a_load_error() {
    let text = MINI.replace("\"a.colour\", \"b.colour\"", "\"a.colour\"")
        + "\n[metrics.x]\ntype = \"derived\"\nexpression = \"y + n\"\n[metrics.y]\ntype = \"ratio\"\nnumerator = \"x\"\ndenominator = \"n\"\n";
    let e = error_of(&text);
    assert!(e.message.contains("cycle"), "{e}");
    assert!(e.message.contains("x → y → x"), "{e}");
}

#[test]
fn unknown_reference_names_the_key() {
    let text = MINI.replace("\"a.colour\", \"b.colour\"", "\"a.colour\"")
        + "\n[metrics.bad]\ntype = \"ratio\"\nnumerator = \"n\"\ndenominator = \"nope\"\n";
    let e = error_of(&text);
    assert_eq!(e.key, "metrics.bad");
    assert!(e.message.contains("unknown metric `nope`"), "{e}");
    let text = MINI.replace("\"a.colour\", \"b.colour\"", "\"zz.colour\"");
    assert!(error_of(&text).message.contains("unknown table `zz`"));
}

#[test]
fn unknown_keys_and_bad_toml_are_errors_with_location() {
    let e = error_of(&MINI.replace("[metrics.n]", "[metrics.n]\ncolour = 3"));
    assert!(e.message.contains("unknown field"), "{e}");
    assert!(e.key.starts_with("line "), "{e}");
}

#[test]
fn plurals() {
    assert_eq!(plural("country"), "countries");
    assert_eq!(plural("status"), "statuses");
    assert_eq!(plural("acquisition_channel"), "acquisition channels");
    assert_eq!(plural("day"), "days");
}

#[test]
fn rollups_keep_what_their_metrics_need_and_refuse_what_they_cannot_keep_exactly() {
    let c = Catalog::embedded_default();
    let r = &c.rollups["daily_segment_users"];
    assert_eq!(r.table, "events");
    assert_eq!(r.time, "ts");
    assert_eq!(r.entity.as_deref(), Some("user_id"));
    assert_eq!(r.columns, ["event_name"]);
    assert_eq!(c.rollups["daily_users"].columns, Vec::<String>::new());
    assert_eq!(c.rollups["daily_events"].entity, None);

    let text = crate::examples::metrica().catalog_toml;
    let with = |extra: &str| format!("{text}\n{extra}");
    let e = Catalog::from_toml(
        &with("[rollups.bad]\ntable = \"sessions\"\nmetrics = [\"avg_session_minutes\"]\n"),
        "m.toml",
    )
    .unwrap_err();
    assert_eq!(e.key, "rollups.bad.metrics");
    assert!(e.message.contains("not a count or distinct count"), "{e}");
    let e = Catalog::from_toml(
        &with("[rollups.bad]\ntable = \"events\"\nmetrics = [\"sessions\"]\n"),
        "m.toml",
    )
    .unwrap_err();
    assert!(e.message.contains("reads `sessions`, not `events`"), "{e}");
    let e = Catalog::from_toml(
        &with("[rollups.bad]\ntable = \"events\"\nmetrics = [\"dau\"]\ndimensions = [\"plan_tier\"]\n"),
        "m.toml",
    )
    .unwrap_err();
    assert_eq!(e.key, "rollups.bad.dimensions");
    assert!(e.message.contains("does not apply to `events`"), "{e}");
}
