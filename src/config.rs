//! `tally serve --config tally.toml`: the server's settings in one file. No logic here: the CLI
//! takes each value from its flag or environment variable first, then from this file, then the
//! default. Secrets (the dev secret, the LLM key) come from the environment, never the file.
//!
//! ```toml
//! [server]
//! addr = "0.0.0.0:8080"
//! body_limit_bytes = 65536
//!
//! [rate_limit]
//! requests = 100                 # per verified subject
//! per_secs = 60
//! unauthenticated_requests = 30  # per client address, for requests without a valid token
//! redis = "redis://redis:6379"   # optional: buckets shared by every replica (else per process)
//! redis_prefix = "tally:ratelimit:"
//!
//! [warehouse]
//! url = "postgres://tally_reader@db/analytics"
//! timeout_secs = 30
//! row_cap = 10000
//!
//! [store]
//! url = "postgres://tally_app@db/tally"
//! retention_days = 30
//!
//! [auth]
//! issuer = "https://sso.example.com/"
//! audience = "tally"
//! jwks = { url = "https://sso.example.com/.well-known/jwks.json" }
//! max_token_lifetime_secs = 86400
//!
//! [cache]          # repeated questions: statement results reused for ttl_secs (0: off)
//! ttl_secs = 60
//! max_mb = 64
//!
//! [rollups]        # optional: answer from `tally rollup build`'s store where exact
//! path = "/var/lib/tally/rollups.db"
//! rebuild_every_secs = 3600
//!
//! [llm]            # optional; the key comes from TALLY_LLM_API_KEY or OPENAI_API_KEY
//! base_url = "https://api.openai.com/v1"
//! model = "gpt-4o-mini"
//! ```

use std::net::SocketAddr;
use std::path::Path;

use chrono::NaiveDate;
use serde::Deserialize;

use crate::server::{JwksConfig, RateLimitConfig};
use crate::translate::llm::LlmConfig;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerSection,
    #[serde(default)]
    pub warehouse: WarehouseSection,
    #[serde(default)]
    pub store: StoreSection,
    #[serde(default)]
    pub auth: AuthSection,
    /// Per-user request budget (default 100 a minute).
    #[serde(default)]
    pub rate_limit: Option<RateLimitConfig>,
    /// An OpenAI-compatible LLM for translation (hybrid with the rules).
    #[serde(default)]
    pub llm: Option<LlmConfig>,
    /// The result cache (default: 60 s, 64 MB).
    #[serde(default)]
    pub cache: CacheSection,
    /// A rollup store to answer from, and how often the server refreshes it.
    #[serde(default)]
    pub rollups: RollupsSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollupsSection {
    /// The store file `tally rollup build` made (default: none).
    pub path: Option<std::path::PathBuf>,
    /// Build the rollups incrementally this often, in seconds, while serving (default: never;
    /// the store is only read, and its state read again every 60 s).
    pub rebuild_every_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSection {
    /// How long a statement's rows are reused (default 60; 0 turns the cache off). Data loaded
    /// into the warehouse shows after at most this long.
    pub ttl_secs: Option<u64>,
    /// The most memory the cache holds, in MB (default 64).
    pub max_mb: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    pub addr: Option<SocketAddr>,
    /// Pin "today" for every request (demos, reproducible reports).
    pub today: Option<NaiveDate>,
    pub body_limit_bytes: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarehouseSection {
    pub url: Option<String>,
    pub timeout_secs: Option<u64>,
    pub row_cap: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    pub url: Option<String>,
    pub retention_days: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub jwks: Option<JwksConfig>,
    /// The longest `exp - iat` a token may have (default 86400: a day).
    pub max_token_lifetime_secs: Option<u64>,
}

impl Config {
    /// Reads and parses a config file; errors name the file and, for TOML errors, the key.
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        Config::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_file_parses_and_unknown_keys_are_errors() {
        let c = Config::parse(
            r#"
            [server]
            addr = "127.0.0.1:9000"
            [rate_limit]
            requests = 5
            per_secs = 1
            redis = "redis://127.0.0.1:6379"
            [warehouse]
            url = "sqlite://x.db"
            row_cap = 50
            [store]
            retention_days = 7
            [auth]
            issuer = "i"
            jwks = { url = "https://sso.example.com/jwks.json" }
            "#,
        )
        .unwrap();
        assert_eq!(c.server.addr, Some("127.0.0.1:9000".parse().unwrap()));
        let limit = c.rate_limit.unwrap();
        assert_eq!(limit.requests, 5);
        assert_eq!(limit.redis.as_deref(), Some("redis://127.0.0.1:6379"));
        assert_eq!(limit.redis_prefix, "tally:ratelimit:");
        assert_eq!(c.warehouse.row_cap, Some(50));
        assert_eq!(c.store.retention_days, Some(7));
        assert_eq!(
            c.auth.jwks.unwrap().url,
            "https://sso.example.com/jwks.json"
        );
        let e = Config::parse("[store]\nretention = 7\n").unwrap_err();
        assert!(e.contains("retention"), "{e}");
        assert!(Config::parse("").is_ok());
    }
}
