//! Calendar arithmetic for periods, comparisons and buckets (DESIGN §3 time semantics).
//!
//! Dates are calendar dates; a range is inclusive [start, end] and becomes the half-open instants
//! [start 00:00, end+1 00:00) in SQL. Weeks start on Monday.

use chrono::{Datelike, Days, Months, NaiveDate, NaiveDateTime, Weekday};
use serde::Serialize;

use crate::catalog::Window;
use crate::dsl::{Compare, Granularity, Period, PeriodUnit, Preset};

/// An inclusive range of calendar dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct DateRange {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl DateRange {
    pub fn new(start: NaiveDate, end: NaiveDate) -> DateRange {
        debug_assert!(start <= end, "{start} > {end}");
        DateRange { start, end }
    }

    pub fn day(d: NaiveDate) -> DateRange {
        DateRange { start: d, end: d }
    }

    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days() + 1
    }

    /// The first instant of the range.
    pub fn from_instant(&self) -> NaiveDateTime {
        self.start.and_hms_opt(0, 0, 0).expect("midnight")
    }

    /// The first instant after the range (exclusive upper bound).
    pub fn until_instant(&self) -> NaiveDateTime {
        (self.end + Days::new(1))
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
    }

    pub fn contains(&self, d: NaiveDate) -> bool {
        self.start <= d && d <= self.end
    }

    pub fn clip(&self, other: &DateRange) -> Option<DateRange> {
        let start = self.start.max(other.start);
        let end = self.end.min(other.end);
        (start <= end).then_some(DateRange { start, end })
    }
}

pub fn monday_of(d: NaiveDate) -> NaiveDate {
    d - Days::new(d.weekday().num_days_from_monday() as u64)
}

pub fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).expect("day 1 exists")
}

fn quarter_start(d: NaiveDate) -> NaiveDate {
    let m = (d.month0() / 3) * 3 + 1;
    NaiveDate::from_ymd_opt(d.year(), m, 1).expect("quarter start")
}

fn year_start(d: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year(), 1, 1).expect("jan 1")
}

fn months_back(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_sub_months(Months::new(n)).expect("in range")
}

fn end_of_month(d: NaiveDate) -> NaiveDate {
    month_start(d)
        .checked_add_months(Months::new(1))
        .expect("in range")
        - Days::new(1)
}

/// The same calendar date one year earlier (29 February becomes 28 February).
fn year_earlier(d: NaiveDate) -> NaiveDate {
    d.with_year(d.year() - 1)
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(d.year() - 1, 2, 28).expect("feb 28"))
}

/// How a period was described, for comparison phrases and period units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CalendarUnit {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

/// The resolved period: its dates and, when it is a calendar unit, which.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ResolvedPeriod {
    /// The period as the query asked it (how the answer says it: "last week").
    pub asked: Period,
    pub range: DateRange,
    /// Set for calendar presets and `last_n` weeks/months.
    pub unit: Option<CalendarUnit>,
    /// True when the period runs to today (this_week etc.): it is incomplete.
    pub to_date: bool,
}

pub fn resolve(period: &Period, today: NaiveDate) -> ResolvedPeriod {
    let day = Days::new(1);
    let (range, unit, to_date) = match period {
        Period::Preset(p) => match p {
            Preset::Today => (DateRange::day(today), Some(CalendarUnit::Day), true),
            Preset::Yesterday => (DateRange::day(today - day), Some(CalendarUnit::Day), false),
            Preset::ThisWeek => (
                DateRange::new(monday_of(today), today),
                Some(CalendarUnit::Week),
                true,
            ),
            Preset::LastWeek => {
                let start = monday_of(today) - Days::new(7);
                (
                    DateRange::new(start, start + Days::new(6)),
                    Some(CalendarUnit::Week),
                    false,
                )
            }
            Preset::ThisMonth => (
                DateRange::new(month_start(today), today),
                Some(CalendarUnit::Month),
                true,
            ),
            Preset::LastMonth => {
                let start = months_back(month_start(today), 1);
                (
                    DateRange::new(start, end_of_month(start)),
                    Some(CalendarUnit::Month),
                    false,
                )
            }
            Preset::ThisQuarter => (
                DateRange::new(quarter_start(today), today),
                Some(CalendarUnit::Quarter),
                true,
            ),
            Preset::LastQuarter => {
                let start = months_back(quarter_start(today), 3);
                (
                    DateRange::new(start, quarter_start(today) - day),
                    Some(CalendarUnit::Quarter),
                    false,
                )
            }
            Preset::ThisYear => (
                DateRange::new(year_start(today), today),
                Some(CalendarUnit::Year),
                true,
            ),
            Preset::LastYear => {
                let start = year_earlier(year_start(today));
                (
                    DateRange::new(start, year_start(today) - day),
                    Some(CalendarUnit::Year),
                    false,
                )
            }
        },
        Period::LastN(n) => match n.unit {
            PeriodUnit::Day => (
                DateRange::new(today - Days::new(n.count as u64), today - day),
                None,
                false,
            ),
            PeriodUnit::Week => {
                let this = monday_of(today);
                (
                    DateRange::new(this - Days::new(7 * n.count as u64), this - day),
                    Some(CalendarUnit::Week),
                    false,
                )
            }
            PeriodUnit::Month => {
                let this = month_start(today);
                (
                    DateRange::new(months_back(this, n.count), this - day),
                    Some(CalendarUnit::Month),
                    false,
                )
            }
        },
        Period::Between(b) => (DateRange::new(b.start, b.end), None, false),
        Period::Date(d) => (DateRange::day(*d), Some(CalendarUnit::Day), false),
    };
    ResolvedPeriod {
        asked: *period,
        range,
        unit,
        to_date,
    }
}

/// The comparison range for `period`.
///
/// `previous_year` is the same dates a year earlier. `previous_period` is the previous calendar
/// unit(s) for calendar periods (the same number of days into it for to-date periods, so
/// 1–23 November compares with 1–23 October), else the same number of days immediately before.
pub fn compare_range(period: &ResolvedPeriod, compare: Compare) -> DateRange {
    let r = period.range;
    match compare {
        Compare::PreviousYear => DateRange::new(year_earlier(r.start), year_earlier(r.end)),
        Compare::PreviousPeriod => {
            let same_length_before = || {
                let end = r.start - Days::new(1);
                DateRange::new(end - Days::new(r.days() as u64 - 1), end)
            };
            match period.unit {
                None | Some(CalendarUnit::Day) | Some(CalendarUnit::Week) => same_length_before(),
                Some(unit) => {
                    let months = match unit {
                        CalendarUnit::Month => {
                            // Whole months in the period (last_n months spans several).
                            let m = (r.end.year() - r.start.year()) * 12 + r.end.month() as i32
                                - r.start.month() as i32
                                + 1;
                            m as u32
                        }
                        CalendarUnit::Quarter => 3,
                        CalendarUnit::Year => 12,
                        _ => unreachable!("handled above"),
                    };
                    let start = months_back(r.start, months);
                    let unit_end = r.start - Days::new(1);
                    if period.to_date {
                        let end = (start + Days::new(r.days() as u64 - 1)).min(unit_end);
                        DateRange::new(start, end)
                    } else {
                        DateRange::new(start, unit_end)
                    }
                }
            }
        }
    }
}

/// The key of the window or bucket containing `d`.
pub fn window_key(d: NaiveDate, w: Window) -> NaiveDate {
    match w {
        Window::Day => d,
        Window::Week => monday_of(d),
        Window::Month => month_start(d),
    }
}

pub fn granularity_window(g: Granularity) -> Window {
    match g {
        Granularity::Day => Window::Day,
        Granularity::Week => Window::Week,
        Granularity::Month => Window::Month,
    }
}

/// The whole window (or bucket) of `w` containing `d`.
pub fn window_of(d: NaiveDate, w: Window) -> DateRange {
    let key = window_key(d, w);
    let next = match w {
        Window::Day => key + Days::new(1),
        Window::Week => key + Days::new(7),
        Window::Month => key.checked_add_months(Months::new(1)).expect("in range"),
    };
    DateRange::new(key, next - Days::new(1))
}

/// The windows (or buckets) of `w` that intersect `range`, each clipped to it, in order.
pub fn windows(range: &DateRange, w: Window) -> Vec<DateRange> {
    let mut out = Vec::new();
    let mut key = window_key(range.start, w);
    while key <= range.end {
        let whole = window_of(key, w);
        if let Some(c) = whole.clip(range) {
            out.push(c);
        }
        key = whole.end + Days::new(1);
    }
    out
}

pub fn weekday_short(d: NaiveDate) -> &'static str {
    match d.weekday() {
        Weekday::Mon => "Mon",
        Weekday::Tue => "Tue",
        Weekday::Wed => "Wed",
        Weekday::Thu => "Thu",
        Weekday::Fri => "Fri",
        Weekday::Sat => "Sat",
        Weekday::Sun => "Sun",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsl::{Between, LastN};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn r(p: Period, today: &str) -> (String, String) {
        let x = resolve(&p, d(today)).range;
        (x.start.to_string(), x.end.to_string())
    }

    #[test]
    fn presets_follow_the_contract() {
        let t = "2026-11-23"; // a Monday
        let s = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            r(Period::Preset(Preset::Today), t),
            s("2026-11-23", "2026-11-23")
        );
        assert_eq!(
            r(Period::Preset(Preset::Yesterday), t),
            s("2026-11-22", "2026-11-22")
        );
        assert_eq!(
            r(Period::Preset(Preset::ThisWeek), t),
            s("2026-11-23", "2026-11-23")
        );
        assert_eq!(
            r(Period::Preset(Preset::LastWeek), t),
            s("2026-11-16", "2026-11-22")
        );
        assert_eq!(
            r(Period::Preset(Preset::ThisMonth), t),
            s("2026-11-01", "2026-11-23")
        );
        assert_eq!(
            r(Period::Preset(Preset::LastMonth), t),
            s("2026-10-01", "2026-10-31")
        );
        assert_eq!(
            r(Period::Preset(Preset::ThisQuarter), t),
            s("2026-10-01", "2026-11-23")
        );
        assert_eq!(
            r(Period::Preset(Preset::LastQuarter), t),
            s("2026-07-01", "2026-09-30")
        );
        assert_eq!(
            r(Period::Preset(Preset::ThisYear), t),
            s("2026-01-01", "2026-11-23")
        );
        assert_eq!(
            r(Period::Preset(Preset::LastYear), t),
            s("2025-01-01", "2025-12-31")
        );
        let n = |count, unit| Period::LastN(LastN { count, unit });
        assert_eq!(r(n(7, PeriodUnit::Day), t), s("2026-11-16", "2026-11-22"));
        assert_eq!(r(n(2, PeriodUnit::Week), t), s("2026-11-09", "2026-11-22"));
        assert_eq!(r(n(3, PeriodUnit::Month), t), s("2026-08-01", "2026-10-31"));
        // Sunday: this_week is Mon..Sun inclusive of today.
        assert_eq!(
            r(Period::Preset(Preset::ThisWeek), "2026-11-22"),
            s("2026-11-16", "2026-11-22")
        );
    }

    #[test]
    fn comparisons_follow_the_contract() {
        let today = d("2026-11-23");
        let c = |p: Period, cmp| {
            let x = compare_range(&resolve(&p, today), cmp);
            (x.start.to_string(), x.end.to_string())
        };
        let s = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            c(Period::Preset(Preset::LastWeek), Compare::PreviousPeriod),
            s("2026-11-09", "2026-11-15")
        );
        assert_eq!(
            c(Period::Preset(Preset::LastMonth), Compare::PreviousPeriod),
            s("2026-09-01", "2026-09-30")
        );
        assert_eq!(
            c(Period::Preset(Preset::ThisMonth), Compare::PreviousPeriod),
            s("2026-10-01", "2026-10-23")
        );
        assert_eq!(
            c(Period::Preset(Preset::LastQuarter), Compare::PreviousPeriod),
            s("2026-04-01", "2026-06-30")
        );
        assert_eq!(
            c(Period::Preset(Preset::LastWeek), Compare::PreviousYear),
            s("2025-11-16", "2025-11-22")
        );
        let between = Period::Between(Between {
            start: d("2026-11-01"),
            end: d("2026-11-10"),
        });
        assert_eq!(
            c(between, Compare::PreviousPeriod),
            s("2026-10-22", "2026-10-31")
        );
        // A to-date month whose previous month is shorter is clipped to that month.
        let x = compare_range(
            &resolve(&Period::Preset(Preset::ThisMonth), d("2026-03-31")),
            Compare::PreviousPeriod,
        );
        assert_eq!((x.start, x.end), (d("2026-02-01"), d("2026-02-28")));
        let x = compare_range(
            &resolve(&Period::Date(d("2028-02-29")), today),
            Compare::PreviousYear,
        );
        assert_eq!(x.start, d("2027-02-28"));
    }

    #[test]
    fn windows_are_clipped() {
        let range = DateRange::new(d("2026-11-04"), d("2026-11-20"));
        let w = windows(&range, Window::Week);
        assert_eq!(w.len(), 3);
        assert_eq!((w[0].start, w[0].end), (d("2026-11-04"), d("2026-11-08")));
        assert_eq!((w[2].start, w[2].end), (d("2026-11-16"), d("2026-11-20")));
        assert_eq!(windows(&range, Window::Month).len(), 1);
        assert_eq!(windows(&range, Window::Day).len(), 17);
    }
}
