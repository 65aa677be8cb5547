//! Bearer tokens: verifies a JWT into its claims (`AuthConfig::verify`) and mints development
//! tokens. The request extractor that turns claims into a `Caller` is `caller.rs`.
//!
//! Two verifiers, each pinning its own algorithms: HS256 with a dev secret (tokens without a
//! `kid`), and RS256/ES256 against a JWKS URL (`jwks.rs`; a `kid` is required and the key it
//! names decides the one algorithm it verifies).
//!
//! Invariants: the accepted algorithm is pinned by the server's configuration and the key, never
//! taken from the token (so `alg: none` and key confusion fail before any key is used; an HS256
//! token carrying a `kid` is refused outright, since an HMAC over a published public key is the
//! key-confusion attack); `exp`, `iss` and `aud` are required and checked, `nbf` when present;
//! failure reasons name the check that failed and never echo a secret or the token.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::error::AuthFailure;
use super::jwks::JwksVerifier;

/// HS256 keys shorter than this are refused: the key must be as strong as the hash.
pub const MIN_SECRET_BYTES: usize = 32;

/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECONDS: u64 = 5;

/// Tokens longer than this are refused before they are decoded (a JWT of Tally's claims is a
/// few hundred bytes; an SSO token with groups a few KB).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The longest `exp - iat` accepted by default: a stolen token is useful for at most a day.
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// A shared HS256 secret for development tokens.
#[derive(Clone)]
pub struct DevSecret(Vec<u8>);

impl DevSecret {
    pub fn new(secret: impl Into<Vec<u8>>) -> Result<DevSecret, String> {
        let bytes = secret.into();
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "the dev secret must be at least {MIN_SECRET_BYTES} bytes (it has {})",
                bytes.len()
            ));
        }
        Ok(DevSecret(bytes))
    }

    /// A fresh random secret (64 hex characters), for `tally demo`.
    pub fn random() -> Result<DevSecret, String> {
        DevSecret::new(DevSecret::random_text()?)
    }

    /// The text of a fresh random secret (64 hex characters), for `tally serve --dev`.
    pub fn random_text() -> Result<String, String> {
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw).map_err(|e| format!("no system randomness: {e}"))?;
        Ok(raw.iter().map(|b| format!("{b:02x}")).collect())
    }
}

impl std::fmt::Debug for DevSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DevSecret(…)")
    }
}

/// What the server trusts: the issuer, the audience, and at least one verifier.
pub struct AuthConfig {
    issuer: String,
    audience: String,
    /// HS256 development tokens signed with a shared secret.
    dev: Option<DecodingKey>,
    /// RS256/ES256 tokens signed by an SSO issuer's JWKS keys.
    jwks: Option<JwksVerifier>,
    /// The longest `exp - iat` accepted.
    max_lifetime: Duration,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("dev_secret", &self.dev.is_some())
            .field("jwks", &self.jwks)
            .field("max_lifetime", &self.max_lifetime)
            .finish()
    }
}

/// The claims Tally reads from a verified token (`exp`, `iss`, `aud` are checked by the
/// verifier and not kept).
#[derive(Debug, Clone, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: String,
    pub workspaces: Vec<String>,
    pub jti: String,
    /// Seconds since the epoch; required (checked after decoding, so its absence reads as a
    /// missing claim), never in the future, and at most the maximum lifetime before `exp`.
    #[serde(default)]
    pub iat: Option<u64>,
    /// Required: the verifier refuses a token without it before the claims are read.
    #[serde(default)]
    pub exp: Option<u64>,
}

/// The parts of a JWT header read before any key is chosen.
#[derive(Debug, Deserialize)]
struct TokenHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    /// Extensions the recipient must understand (RFC 7515 §4.1.11); Tally understands none.
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

/// The claims a dev token is minted with.
#[derive(Debug, Serialize)]
struct MintedClaims<'a> {
    sub: &'a str,
    role: &'a str,
    workspaces: &'a [String],
    jti: String,
    iss: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
}

impl AuthConfig {
    /// The `iss` tokens must carry.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The `aud` tokens must carry.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// HS256 with a shared secret: for development and `tally demo`.
    pub fn hs256(secret: &DevSecret, issuer: &str, audience: &str) -> AuthConfig {
        AuthConfig {
            issuer: issuer.to_string(),
            audience: audience.to_string(),
            dev: Some(DecodingKey::from_secret(&secret.0)),
            jwks: None,
            max_lifetime: DEFAULT_MAX_LIFETIME,
        }
    }

    /// RS256/ES256 against a JWKS URL only (SSO, no dev tokens).
    pub fn jwks(jwks: JwksVerifier, issuer: &str, audience: &str) -> AuthConfig {
        AuthConfig {
            issuer: issuer.to_string(),
            audience: audience.to_string(),
            dev: None,
            jwks: Some(jwks),
            max_lifetime: DEFAULT_MAX_LIFETIME,
        }
    }

    /// Refuses tokens whose `exp - iat` is longer than `max` (default 24 h).
    pub fn with_max_lifetime(mut self, max: Duration) -> AuthConfig {
        self.max_lifetime = max;
        self
    }

    /// Also accepts RS256/ES256 tokens from a JWKS (dev tokens still verify only against the
    /// dev secret).
    pub fn with_jwks(mut self, jwks: JwksVerifier) -> AuthConfig {
        self.jwks = Some(jwks);
        self
    }

    /// The JWKS verifier, to prefetch its keys at start-up.
    pub fn jwks_verifier(&self) -> Option<&JwksVerifier> {
        self.jwks.as_ref()
    }

    /// Verifies a compact JWT: algorithm and key, signature, `exp`, `nbf`, `iss`, `aud`, then
    /// the claims.
    pub async fn verify(&self, token: &str) -> Result<Claims, AuthFailure> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthFailure::TooLarge);
        }
        let header = token_header(token)?;
        // A critical extension Tally does not implement must not be ignored (RFC 7515 §4.1.11).
        if header.crit.is_some() {
            return Err(AuthFailure::UnsupportedCritical);
        }
        // The header's `alg` only routes to a verifier; each verifier decides the algorithm it
        // accepts, so `none`, foreign algorithms and mismatches get a precise reason before a
        // signature is checked.
        let (algorithm, key) = match header.alg.as_str() {
            "HS256" => {
                // Dev tokens carry no `kid`; an HS256 token naming a key is an HMAC forged with
                // a published public key (key confusion).
                if header.kid.is_some() {
                    return Err(AuthFailure::AlgorithmNotAllowed);
                }
                let dev = self.dev.as_ref().ok_or(AuthFailure::AlgorithmNotAllowed)?;
                (Algorithm::HS256, KeyRef::Borrowed(dev))
            }
            "RS256" | "ES256" => {
                let jwks = self.jwks.as_ref().ok_or(AuthFailure::AlgorithmNotAllowed)?;
                let kid = header.kid.as_deref().ok_or(AuthFailure::MissingKeyId)?;
                let pinned = jwks.key(kid).await?;
                if header.alg.parse::<Algorithm>().ok() != Some(pinned.algorithm) {
                    return Err(AuthFailure::AlgorithmNotAllowed);
                }
                (pinned.algorithm, KeyRef::Shared(pinned.key))
            }
            _ => return Err(AuthFailure::AlgorithmNotAllowed),
        };
        let mut validation = Validation::new(algorithm);
        validation.algorithms = vec![algorithm];
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        let data = jsonwebtoken::decode::<Claims>(token, key.get(), &validation)
            .map_err(|e| failure_of(e.kind()))?;
        let c = data.claims;
        if c.sub.is_empty() || c.jti.is_empty() || c.role.is_empty() || c.workspaces.is_empty() {
            return Err(AuthFailure::InvalidClaims);
        }
        let Some(iat) = c.iat else {
            return Err(AuthFailure::MissingClaim);
        };
        // An `iat` in the future would dodge a "revoke everything issued before T".
        if iat > unix_now() + LEEWAY_SECONDS {
            return Err(AuthFailure::InvalidClaims);
        }
        let Some(exp) = c.exp else {
            return Err(AuthFailure::MissingClaim);
        };
        if exp.saturating_sub(iat) > self.max_lifetime.as_secs() {
            return Err(AuthFailure::LifetimeTooLong);
        }
        Ok(c)
    }
}

/// A verification key owned by the config (dev secret) or shared with the JWKS cache.
enum KeyRef<'a> {
    Borrowed(&'a DecodingKey),
    Shared(std::sync::Arc<DecodingKey>),
}

impl KeyRef<'_> {
    fn get(&self) -> &DecodingKey {
        match self {
            KeyRef::Borrowed(k) => k,
            KeyRef::Shared(k) => k,
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The `alg` and `kid` of a compact JWT's header.
fn token_header(token: &str) -> Result<TokenHeader, AuthFailure> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthFailure::Malformed);
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| AuthFailure::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| AuthFailure::Malformed)
}

fn failure_of(kind: &ErrorKind) -> AuthFailure {
    match kind {
        ErrorKind::InvalidSignature => AuthFailure::BadSignature,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            AuthFailure::AlgorithmNotAllowed
        }
        ErrorKind::ExpiredSignature => AuthFailure::Expired,
        ErrorKind::ImmatureSignature => AuthFailure::NotYetValid,
        ErrorKind::InvalidIssuer => AuthFailure::WrongIssuer,
        ErrorKind::InvalidAudience => AuthFailure::WrongAudience,
        ErrorKind::MissingRequiredClaim(_) => AuthFailure::MissingClaim,
        // The signature verified, so the payload is ours to read: its shape is wrong.
        ErrorKind::Json(_) => AuthFailure::InvalidClaims,
        _ => AuthFailure::Malformed,
    }
}

/// Mints an HS256 development token.
pub fn mint_dev_token(
    secret: &DevSecret,
    issuer: &str,
    audience: &str,
    subject: &str,
    role: &str,
    workspaces: &[String],
    ttl: Duration,
) -> Result<String, String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| format!("the system clock is before 1970: {e}"))?
        .as_secs();
    let mut jti = [0u8; 16];
    getrandom::fill(&mut jti).map_err(|e| format!("no system randomness: {e}"))?;
    let claims = MintedClaims {
        sub: subject,
        role,
        workspaces,
        jti: jti.iter().map(|b| format!("{b:02x}")).collect(),
        iss: issuer,
        aud: audience,
        iat: now,
        exp: now + ttl.as_secs(),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&secret.0),
    )
    .map_err(|e| format!("cannot sign the token: {e}"))
}
