//! Tally answers analytics questions with numbers that are exactly right, or an honest refusal.
//!
//! The stages (see ARCHITECTURE.md for the full codemap):
//!
//! | stage     | input                     | output                  | module      |
//! |-----------|---------------------------|-------------------------|-------------|
//! | check     | raw JSON + role           | `CheckedQuery`          | `check`     |
//! | plan      | `CheckedQuery` + workspace + clock | `Plan`         | `plan`      |
//! | compile   | `Plan` + dialect          | `Vec<Statement>`        | `sql`       |
//! | execute   | `Statement`s + warehouse  | `Vec<Rows>`             | `exec`      |
//! | assemble  | `Plan` + rows             | `QueryResult`           | `result`    |
//! | answer    | `Plan` + `QueryResult`    | `Answer` (text, chart)  | `answer`    |

pub mod answer;
pub mod catalog;
pub mod check;
pub mod cli;
pub mod config;
pub mod demo;
pub mod dialect;
pub mod dsl;
pub mod examples;
pub mod exec;
pub mod inspect;
pub mod metrics_api;
pub mod pipeline;
pub mod plan;
pub mod result;
pub mod rollup;
pub mod server;
pub mod sql;
pub mod store;
pub mod translate;
