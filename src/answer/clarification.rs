//! What the answer says when a question needs clarifying: the translator's message and its
//! suggested questions, or, when the translator's own query was invalid, that it could not
//! make one. The translator words its message (it knows what it could not read); this module
//! puts it into the answer.

/// The clarifier's message and its suggestions: "… Try: Signups last week · Sessions last week".
pub fn clarification_text(message: &str, suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        message.to_string()
    } else {
        format!("{message} Try: {}", suggestions.join(" · "))
    }
}

/// A translation that the check found invalid is the translator's slip, not the user's: the
/// answer asks rather than blames, then says what was wrong (`invalid`, from `invalid_text`).
pub fn translation_invalid_text(invalid: &str) -> String {
    format!("I could not turn that into a valid query. {invalid}")
}
