//! A cache of statement results, so repeated questions cost no warehouse time: keyed by the
//! statement itself (its SQL text and every bound value: the workspace, the resolved dates, the
//! filters), bounded by memory and by a time to live, after which the warehouse is asked again.
//!
//! Invariants: a key is the exact statement, so two requests share an entry only if they would
//! send the warehouse the same bytes (another workspace, role policy, period or catalog gives
//! other SQL or other values); only successful results are kept; concurrent misses on one key
//! run the statement once (the others wait for it). The time to live is the staleness bound:
//! data loaded into the warehouse shows after at most that long.

use std::sync::Arc;
use std::time::Duration;

use super::{ExecError, Limits, Rows, Warehouse};
use crate::sql::Statement;

/// How long and how much to cache. In the config file: `[cache] ttl_secs = 60, max_mb = 64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    pub ttl: Duration,
    pub max_bytes: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            ttl: Duration::from_secs(60),
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Statement results by statement.
#[derive(Clone)]
pub struct ResultCache {
    entries: moka::future::Cache<String, Arc<Rows>>,
}

impl std::fmt::Debug for ResultCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResultCache")
            .field("entries", &self.entries.entry_count())
            .finish_non_exhaustive()
    }
}

/// The cache key: the SQL text and the bound values, which together are all the warehouse sees.
fn key(statement: &Statement) -> String {
    format!("{}\u{0}{:?}", statement.sql, statement.params)
}

/// Roughly the bytes an entry holds (its key and its cells).
fn weight(key: &str, rows: &Rows) -> u32 {
    let cells: usize = rows.rows.iter().map(|r| r.len()).sum();
    let text: usize = rows
        .rows
        .iter()
        .flatten()
        .map(|c| c.as_text().map_or(0, str::len))
        .sum();
    (key.len() + cells * 24 + text).min(u32::MAX as usize) as u32
}

impl ResultCache {
    pub fn new(config: CacheConfig) -> ResultCache {
        ResultCache {
            entries: moka::future::Cache::builder()
                .time_to_live(config.ttl)
                .max_capacity(config.max_bytes)
                .weigher(|k: &String, v: &Arc<Rows>| weight(k, v))
                .build(),
        }
    }

    /// Runs each statement, or takes its rows from the cache; says whether every one was cached.
    pub async fn run_all(
        &self,
        warehouse: &Warehouse,
        statements: &[Statement],
        limits: &Limits,
    ) -> Result<(Vec<Rows>, bool), ExecError> {
        use futures_util::{StreamExt, TryStreamExt};
        // The futures are made first (they start only when polled), so the request's future
        // stays `Send`.
        let runs: Vec<_> = statements
            .iter()
            .map(|s| self.run_one(warehouse, s, limits))
            .collect();
        let got: Vec<(Rows, bool)> = futures_util::stream::iter(runs)
            .buffered(warehouse.statement_concurrency())
            .try_collect()
            .await?;
        let all_cached = got.iter().all(|(_, hit)| *hit);
        Ok((got.into_iter().map(|(r, _)| r).collect(), all_cached))
    }

    /// One statement through the cache, and whether it was a hit.
    async fn run_one(
        &self,
        warehouse: &Warehouse,
        s: &Statement,
        limits: &Limits,
    ) -> Result<(Rows, bool), ExecError> {
        let k = key(s);
        if let Some(hit) = self.entries.get(&k).await {
            return Ok(((*hit).clone(), true));
        }
        let rows = self
            .entries
            .try_get_with(k, async { warehouse.run(s, limits).await.map(Arc::new) })
            .await
            .map_err(|e| match &*e {
                ExecError::Unavailable(m) => ExecError::Unavailable(m.clone()),
                ExecError::Timeout(d) => ExecError::Timeout(*d),
                ExecError::Failed(m) => ExecError::Failed(m.clone()),
                ExecError::UnsupportedUrl(u) => ExecError::UnsupportedUrl(u.clone()),
            })?;
        Ok(((*rows).clone(), false))
    }

    /// Entries held now (after pending evictions).
    pub async fn entries(&self) -> u64 {
        self.entries.run_pending_tasks().await;
        self.entries.entry_count()
    }
}
