//! Per-user rate limit: a token bucket per verified subject (default 100 requests a minute).
//!
//! Invariants: keyed only by a verified token's `sub` (never by an unverified claim, so a forged
//! token cannot spend someone else's budget); a bucket holds at most `requests` tokens and refills
//! at `requests` per `per_secs`, so a burst of `requests` is allowed and the long-run rate is
//! exact; a refused request costs nothing; memory is bounded by the active subjects (full
//! buckets are evicted once a window).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;

/// How many requests a user may make. In the config file: `[rate_limit] requests = 100`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Requests per window (at least 1).
    #[serde(default = "RateLimitConfig::default_requests")]
    pub requests: u32,
    /// The window in seconds (at least 1).
    #[serde(default = "RateLimitConfig::default_per_secs")]
    pub per_secs: u64,
}

impl RateLimitConfig {
    fn default_requests() -> u32 {
        100
    }

    fn default_per_secs() -> u64 {
        60
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            requests: Self::default_requests(),
            per_secs: Self::default_per_secs(),
        }
    }
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Token buckets by subject.
pub struct RateLimiter {
    capacity: f64,
    /// Tokens per second.
    rate: f64,
    window: Duration,
    state: Mutex<State>,
}

struct State {
    buckets: HashMap<String, Bucket>,
    last_sweep: Instant,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("capacity", &self.capacity)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

impl RateLimiter {
    pub fn new(config: RateLimitConfig) -> Result<RateLimiter, String> {
        if config.requests == 0 || config.per_secs == 0 {
            return Err("the rate limit needs at least 1 request per at least 1 second".into());
        }
        let window = Duration::from_secs(config.per_secs);
        Ok(RateLimiter {
            capacity: f64::from(config.requests),
            rate: f64::from(config.requests) / window.as_secs_f64(),
            window,
            state: Mutex::new(State {
                buckets: HashMap::new(),
                last_sweep: Instant::now(),
            }),
        })
    }

    /// Takes one token from `subject`'s bucket, or says how long until one is available.
    pub fn check(&self, subject: &str) -> Result<(), Duration> {
        self.check_at(subject, Instant::now())
    }

    fn check_at(&self, subject: &str, now: Instant) -> Result<(), Duration> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if now.duration_since(state.last_sweep) >= self.window {
            self.sweep(&mut state.buckets, now);
            state.last_sweep = now;
        }
        let bucket = state
            .buckets
            .entry(subject.to_string())
            .or_insert_with(|| Bucket {
                tokens: self.capacity,
                updated: now,
            });
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate))
        }
    }

    /// Forgets buckets that have refilled: they are the same as a new one.
    fn sweep(&self, buckets: &mut HashMap<String, Bucket>, now: Instant) {
        buckets.retain(|_, b| {
            b.tokens + now.duration_since(b.updated).as_secs_f64() * self.rate < self.capacity
        });
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.state.lock().unwrap().buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(requests: u32, per_secs: u64) -> RateLimiter {
        RateLimiter::new(RateLimitConfig { requests, per_secs }).unwrap()
    }

    #[test]
    fn a_burst_up_to_the_limit_then_a_wait_for_one_token() {
        let l = limiter(3, 60);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(l.check_at("ann", t0), Ok(()));
        }
        let wait = l.check_at("ann", t0).unwrap_err();
        assert!((wait.as_secs_f64() - 20.0).abs() < 1e-6, "{wait:?}");
        // Refused requests cost nothing: the wait does not grow.
        assert_eq!(l.check_at("ann", t0).unwrap_err(), wait);
        // Others are unaffected.
        assert_eq!(l.check_at("bob", t0), Ok(()));
        // One token back after 20 s, not more.
        let t1 = t0 + Duration::from_secs(20);
        assert_eq!(l.check_at("ann", t1), Ok(()));
        assert!(l.check_at("ann", t1).is_err());
    }

    #[test]
    fn full_buckets_are_evicted_once_a_window() {
        let l = limiter(2, 1);
        let t0 = Instant::now();
        l.check_at("ann", t0).unwrap();
        l.check_at("bob", t0).unwrap();
        assert_eq!(l.tracked(), 2);
        l.check_at("cid", t0 + Duration::from_secs(5)).unwrap();
        assert_eq!(l.tracked(), 1);
    }

    #[test]
    fn config_defaults_to_100_a_minute_and_refuses_zero() {
        let c: RateLimitConfig = toml::from_str("").unwrap();
        assert_eq!(
            c,
            RateLimitConfig {
                requests: 100,
                per_secs: 60
            }
        );
        assert!(toml::from_str::<RateLimitConfig>("burst = 1").is_err());
        assert!(RateLimiter::new(RateLimitConfig {
            requests: 0,
            per_secs: 60
        })
        .is_err());
    }
}
