//! How each engine spells what sea-query leaves to it: date buckets, durations and numeric casts.
//! The engines themselves, and which sea-query builder each uses, are `crate::dialect`'s.
//!
//! Every literal placed in SQL text by this module is a constant of this module (a format string,
//! a type name). Values from queries are always bound parameters.

use chrono::NaiveDateTime;
use sea_query::{Alias, Expr, ExprTrait, Func, Value};

use crate::catalog::Window;

pub use crate::dialect::Dialect;

impl Dialect {
    /// A timestamp parameter. SQLite stores timestamps as `YYYY-MM-DD HH:MM:SS` text, so the bound
    /// value is text in exactly that form and compares correctly as a string.
    pub(crate) fn timestamp(self, t: NaiveDateTime) -> Expr {
        match self {
            Dialect::Sqlite => Expr::val(t.format("%Y-%m-%d %H:%M:%S").to_string()),
            Dialect::Postgres | Dialect::Mysql => Expr::val(Value::ChronoDateTime(Some(t))),
        }
    }

    /// The first day of the window containing the timestamp `col`, as `YYYY-MM-DD` text.
    pub(crate) fn bucket(self, col: Expr, w: Window) -> Expr {
        match self {
            Dialect::Sqlite => {
                let mut f = Func::cust(Alias::new("strftime"));
                f = match w {
                    Window::Day => f.arg(Expr::cust("'%Y-%m-%d'")).arg(col),
                    Window::Week => f
                        .arg(Expr::cust("'%Y-%m-%d'"))
                        .arg(col)
                        .arg(Expr::cust("'weekday 0'"))
                        .arg(Expr::cust("'-6 days'")),
                    Window::Month => f.arg(Expr::cust("'%Y-%m-01'")).arg(col),
                };
                f.into()
            }
            Dialect::Postgres => {
                let unit = match w {
                    Window::Day => "'day'",
                    Window::Week => "'week'",
                    Window::Month => "'month'",
                };
                let trunc = Func::cust(Alias::new("date_trunc"))
                    .arg(Expr::cust(unit))
                    .arg(col);
                Func::cust(Alias::new("to_char"))
                    .arg(trunc)
                    .arg(Expr::cust("'YYYY-MM-DD'"))
                    .into()
            }
            Dialect::Mysql => match w {
                Window::Day => Func::cust(Alias::new("DATE_FORMAT"))
                    .arg(col)
                    .arg(Expr::cust("'%Y-%m-%d'"))
                    .into(),
                Window::Week => {
                    // SUBDATE(t, n) subtracts n days; WEEKDAY is 0 on Monday.
                    let weekday = Func::cust(Alias::new("WEEKDAY")).arg(col.clone());
                    let monday = Func::cust(Alias::new("SUBDATE")).arg(col).arg(weekday);
                    Func::cust(Alias::new("DATE_FORMAT"))
                        .arg(monday)
                        .arg(Expr::cust("'%Y-%m-%d'"))
                        .into()
                }
                Window::Month => Func::cust(Alias::new("DATE_FORMAT"))
                    .arg(col)
                    .arg(Expr::cust("'%Y-%m-01'"))
                    .into(),
            },
        }
    }

    /// Whole seconds from `from` to `to` (two timestamp columns), as an integer.
    pub(crate) fn seconds_between(self, from: Expr, to: Expr) -> Expr {
        match self {
            Dialect::Sqlite => {
                let epoch = |c: Expr| {
                    Expr::from(Func::cast_as(
                        Func::cust(Alias::new("strftime"))
                            .arg(Expr::cust("'%s'"))
                            .arg(c),
                        Alias::new("INTEGER"),
                    ))
                };
                epoch(to).sub(epoch(from))
            }
            Dialect::Postgres => Func::cast_as(
                Func::cust(Alias::new("date_part"))
                    .arg(Expr::cust("'epoch'"))
                    .arg(to.sub(from)),
                Alias::new("BIGINT"),
            )
            .into(),
            Dialect::Mysql => Func::cust(Alias::new("TIMESTAMPDIFF"))
                .arg(Expr::cust("SECOND"))
                .arg(from)
                .arg(to)
                .into(),
        }
    }

    /// The timestamp `t` plus a whole number of seconds, comparable with the engine's timestamp
    /// columns (SQLite: text in the stored `YYYY-MM-DD HH:MM:SS` form). The amount is bound.
    pub(crate) fn add_seconds(self, t: Expr, seconds: i64) -> Expr {
        match self {
            Dialect::Sqlite => Func::cust(Alias::new("datetime"))
                .arg(t)
                .arg(Expr::val(format!("{seconds:+} seconds")))
                .into(),
            Dialect::Postgres => t.add(Expr::from(Func::cast_as(
                Expr::val(format!("{seconds} seconds")),
                Alias::new("INTERVAL"),
            ))),
            Dialect::Mysql => Func::cust(Alias::new("TIMESTAMPADD"))
                .arg(Expr::cust("SECOND"))
                .arg(Expr::val(seconds))
                .arg(t)
                .into(),
        }
    }

    /// A rollup store's day-start timestamp column as its day, `YYYY-MM-DD` text.
    pub(crate) fn stored_day(self, col: Expr) -> Expr {
        match self {
            Dialect::Sqlite => Func::cust(Alias::new("substr"))
                .arg(col)
                .arg(Expr::val(1))
                .arg(Expr::val(10))
                .into(),
            Dialect::Postgres | Dialect::Mysql => self.bucket(col, Window::Day),
        }
    }

    /// The engine of Tally's rollup store (`rollup/`), which routed units are compiled for.
    pub(crate) const ROLLUP_STORE: Dialect = Dialect::Sqlite;

    /// A numeric expression as a double, so every engine returns the same decodable type
    /// (PostgreSQL and MySQL return exact decimals for SUM otherwise).
    pub(crate) fn to_double(self, e: Expr) -> Expr {
        let t = match self {
            Dialect::Sqlite => "REAL",
            Dialect::Postgres => "DOUBLE PRECISION",
            Dialect::Mysql => "DOUBLE",
        };
        Func::cast_as(e, Alias::new(t)).into()
    }

    /// Any value as text, so values of every column type decode the same way.
    pub(crate) fn cast_text(self, e: Expr) -> Expr {
        let t = match self {
            Dialect::Sqlite | Dialect::Postgres => "TEXT",
            Dialect::Mysql => "CHAR",
        };
        Func::cast_as(e, Alias::new(t)).into()
    }
}
