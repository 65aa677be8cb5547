//! Periods, comparisons and granularities as they appear on the wire.

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Exactly one of `preset`, `last_n`, `between` or `date`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Period {
    /// A named calendar period relative to today.
    Preset(Preset),
    /// The n complete days ending yesterday, or the n complete weeks/months before the current one.
    LastN(LastN),
    /// Inclusive ISO dates.
    Between(Between),
    /// One calendar day.
    Date(NaiveDate),
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    Today,
    Yesterday,
    ThisWeek,
    LastWeek,
    ThisMonth,
    LastMonth,
    ThisQuarter,
    LastQuarter,
    ThisYear,
    LastYear,
}

impl Preset {
    /// How the preset is said: "last week".
    pub fn words(self) -> &'static str {
        match self {
            Preset::Today => "today",
            Preset::Yesterday => "yesterday",
            Preset::ThisWeek => "this week",
            Preset::LastWeek => "last week",
            Preset::ThisMonth => "this month",
            Preset::LastMonth => "last month",
            Preset::ThisQuarter => "this quarter",
            Preset::LastQuarter => "last quarter",
            Preset::ThisYear => "this year",
            Preset::LastYear => "last year",
        }
    }
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LastN {
    #[schemars(range(min = 1, max = 366))]
    pub count: u32,
    pub unit: PeriodUnit,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PeriodUnit {
    Day,
    Week,
    Month,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Between {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Compare {
    /// Same length, immediately before (for calendar presets: the previous calendar unit).
    PreviousPeriod,
    /// The same dates one year earlier.
    PreviousYear,
}

#[derive(
    Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord,
)]
#[serde(rename_all = "snake_case")]
#[derive(strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum Granularity {
    Day,
    Week,
    Month,
}

impl Granularity {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}
