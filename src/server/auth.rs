//! Bearer-token authentication: verifies a JWT and turns its claims into a `Caller`.
//!
//! Invariants: the accepted algorithm is pinned by the server's configuration, never taken from
//! the token (so `alg: none` and key confusion fail before any key is used); `exp`, `iss` and
//! `aud` are required and checked; a `Caller` exists only for a verified token whose role is in
//! the catalog. Failure reasons name the check that failed and never echo a secret or the token.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::error::{ApiError, AuthFailure};
use super::AppState;

/// HS256 keys shorter than this are refused: the key must be as strong as the hash.
pub const MIN_SECRET_BYTES: usize = 32;

/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECONDS: u64 = 5;

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
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw).map_err(|e| format!("no system randomness: {e}"))?;
        let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        DevSecret::new(hex)
    }
}

impl std::fmt::Debug for DevSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DevSecret(…)")
    }
}

/// How tokens are verified. Each verifier pins its own algorithms.
enum Verifier {
    /// Development tokens signed with a shared secret.
    Hs256(DecodingKey),
}

/// What the server trusts: the verifier, the issuer and the audience.
pub struct AuthConfig {
    issuer: String,
    audience: String,
    verifier: Verifier,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
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
    /// HS256 with a shared secret: for development and `tally demo`.
    pub fn hs256(secret: &DevSecret, issuer: &str, audience: &str) -> AuthConfig {
        AuthConfig {
            issuer: issuer.to_string(),
            audience: audience.to_string(),
            verifier: Verifier::Hs256(DecodingKey::from_secret(&secret.0)),
        }
    }

    fn algorithm(&self) -> Algorithm {
        match self.verifier {
            Verifier::Hs256(_) => Algorithm::HS256,
        }
    }

    /// Verifies a compact JWT: algorithm, signature, `exp`, `nbf`, `iss`, `aud`, then the claims.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthFailure> {
        let expected = self.algorithm();
        // Read the header's `alg` ourselves so `none` and foreign algorithms get a precise reason
        // before any key is touched.
        let named: Option<Algorithm> = header_algorithm(token)?.parse().ok();
        if named != Some(expected) {
            return Err(AuthFailure::AlgorithmNotAllowed);
        }
        let mut validation = Validation::new(expected);
        validation.algorithms = vec![expected];
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        let Verifier::Hs256(key) = &self.verifier;
        let data = jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map_err(|e| failure_of(e.kind()))?;
        let c = data.claims;
        if c.sub.is_empty() || c.jti.is_empty() || c.role.is_empty() || c.workspaces.is_empty() {
            return Err(AuthFailure::InvalidClaims);
        }
        Ok(c)
    }
}

/// The `alg` named in a compact JWT's header.
fn header_algorithm(token: &str) -> Result<String, AuthFailure> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthFailure::Malformed);
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| AuthFailure::Malformed)?;
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|_| AuthFailure::Malformed)?;
    value
        .get("alg")
        .and_then(|a| a.as_str())
        .map(str::to_string)
        .ok_or(AuthFailure::Malformed)
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

/// The verified caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub subject: String,
    pub role: String,
    pub workspaces: Vec<String>,
    pub token_id: String,
}

impl Caller {
    /// The workspace a request runs in: the one it names (if the token grants it), else the
    /// token's only workspace.
    pub fn workspace(&self, requested: Option<&str>) -> Result<String, ApiError> {
        match requested {
            Some(w) if self.workspaces.iter().any(|g| g == w) => Ok(w.to_string()),
            Some(_) => Err(ApiError::WorkspaceForbidden),
            None => match self.workspaces.as_slice() {
                [only] => Ok(only.clone()),
                _ => Err(ApiError::WorkspaceRequired),
            },
        }
    }
}

/// The token from an `Authorization: Bearer …` header.
fn bearer(parts: &Parts) -> Result<&str, AuthFailure> {
    let value = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or(AuthFailure::MissingToken)?
        .to_str()
        .map_err(|_| AuthFailure::NotBearer)?;
    let (scheme, token) = value.split_once(' ').ok_or(AuthFailure::NotBearer)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthFailure::NotBearer);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(AuthFailure::MissingToken);
    }
    Ok(token)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).map_err(ApiError::Unauthorized)?;
        let claims = state.auth.verify(token).map_err(ApiError::Unauthorized)?;
        if state.engine.catalog.role(&claims.role).is_none() {
            tracing::info!(role = %claims.role, "token role is not in the catalog");
            return Err(ApiError::UnknownRole);
        }
        Ok(Caller {
            subject: claims.sub,
            role: claims.role,
            workspaces: claims.workspaces,
            token_id: claims.jti,
        })
    }
}
