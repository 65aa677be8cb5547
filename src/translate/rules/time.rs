//! Time expressions against a fixed today: periods ("last week", "the day before yesterday",
//! "Q3 last year", "the 17th", "last weekend"), comparisons ("vs the week before", "week over
//! week", "this quarter vs last") and shifts for follow-ups ("the month before"). Every match is
//! contiguous and says how many tokens it takes. Weeks start on Monday (DESIGN §3).

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};

use super::lexicon::English;
use super::tokens::{Token, TokenKind};
use crate::dsl::{Between, Compare, LastN, Period, PeriodUnit, Preset};
use crate::plan::time::monday_of;

/// A calendar unit named by a comparison word ("week over week": a week).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Unit {
    /// The current period of this unit, to date.
    pub fn current(self) -> Preset {
        match self {
            Unit::Day => Preset::Today,
            Unit::Week => Preset::ThisWeek,
            Unit::Month => Preset::ThisMonth,
            Unit::Quarter => Preset::ThisQuarter,
            Unit::Year => Preset::ThisYear,
        }
    }
}

/// What a time expression means.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Time {
    Period(Period),
    /// A comparison; `unit` when the words name one ("month over month"), `against` when they
    /// name the period compared with ("vs last week"), which must be the one just before.
    Compare {
        compare: Compare,
        unit: Option<Unit>,
        against: Option<Period>,
    },
    /// "the month before", "the 7 days before that": the period before the previous one.
    Shift,
    /// "vs the 7 days before": the period just before, which must be that long.
    CompareBefore(LastN),
    /// A comparison the DSL cannot make ("vs the same day last week").
    Unsupported(String),
}

fn between(start: NaiveDate, end: NaiveDate) -> Period {
    Period::Between(Between { start, end })
}

fn unit_of(word: Option<&str>) -> Option<Unit> {
    Some(match word? {
        "day" | "days" => Unit::Day,
        "week" | "weeks" => Unit::Week,
        "month" | "months" => Unit::Month,
        "quarter" | "quarters" => Unit::Quarter,
        "year" | "years" => Unit::Year,
        _ => return None,
    })
}

fn this(u: Unit) -> Period {
    Period::Preset(u.current())
}

fn last(u: Unit) -> Period {
    Period::Preset(match u {
        Unit::Day => Preset::Yesterday,
        Unit::Week => Preset::LastWeek,
        Unit::Month => Preset::LastMonth,
        Unit::Quarter => Preset::LastQuarter,
        Unit::Year => Preset::LastYear,
    })
}

fn year_word(w: Option<&str>) -> Option<i32> {
    w?.parse::<i32>().ok().filter(|y| (1970..2200).contains(y))
}

/// The most recent `w` before today.
fn last_weekday(today: NaiveDate, w: Weekday) -> NaiveDate {
    let mut d = today - Days::new(1);
    while d.weekday() != w {
        d = d - Days::new(1);
    }
    d
}

fn quarter_of(year: i32, q: u32) -> Option<(NaiveDate, NaiveDate)> {
    let start = NaiveDate::from_ymd_opt(year, (q - 1) * 3 + 1, 1)?;
    let end = start.checked_add_months(Months::new(3))? - Days::new(1);
    Some((start, end))
}

/// The unit `n` steps before the current one: (start, end).
fn units_back(today: NaiveDate, u: Unit, n: u32) -> Option<(NaiveDate, NaiveDate)> {
    let months = |start: NaiveDate, len: u32| {
        let s = start.checked_sub_months(Months::new(len * n))?;
        let e = s.checked_add_months(Months::new(len))? - Days::new(1);
        Some((s, e))
    };
    match u {
        Unit::Day => {
            let d = today - Days::new(n as u64);
            Some((d, d))
        }
        Unit::Week => {
            let s = monday_of(today) - Days::new(7 * n as u64);
            Some((s, s + Days::new(6)))
        }
        Unit::Month => months(today.with_day(1)?, 1),
        Unit::Quarter => months(
            NaiveDate::from_ymd_opt(today.year(), today.month0() / 3 * 3 + 1, 1)?,
            3,
        ),
        Unit::Year => months(NaiveDate::from_ymd_opt(today.year(), 1, 1)?, 12),
    }
}

/// A calendar date: "march 1", "1 march", "nov 17", "march 1 2026", "2026-11-17" (tokens taken).
/// A day of the month as written: "17th", or a whole number from 1 to 31.
fn day_number(token: Option<&Token>) -> Option<u32> {
    match token.map(|t| t.kind) {
        Some(TokenKind::Ordinal(d)) => Some(d),
        Some(TokenKind::Number {
            value,
            money: false,
        }) if value.fract() == 0.0 && (1.0..=31.0).contains(&value) => Some(value as u32),
        _ => None,
    }
}

fn date_at(
    tokens: &[Token],
    i: usize,
    today: NaiveDate,
    e: &English,
) -> Option<(usize, NaiveDate)> {
    let tok = tokens.get(i)?;
    if let TokenKind::Date(d) = tok.kind {
        return Some((1, d));
    }
    let t = |k: usize| tokens.get(i + k).map(|t| t.lower.as_str());
    let day_of = |k: usize| day_number(tokens.get(i + k));
    let build = |m: u32, d: u32, y: Option<i32>| {
        let year = y.unwrap_or_else(|| {
            let this = NaiveDate::from_ymd_opt(today.year(), m, d.min(28));
            if this.is_some_and(|x| x > today) {
                today.year() - 1
            } else {
                today.year()
            }
        });
        NaiveDate::from_ymd_opt(year, m, d)
    };
    // "nov 17 2026", "nov 17, 2026"
    let year_at = |k: usize| match year_word(t(k)) {
        Some(y) => Some((y, 1)),
        None if t(k) == Some(",") => year_word(t(k + 1)).map(|y| (y, 2)),
        None => None,
    };
    if let (Some(m), Some(d)) = (t(0).and_then(|w| e.month(w)), day_of(1)) {
        let y = year_at(2);
        return build(m, d, y.map(|y| y.0)).map(|date| (2 + y.map_or(0, |y| y.1), date));
    }
    if let (Some(d), Some(m)) = (day_of(0), t(1).and_then(|w| e.month(w))) {
        let y = year_at(2);
        return build(m, d, y.map(|y| y.0)).map(|date| (2 + y.map_or(0, |y| y.1), date));
    }
    None
}

/// A period at `i`: (tokens taken, period).
pub(crate) fn period_at(
    tokens: &[Token],
    i: usize,
    today: NaiveDate,
    e: &English,
) -> Option<(usize, Time)> {
    let t = |k: usize| tokens.get(i + k).map(|t| t.lower.as_str());
    let day = Days::new(1);
    let p = |n: usize, period: Period| Some((n, Time::Period(period)));
    let preset = |n: usize, preset: Preset| p(n, Period::Preset(preset));
    // "the day before yesterday", "the week before last"
    let lead = usize::from(t(0) == Some("the"));
    if let Some(u) = unit_of(t(lead)) {
        if t(lead + 1) == Some("before") {
            if t(lead + 2) == Some("yesterday") && u == Unit::Day {
                return p(lead + 3, Period::Date(today - Days::new(2)));
            }
            if t(lead + 2) == Some("last") && u != Unit::Day {
                let (s, e) = units_back(today, u, 2)?;
                return p(lead + 3, between(s, e));
            }
        }
    }
    match t(0)? {
        "today" => return preset(1, Preset::Today),
        "yesterday" => return preset(1, Preset::Yesterday),
        "ytd" => return preset(1, Preset::ThisYear),
        "mtd" => return preset(1, Preset::ThisMonth),
        "wtd" => return preset(1, Preset::ThisWeek),
        "qtd" => return preset(1, Preset::ThisQuarter),
        _ => {}
    }
    // "3 days ago", "a week ago", "two weeks ago"
    let n_ago = tokens
        .get(i)
        .and_then(|tok| tok.count(e))
        .filter(|n| (1..=366).contains(n));
    if let (Some(n), Some(u), Some("ago")) = (n_ago, unit_of(t(1)), t(2)) {
        match u {
            Unit::Day => return p(3, Period::Date(today - Days::new(n as u64))),
            Unit::Week => return p(3, Period::Date(today - Days::new(7 * n as u64))),
            _ => {}
        }
    }
    // "this week", "current month", "this past week" is last week
    if matches!(t(0)?, "this" | "current") {
        if t(1) == Some("past") {
            if let Some(u) = unit_of(t(2)) {
                return p(3, last(u));
            }
        }
        if let Some(u) = unit_of(t(1)) {
            return p(2, this(u));
        }
    }
    // "month to date", "quarter-to-date" (the hyphens part the words)
    if let (Some(u), Some("to"), Some("date")) = (unit_of(t(0)), t(1), t(2)) {
        return p(3, this(u));
    }
    // "since the start of the month", "since the beginning of this year"
    if t(0)? == "since"
        && matches!(t(1), Some("the"))
        && matches!(t(2), Some("start" | "beginning"))
        && t(3) == Some("of")
    {
        let k = 4 + usize::from(matches!(t(4), Some("the" | "this")));
        if let Some(u) = unit_of(t(k)) {
            return p(k + 1, this(u));
        }
    }
    // "last/past/previous N days|weeks|months", "last week", "last tuesday"
    if matches!(
        t(0)?,
        "last" | "past" | "previous" | "prior" | "trailing" | "preceding"
    ) {
        if let Some(n) = tokens.get(i + 1).and_then(|tok| tok.count(e)) {
            let unit = match unit_of(t(2)) {
                Some(Unit::Day) => Some(PeriodUnit::Day),
                Some(Unit::Week) => Some(PeriodUnit::Week),
                Some(Unit::Month) => Some(PeriodUnit::Month),
                _ => None,
            };
            if let (Some(unit), true) = (unit, (1..=366).contains(&n)) {
                return p(3, Period::LastN(LastN { count: n, unit }));
            }
        }
        if let Some(u) = unit_of(t(1)) {
            return p(2, last(u));
        }
        if let Some(w) = t(1).and_then(|w| e.weekday(w)) {
            return p(2, Period::Date(last_weekday(today, w)));
        }
        if matches!(t(1), Some("weekend")) {
            return weekend(today, 2, false);
        }
    }
    // "the weekend", "over the weekend", "this weekend"
    if t(0)? == "weekend" {
        return weekend(today, 1, false);
    }
    if t(0)? == "this" && t(1) == Some("weekend") {
        return weekend(today, 2, true);
    }
    // "wednesday last week", "monday this week"
    if let Some(w) = t(0).and_then(|w| e.weekday(w)) {
        let offset = Days::new(w.num_days_from_monday() as u64);
        let this_monday = monday_of(today);
        if matches!(t(1), Some("last" | "previous")) && unit_of(t(2)) == Some(Unit::Week) {
            return p(3, Period::Date(this_monday - Days::new(7) + offset));
        }
        if t(1) == Some("this") && unit_of(t(2)) == Some(Unit::Week) {
            return p(3, Period::Date(this_monday + offset));
        }
        // "on tuesday", "tuesday" (full names only: "sat" is too often something else)
        if e.weekdays.iter().any(|d| Some(d.as_str()) == t(0)) {
            return p(1, Period::Date(last_weekday(today, w)));
        }
    }
    // "first half of the year", "h2 2025"
    let half = match (t(0)?, t(1)) {
        ("first", Some("half")) | ("h1", _) => Some(1),
        ("second", Some("half")) | ("h2", _) => Some(2),
        _ => None,
    };
    if let Some(h) = half {
        let mut n = if t(0)?.starts_with('h') { 1 } else { 2 };
        if t(n) == Some("of") {
            n += 1;
            if matches!(t(n), Some("the" | "this")) {
                n += 1;
            }
            if unit_of(t(n)) == Some(Unit::Year) {
                n += 1;
            }
        }
        let y = year_word(t(n));
        let year = y.unwrap_or(today.year());
        let (sm, em, ed) = if h == 1 { (1, 6, 30) } else { (7, 12, 31) };
        let start = NaiveDate::from_ymd_opt(year, sm, 1)?;
        let end = NaiveDate::from_ymd_opt(year, em, ed)?.min(today);
        if start <= today {
            return p(n + usize::from(y.is_some()), between(start, end));
        }
    }
    // "q3", "q3 2025", "q3 last year", "q4 of last year", "q1 this year"
    if let Some(q) = t(0)?
        .strip_prefix('q')
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|q| (1..=4).contains(q))
    {
        let of = usize::from(t(1) == Some("of"));
        let (year, taken) = if let Some(y) = year_word(t(1 + of)) {
            (y, 2 + of)
        } else if matches!(t(1 + of), Some("last" | "previous"))
            && unit_of(t(2 + of)) == Some(Unit::Year)
        {
            (today.year() - 1, 3 + of)
        } else if t(1 + of) == Some("this") && unit_of(t(2 + of)) == Some(Unit::Year) {
            (today.year(), 3 + of)
        } else {
            let (start, _) = quarter_of(today.year(), q)?;
            (
                if start > today {
                    today.year() - 1
                } else {
                    today.year()
                },
                1,
            )
        };
        let (start, end) = quarter_of(year, q)?;
        return p(taken, between(start, end));
    }
    // "since march 1", "since 2026-03-01", "since march"
    if t(0)? == "since" {
        if let Some((n, d)) = date_at(tokens, i + 1, today, e) {
            return p(1 + n, between(d, today));
        }
        if let Some(m) = t(1).and_then(|w| e.month(w)) {
            let mut year = today.year();
            if m > today.month() {
                year -= 1;
            }
            return p(2, between(NaiveDate::from_ymd_opt(year, m, 1)?, today));
        }
    }
    // "between X and Y", "from X to Y"
    if matches!(t(0)?, "between" | "from") {
        let joins = |k: usize| {
            matches!(
                t(k),
                Some("and" | "to" | "until" | "through" | "till" | "thru")
            )
        };
        if let Some((n1, a)) = date_at(tokens, i + 1, today, e) {
            if joins(1 + n1) {
                if let Some((n2, b)) = date_at(tokens, i + 2 + n1, today, e) {
                    return p(2 + n1 + n2, between(a, b));
                }
            }
        }
        // "from 9 to 15 november": the first day is in the second's month and year.
        if let (Some(d1), true) = (day_number(tokens.get(i + 1)), joins(2)) {
            if let Some((n2, b)) = date_at(tokens, i + 3, today, e) {
                if let Some(a) = b.with_day(d1).filter(|a| *a <= b) {
                    return p(3 + n2, between(a, b));
                }
            }
        }
        // "between january and june": whole months; the later month's year is the one "in
        // june" would mean (the latest june up to today), the earlier one's the year before
        // when it comes later in the calendar ("from november to february").
        if let (Some(m1), true, Some(m2)) = (
            t(1).and_then(|w| e.month(w)),
            joins(2),
            t(3).and_then(|w| e.month(w)),
        ) {
            let y2 = year_word(t(4));
            let mut year2 = y2.unwrap_or(today.year());
            if y2.is_none() && m2 > today.month() {
                year2 -= 1;
            }
            let year1 = if m1 > m2 { year2 - 1 } else { year2 };
            let start = NaiveDate::from_ymd_opt(year1, m1, 1)?;
            let last_month = NaiveDate::from_ymd_opt(year2, m2, 1)?;
            let end = (last_month.checked_add_months(Months::new(1))? - day).min(today.max(start));
            return p(4 + usize::from(y2.is_some()), between(start, end));
        }
    }
    // "nov 17", "2026-11-17"
    if let Some((n, d)) = date_at(tokens, i, today, e) {
        return p(n, Period::Date(d));
    }
    // "the 17th": the latest such day up to today
    if let Some(TokenKind::Ordinal(d)) = tokens.get(i + lead).map(|t| t.kind) {
        let mut month_start = today.with_day(1)?;
        for _ in 0..12 {
            if let Some(date) = month_start.with_day(d).filter(|x| *x <= today) {
                return p(lead + 1, Period::Date(date));
            }
            month_start = month_start.checked_sub_months(Months::new(1))?;
        }
    }
    // "in october", "october", "october 2025", "in may"
    if let Some(m) = t(0)
        .and_then(|w| e.month(w))
        .filter(|_| t(0).is_some_and(|w| w != "may" || i > 0 && tokens[i - 1].lower == "in"))
    {
        let y = year_word(t(1));
        let mut year = y.unwrap_or(today.year());
        if y.is_none() && m > today.month() {
            year -= 1;
        }
        let start = NaiveDate::from_ymd_opt(year, m, 1)?;
        let end = (start.checked_add_months(Months::new(1))? - day).min(today.max(start));
        return p(1 + usize::from(y.is_some()), between(start, end));
    }
    // "in 2025"
    if i > 0 && tokens[i - 1].lower == "in" {
        if let Some(y) = year_word(t(0)).filter(|y| *y <= today.year()) {
            let start = NaiveDate::from_ymd_opt(y, 1, 1)?;
            let end = NaiveDate::from_ymd_opt(y, 12, 31)?.min(today);
            return p(1, between(start, end));
        }
    }
    None
}

/// The latest Saturday–Sunday: the one running today when `running` and today is in a weekend,
/// else the last complete one.
fn weekend(today: NaiveDate, taken: usize, running: bool) -> Option<(usize, Time)> {
    let sat = match today.weekday() {
        Weekday::Sat if running => today,
        Weekday::Sun if running => today - Days::new(1),
        _ => {
            let sat = last_weekday(today, Weekday::Sat);
            if sat + Days::new(1) >= today {
                sat - Days::new(7)
            } else {
                sat
            }
        }
    };
    let end = (sat + Days::new(1)).min(today);
    Some((taken, Time::Period(between(sat, end))))
}

/// A comparison at `i`: "vs the week before", "compared to last year", "week over week", "vs
/// last", or a shift for follow-ups ("the month before", "and the 7 days before that").
pub(crate) fn compare_at(
    tokens: &[Token],
    i: usize,
    today: NaiveDate,
    e: &English,
) -> Option<(usize, Time)> {
    let t = |k: usize| tokens.get(k).map(|t| t.lower.as_str());
    let starts = |at: usize, phrase: &str| {
        phrase
            .split(' ')
            .enumerate()
            .all(|(k, w)| t(at + k) == Some(w))
    };
    for (phrase, compare, unit) in [
        ("year over year", Compare::PreviousYear, Unit::Year),
        ("yoy", Compare::PreviousYear, Unit::Year),
        ("week over week", Compare::PreviousPeriod, Unit::Week),
        ("wow", Compare::PreviousPeriod, Unit::Week),
        ("month over month", Compare::PreviousPeriod, Unit::Month),
        ("mom", Compare::PreviousPeriod, Unit::Month),
        (
            "quarter over quarter",
            Compare::PreviousPeriod,
            Unit::Quarter,
        ),
        ("qoq", Compare::PreviousPeriod, Unit::Quarter),
        ("day over day", Compare::PreviousPeriod, Unit::Day),
        ("dod", Compare::PreviousPeriod, Unit::Day),
    ] {
        if starts(i, phrase) {
            return Some((
                phrase.split(' ').count(),
                Time::Compare {
                    compare,
                    unit: Some(unit),
                    against: None,
                },
            ));
        }
    }
    // "week before", "previous week", "prior period", "period before".
    let before_at = |j: usize| -> Option<usize> {
        let unit = |w: Option<&str>| unit_of(w).is_some() || w == Some("period");
        match (t(j), t(j + 1)) {
            (a, Some("before")) if unit(a) => Some(2),
            (Some("previous" | "prior" | "preceding"), b) if unit(b) => Some(2),
            _ => None,
        }
    };
    // Lead-less "the month before", "the 7 days before that": a shift of the previous question.
    {
        let mut j = i;
        while matches!(t(j), Some("the" | "and" | "what" | "how" | "about")) {
            j += 1;
        }
        if j > i {
            let mut k = j;
            if tokens.get(k).is_some_and(|t| t.count(e).is_some()) {
                k += 1;
            }
            if let Some(n) = before_at(k).filter(|_| t(k + 1) == Some("before")) {
                let mut end = k + n;
                if t(end) == Some("that") {
                    end += 1;
                }
                return Some((end - i, Time::Shift));
            }
        }
    }
    let lead = [
        "compared to",
        "compared with",
        "compare to",
        "relative to",
        "vs",
        "versus",
        "v",
        "against",
        "than",
        "and",
    ]
    .iter()
    .find(|p| starts(i, p))
    .map(|p| p.split(' ').count())?;
    let mut j = i + lead;
    if matches!(t(j), Some("the" | "a")) {
        j += 1;
    }
    // "vs the same day last week": not a comparison the DSL has.
    if t(j) == Some("same") {
        let mut k = j + 1;
        while k < j + 4 && t(k).is_some() && t(k) != Some("last") {
            k += 1;
        }
        if t(k) == Some("last") {
            if let Some(u) = unit_of(t(k + 1)).filter(|u| *u != Unit::Year) {
                let said: Vec<&str> = (j..k + 2).filter_map(t).collect();
                return Some((
                    k + 2 - i,
                    Time::Unsupported(format!(
                        "the {} {}",
                        said.join(" "),
                        match u {
                            Unit::Day => "(a day a week or more back)",
                            _ => "(a period shifted by less than a year)",
                        }
                    )),
                ));
            }
        }
    }
    for p in [
        "same period last year",
        "same time last year",
        "same week last year",
        "same month last year",
        "same quarter last year",
        "same day last year",
        "last year",
        "previous year",
        "prior year",
        "year before",
        "year ago",
        "a year ago",
        "the year before",
    ] {
        if starts(j, p) {
            return Some((
                j - i + p.split(' ').count(),
                Time::Compare {
                    compare: Compare::PreviousYear,
                    unit: None,
                    against: None,
                },
            ));
        }
    }
    let previous = Time::Compare {
        compare: Compare::PreviousPeriod,
        unit: None,
        against: None,
    };
    if let Some(n) = before_at(j) {
        return Some((j - i + n, previous));
    }
    // "vs the 7 days before": N units just before; the reading checks that they are as long
    // as the period they are compared with.
    if let (Some(n), Some("before")) = (tokens.get(j).and_then(|tok| tok.count(e)), t(j + 2)) {
        let unit = match unit_of(t(j + 1)) {
            Some(Unit::Day) => Some(PeriodUnit::Day),
            Some(Unit::Week) => Some(PeriodUnit::Week),
            Some(Unit::Month) => Some(PeriodUnit::Month),
            _ => None,
        };
        if let (Some(unit), true) = (unit, (1..=366).contains(&n)) {
            return Some((j - i + 3, Time::CompareBefore(LastN { count: n, unit })));
        }
    }
    if tokens[i].lower == "and" {
        return None;
    }
    // "this quarter vs last", "vs the previous one"
    if matches!(t(j), Some("last" | "previous" | "prior"))
        && unit_of(t(j + 1)).is_none()
        && tokens
            .get(j + 1)
            .is_none_or(|t| t.count(e).is_none() && e.weekday(&t.lower).is_none())
    {
        let one = usize::from(t(j + 1) == Some("one"));
        return Some((j - i + 1 + one, previous));
    }
    // "vs last week" after "this week": the previous period.
    if let Some((n, Time::Period(p))) = period_at(tokens, j, today, e) {
        let before = match p {
            Period::LastN(_) => true,
            Period::Preset(p) => matches!(
                p,
                Preset::Yesterday | Preset::LastWeek | Preset::LastMonth | Preset::LastQuarter
            ),
            _ => false,
        };
        if before {
            return Some((
                j - i + n,
                Time::Compare {
                    compare: Compare::PreviousPeriod,
                    unit: None,
                    against: Some(p),
                },
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::tokens::{stemmer, tokenize};
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap() // a Monday
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn period(q: &str) -> Option<(usize, Period)> {
        let toks = tokenize(q, English::get(), &stemmer());
        match period_at(&toks, 0, today(), English::get()) {
            Some((n, Time::Period(p))) => Some((n, p)),
            _ => None,
        }
    }

    fn compare(q: &str) -> Option<(usize, Time)> {
        let toks = tokenize(q, English::get(), &stemmer());
        compare_at(&toks, 0, today(), English::get())
    }

    #[test]
    fn presets_and_to_date_abbreviations() {
        assert_eq!(
            period("yesterday"),
            Some((1, Period::Preset(Preset::Yesterday)))
        );
        assert_eq!(
            period("last week"),
            Some((2, Period::Preset(Preset::LastWeek)))
        );
        assert_eq!(
            period("this quarter"),
            Some((2, Period::Preset(Preset::ThisQuarter)))
        );
        assert_eq!(period("YTD"), Some((1, Period::Preset(Preset::ThisYear))));
        assert_eq!(period("mtd"), Some((1, Period::Preset(Preset::ThisMonth))));
        assert_eq!(
            period("since the start of the month"),
            Some((6, Period::Preset(Preset::ThisMonth)))
        );
        assert_eq!(
            period("month-to-date"),
            Some((3, Period::Preset(Preset::ThisMonth)))
        );
        assert_eq!(
            period("quarter to date"),
            Some((3, Period::Preset(Preset::ThisQuarter)))
        );
        assert_eq!(
            period("this past week"),
            Some((3, Period::Preset(Preset::LastWeek)))
        );
    }

    #[test]
    fn days_before_and_ago() {
        assert_eq!(
            period("the day before yesterday"),
            Some((4, Period::Date(d("2026-11-21"))))
        );
        assert_eq!(
            period("day before yesterday"),
            Some((3, Period::Date(d("2026-11-21"))))
        );
        assert_eq!(
            period("2 days ago"),
            Some((3, Period::Date(d("2026-11-21"))))
        );
        assert_eq!(
            period("a week ago"),
            Some((3, Period::Date(d("2026-11-16"))))
        );
        assert_eq!(
            period("the week before last"),
            Some((4, between(d("2026-11-09"), d("2026-11-15"))))
        );
        assert_eq!(
            period("the month before last"),
            Some((4, between(d("2026-09-01"), d("2026-09-30"))))
        );
    }

    #[test]
    fn last_n_with_words_and_digits() {
        let last_n = |count, unit| Period::LastN(LastN { count, unit });
        assert_eq!(
            period("past two weeks"),
            Some((3, last_n(2, PeriodUnit::Week)))
        );
        assert_eq!(
            period("last 30 days"),
            Some((3, last_n(30, PeriodUnit::Day)))
        );
        assert_eq!(
            period("past fourteen days"),
            Some((3, last_n(14, PeriodUnit::Day)))
        );
    }

    #[test]
    fn quarters_halves_months_and_days_of_the_month() {
        assert_eq!(
            period("q3"),
            Some((1, between(d("2026-07-01"), d("2026-09-30"))))
        );
        assert_eq!(
            period("q3 last year"),
            Some((3, between(d("2025-07-01"), d("2025-09-30"))))
        );
        assert_eq!(
            period("q4 of last year"),
            Some((4, between(d("2025-10-01"), d("2025-12-31"))))
        );
        assert_eq!(
            period("Q2 2025"),
            Some((2, between(d("2025-04-01"), d("2025-06-30"))))
        );
        assert_eq!(
            period("october"),
            Some((1, between(d("2026-10-01"), d("2026-10-31"))))
        );
        assert_eq!(
            period("december"),
            Some((1, between(d("2025-12-01"), d("2025-12-31"))))
        );
        assert_eq!(
            period("november"),
            Some((1, between(d("2026-11-01"), d("2026-11-23"))))
        );
        assert_eq!(period("the 17th"), Some((2, Period::Date(d("2026-11-17")))));
        assert_eq!(period("the 30th"), Some((2, Period::Date(d("2026-10-30")))));
        assert_eq!(period("nov 17"), Some((2, Period::Date(d("2026-11-17")))));
        assert_eq!(
            period("first half of the year"),
            Some((5, between(d("2026-01-01"), d("2026-06-30"))))
        );
    }

    #[test]
    fn ranges_of_days_in_one_month_and_of_whole_months() {
        assert_eq!(
            period("from 9 to 15 November"),
            Some((5, between(d("2026-11-09"), d("2026-11-15"))))
        );
        assert_eq!(
            period("between 20 and 5 november"),
            None,
            "a first day after the second is no range"
        );
        assert_eq!(
            period("between January and June"),
            Some((4, between(d("2026-01-01"), d("2026-06-30"))))
        );
        assert_eq!(
            period("from november to february"),
            Some((4, between(d("2025-11-01"), d("2026-02-28"))))
        );
        assert_eq!(
            period("from september to november"),
            Some((4, between(d("2026-09-01"), d("2026-11-23")))),
            "a month still running ends today"
        );
        assert_eq!(
            period("between march and may 2025"),
            Some((5, between(d("2025-03-01"), d("2025-05-31"))))
        );
    }

    #[test]
    fn weekdays_and_weekends() {
        assert_eq!(
            period("last tuesday"),
            Some((2, Period::Date(d("2026-11-17"))))
        );
        assert_eq!(period("tuesday"), Some((1, Period::Date(d("2026-11-17")))));
        assert_eq!(
            period("wednesday last week"),
            Some((3, Period::Date(d("2026-11-18"))))
        );
        assert_eq!(
            period("last weekend"),
            Some((2, between(d("2026-11-21"), d("2026-11-22"))))
        );
        assert_eq!(
            period("weekend"),
            Some((1, between(d("2026-11-21"), d("2026-11-22"))))
        );
        let sunday = d("2026-11-22");
        assert_eq!(
            weekend(sunday, 1, false),
            Some((1, Time::Period(between(d("2026-11-14"), d("2026-11-15")))))
        );
        assert_eq!(
            weekend(sunday, 2, true),
            Some((2, Time::Period(between(d("2026-11-21"), d("2026-11-22")))))
        );
    }

    #[test]
    fn comparisons() {
        let pp = Time::Compare {
            compare: Compare::PreviousPeriod,
            unit: None,
            against: None,
        };
        assert_eq!(compare("vs the week before"), Some((4, pp.clone())));
        assert_eq!(
            compare("vs the 7 days before"),
            Some((
                5,
                Time::CompareBefore(LastN {
                    count: 7,
                    unit: PeriodUnit::Day
                })
            ))
        );
        assert_eq!(compare("vs last"), Some((2, pp.clone())));
        assert_eq!(
            compare("vs last week"),
            Some((
                3,
                Time::Compare {
                    compare: Compare::PreviousPeriod,
                    unit: None,
                    against: Some(Period::Preset(Preset::LastWeek))
                }
            ))
        );
        assert_eq!(
            compare("compared to last year"),
            Some((
                4,
                Time::Compare {
                    compare: Compare::PreviousYear,
                    unit: None,
                    against: None
                }
            ))
        );
        assert_eq!(
            compare("mom"),
            Some((
                1,
                Time::Compare {
                    compare: Compare::PreviousPeriod,
                    unit: Some(Unit::Month),
                    against: None
                }
            ))
        );
        assert_eq!(compare("the month before"), Some((3, Time::Shift)));
        assert_eq!(
            compare("and the 7 days before that"),
            Some((6, Time::Shift))
        );
        assert!(matches!(
            compare("vs the same day last week"),
            Some((6, Time::Unsupported(_)))
        ));
        assert_eq!(compare("vs android"), None);
    }
}
