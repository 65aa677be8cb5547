//! The translator end to end on single questions (the question sets are in `tests/`).

use super::*;

fn today() -> NaiveDate {
    "2026-11-23".parse().unwrap()
}

fn dsl(rules: &Rules, catalog: &Catalog, q: &str) -> Value {
    match rules.translate(q, catalog, today(), None) {
        Translation::Dsl { dsl } => dsl,
        Translation::Clarify(c) => panic!("{q}: clarified: {c:?}"),
    }
}

fn clarified(rules: &Rules, catalog: &Catalog, q: &str) -> Clarification {
    match rules.translate(q, catalog, today(), None) {
        Translation::Clarify(c) => c,
        Translation::Dsl { dsl } => panic!("{q}: answered {dsl}"),
    }
}

#[test]
fn an_unknown_code_is_never_read_as_a_pronoun() {
    let catalog = Catalog::embedded_default();
    let rules = Rules::new(&catalog);
    let c = clarified(&rules, &catalog, "signups in IT last week");
    assert_eq!(c.unmapped, vec!["IT".to_string()]);
    assert!(c.message.contains("country"), "{}", c.message);
    assert!(
        c.suggestions
            .iter()
            .any(|s| s == "Signups last week for US"),
        "{:?}",
        c.suggestions
    );
    assert!(
        c.suggestions
            .iter()
            .any(|s| s == "Signups last week, all countries"),
        "{:?}",
        c.suggestions
    );
}

#[test]
fn every_suggestion_is_a_question_the_translator_answers() {
    let catalog = Catalog::embedded_default();
    let rules = Rules::new(&catalog);
    for q in [
        "signups in IT last week",
        "revenue in Italy last month",
        "dau",
        "DAU on blackberry yesterday",
        "signups over the holidays",
        "dau yesterday vs the same day last week",
        "DAU for enterprise customers last week",
        "sessions from TikTok last week",
        "signups from the email channel and Bing",
    ] {
        let c = clarified(&rules, &catalog, q);
        assert!(!c.suggestions.is_empty(), "{q}: no suggestion");
        for s in &c.suggestions {
            if catalog.example_questions.contains(s) {
                continue;
            }
            assert!(
                matches!(
                    rules.translate(s, &catalog, today(), None),
                    Translation::Dsl { .. }
                ),
                "{q}: suggestion {s:?} does not translate"
            );
        }
    }
}

#[test]
fn snapshot_metrics_without_a_period_are_as_of_today() {
    let catalog = Catalog::embedded_default();
    let rules = Rules::new(&catalog);
    let d = dsl(&rules, &catalog, "what's our MRR?");
    assert_eq!(d["period"], serde_json::json!({"preset": "today"}));
    // A flow metric with no period is a question, not today's number.
    clarified(&rules, &catalog, "how many signups?");
}

#[test]
fn a_comparison_word_without_a_period_compares_the_current_period() {
    let catalog = Catalog::embedded_default();
    let rules = Rules::new(&catalog);
    let d = dsl(&rules, &catalog, "sessions MoM");
    assert_eq!(d["period"], serde_json::json!({"preset": "this_month"}));
    assert_eq!(d["compare"], "previous_period");
}

#[test]
fn values_compared_with_each_other_are_a_breakdown() {
    let catalog = Catalog::embedded_default();
    let rules = Rules::new(&catalog);
    let d = dsl(&rules, &catalog, "ios vs android signups last week");
    assert_eq!(d["group_by"], serde_json::json!(["device"]));
    assert_eq!(d["filters"][0]["op"], "in");
}

#[test]
fn a_scope_is_said_as_a_whole_and_filters_nothing() {
    let catalog = Catalog::embedded_default();
    let rules = Rules::new(&catalog);
    let d = dsl(
        &rules,
        &catalog,
        "signups last week for all countries and devices",
    );
    assert!(d.get("filters").is_none(), "{d}");
    assert!(d.get("group_by").is_none(), "{d}");
}

#[test]
fn half_read_questions_are_clarified() {
    let catalog = Catalog::embedded_default();
    let rules = Rules::new(&catalog);
    for q in [
        "churn in Q3 vs Q2",
        "signups per user last week",
        "revenue from new customers last month",
        "signups this week compared to last month",
        "orders over $100 last week",
        "signups excluding weekends last month",
        "what's the email of the android user with the most sessions last week",
    ] {
        clarified(&rules, &catalog, q);
    }
}

#[test]
fn follow_ups_keep_what_the_previous_question_had() {
    let catalog = Catalog::embedded_default();
    let rules = Rules::new(&catalog);
    let first = dsl(&rules, &catalog, "ios vs android signups last week");
    let Translation::Dsl { dsl: next } =
        rules.translate("and for last month?", &catalog, today(), Some(&first))
    else {
        panic!("a follow-up is answered");
    };
    assert_eq!(next["period"], serde_json::json!({"preset": "last_month"}));
    assert_eq!(next["group_by"], first["group_by"]);
    assert_eq!(next["filters"], first["filters"]);
}

#[test]
fn which_records_did_a_counted_thing_lists_them_and_how_many_counts_them() {
    let catalog = Catalog::embedded_default();
    let rules = Rules::new(&catalog);
    for q in [
        "which customers cancelled last month?",
        "what customers did we lose last month?",
    ] {
        let d = dsl(&rules, &catalog, q);
        assert_eq!(d["kind"], "list", "{q}: {d}");
        assert_eq!(d["entity"], "customer", "{q}");
        assert_eq!(d["time_field"], "churned_at", "{q}");
    }
    for q in [
        "how many customers cancelled last month?",
        "what churn did we have last month?",
    ] {
        let d = dsl(&rules, &catalog, q);
        assert_eq!(d["kind"], "metric", "{q}: {d}");
        assert_eq!(
            d["metrics"],
            serde_json::json!(["churned_customers"]),
            "{q}"
        );
    }
}

#[test]
fn for_each_record_in_a_list_names_the_records_and_sorts_nothing() {
    let catalog = Catalog::embedded_default();
    let rules = Rules::new(&catalog);
    let d = dsl(
        &rules,
        &catalog,
        "I need the contact e-mail for each customer that churned last month",
    );
    assert_eq!(d["kind"], "list", "{d}");
    assert_eq!(d["entity"], "customer");
    assert_eq!(d["fields"], serde_json::json!(["contact_email"]));
    assert_eq!(d["time_field"], "churned_at");
    assert!(d.get("sort").is_none(), "{d}");
}
