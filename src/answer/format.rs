//! Number and date formats for answer text. Deterministic: no locale, no clock.

use chrono::{Datelike, NaiveDate};

use crate::catalog::Format;
use crate::plan::time::weekday_short;
use crate::plan::DateRange;

fn group_thousands(int_part: &str) -> String {
    let (sign, digits) = match int_part.strip_prefix('-') {
        Some(d) => ("-", d),
        None => ("", int_part),
    };
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

/// `value` with `decimals` places and thousands separators: 8412.3 → "8,412.3".
pub fn fixed(value: f64, decimals: usize) -> String {
    let s = format!("{:.*}", decimals, value);
    let s = if s.starts_with('-') && s.trim_start_matches(['-', '0', '.']).is_empty() {
        s[1..].to_string() // no "-0"
    } else {
        s
    };
    match s.split_once('.') {
        Some((i, f)) => format!("{}.{f}", group_thousands(i)),
        None => group_thousands(&s),
    }
}

/// A metric value in its catalog format.
pub fn value(v: f64, format: Format) -> String {
    match format {
        Format::Integer => fixed(v, 0),
        Format::Decimal => fixed(v, 2),
        Format::Percent => format!("{}%", fixed(v * 100.0, 1)),
        Format::Currency => {
            if v.abs() >= 100.0 || v.fract() == 0.0 {
                format!("${}", fixed(v, 0)).replace("$-", "-$")
            } else {
                format!("${}", fixed(v, 2)).replace("$-", "-$")
            }
        }
        Format::DurationMinutes => format!("{} min", fixed(v, 1)),
        Format::DurationHours => format!("{} h", fixed(v, 1)),
    }
}

/// `v` in `format` with `extra` more decimals than the format's own, for telling apart two
/// values that read the same: 245.57 as an integer with one extra → "245.6".
pub fn finer(v: f64, format: Format, extra: usize) -> String {
    match format {
        Format::Integer => fixed(v, extra),
        Format::Decimal => fixed(v, 2 + extra),
        Format::Percent => format!("{}%", fixed(v * 100.0, 1 + extra)),
        Format::Currency => format!("${}", fixed(v, 2 + extra)).replace("$-", "-$"),
        Format::DurationMinutes => format!("{} min", fixed(v, 1 + extra)),
        Format::DurationHours => format!("{} h", fixed(v, 1 + extra)),
    }
}

/// `v` (non-negative) with the fewest decimals in `decimals` that do not read as zero; `None`
/// when it reads as zero even at the finest: 0.04 → "0.04", 2.26 → "2.3", 0.0001 → None.
pub fn nonzero(v: f64, decimals: std::ops::RangeInclusive<usize>) -> Option<String> {
    decimals
        .map(|d| fixed(v, d))
        .find(|s| s.chars().any(|c| c.is_ascii_digit() && c != '0'))
}

/// A relative change as a percentage with one decimal: 0.0412 → "4.1%".
pub fn pct(fraction: f64) -> String {
    format!("{}%", fixed(fraction.abs() * 100.0, 1))
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
pub const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

pub fn month_short(d: NaiveDate) -> &'static str {
    MONTHS[d.month0() as usize]
}

/// "Tue 17 Nov 2026".
pub fn day(d: NaiveDate) -> String {
    format!(
        "{} {} {} {}",
        weekday_short(d),
        d.day(),
        month_short(d),
        d.year()
    )
}

/// "Mon 16 – Sun 22 Nov 2026", "Mon 27 Oct – Sun 2 Nov 2026", "Wed 31 Dec 2025 – Fri 2 Jan 2026".
pub fn range(r: &DateRange) -> String {
    let (s, e) = (r.start, r.end);
    if s == e {
        return day(s);
    }
    let end = day(e);
    if s.year() != e.year() {
        format!("{} – {end}", day(s))
    } else if s.month() != e.month() {
        format!(
            "{} {} {} – {end}",
            weekday_short(s),
            s.day(),
            month_short(s)
        )
    } else {
        format!("{} {} – {end}", weekday_short(s), s.day())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finer_and_nonzero_tell_close_numbers_apart() {
        assert_eq!(finer(245.571, Format::Integer, 1), "245.6");
        assert_eq!(finer(0.01723, Format::Percent, 1), "1.72%");
        assert_eq!(finer(1234.5, Format::Currency, 1), "$1,234.500");
        assert_eq!(nonzero(0.04, 1..=3).as_deref(), Some("0.04"));
        assert_eq!(nonzero(2.26, 1..=3).as_deref(), Some("2.3"));
        assert_eq!(nonzero(0.0001, 1..=3), None);
    }

    #[test]
    fn numbers_and_dates() {
        assert_eq!(fixed(8412.285, 0), "8,412");
        assert_eq!(fixed(-1234567.891, 2), "-1,234,567.89");
        assert_eq!(fixed(-0.0001, 1), "0.0");
        assert_eq!(value(0.0412, Format::Percent), "4.1%");
        assert_eq!(value(48210.0, Format::Currency), "$48,210");
        assert_eq!(value(49.5, Format::Currency), "$49.50");
        assert_eq!(value(12.25, Format::DurationMinutes), "12.2 min");
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(
            range(&DateRange::new(d("2026-11-16"), d("2026-11-22"))),
            "Mon 16 – Sun 22 Nov 2026"
        );
        assert_eq!(
            range(&DateRange::new(d("2026-10-27"), d("2026-11-02"))),
            "Tue 27 Oct – Mon 2 Nov 2026"
        );
        assert_eq!(
            range(&DateRange::new(d("2025-12-31"), d("2026-01-02"))),
            "Wed 31 Dec 2025 – Fri 2 Jan 2026"
        );
    }
}
