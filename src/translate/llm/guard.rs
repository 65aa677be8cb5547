//! What keeps the LLM cheap and out of the way when it misbehaves: a small LRU cache of
//! translations and a circuit breaker over consecutive failures.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::translate::Translation;

/// What a translation depends on besides the model: the same key gives the same DSL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CacheKey {
    question: String,
    role: String,
    catalog_version: String,
    today: NaiveDate,
    previous: Option<[u8; 32]>,
}

impl CacheKey {
    pub(crate) fn new(
        question: &str,
        role: &str,
        catalog_version: &str,
        today: NaiveDate,
        previous: Option<&Value>,
    ) -> CacheKey {
        CacheKey {
            question: canonical_question(question),
            role: role.to_string(),
            catalog_version: catalog_version.to_string(),
            today,
            previous: previous.map(|p| {
                let bytes = serde_json::to_vec(p).unwrap_or_default();
                Sha256::digest(&bytes).into()
            }),
        }
    }
}

/// Lowercase, single spaces, no trailing punctuation: "How are we doing?" and "how are  we
/// doing" are one question. Anything subtler (typos, synonyms) is the translator's job.
pub(crate) fn canonical_question(question: &str) -> String {
    let lower = question.to_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    words
        .join(" ")
        .trim_end_matches(['?', '!', '.', ' '])
        .to_string()
}

/// A least-recently-used map, small enough that eviction by a scan is cheaper than a list.
pub(crate) struct Lru {
    capacity: usize,
    tick: u64,
    entries: HashMap<CacheKey, (u64, Translation)>,
}

impl Lru {
    pub(crate) fn new(capacity: usize) -> Lru {
        Lru {
            capacity,
            tick: 0,
            entries: HashMap::new(),
        }
    }

    pub(crate) fn get(&mut self, key: &CacheKey) -> Option<Translation> {
        self.tick += 1;
        let tick = self.tick;
        self.entries.get_mut(key).map(|(used, t)| {
            *used = tick;
            t.clone()
        })
    }

    pub(crate) fn put(&mut self, key: CacheKey, value: Translation) {
        if self.capacity == 0 {
            return;
        }
        self.tick += 1;
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&key) {
            if let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, (used, _))| *used)
                .map(|(k, _)| k.clone())
            {
                self.entries.remove(&oldest);
            }
        }
        self.entries.insert(key, (self.tick, value));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Closed until `threshold` translations fail in a row; then open for `cooldown`, after which
/// one trial call is let through (a failure reopens it at once, a success closes it).
pub(crate) struct Breaker {
    threshold: u32,
    cooldown: Duration,
    failures: u32,
    open_until: Option<Instant>,
}

impl Breaker {
    pub(crate) fn new(threshold: u32, cooldown: Duration) -> Breaker {
        Breaker {
            threshold: threshold.max(1),
            cooldown,
            failures: 0,
            open_until: None,
        }
    }

    /// `Some(remaining)` while open: do not call.
    pub(crate) fn open_for(&self, now: Instant) -> Option<Duration> {
        self.open_until
            .filter(|until| *until > now)
            .map(|until| until - now)
    }

    pub(crate) fn succeeded(&mut self) {
        self.failures = 0;
        self.open_until = None;
    }

    pub(crate) fn failed(&mut self, now: Instant) {
        self.failures = self.failures.saturating_add(1);
        if self.failures >= self.threshold {
            self.open_until = Some(now + self.cooldown);
        }
    }

    pub(crate) fn consecutive_failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(q: &str) -> CacheKey {
        CacheKey::new(
            q,
            "analyst",
            "v1",
            NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
            None,
        )
    }

    fn dsl(n: i64) -> Translation {
        Translation::Dsl {
            dsl: json!({ "n": n }),
        }
    }

    #[test]
    fn canonical_question_ignores_case_spacing_and_final_punctuation() {
        assert_eq!(
            canonical_question("  How are   we doing?! "),
            "how are we doing"
        );
        assert_eq!(key("DAU last week?"), key("dau  last week"));
        assert_ne!(key("dau last week"), key("wau last week"));
        let with_previous = CacheKey::new(
            "and by country",
            "analyst",
            "v1",
            NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
            Some(&json!({"kind": "metric"})),
        );
        assert_ne!(with_previous, key("and by country"));
    }

    #[test]
    fn lru_evicts_the_least_recently_used() {
        let mut lru = Lru::new(2);
        lru.put(key("a"), dsl(1));
        lru.put(key("b"), dsl(2));
        assert_eq!(lru.get(&key("a")), Some(dsl(1)));
        lru.put(key("c"), dsl(3));
        assert_eq!(lru.len(), 2);
        assert_eq!(lru.get(&key("b")), None, "b was least recently used");
        assert_eq!(lru.get(&key("a")), Some(dsl(1)));
        assert_eq!(lru.get(&key("c")), Some(dsl(3)));
    }

    #[test]
    fn breaker_opens_after_threshold_and_half_opens_after_cooldown() {
        let t0 = Instant::now();
        let mut b = Breaker::new(2, Duration::from_secs(10));
        b.failed(t0);
        assert_eq!(b.open_for(t0), None);
        b.failed(t0);
        assert_eq!(b.open_for(t0), Some(Duration::from_secs(10)));
        let later = t0 + Duration::from_secs(11);
        assert_eq!(b.open_for(later), None, "one trial call after the cooldown");
        b.failed(later);
        assert!(
            b.open_for(later).is_some(),
            "a failed trial reopens at once"
        );
        b.succeeded();
        assert_eq!(b.open_for(later), None);
        assert_eq!(b.consecutive_failures(), 0);
    }
}
