//! The names of the columns a compiled statement returns, which `result/` reads back: named once
//! here so that the two agree by a shared name rather than by habit.
//!
//! A unit's row is its keys (the bucket, then the groups, in that order), then its values.

/// The bucket (a series) or window (active users) of a row: its first day, as text.
pub const BUCKET: &str = "b0";

/// A count or distinct count; with [`SUM`], the divisor of an average or median.
pub const COUNT: &str = "n";

/// A sum, as a double; an average's or median's dividend.
pub const SUM: &str = "s";

/// A sampled column's value (`top_values`, `sample_values`), beside its [`COUNT`].
pub const VALUE: &str = "value";

/// The `i`-th group key (0-based, in the unit's `group_by` order).
pub fn group(i: usize) -> String {
    format!("g{i}")
}

/// A snapshot metric's value at the unit's `i`-th instant.
pub fn instant(i: usize) -> String {
    format!("v{i}")
}

/// The users a funnel brings to step `k` (1-based).
pub fn step(k: usize) -> String {
    format!("s{k}")
}

/// A retention row's activity bucket (its first day, as text), beside the cohort's [`BUCKET`].
pub const ACTIVITY_BUCKET: &str = "b1";
