//! The store's recent health: once a call finds the store down, calls fail at once until a
//! backoff has passed; then one call at a time probes it. So an outage costs each request
//! microseconds instead of a connection timeout, and requests never queue behind a dead store.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::StoreError;

/// How soon a store found down is tried again: `first_retry`, doubling per failed probe up to
/// `max_retry`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthPolicy {
    pub first_retry: Duration,
    pub max_retry: Duration,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        HealthPolicy {
            first_retry: Duration::from_millis(250),
            max_retry: Duration::from_secs(5),
        }
    }
}

#[derive(Debug)]
pub(super) struct Health {
    policy: HealthPolicy,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Consecutive failed calls (0: healthy).
    failures: u32,
    /// Until when calls fail without trying.
    closed_until: Option<Instant>,
}

impl Health {
    pub(super) fn new(policy: HealthPolicy) -> Health {
        Health {
            policy,
            state: Mutex::new(State::default()),
        }
    }

    fn backoff(&self, failures: u32) -> Duration {
        let doubled = self
            .policy
            .first_retry
            .saturating_mul(1u32 << failures.saturating_sub(1).min(16));
        doubled.min(self.policy.max_retry)
    }

    /// Lets a call through, or fails it at once while the store is known down. The first call
    /// after the backoff is the probe; calls during the probe still fail at once.
    pub(super) fn admit(&self) -> Result<(), StoreError> {
        self.admit_at(Instant::now())
    }

    /// Fails at once while the store is known down, like `admit`, but never takes the probe:
    /// for answers that need no store call (the probe is left to a call that makes one).
    pub(super) fn peek(&self) -> Result<(), StoreError> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match state.closed_until {
            Some(until) if Instant::now() < until => Err(StoreError::Unavailable(
                "the store did not answer a moment ago".into(),
            )),
            _ => Ok(()),
        }
    }

    fn admit_at(&self, now: Instant) -> Result<(), StoreError> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match state.closed_until {
            Some(until) if now < until => Err(StoreError::Unavailable(format!(
                "the store did not answer a moment ago; the next try is in {} ms",
                until.duration_since(now).as_millis()
            ))),
            Some(_) => {
                let wait = self.backoff(state.failures);
                state.closed_until = Some(now + wait);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Records how a call went: a store that did not answer closes the gate for a backoff;
    /// any answer opens it.
    pub(super) fn record<T>(&self, outcome: &Result<T, StoreError>) {
        self.record_at(outcome.as_ref().err(), Instant::now());
    }

    fn record_at(&self, error: Option<&StoreError>, now: Instant) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match error {
            Some(StoreError::Unavailable(_)) => {
                state.failures = state.failures.saturating_add(1);
                state.closed_until = Some(now + self.backoff(state.failures));
            }
            // The store answered (perhaps with a row it could not read): it is up.
            _ => *state = State::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn down() -> StoreError {
        StoreError::Unavailable("refused".into())
    }

    #[test]
    fn a_failure_closes_the_gate_for_a_doubling_backoff_and_a_success_opens_it() {
        let h = Health::new(HealthPolicy {
            first_retry: Duration::from_millis(100),
            max_retry: Duration::from_millis(300),
        });
        let t0 = Instant::now();
        assert!(h.admit_at(t0).is_ok());
        h.record_at(Some(&down()), t0);
        // Closed: calls fail without trying.
        assert!(h.admit_at(t0 + Duration::from_millis(50)).is_err());
        // The probe goes through; others during the probe still fail at once.
        let t1 = t0 + Duration::from_millis(100);
        assert!(h.admit_at(t1).is_ok());
        assert!(h.admit_at(t1 + Duration::from_millis(1)).is_err());
        // The probe fails: the backoff doubles (200 ms), then is capped (300 ms).
        h.record_at(Some(&down()), t1);
        assert!(h.admit_at(t1 + Duration::from_millis(199)).is_err());
        let t2 = t1 + Duration::from_millis(200);
        assert!(h.admit_at(t2).is_ok());
        h.record_at(Some(&down()), t2);
        assert!(h.admit_at(t2 + Duration::from_millis(299)).is_err());
        let t3 = t2 + Duration::from_millis(300);
        assert!(h.admit_at(t3).is_ok());
        // A success opens the gate for everyone.
        h.record_at(None, t3);
        assert!(h.admit_at(t3).is_ok());
        assert!(h.admit_at(t3).is_ok());
    }

    #[test]
    fn only_an_unanswered_call_counts_as_down() {
        let h = Health::new(HealthPolicy::default());
        let t0 = Instant::now();
        h.record_at(Some(&StoreError::Corrupt("bad row".into())), t0);
        assert!(h.admit_at(t0).is_ok());
    }
}
