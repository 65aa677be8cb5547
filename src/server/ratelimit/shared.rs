//! The buckets in Redis, shared by every replica pointed at it: one Lua script per check runs
//! governor's GCRA on one key atomically (Redis runs a script alone), on Redis's own clock, so
//! replicas with skewed clocks agree and two replicas can never both take a bucket's last
//! request.
//!
//! A key is `{prefix}subject:{sub}` or `{prefix}address:{ip}` and holds the bucket's
//! theoretical arrival time (microseconds on Redis's clock); it expires when the bucket is full
//! again, so Redis keeps only the keys active in the last window. A refused check writes
//! nothing. When Redis does not answer within 250 ms (down, unreachable, a script error), the
//! check returns `None` and the caller decides with this process's buckets; then no request
//! tries Redis until a pause has passed (250 ms, doubling to 5 s), after which one request
//! probes it.

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::Script;

use super::RateLimitConfig;

/// GCRA as `governor` computes it (`gcra.rs`): T is the emission interval (window / limit) and
/// tau = T × (burst − 1); a request at `now` is allowed unless `now < tat − tau`, and then moves
/// `tat` to `max(tat, now) + T`; refused, it says how long until `tat − tau`. Returns 0 when
/// allowed, else the wait in microseconds (at least 1). Numbers are below 2^53, exact in Lua's
/// doubles; `%.0f` keeps them from being written in exponent form.
const GCRA: &str = r"
local t = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
local earliest = tat - tau
if now < earliest then
  return earliest - now
end
local nxt = math.max(tat, now) + t
redis.call('SET', KEYS[1], string.format('%.0f', nxt), 'PX', math.ceil((nxt - now) / 1000))
return 0
";

/// The longest a check waits for Redis before this process decides.
const CHECK_TIMEOUT: Duration = Duration::from_millis(250);
const FIRST_PAUSE: Duration = Duration::from_millis(250);
const LONGEST_PAUSE: Duration = Duration::from_secs(5);

/// One budget's GCRA parameters, in microseconds.
#[derive(Debug, Clone, Copy)]
struct Gcra {
    t: u64,
    tau: u64,
}

impl Gcra {
    fn new(requests: u32, window: Duration) -> Gcra {
        let t = (window.as_micros() / u128::from(requests.max(1))).max(1) as u64;
        Gcra {
            t,
            tau: t * u64::from(requests.max(1) - 1),
        }
    }
}

/// Whether Redis answered the last check, and when to try it again if not.
#[derive(Debug)]
struct Health {
    /// `Some` while Redis is taken as unreachable: no check tries it before then.
    retry_at: Option<Instant>,
    pause: Duration,
}

pub(super) struct Shared {
    connection: ConnectionManager,
    script: Script,
    prefix: String,
    subjects: Gcra,
    addresses: Gcra,
    display: String,
    health: Mutex<Health>,
}

impl Shared {
    /// A lazy connection to `url` (made by the first check); an unparsable URL is an error.
    pub(super) fn new(url: &str, config: &RateLimitConfig) -> Result<Shared, String> {
        let client = redis::Client::open(url)
            .map_err(|e| format!("[rate_limit] redis: not a Redis URL ({e})"))?;
        let display = match &client.get_connection_info().addr() {
            redis::ConnectionAddr::Tcp(host, port) => format!("redis://{host}:{port}"),
            other => format!("redis {other}"),
        };
        let options = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CHECK_TIMEOUT))
            .set_response_timeout(Some(CHECK_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let connection = ConnectionManager::new_lazy_with_config(client, options)
            .map_err(|e| format!("[rate_limit] redis: {e}"))?;
        let window = Duration::from_secs(config.per_secs);
        Ok(Shared {
            connection,
            script: Script::new(GCRA),
            prefix: config.redis_prefix.clone(),
            subjects: Gcra::new(config.requests, window),
            addresses: Gcra::new(config.unauthenticated_requests, window),
            display,
            health: Mutex::new(Health {
                retry_at: None,
                pause: FIRST_PAUSE,
            }),
        })
    }

    pub(super) fn display(&self) -> String {
        self.display.clone()
    }

    /// Whether the last check found Redis unreachable.
    pub(super) fn unreachable(&self) -> bool {
        self.health().retry_at.is_some()
    }

    /// `subject`'s bucket, or `None` when Redis cannot say.
    pub(super) async fn check_subject(&self, subject: &str) -> Option<Result<(), Duration>> {
        let key = format!("{}subject:{subject}", self.prefix);
        self.check(key, self.subjects).await
    }

    /// `address`'s bucket, or `None` when Redis cannot say.
    pub(super) async fn check_address(&self, address: IpAddr) -> Option<Result<(), Duration>> {
        let key = format!("{}address:{address}", self.prefix);
        self.check(key, self.addresses).await
    }

    async fn check(&self, key: String, gcra: Gcra) -> Option<Result<(), Duration>> {
        if !self.may_try() {
            return None;
        }
        let mut connection = self.connection.clone();
        let mut invocation = self.script.prepare_invoke();
        invocation.key(key).arg(gcra.t).arg(gcra.tau);
        let answer = tokio::time::timeout(
            CHECK_TIMEOUT,
            invocation.invoke_async::<u64>(&mut connection),
        )
        .await;
        match answer {
            Ok(Ok(wait)) => {
                self.answered();
                Some(if wait == 0 {
                    Ok(())
                } else {
                    Err(Duration::from_micros(wait))
                })
            }
            Ok(Err(e)) => {
                self.failed(&e.to_string());
                None
            }
            Err(_) => {
                self.failed("no answer within 250 ms");
                None
            }
        }
    }

    fn health(&self) -> std::sync::MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Redis is tried unless it failed and the pause has not passed; once it has, this request
    /// probes and the others keep deciding locally until it answers or fails.
    fn may_try(&self) -> bool {
        let mut health = self.health();
        match health.retry_at {
            None => true,
            Some(at) if Instant::now() >= at => {
                health.retry_at = Some(Instant::now() + health.pause);
                true
            }
            Some(_) => false,
        }
    }

    fn answered(&self) {
        let mut health = self.health();
        if health.retry_at.take().is_some() {
            tracing::info!(
                redis = %self.display,
                "rate limit: Redis answers again; the shared buckets decide"
            );
        }
        health.pause = FIRST_PAUSE;
    }

    fn failed(&self, why: &str) {
        let mut health = self.health();
        if health.retry_at.is_none() {
            tracing::error!(
                redis = %self.display,
                error = %why,
                "rate limit: Redis unreachable; this process's buckets decide (each replica \
                 holds the limit on its own) until it answers"
            );
        } else {
            health.pause = (health.pause * 2).min(LONGEST_PAUSE);
        }
        health.retry_at = Some(Instant::now() + health.pause);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parameters_are_governors() {
        // 100 a minute: one every 600 ms, a burst of 100 (tau covers the 99 after the first).
        let g = Gcra::new(100, Duration::from_secs(60));
        assert_eq!((g.t, g.tau), (600_000, 59_400_000));
        let one = Gcra::new(1, Duration::from_secs(1));
        assert_eq!((one.t, one.tau), (1_000_000, 0));
    }

    #[tokio::test]
    async fn an_unparsable_url_is_an_error_and_no_connection_is_made_up_front() {
        let config = RateLimitConfig::default();
        assert!(Shared::new("http://example.com", &config).is_err());
        // Nothing listens on port 1: creating the limiter still succeeds, and a check says it
        // cannot decide (the caller falls back), then waits out the pause without trying.
        let shared = Shared::new("redis://127.0.0.1:1", &config).unwrap();
        assert_eq!(shared.display(), "redis://127.0.0.1:1");
        assert!(!shared.unreachable());
        assert_eq!(shared.check_subject("ann").await, None);
        assert!(shared.unreachable());
        assert!(!shared.may_try());
    }
}
