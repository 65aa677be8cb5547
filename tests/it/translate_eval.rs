//! The rule translator on the question sets of both example catalogs. Each catalog has a tuning
//! set (`questions.jsonl`, which the rules were developed against) and a held-back set
//! (`questions-heldback.jsonl`, written before translator v2 and never tuned on). Bars: at least
//! 90% correct on every tuning set and 95% on every held-back set, at most 1% answered with a
//! wrong query, and no question that must not be answered (a refusal or a clarification) ever
//! answered. The DSL the translator reads for each tuning question is snapshotted, so a change
//! in reading is a reviewed diff and not only a moved percentage.

use std::sync::Arc;

use tally::catalog::Catalog;
use tally::check::{Checker, Rejection};
use tally::translate::eval::{evaluate, read_cases, Case, Expect, Report, Verdict};
use tally::translate::rules::Rules;
use tally::translate::Translation;

const TODAY: &str = "2026-11-23";

fn catalog(name: &str) -> Arc<Catalog> {
    let path = format!(
        "{}/examples/{name}/catalog.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    Arc::new(Catalog::load_file(std::path::Path::new(&path)).unwrap())
}

fn cases(name: &str, file: &str) -> Vec<Case> {
    let path = format!("{}/examples/{name}/{file}", env!("CARGO_MANIFEST_DIR"));
    read_cases(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn run(name: &str, file: &str) -> (Vec<Case>, Report) {
    let catalog = catalog(name);
    let checker = Checker::new(catalog.clone());
    let rules = Rules::new(&catalog);
    let cases = cases(name, file);
    let report = evaluate(&cases, &rules, &checker, TODAY.parse().unwrap());
    (cases, report)
}

/// Prints every miss and the summary, then checks the bars.
fn assert_bars(name: &str, file: &str, min_correct: f64, min_questions: usize) {
    let (cases, report) = run(name, file);
    for o in report.outcomes.iter().filter(|o| !o.verdict.correct()) {
        let q = cases.iter().find(|c| c.id == o.id).unwrap();
        eprintln!(
            "{name}/{file} {} {:?} [{}] {:?}\n    {}",
            o.id, o.verdict, q.role, q.question, o.detail
        );
    }
    eprintln!(
        "{name}/{file}: {} questions, correct {} ({:.1}%), answered wrong {} ({:.1}%, must-not-answer {}), clarified instead {}, refused instead {}",
        report.total,
        report.correct,
        report.pct(report.correct),
        report.answered_wrong,
        report.pct(report.answered_wrong),
        report.answered_must_not,
        report.clarified_instead,
        report.refused_wrong
    );
    assert!(report.total >= min_questions, "{} questions", report.total);
    assert!(
        report.pct(report.correct) >= min_correct,
        "{name}/{file}: accuracy {:.1}%",
        report.pct(report.correct)
    );
    assert!(
        report.pct(report.answered_wrong) <= 1.0,
        "{name}/{file}: answered wrong {:.1}%",
        report.pct(report.answered_wrong)
    );
    assert_eq!(
        report.answered_must_not, 0,
        "{name}/{file}: a question that must not be answered was answered"
    );
}

#[test]
fn metrica_tuning_set_meets_the_bar() {
    assert_bars("metrica", "questions.jsonl", 90.0, 480);
}

#[test]
fn metrica_held_back_set_meets_the_bar() {
    assert_bars("metrica", "questions-heldback.jsonl", 95.0, 140);
}

#[test]
fn adnavi_tuning_set_meets_the_bar() {
    assert_bars("adnavi", "questions.jsonl", 90.0, 80);
}

#[test]
fn adnavi_held_back_set_meets_the_bar() {
    assert_bars("adnavi", "questions-heldback.jsonl", 95.0, 70);
}

/// A second held-back set (`questions-fresh.jsonl`), written by another engineer after
/// translator v2 landed, without reading its code or tuning sets, and never tuned on (its one
/// genuine miss, a dropped "vs the 7 days before", was then fixed as a class). Lower bars: it
/// measures how the translator meets questions nobody shaped it for.
#[test]
fn fresh_sets_meet_their_bar() {
    assert_bars_loose("metrica", "questions-fresh.jsonl", 85.0, 50);
    assert_bars_loose("adnavi", "questions-fresh.jsonl", 85.0, 20);
}

/// A third held-back set (`questions-fresh3.jsonl`, 40 Metrica questions), written by another
/// engineer on 2026-12-07 without reading the translator's code or any question set, while the
/// rules were being changed for two sets written the same way (now part of the tuning set), and
/// never tuned on.
#[test]
fn the_third_fresh_set_meets_its_bar() {
    assert_bars_loose("metrica", "questions-fresh3.jsonl", 85.0, 40);
}

fn assert_bars_loose(name: &str, file: &str, min_correct: f64, min_questions: usize) {
    let (cases, report) = run(name, file);
    for o in report.outcomes.iter().filter(|o| !o.verdict.correct()) {
        let q = cases.iter().find(|c| c.id == o.id).unwrap();
        eprintln!(
            "{name}/fresh {} {:?} {:?}\n    {}",
            o.id, o.verdict, q.question, o.detail
        );
    }
    assert!(report.total >= min_questions);
    assert!(
        report.pct(report.correct) >= min_correct,
        "{name}/fresh: accuracy {:.1}%",
        report.pct(report.correct)
    );
    assert!(
        report.pct(report.answered_wrong) <= 5.0,
        "{name}/fresh: answered wrong {:.1}%",
        report.pct(report.answered_wrong)
    );
    assert_eq!(
        report.answered_must_not, 0,
        "{name}/fresh: a must-not-answer was answered"
    );
}

/// Every expected DSL in the question files is what the file says it is for its role: valid and
/// allowed when an answer is expected, refused with the stated code when a refusal is. A wrong
/// expectation would make the figures above meaningless.
#[test]
fn expected_queries_are_valid_for_their_roles() {
    for name in ["metrica", "adnavi"] {
        let checker = Checker::new(catalog(name));
        for file in [
            "questions.jsonl",
            "questions-heldback.jsonl",
            "questions-fresh.jsonl",
            "questions-fresh3.jsonl",
        ] {
            if name == "adnavi" && file == "questions-fresh3.jsonl" {
                continue;
            }
            for case in cases(name, file) {
                let Some(dsl) = &case.dsl else {
                    assert_eq!(
                        case.expect,
                        Expect::NeedsClarification,
                        "{name}/{file} {}: no DSL",
                        case.id
                    );
                    continue;
                };
                match (case.expect, checker.check_value(dsl.clone(), &case.role)) {
                    (Expect::Answered, Ok(_)) => {}
                    (Expect::Refused, Err(Rejection::Refused { refusal, .. })) => assert_eq!(
                        Some(refusal.code.as_str()),
                        case.refusal.as_deref(),
                        "{name}/{file} {}",
                        case.id
                    ),
                    (expect, got) => panic!(
                        "{name}/{file} {}: expected {expect:?}, the checker says {got:?}",
                        case.id
                    ),
                }
            }
        }
    }
}

/// The translator's reading of every tuning question, one line each.
fn readings(name: &str) -> String {
    let catalog = catalog(name);
    let rules = Rules::new(&catalog);
    let today = TODAY.parse().unwrap();
    let mut out = String::new();
    for case in cases(name, "questions.jsonl") {
        let mut previous = None;
        for q in &case.after {
            if let Translation::Dsl { dsl } = rules.translate(q, &catalog, today, previous.as_ref())
            {
                previous = Some(dsl);
            }
        }
        let got = match rules.translate(&case.question, &catalog, today, previous.as_ref()) {
            Translation::Dsl { dsl } => dsl.to_string(),
            Translation::Clarify(c) => format!("clarify {:?}", c.unmapped),
        };
        out.push_str(&format!("{} {:?}\n  {got}\n", case.id, case.question));
    }
    out
}

#[test]
fn metrica_readings_are_reviewed() {
    insta::assert_snapshot!("metrica_readings", readings("metrica"));
}

#[test]
fn adnavi_readings_are_reviewed() {
    insta::assert_snapshot!("adnavi_readings", readings("adnavi"));
}

/// The verdicts are a closed set: a new one would need its own bar.
#[test]
fn verdicts_are_counted_once() {
    let (_, r) = run("metrica", "questions.jsonl");
    let counted = r.answered_correct
        + r.answered_wrong
        + r.refused_correct
        + r.refused_wrong
        + r.clarified_correct
        + r.clarified_instead;
    assert_eq!(counted, r.total);
    assert!(r.outcomes.iter().all(|o| o.verdict.correct()
        == !matches!(
            o.verdict,
            Verdict::AnsweredWrong | Verdict::RefusedWrong | Verdict::ClarifiedInstead
        )));
}
