//! The rule translator on the question set: accuracy must stay at or above 90% with at most 1%
//! answered wrongly (a wrong answer is worse than a clarification).

use std::sync::Arc;

use tally::catalog::Catalog;
use tally::check::Checker;
use tally::translate::eval::{evaluate, Case, Verdict};
use tally::translate::rules::Rules;

#[test]
fn rules_meet_the_accuracy_bar_on_the_question_set() {
    let catalog = Arc::new(Catalog::embedded_default());
    let checker = Checker::new(catalog.clone());
    let rules = Rules::new(&catalog);
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/metrica/questions.jsonl"
    ))
    .unwrap();
    let cases: Vec<Case> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(cases.len() >= 200, "{} questions", cases.len());
    let report = evaluate(&cases, &rules, &checker, "2026-11-23".parse().unwrap());
    for o in &report.outcomes {
        if !o.verdict.correct() {
            let q = cases.iter().find(|c| c.id == o.id).unwrap();
            eprintln!(
                "{} {:?} [{}] {:?}\n    {}",
                o.id, o.verdict, q.role, q.question, o.detail
            );
        }
    }
    eprintln!(
        "total {} correct {} ({:.1}%) answered-correct {} answered-wrong {} ({:.1}%) refused-correct {} refused-wrong {} clarified-correct {} clarified-instead {}",
        report.total, report.correct, report.pct(report.correct), report.answered_correct, report.answered_wrong,
        report.pct(report.answered_wrong), report.refused_correct, report.refused_wrong, report.clarified_correct, report.clarified_instead
    );
    let wrong = report
        .outcomes
        .iter()
        .filter(|o| matches!(o.verdict, Verdict::AnsweredWrong))
        .count();
    assert!(
        report.pct(report.correct) >= 90.0,
        "accuracy {:.1}%",
        report.pct(report.correct)
    );
    assert!(
        report.pct(wrong) <= 1.0,
        "answered wrong {:.1}%",
        report.pct(wrong)
    );
}
