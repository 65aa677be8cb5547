//! How a value moved from the one it is compared with, decided and worded in one place for
//! every kind of answer: a metric or overview against its comparison period, a funnel's overall
//! conversion against the previous period's, an explained metric against its baseline.
//!
//! Invariants: "unchanged" is said only when the move reads as zero even at three decimals
//! (a rate's move in points, anything else's relative change); the direction is the sign of
//! `value − previous`; two different numbers are never shown as the same text.

use super::format;
use crate::catalog::Format;
use crate::result::Num;

/// A value, the value it is compared with, and the move between them, ready to be said:
/// "245.6, down 0.3% from 246.3".
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Change {
    /// The current value, as precise as needed to tell it from `previous`.
    pub value: String,
    /// The compared value, likewise.
    pub previous: String,
    /// Which way it moved, when both values are known.
    pub direction: Option<Direction>,
    /// The size of the move as said ("0.04 points", "4.1%"); none when unchanged or when it
    /// has no relative size (the previous value is zero).
    amount: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    Up,
    Down,
    Unchanged,
}

impl Change {
    /// The words between the two values: "up 0.04 points from", "down 4.1% from",
    /// "unchanged from", or "compared with" when the move cannot be sized.
    pub fn words(&self) -> String {
        match (self.direction, &self.amount) {
            (Some(Direction::Unchanged), _) => "unchanged from".to_string(),
            (Some(Direction::Up), Some(a)) => format!("up {a} from"),
            (Some(Direction::Down), Some(a)) => format!("down {a} from"),
            _ => "compared with".to_string(),
        }
    }
}

/// `value` against `previous` in `format`. `plain` is how the caller says each value on its
/// own (a baseline or a missing value may be said its own way); when the two read the same
/// though they differ, up to two more decimals than the format's are used.
pub(super) fn change(
    value: Option<Num>,
    previous: Option<Num>,
    format: Format,
    plain: (String, String),
) -> Change {
    let (Some(Num(v)), Some(Num(p))) = (value, previous) else {
        return Change {
            value: plain.0,
            previous: plain.1,
            direction: None,
            amount: None,
        };
    };
    let (value, previous) = distinct(v, p, format, plain);
    // A rate moves in points; anything else by its relative change, which has no size from 0.
    let amount = if format == Format::Percent {
        Some(format::nonzero((v - p).abs() * 100.0, 1..=3).map(|shown| format!("{shown} points")))
    } else if p != 0.0 {
        Some(format::nonzero(((v - p) / p).abs() * 100.0, 1..=3).map(|shown| format!("{shown}%")))
    } else {
        None
    };
    let (direction, amount) = match amount {
        _ if v == p => (Direction::Unchanged, None),
        Some(None) => (Direction::Unchanged, None),
        Some(Some(a)) => (
            if v > p {
                Direction::Up
            } else {
                Direction::Down
            },
            Some(a),
        ),
        None => (
            if v > p {
                Direction::Up
            } else {
                Direction::Down
            },
            None,
        ),
    };
    Change {
        value,
        previous,
        direction: Some(direction),
        amount,
    }
}

/// The two values so that two different numbers never read the same: "245.6" and "246.3"
/// rather than "246" twice. Beyond two extra decimals they really are equal for any reader.
fn distinct(v: f64, p: f64, format: Format, plain: (String, String)) -> (String, String) {
    if plain.0 != plain.1 || v == p {
        return plain;
    }
    (1..=2)
        .map(|extra| {
            (
                format::finer(v, format, extra),
                format::finer(p, format, extra),
            )
        })
        .find(|(a, b)| a != b)
        .unwrap_or(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(v: f64, p: f64, format: Format) -> String {
        let plain = (format::value(v, format), format::value(p, format));
        let c = change(Some(Num(v)), Some(Num(p)), format, plain);
        format!("{}, {} {}", c.value, c.words(), c.previous)
    }

    #[test]
    fn a_small_rate_move_is_said_in_points_not_as_unchanged() {
        // The funnel once said "47.6%, unchanged from 47.6%" for this.
        assert_eq!(
            said(0.4762, 0.4758, Format::Percent),
            "47.62%, up 0.04 points from 47.58%"
        );
        assert_eq!(
            said(0.476, 0.495, Format::Percent),
            "47.6%, down 1.9 points from 49.5%"
        );
        assert_eq!(
            said(0.5, 0.5, Format::Percent),
            "50.0%, unchanged from 50.0%"
        );
    }

    #[test]
    fn other_formats_move_by_their_relative_change() {
        assert_eq!(
            said(245.57, 246.29, Format::Integer),
            "245.6, down 0.3% from 246.3"
        );
        assert_eq!(said(2.0, 2.0, Format::Integer), "2, unchanged from 2");
        assert_eq!(said(0.0, 0.0, Format::Integer), "0, unchanged from 0");
        // From zero a move has no relative size, but it still has a direction.
        assert_eq!(said(5.0, 0.0, Format::Integer), "5, compared with 0");
        let c = change(
            Some(Num(5.0)),
            Some(Num(0.0)),
            Format::Integer,
            ("5".into(), "0".into()),
        );
        assert_eq!(c.direction, Some(Direction::Up));
        // The direction is the sign of the move, also from a negative value.
        assert_eq!(
            said(-50.0, -100.0, Format::Currency),
            "-$50, up 50.0% from -$100"
        );
    }

    #[test]
    fn a_missing_value_is_compared_not_moved() {
        let c = change(
            Some(Num(0.4)),
            None,
            Format::Percent,
            ("40.0%".into(), "not defined".into()),
        );
        assert_eq!(c.direction, None);
        assert_eq!(c.words(), "compared with");
        assert_eq!(c.previous, "not defined");
    }
}
