//! Rate limits (governor's GCRA): one budget per verified subject (default 100 requests a
//! minute), and a smaller one per client address for traffic that never authenticated —
//! missing, forged, expired or revoked tokens, unknown routes (default 30 a minute).
//!
//! Invariants: a subject's budget is keyed only by a verified token's `sub` (never by an
//! unverified claim, so a forged token cannot spend someone else's budget); the address budget
//! is spent only by requests without a verified caller, so users behind one NAT are not limited
//! by an attacker's garbage tokens; a bucket allows a burst of its limit and refills at the
//! limit per window; a refused request costs nothing; memory is bounded by the keys active in
//! the last window (the rest are swept).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::Quota;
use serde::Deserialize;

/// How many requests a caller may make. In the config file: `[rate_limit] requests = 100`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
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
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            requests: Self::default_requests(),
            per_secs: Self::default_per_secs(),
            unauthenticated_requests: Self::default_unauthenticated(),
        }
    }
}

type Keyed<K, C> =
    governor::RateLimiter<K, DashMapStateStore<K>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// The budgets, by subject and by client address.
pub struct RateLimiter<C: Clock = DefaultClock> {
    subjects: Keyed<String, C>,
    addresses: Keyed<IpAddr, C>,
    clock: C,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("subjects", &self.subjects.len())
            .field("addresses", &self.addresses.len())
            .finish_non_exhaustive()
    }
}

impl RateLimiter {
    pub fn new(config: RateLimitConfig) -> Result<RateLimiter, String> {
        RateLimiter::with_clock(config, DefaultClock::default())
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

impl<C: Clock + Clone> RateLimiter<C> {
    pub fn with_clock(config: RateLimitConfig, clock: C) -> Result<RateLimiter<C>, String> {
        if config.per_secs == 0 {
            return Err("the rate limit needs at least 1 request per at least 1 second".into());
        }
        let window = Duration::from_secs(config.per_secs);
        Ok(RateLimiter {
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

    /// Takes one request from `subject`'s budget, or says how long until one is available.
    pub fn check(&self, subject: &str) -> Result<(), Duration> {
        self.subjects
            .check_key(&subject.to_string())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Takes one request from the budget of a client address that sent no valid token.
    pub fn check_unauthenticated(&self, address: IpAddr) -> Result<(), Duration> {
        self.addresses
            .check_key(&address)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Forgets keys whose budget has refilled (they are the same as a new key).
    pub fn sweep(&self) {
        self.subjects.retain_recent();
        self.addresses.retain_recent();
        self.subjects.shrink_to_fit();
        self.addresses.shrink_to_fit();
    }

    /// How many subjects and addresses are tracked.
    pub fn tracked(&self) -> (usize, usize) {
        (self.subjects.len(), self.addresses.len())
    }
}

#[cfg(test)]
mod tests {
    use governor::clock::FakeRelativeClock;

    use super::*;

    fn limiter(
        requests: u32,
        per_secs: u64,
    ) -> (RateLimiter<FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        let config = RateLimitConfig {
            requests,
            per_secs,
            unauthenticated_requests: 2,
        };
        (
            RateLimiter::with_clock(config, clock.clone()).unwrap(),
            clock,
        )
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
