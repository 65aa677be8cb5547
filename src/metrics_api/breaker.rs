//! The circuit breaker of one Metrics API: closed until `failures` queries in a row fail (any of
//! their calls), then open (no call is made, so a failing API adds no latency) for the
//! cool-down, then half-open: one query's calls probe, and their outcome closes or re-opens it.
//!
//! Pure: the caller passes the instant, so tests need no clock.

use std::time::{Duration, Instant};

use crate::catalog::BreakerSettings;

/// What the breaker lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    /// The gauge value: 0 closed, 1 open, 2 half-open.
    pub fn gauge(self) -> u8 {
        match self {
            BreakerState::Closed => 0,
            BreakerState::Open => 1,
            BreakerState::HalfOpen => 2,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// A probe is out; every other call is refused until it ends, or until `until` (a probe
    /// whose request was dropped never reports: after one cool-down another may probe).
    Probing {
        until: Instant,
    },
}

#[derive(Debug)]
pub struct Breaker {
    failures: u32,
    cooldown: Duration,
    state: State,
}

impl Breaker {
    pub fn new(settings: BreakerSettings) -> Breaker {
        Breaker {
            failures: settings.failures.max(1),
            cooldown: settings.cooldown,
            state: State::Closed { failures: 0 },
        }
    }

    /// Whether a call may be made now (after the cool-down, the first call is the probe).
    pub fn admit(&mut self, now: Instant) -> bool {
        match self.state {
            State::Closed { .. } => true,
            State::Open { until } | State::Probing { until } if now >= until => {
                self.state = State::Probing {
                    until: now + self.cooldown,
                };
                true
            }
            State::Open { .. } | State::Probing { .. } => false,
        }
    }

    pub fn succeeded(&mut self) {
        self.state = State::Closed { failures: 0 };
    }

    pub fn failed(&mut self, now: Instant) {
        self.state = match self.state {
            State::Closed { failures } if failures + 1 < self.failures => State::Closed {
                failures: failures + 1,
            },
            _ => State::Open {
                until: now + self.cooldown,
            },
        };
    }

    pub fn state(&self, now: Instant) -> BreakerState {
        match self.state {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { until } if now >= until => BreakerState::HalfOpen,
            State::Open { .. } => BreakerState::Open,
            State::Probing { .. } => BreakerState::HalfOpen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_failures_and_probes_once_after_the_cooldown() {
        let mut b = Breaker::new(BreakerSettings {
            failures: 3,
            cooldown: Duration::from_secs(30),
        });
        let t0 = Instant::now();
        // A success in between resets the count.
        for _ in 0..2 {
            assert!(b.admit(t0));
            b.failed(t0);
        }
        b.succeeded();
        for _ in 0..2 {
            assert!(b.admit(t0));
            b.failed(t0);
        }
        assert_eq!(b.state(t0), BreakerState::Closed);
        assert!(b.admit(t0));
        b.failed(t0);
        assert_eq!(b.state(t0), BreakerState::Open);
        assert!(!b.admit(t0 + Duration::from_secs(29)));
        let later = t0 + Duration::from_secs(30);
        assert_eq!(b.state(later), BreakerState::HalfOpen);
        assert!(b.admit(later), "the probe");
        assert!(!b.admit(later), "one probe at a time");
        // A probe that never reports (its request dropped) gives way after a cool-down.
        let lost = later + Duration::from_secs(30);
        assert!(b.admit(lost), "another probe");
        let later = lost;
        b.failed(later);
        assert_eq!(b.state(later), BreakerState::Open);
        let again = later + Duration::from_secs(30);
        assert!(b.admit(again));
        b.succeeded();
        assert_eq!(b.state(again), BreakerState::Closed);
        assert!(b.admit(again));
    }
}
