//! Translator evaluation over a question set (`tally eval FILE.jsonl`): each question's
//! translation is checked as its role and compared with the expected outcome and canonical DSL.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::rules::Rules;
use super::Translation;
use crate::check::{Checker, Rejection};
use chrono::NaiveDate;

#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    pub id: String,
    pub question: String,
    pub role: String,
    #[serde(default)]
    pub after: Vec<String>,
    pub expect: Expect,
    #[serde(default)]
    pub dsl: Option<Value>,
    #[serde(default)]
    pub refusal: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    Answered,
    Refused,
    NeedsClarification,
}

/// What happened to one question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    AnsweredCorrect,
    AnsweredWrong,
    RefusedCorrect,
    RefusedWrong,
    ClarifiedCorrect,
    /// Asked for clarification (or produced invalid DSL) where an answer or refusal was expected.
    ClarifiedInstead,
}

impl Verdict {
    pub fn correct(self) -> bool {
        matches!(
            self,
            Verdict::AnsweredCorrect | Verdict::RefusedCorrect | Verdict::ClarifiedCorrect
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub id: String,
    pub verdict: Verdict,
    pub got: Option<Value>,
    pub detail: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub total: usize,
    pub correct: usize,
    pub answered_correct: usize,
    pub answered_wrong: usize,
    pub refused_correct: usize,
    pub refused_wrong: usize,
    pub clarified_correct: usize,
    pub clarified_instead: usize,
    /// Answered although a refusal or a clarification was expected: the worst outcome.
    pub answered_must_not: usize,
    pub outcomes: Vec<Outcome>,
}

impl Report {
    pub fn pct(&self, n: usize) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            n as f64 * 100.0 / self.total as f64
        }
    }
}

/// The canonical form of a DSL document as `role` (names repaired, defaults filled), and how the
/// validator judged it.
fn judge(checker: &Checker, dsl: &Value, role: &str) -> (Expect, Option<Value>, Option<String>) {
    match checker.check_value(dsl.clone(), role) {
        Ok(q) => (Expect::Answered, serde_json::to_value(q.query()).ok(), None),
        Err(Rejection::Refused { refusal, query }) => (
            Expect::Refused,
            serde_json::to_value(&*query).ok(),
            Some(refusal.code.as_str().to_string()),
        ),
        Err(Rejection::Invalid { diagnostics }) => (
            Expect::NeedsClarification,
            None,
            diagnostics.first().map(|d| d.code.as_str().to_string()),
        ),
    }
}

/// Two canonical DSL documents ask the same thing: filters are a conjunction and `in` values a
/// set, so neither order matters; everything else must be equal.
fn same_query(a: &Value, b: &Value) -> bool {
    normalised(a) == normalised(b)
}

fn normalised(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(filters) = v.get_mut("filters").and_then(Value::as_array_mut) {
        for f in filters.iter_mut() {
            if let Some(values) = f.get_mut("values").and_then(Value::as_array_mut) {
                values.sort_by_key(|x| x.to_string());
            }
        }
        filters.sort_by_key(|f| f.to_string());
    }
    v
}

pub fn evaluate(cases: &[Case], rules: &Rules, checker: &Checker, today: NaiveDate) -> Report {
    let catalog = checker.catalog().clone();
    let mut report = Report::default();
    for case in cases {
        let mut previous: Option<Value> = None;
        for q in &case.after {
            if let Translation::Dsl { dsl } = rules.translate(q, &catalog, today, previous.as_ref())
            {
                previous = Some(dsl);
            }
        }
        let translation = rules.translate(&case.question, &catalog, today, previous.as_ref());
        let (got_kind, got_dsl, got_code) = match &translation {
            Translation::Clarify(_) => (Expect::NeedsClarification, None, None),
            Translation::Dsl { dsl } => judge(checker, dsl, &case.role),
        };
        let expected = case.dsl.as_ref().map(|d| judge(checker, d, &case.role));
        let same_dsl = match (&got_dsl, &expected) {
            (Some(g), Some((_, Some(e), _))) => same_query(g, e),
            _ => false,
        };
        let verdict = match (case.expect, got_kind) {
            (Expect::NeedsClarification, Expect::NeedsClarification) => Verdict::ClarifiedCorrect,
            (_, Expect::NeedsClarification) => Verdict::ClarifiedInstead,
            (Expect::Answered, Expect::Answered) if same_dsl => Verdict::AnsweredCorrect,
            (Expect::Refused, Expect::Refused) if same_dsl && got_code == case.refusal => {
                Verdict::RefusedCorrect
            }
            (_, Expect::Answered) => Verdict::AnsweredWrong,
            (_, Expect::Refused) => Verdict::RefusedWrong,
        };
        let detail = match &translation {
            Translation::Clarify(c) => c.message.clone(),
            Translation::Dsl { dsl } => format!(
                "got {dsl} ({got_kind:?}{}), expected {}",
                got_code
                    .as_deref()
                    .map(|c| format!(" {c}"))
                    .unwrap_or_default(),
                case.dsl
                    .as_ref()
                    .map(Value::to_string)
                    .unwrap_or_else(|| "clarification".into())
            ),
        };
        report.total += 1;
        match verdict {
            Verdict::AnsweredCorrect => report.answered_correct += 1,
            Verdict::AnsweredWrong => {
                report.answered_wrong += 1;
                if case.expect != Expect::Answered {
                    report.answered_must_not += 1;
                }
            }
            Verdict::RefusedCorrect => report.refused_correct += 1,
            Verdict::RefusedWrong => report.refused_wrong += 1,
            Verdict::ClarifiedCorrect => report.clarified_correct += 1,
            Verdict::ClarifiedInstead => report.clarified_instead += 1,
        }
        if verdict.correct() {
            report.correct += 1;
        }
        report.outcomes.push(Outcome {
            id: case.id.clone(),
            verdict,
            got: match translation {
                Translation::Dsl { dsl } => Some(dsl),
                Translation::Clarify(_) => None,
            },
            detail,
        });
    }
    report
}

/// Reads a question set (JSON lines, blank lines skipped); an error names the 1-based line.
pub fn read_cases(text: &str) -> Result<Vec<Case>, (usize, serde_json::Error)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| serde_json::from_str(l).map_err(|e| (n + 1, e)))
        .collect()
}
