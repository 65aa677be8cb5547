//! The integration tests, as one binary: each module was a `tests/*.rs` file of its own. One
//! binary links sqlx, axum, reqwest and the TLS stack once instead of once per file (the link
//! dominated `cargo test` on a 2-core machine). Run one module with `cargo test --test it
//! engines::`, one test by its name.

mod common;

mod adnavi;
mod anomalies;
mod browser;
mod cli;
mod define;
mod demo_data;
mod dsl_spec;
mod engine_resilience;
mod engines;
mod examples;
mod exec_sqlite;
mod explain;
mod funnel;
mod golden;
mod hand_sql;
mod hardening;
mod http;
mod http_audit;
mod http_auth;
mod http_lifecycle;
mod http_ops;
mod index_use;
mod llm;
mod llm_large;
mod load_demo;
mod merged_snapshots;
mod metrics_api;
mod partition_pruning;
mod properties;
mod replicas;
mod retention;
mod rollups;
mod store_postgres;
mod suppression;
mod tidy;
mod translate_eval;
mod trend;
