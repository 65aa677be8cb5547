//! Rate limits (GCRA, as governor computes it): one budget per verified subject (default 100
//! requests a minute), and a smaller one per client address for traffic that never
//! authenticated — missing, forged, expired or revoked tokens, unknown routes (default 30 a
//! minute).
//!
//! The buckets live in this process (governor) unless `[rate_limit] redis = "redis://…"` is
//! set: then they live in Redis (`ratelimit/shared.rs`, one Lua script per check, so a check is
//! atomic and the limit holds across replicas). When Redis cannot be reached the process
//! decides with its own buckets (each replica then holds a caller to the limit on its own, as
//! without Redis), logs it once and `fallback_active` says so (the `/metrics` gauge
//! `tally_rate_limit_redis_fallback`); Redis is tried again after a doubling pause (250 ms to
//! 5 s), and its buckets take over again at once.
//!
//! Invariants: a subject's budget is keyed only by a verified token's `sub` (never by an
//! unverified claim, so a forged token cannot spend someone else's budget); the address budget
//! is spent only by requests without a verified caller, so users behind one NAT are not limited
//! by an attacker's garbage tokens; a bucket allows a burst of its limit and refills at the
//! limit per window; a refused request costs nothing; memory is bounded by the keys active in
//! the last window (the rest are swept here, and expire in Redis).

mod shared;

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::Quota;
use serde::Deserialize;

/// How many requests a caller may make, and where the buckets live. In the config file:
/// `[rate_limit] requests = 100`, and `redis = "redis://host:6379"` to share them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Requests per window for each verified subject (at least 1).
    #[serde(default = "RateLimitConfig::default_requests")]
    pub requests: u32,
    /// The window in seconds (at least 1).
    #[serde(default = "RateLimitConfig::default_per_secs")]
    pub per_secs: u64,
    /// Requests per window for each client address that sends no valid token (at least 1).
    #[serde(default = "RateLimitConfig::default_unauthenticated")]
    pub unauthenticated_requests: u32,
    /// A Redis holding the buckets, `redis://[user:password@]host:port[/db]` (plain TCP: TLS is
    /// not built in), shared by every replica pointed at it (default: none, the buckets live in
    /// this process).
    #[serde(default)]
    pub redis: Option<String>,
    /// What every key in Redis starts with (default `tally:ratelimit:`): replicas that share a
    /// budget use the same prefix (and the same limits).
    #[serde(default = "RateLimitConfig::default_redis_prefix")]
    pub redis_prefix: String,
}

impl RateLimitConfig {
    fn default_requests() -> u32 {
        100
    }

    fn default_per_secs() -> u64 {
        60
    }

    fn default_unauthenticated() -> u32 {
        30
    }

    fn default_redis_prefix() -> String {
        "tally:ratelimit:".into()
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            requests: Self::default_requests(),
            per_secs: Self::default_per_secs(),
            unauthenticated_requests: Self::default_unauthenticated(),
            redis: None,
            redis_prefix: Self::default_redis_prefix(),
        }
    }
}

type Keyed<K, C> =
    governor::RateLimiter<K, DashMapStateStore<K>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// The budgets, by subject and by client address: in Redis when configured (with this
/// process's own as the fallback), else in this process.
pub struct RateLimiter {
    local: Buckets,
    shared: Option<shared::Shared>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("local", &self.local.tracked())
            .field("shared", &self.shared.as_ref().map(|s| s.display()))
            .finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// The limiter `config` describes. With `redis`, no connection is made here (the first
    /// check makes it, and until it succeeds this process's buckets decide); a URL that cannot
    /// be parsed is an error. Needs a Tokio runtime when `redis` is set.
    pub fn new(config: RateLimitConfig) -> Result<RateLimiter, String> {
        let local = Buckets::with_clock(&config, DefaultClock::default())?;
        let shared = match &config.redis {
            Some(url) => Some(shared::Shared::new(url, &config)?),
            None => None,
        };
        Ok(RateLimiter { local, shared })
    }

    /// Takes one request from `subject`'s budget, or says how long until one is available.
    pub async fn check(&self, subject: &str) -> Result<(), Duration> {
        if let Some(shared) = &self.shared {
            if let Some(decided) = shared.check_subject(subject).await {
                return decided;
            }
        }
        self.local.check(subject)
    }

    /// Takes one request from the budget of a client address that sent no valid token.
    pub async fn check_unauthenticated(&self, address: IpAddr) -> Result<(), Duration> {
        if let Some(shared) = &self.shared {
            if let Some(decided) = shared.check_address(address).await {
                return decided;
            }
        }
        self.local.check_unauthenticated(address)
    }

    /// Forgets this process's keys whose budget has refilled (Redis expires its own).
    pub fn sweep(&self) {
        self.local.sweep();
    }

    /// Whether Redis is configured but unreachable, so this process's buckets decide (the
    /// `tally_rate_limit_redis_fallback` gauge); false without Redis.
    pub fn fallback_active(&self) -> bool {
        self.shared.as_ref().is_some_and(|s| s.unreachable())
    }

    /// Where the buckets live: `process`, or `redis://host:port` (no password).
    pub fn display(&self) -> String {
        match &self.shared {
            Some(s) => s.display(),
            None => "process".into(),
        }
    }
}

/// A burst of `requests`, refilling one every `window / requests`.
fn quota(requests: u32, window: Duration) -> Result<Quota, String> {
    let burst = NonZeroU32::new(requests)
        .ok_or("the rate limit needs at least 1 request per at least 1 second")?;
    let period = window / requests;
    Quota::with_period(period)
        .map(|q| q.allow_burst(burst))
        .ok_or_else(|| "the rate limit needs at least 1 request per at least 1 second".into())
}

/// This process's buckets (governor).
struct Buckets<C: Clock = DefaultClock> {
    subjects: Keyed<String, C>,
    addresses: Keyed<IpAddr, C>,
    clock: C,
}

impl<C: Clock + Clone> Buckets<C> {
    fn with_clock(config: &RateLimitConfig, clock: C) -> Result<Buckets<C>, String> {
        if config.per_secs == 0 {
            return Err("the rate limit needs at least 1 request per at least 1 second".into());
        }
        let window = Duration::from_secs(config.per_secs);
        Ok(Buckets {
            subjects: governor::RateLimiter::dashmap_with_clock(
                quota(config.requests, window)?,
                clock.clone(),
            ),
            addresses: governor::RateLimiter::dashmap_with_clock(
                quota(config.unauthenticated_requests, window)?,
                clock.clone(),
            ),
            clock,
        })
    }

    fn check(&self, subject: &str) -> Result<(), Duration> {
        self.subjects
            .check_key(&subject.to_string())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    fn check_unauthenticated(&self, address: IpAddr) -> Result<(), Duration> {
        self.addresses
            .check_key(&address)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    fn sweep(&self) {
        self.subjects.retain_recent();
        self.addresses.retain_recent();
        self.subjects.shrink_to_fit();
        self.addresses.shrink_to_fit();
    }

    /// How many subjects and addresses are tracked.
    fn tracked(&self) -> (usize, usize) {
        (self.subjects.len(), self.addresses.len())
    }
}

#[cfg(test)]
mod tests {
    use governor::clock::FakeRelativeClock;

    use super::*;

    fn limiter(requests: u32, per_secs: u64) -> (Buckets<FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        let config = RateLimitConfig {
            requests,
            per_secs,
            unauthenticated_requests: 2,
            ..RateLimitConfig::default()
        };
        (Buckets::with_clock(&config, clock.clone()).unwrap(), clock)
    }

    #[test]
    fn a_burst_up_to_the_limit_then_a_wait_for_one_request() {
        let (l, clock) = limiter(3, 60);
        for _ in 0..3 {
            assert_eq!(l.check("ann"), Ok(()));
        }
        let wait = l.check("ann").unwrap_err();
        assert_eq!(wait, Duration::from_secs(20));
        // Refused requests cost nothing: the wait does not grow.
        assert_eq!(l.check("ann").unwrap_err(), wait);
        // Others are unaffected.
        assert_eq!(l.check("bob"), Ok(()));
        // One request back after 20 s, not more.
        clock.advance(Duration::from_secs(20));
        assert_eq!(l.check("ann"), Ok(()));
        assert!(l.check("ann").is_err());
    }

    #[test]
    fn addresses_have_their_own_smaller_budget() {
        let (l, _) = limiter(100, 60);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert_eq!(l.check_unauthenticated(a), Ok(()));
        assert_eq!(l.check_unauthenticated(a), Ok(()));
        assert_eq!(
            l.check_unauthenticated(a).unwrap_err(),
            Duration::from_secs(30)
        );
        assert_eq!(l.check_unauthenticated(b), Ok(()));
        // A subject's budget is separate from any address's.
        assert_eq!(l.check("ann"), Ok(()));
    }

    #[test]
    fn refilled_keys_are_swept() {
        let (l, clock) = limiter(2, 1);
        l.check("ann").unwrap();
        l.check("bob").unwrap();
        assert_eq!(l.tracked().0, 2);
        clock.advance(Duration::from_secs(5));
        l.sweep();
        assert_eq!(l.tracked().0, 0);
    }

    #[test]
    fn config_defaults_and_refuses_zero() {
        let c: RateLimitConfig = toml::from_str("").unwrap();
        assert_eq!(c, RateLimitConfig::default());
        assert_eq!(
            (c.requests, c.per_secs, c.unauthenticated_requests),
            (100, 60, 30)
        );
        assert!(toml::from_str::<RateLimitConfig>("burst = 1").is_err());
        for bad in [
            RateLimitConfig {
                requests: 0,
                ..RateLimitConfig::default()
            },
            RateLimitConfig {
                per_secs: 0,
                ..RateLimitConfig::default()
            },
            RateLimitConfig {
                unauthenticated_requests: 0,
                ..RateLimitConfig::default()
            },
        ] {
            assert!(RateLimiter::new(bad).is_err());
        }
    }
}
