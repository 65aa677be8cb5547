//! JWKS: an SSO issuer's public signing keys, fetched over HTTP(S) with reqwest and cached, each
//! key pinned to the one algorithm its own `kty`/`crv`/`alg` allow (RS256 for RSA, ES256 for
//! P-256).
//!
//! Invariants: a key is usable only with a `kid`, as a signature key, and with exactly one
//! algorithm decided here from the key (a token's header never chooses the key type); symmetric
//! (`oct`) keys in a JWKS are ignored, so an HMAC token can never verify against a published key.
//! Fetches are bounded: a timeout, a size cap, no redirects, and at most one fetch per
//! `refresh_secs` however many unknown `kid`s arrive. A key set past its TTL is refetched; while
//! the URL fails, the last good set keeps verifying (an IdP outage does not log everyone out; a
//! removed key stops verifying at the next successful fetch).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

use super::error::AuthFailure;

/// A JWKS response larger than this is refused (real ones are a few kilobytes).
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// Where the SSO keys are and how they are cached. In the config file:
/// `[auth.jwks] url = "https://idp.example.com/.well-known/jwks.json"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwksConfig {
    /// The JWKS document: `https://…`, or `http://` on a loopback host only.
    pub url: String,
    /// An unknown `kid` (or a failed fetch) triggers a refetch at most once per this many seconds.
    #[serde(default = "JwksConfig::default_refresh_secs")]
    pub refresh_secs: u64,
    /// A fetched key set is refetched after this many seconds.
    #[serde(default = "JwksConfig::default_ttl_secs")]
    pub ttl_secs: u64,
    /// One fetch may take this long.
    #[serde(default = "JwksConfig::default_timeout_secs")]
    pub timeout_secs: u64,
}

impl JwksConfig {
    /// A config with the default refresh interval (60 s), TTL (1 h) and timeout (5 s).
    pub fn new(url: impl Into<String>) -> JwksConfig {
        JwksConfig {
            url: url.into(),
            refresh_secs: Self::default_refresh_secs(),
            ttl_secs: Self::default_ttl_secs(),
            timeout_secs: Self::default_timeout_secs(),
        }
    }

    fn default_refresh_secs() -> u64 {
        60
    }

    fn default_ttl_secs() -> u64 {
        3600
    }

    fn default_timeout_secs() -> u64 {
        5
    }
}

/// A verification key and the one algorithm it verifies.
#[derive(Clone)]
pub(crate) struct PinnedKey {
    pub(crate) algorithm: Algorithm,
    pub(crate) key: Arc<DecodingKey>,
}

/// The keys of the last successful fetch.
#[derive(Default)]
struct KeySet {
    keys: HashMap<String, PinnedKey>,
    fetched_at: Option<Instant>,
}

/// Verifies RS256/ES256 tokens against a JWKS URL's keys.
pub struct JwksVerifier {
    url: reqwest::Url,
    refresh: Duration,
    ttl: Duration,
    client: reqwest::Client,
    keys: RwLock<Arc<KeySet>>,
    /// Serialises fetches; holds when the last one was attempted.
    last_attempt: tokio::sync::Mutex<Option<Instant>>,
}

impl std::fmt::Debug for JwksVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksVerifier")
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

/// Why a JWKS fetch failed (logged; callers see `keys_unavailable` or `unknown_key`).
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("cannot fetch the JWKS: {0}")]
    Fetch(#[from] reqwest::Error),
    #[error("the JWKS URL answered {0}")]
    Status(reqwest::StatusCode),
    #[error("the JWKS is larger than {MAX_JWKS_BYTES} bytes")]
    TooLarge,
    #[error("the JWKS is not a JSON object with a `keys` array")]
    NotJwks,
    #[error("the JWKS has no usable RS256 or ES256 signing key with a kid")]
    NoUsableKeys,
}

impl JwksVerifier {
    /// Checks the URL (https, or http on loopback) and builds the client; fetches nothing yet.
    pub fn new(config: &JwksConfig) -> Result<JwksVerifier, String> {
        let url = reqwest::Url::parse(&config.url)
            .map_err(|e| format!("the JWKS URL `{}` is not a URL: {e}", config.url))?;
        let host = url.host_str().unwrap_or("");
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => {
                return Err(format!(
                    "the JWKS URL `{}` must use https (http only on a loopback host)",
                    config.url
                ))
            }
        }
        if config.timeout_secs == 0 {
            return Err("the JWKS timeout must be at least 1 second".into());
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_secs))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the JWKS client: {e}"))?;
        Ok(JwksVerifier {
            url,
            refresh: Duration::from_secs(config.refresh_secs),
            ttl: Duration::from_secs(config.ttl_secs),
            client,
            keys: RwLock::new(Arc::new(KeySet::default())),
            last_attempt: tokio::sync::Mutex::new(None),
        })
    }

    /// Fetches the key set now (at start-up, so the first request does not wait); returns how
    /// many keys are usable.
    pub async fn refresh(&self) -> Result<usize, JwksError> {
        let mut last = self.last_attempt.lock().await;
        *last = Some(Instant::now());
        self.fetch_and_store().await
    }

    /// The key a token's `kid` names. Refetches when the kid is unknown or the set is past its
    /// TTL, at most once per refresh interval.
    pub(crate) async fn key(&self, kid: &str) -> Result<PinnedKey, AuthFailure> {
        if let Some(key) = self.fresh_key(kid) {
            return Ok(key);
        }
        let mut last = self.last_attempt.lock().await;
        // Another request may have fetched while this one waited for the lock.
        if let Some(key) = self.fresh_key(kid) {
            return Ok(key);
        }
        let now = Instant::now();
        if last.is_none_or(|t| now.duration_since(t) >= self.refresh) {
            *last = Some(now);
            if let Err(e) = self.fetch_and_store().await {
                tracing::warn!(url = %self.url, error = %e, "JWKS refresh failed; keeping the last good keys");
            }
        }
        drop(last);
        let set = self.current();
        match set.keys.get(kid) {
            Some(key) => Ok(key.clone()),
            None if set.fetched_at.is_none() => Err(AuthFailure::KeysUnavailable),
            None => Err(AuthFailure::UnknownKey),
        }
    }

    fn current(&self) -> Arc<KeySet> {
        self.keys
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The key, if the set holds it and is within its TTL.
    fn fresh_key(&self, kid: &str) -> Option<PinnedKey> {
        let set = self.current();
        let fresh = set.fetched_at.is_some_and(|t| t.elapsed() < self.ttl);
        if fresh {
            set.keys.get(kid).cloned()
        } else {
            None
        }
    }

    async fn fetch_and_store(&self) -> Result<usize, JwksError> {
        let keys = self.fetch().await?;
        let n = keys.len();
        let set = Arc::new(KeySet {
            keys,
            fetched_at: Some(Instant::now()),
        });
        *self
            .keys
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = set;
        tracing::info!(url = %self.url, keys = n, "JWKS fetched");
        Ok(n)
    }

    async fn fetch(&self) -> Result<HashMap<String, PinnedKey>, JwksError> {
        let mut response = self.client.get(self.url.clone()).send().await?;
        if !response.status().is_success() {
            return Err(JwksError::Status(response.status()));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_JWKS_BYTES as u64)
        {
            return Err(JwksError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(JwksError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        let keys = parse_jwks(&body)?;
        if keys.is_empty() {
            return Err(JwksError::NoUsableKeys);
        }
        Ok(keys)
    }
}

/// The usable keys of a JWKS document. A key that does not parse or is not allowed is skipped
/// (logged), so one exotic key does not hide the others.
fn parse_jwks(body: &[u8]) -> Result<HashMap<String, PinnedKey>, JwksError> {
    #[derive(Deserialize)]
    struct Document {
        keys: Vec<serde_json::Value>,
    }
    let document: Document = serde_json::from_slice(body).map_err(|_| JwksError::NotJwks)?;
    let mut keys = HashMap::new();
    for raw in document.keys {
        let jwk: Jwk = match serde_json::from_value(raw) {
            Ok(jwk) => jwk,
            Err(e) => {
                tracing::debug!(error = %e, "JWKS: skipping a key that does not parse");
                continue;
            }
        };
        match pin(&jwk) {
            Some((kid, key)) => {
                keys.insert(kid, key);
            }
            None => {
                tracing::debug!(kid = ?jwk.common.key_id, "JWKS: skipping a key that is not an RS256/ES256 signing key with a kid")
            }
        }
    }
    Ok(keys)
}

/// The one algorithm a key verifies, decided by the key alone: RSA → RS256, EC P-256 → ES256;
/// a declared `alg` must agree, `use` must be `sig` when present, and a `kid` is required.
fn pin(jwk: &Jwk) -> Option<(String, PinnedKey)> {
    let kid = jwk.common.key_id.as_ref().filter(|k| !k.is_empty())?;
    if jwk
        .common
        .public_key_use
        .as_ref()
        .is_some_and(|u| *u != PublicKeyUse::Signature)
    {
        return None;
    }
    let algorithm = match (&jwk.algorithm, &jwk.common.key_algorithm) {
        (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
        (AlgorithmParameters::EllipticCurve(ec), None | Some(KeyAlgorithm::ES256))
            if ec.curve == EllipticCurve::P256 =>
        {
            Algorithm::ES256
        }
        _ => return None,
    };
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some((
        kid.clone(),
        PinnedKey {
            algorithm,
            key: Arc::new(key),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kids(doc: serde_json::Value) -> Vec<(String, Algorithm)> {
        let mut v: Vec<_> = parse_jwks(doc.to_string().as_bytes())
            .unwrap()
            .into_iter()
            .map(|(k, p)| (k, p.algorithm))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    // A P-256 public point and a 2048-bit modulus are not needed to pin: components are only
    // decoded from base64url here, so short placeholders stand in for real keys.
    const N: &str = "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw";
    const X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    const Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

    #[test]
    fn the_key_decides_the_algorithm_and_unusable_keys_are_skipped() {
        let doc = serde_json::json!({"keys": [
            {"kty": "RSA", "kid": "rsa", "n": N, "e": "AQAB"},
            {"kty": "RSA", "kid": "rsa-alg", "alg": "RS256", "use": "sig", "n": N, "e": "AQAB"},
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": X, "y": Y},
            // Not pinned: RS384, an encryption key, no kid, an HMAC secret, a P-256 key that
            // claims RS256, an unknown key type.
            {"kty": "RSA", "kid": "rs384", "alg": "RS384", "n": N, "e": "AQAB"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": N, "e": "AQAB"},
            {"kty": "RSA", "n": N, "e": "AQAB"},
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "EC", "kid": "ec-rs", "alg": "RS256", "crv": "P-256", "x": X, "y": Y},
            {"kty": "weird", "kid": "weird"},
        ]});
        assert_eq!(
            kids(doc),
            vec![
                ("ec".to_string(), Algorithm::ES256),
                ("rsa".to_string(), Algorithm::RS256),
                ("rsa-alg".to_string(), Algorithm::RS256),
            ]
        );
    }

    #[test]
    fn urls_must_be_https_unless_loopback() {
        assert!(JwksVerifier::new(&JwksConfig::new("https://idp.example.com/jwks")).is_ok());
        assert!(JwksVerifier::new(&JwksConfig::new("http://127.0.0.1:9/jwks")).is_ok());
        assert!(JwksVerifier::new(&JwksConfig::new("http://localhost:9/jwks")).is_ok());
        let e = JwksVerifier::new(&JwksConfig::new("http://idp.example.com/jwks")).unwrap_err();
        assert!(e.contains("must use https"), "{e}");
        assert!(JwksVerifier::new(&JwksConfig::new("not a url")).is_err());
    }

    #[test]
    fn config_has_defaults_and_refuses_unknown_fields() {
        let c: JwksConfig = toml::from_str("url = \"https://idp/jwks\"").unwrap();
        assert_eq!(c, JwksConfig::new("https://idp/jwks"));
        assert!(toml::from_str::<JwksConfig>("url = \"x\"\nrefresh = 1").is_err());
    }
}
