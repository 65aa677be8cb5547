//! Authentication against a real listener: RS256/ES256 tokens verified with keys from a JWKS
//! served by a fake identity provider on 127.0.0.1 (the only fake), HS256 dev tokens, the JWT
//! attack list, JWKS caching and refresh, and the per-user rate limit.
//!
//! Keys are generated per run with aws-lc-rs (RSA 2048, P-256) and tokens are signed by hand
//! (header, payload, signature), so a test can forge any header a real attacker could.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::Engine as _;
use common::http::{now, start, Api, Reply, AUDIENCE, ISSUER};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tally::server::{self, AuthConfig, DevSecret, JwksConfig, JwksVerifier, RateLimitConfig};

const SECRET: &str = "http-auth-test-secret-0123456789abcdef0123";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A signing key of the fake identity provider.
enum TestKey {
    Rsa(aws_lc_rs::rsa::KeyPair),
    Ec(EcdsaKeyPair),
}

impl TestKey {
    fn rsa() -> TestKey {
        TestKey::Rsa(aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap())
    }

    fn ec() -> TestKey {
        TestKey::Ec(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap())
    }

    /// The public key as a JWK, as an identity provider publishes it.
    fn jwk(&self, kid: &str) -> Value {
        match self {
            TestKey::Rsa(k) => {
                let public = k.public_key();
                json!({
                    "kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                    "n": b64(public.modulus().big_endian_without_leading_zero()),
                    "e": b64(public.exponent().big_endian_without_leading_zero()),
                })
            }
            TestKey::Ec(k) => {
                // Uncompressed point: 0x04 ‖ x ‖ y.
                let point = k.public_key().as_ref();
                json!({
                    "kty": "EC", "kid": kid, "use": "sig", "crv": "P-256",
                    "x": b64(&point[1..33]), "y": b64(&point[33..65]),
                })
            }
        }
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            TestKey::Rsa(k) => {
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(
                    &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                    &rng,
                    message,
                    &mut sig,
                )
                .unwrap();
                sig
            }
            TestKey::Ec(k) => k.sign(&rng, message).unwrap().as_ref().to_vec(),
        }
    }

    /// The RSA public key as DER (SubjectPublicKeyInfo): what a key-confusion attacker has.
    fn public_der(&self) -> Vec<u8> {
        match self {
            TestKey::Rsa(k) => k.public_key().as_der().unwrap().as_ref().to_vec(),
            TestKey::Ec(k) => k.public_key().as_ref().to_vec(),
        }
    }
}

/// `header.payload` of a compact JWT.
fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

fn jwt(header: Value, claims: &Value, key: &TestKey) -> String {
    let input = signing_input(&header, claims);
    let sig = key.sign(input.as_bytes());
    format!("{input}.{}", b64(&sig))
}

fn hs256(header: Value, claims: &Value, secret: &[u8]) -> String {
    let input = signing_input(&header, claims);
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

fn claims(subject: &str) -> Value {
    json!({
        "sub": subject,
        "role": "analyst",
        "workspaces": ["acme"],
        "jti": format!("jti-{subject}"),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now(),
        "exp": now() + 600,
    })
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

/// The fake identity provider: serves the current key set and counts fetches.
struct Idp {
    url: String,
    keys: Arc<Mutex<Value>>,
    fetches: Arc<AtomicUsize>,
}

async fn idp(keys: Value) -> Idp {
    use axum::routing::get;
    let keys = Arc::new(Mutex::new(keys));
    let fetches = Arc::new(AtomicUsize::new(0));
    let (k, f) = (keys.clone(), fetches.clone());
    let app = axum::Router::new()
        .route(
            "/.well-known/jwks.json",
            get(move || {
                let (k, f) = (k.clone(), f.clone());
                async move {
                    f.fetch_add(1, Ordering::SeqCst);
                    axum::Json(k.lock().unwrap().clone())
                }
            }),
        )
        .route(
            "/broken",
            get(|| async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "down") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Idp {
        url: format!("http://{addr}/.well-known/jwks.json"),
        keys,
        fetches,
    }
}

fn jwks(url: &str, refresh_secs: u64) -> JwksVerifier {
    JwksVerifier::new(&JwksConfig {
        refresh_secs,
        ..JwksConfig::new(url)
    })
    .unwrap()
}

fn dev_secret() -> DevSecret {
    DevSecret::new(SECRET).unwrap()
}

fn dev_token(subject: &str) -> String {
    server::mint_dev_token(
        &dev_secret(),
        ISSUER,
        AUDIENCE,
        subject,
        "analyst",
        &["acme".to_string()],
        std::time::Duration::from_secs(600),
    )
    .unwrap()
}

/// The IdP's two keys and a server trusting both them and the dev secret.
struct Setup {
    api: Api,
    idp: Idp,
    rsa: TestKey,
    ec: TestKey,
}

async fn setup(refresh_secs: u64) -> Setup {
    let (rsa, ec) = (TestKey::rsa(), TestKey::ec());
    let idp = idp(json!({"keys": [rsa.jwk("rsa-1"), ec.jwk("ec-1")]})).await;
    let auth =
        AuthConfig::hs256(&dev_secret(), ISSUER, AUDIENCE).with_jwks(jwks(&idp.url, refresh_secs));
    let api = start(auth, |s| s).await;
    Setup { api, idp, rsa, ec }
}

fn assert_refused(reply: &Reply, reason: &str, what: &str) {
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "{what}: {}",
        reply.text
    );
    assert_eq!(reply.body["code"], "unauthorized", "{what}");
    assert_eq!(reply.body["reason"], reason, "{what}: {}", reply.text);
    assert!(
        reply.headers.contains_key("www-authenticate"),
        "{what}: 401 carries WWW-Authenticate"
    );
}

#[tokio::test]
async fn rs256_and_es256_tokens_from_the_jwks_and_dev_tokens_are_accepted() {
    let s = setup(60).await;
    let rs = jwt(
        json!({"alg": "RS256", "typ": "JWT", "kid": "rsa-1"}),
        &claims("sso-rsa"),
        &s.rsa,
    );
    let es = jwt(
        json!({"alg": "ES256", "typ": "JWT", "kid": "ec-1"}),
        &claims("sso-ec"),
        &s.ec,
    );
    for (what, token) in [
        ("RS256", rs),
        ("ES256", es),
        ("HS256 dev", dev_token("dev")),
    ] {
        let r = s.api.get("/v1/catalog", Some(&token)).await;
        assert_eq!(r.status, StatusCode::OK, "{what}: {}", r.text);
        assert_eq!(r.body["role"]["name"], "analyst", "{what}");
    }
    // One fetch served both SSO tokens.
    assert_eq!(s.idp.fetches.load(Ordering::SeqCst), 1);

    // A real query end to end with an SSO token.
    let dau = json!({"dsl": {"kind":"metric","metrics":["dau"],"period":{"preset":"last_week"}}});
    let token = jwt(
        json!({"alg": "ES256", "kid": "ec-1"}),
        &claims("sso-ec"),
        &s.ec,
    );
    let r = s.api.post("/v1/query", Some(&token), &dau).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["outcome"], "answered");
}

#[tokio::test]
async fn the_jwt_attack_list_is_refused_with_the_failed_check() {
    let s = setup(60).await;
    let rs = |header: Value, claims: &Value| jwt(header, claims, &s.rsa);
    let rs_header = json!({"alg": "RS256", "kid": "rsa-1"});
    let good = rs(rs_header.clone(), &claims("victim"));
    assert_eq!(
        s.api.get("/v1/catalog", Some(&good)).await.status,
        StatusCode::OK
    );

    // alg none, with and without a key id, with and without a signature.
    let none_header = b64(json!({"alg": "none", "kid": "rsa-1"})
        .to_string()
        .as_bytes());
    let payload = b64(claims("victim").to_string().as_bytes());
    for token in [
        format!("{none_header}.{payload}."),
        format!("{none_header}.{payload}.{}", b64(b"x")),
        format!(
            "{}.{payload}.",
            b64(json!({"alg": "none"}).to_string().as_bytes())
        ),
    ] {
        let r = s.api.get("/v1/catalog", Some(&token)).await;
        assert_refused(&r, "algorithm_not_allowed", "alg none");
    }

    // HS/RS key confusion: an HMAC keyed with the RSA public key, naming the RSA key.
    let public = s.rsa.public_der();
    let confused = hs256(
        json!({"alg": "HS256", "kid": "rsa-1"}),
        &claims("victim"),
        &public,
    );
    let r = s.api.get("/v1/catalog", Some(&confused)).await;
    assert_refused(&r, "algorithm_not_allowed", "HS/RS key confusion");
    // The same without a kid reaches only the dev secret, which it does not match.
    let confused = hs256(json!({"alg": "HS256"}), &claims("victim"), &public);
    let r = s.api.get("/v1/catalog", Some(&confused)).await;
    assert_refused(&r, "bad_signature", "HMAC with the public key, no kid");

    // The header names an algorithm other than the key's: the key decides.
    let r = s
        .api
        .get(
            "/v1/catalog",
            Some(&rs(json!({"alg": "ES256", "kid": "rsa-1"}), &claims("v"))),
        )
        .await;
    assert_refused(&r, "algorithm_not_allowed", "ES256 header on an RSA key");
    let r = s
        .api
        .get(
            "/v1/catalog",
            Some(&jwt(
                json!({"alg": "RS256", "kid": "ec-1"}),
                &claims("v"),
                &s.ec,
            )),
        )
        .await;
    assert_refused(&r, "algorithm_not_allowed", "RS256 header on an EC key");
    for alg in ["RS384", "PS256", "HS512", "EdDSA"] {
        let r = s
            .api
            .get(
                "/v1/catalog",
                Some(&rs(json!({"alg": alg, "kid": "rsa-1"}), &claims("v"))),
            )
            .await;
        assert_refused(&r, "algorithm_not_allowed", alg);
    }

    // Claims: issuer, audience, expiry, not-before, missing exp.
    let cases = [
        (
            with(claims("v"), "iss", json!("https://evil.example")),
            "wrong_issuer",
        ),
        (
            with(claims("v"), "aud", json!("someone-else")),
            "wrong_audience",
        ),
        (with(claims("v"), "exp", json!(now() - 3600)), "expired"),
        (
            with(claims("v"), "nbf", json!(now() + 3600)),
            "not_yet_valid",
        ),
        (
            {
                let mut c = claims("v");
                c.as_object_mut().unwrap().remove("exp");
                c
            },
            "missing_claim",
        ),
        (
            with(claims("v"), "iat", json!(now() + 3600)),
            "invalid_claims",
        ),
    ];
    for (c, reason) in cases {
        let r = s
            .api
            .get("/v1/catalog", Some(&rs(rs_header.clone(), &c)))
            .await;
        assert_refused(&r, reason, reason);
    }

    // Tampered payload: a valid token whose payload is swapped for an admin's.
    let mut parts: Vec<&str> = good.split('.').collect();
    let admin = b64(with(claims("victim"), "role", json!("admin"))
        .to_string()
        .as_bytes());
    parts[1] = &admin;
    let r = s.api.get("/v1/catalog", Some(&parts.join("."))).await;
    assert_refused(&r, "bad_signature", "tampered payload");

    // Signed by a key the IdP never published, under a published kid.
    let stranger = TestKey::rsa();
    let r = s
        .api
        .get(
            "/v1/catalog",
            Some(&jwt(rs_header.clone(), &claims("v"), &stranger)),
        )
        .await;
    assert_refused(&r, "bad_signature", "foreign key under a known kid");

    // Unknown and missing kid.
    let r = s
        .api
        .get(
            "/v1/catalog",
            Some(&jwt(
                json!({"alg": "RS256", "kid": "nobody"}),
                &claims("v"),
                &stranger,
            )),
        )
        .await;
    assert_refused(&r, "unknown_key", "unknown kid");
    let r = s
        .api
        .get(
            "/v1/catalog",
            Some(&rs(json!({"alg": "RS256"}), &claims("v"))),
        )
        .await;
    assert_refused(&r, "missing_kid", "no kid");

    // Not a JWT at all.
    let r = s.api.get("/v1/catalog", Some("not.a.jwt")).await;
    assert_refused(&r, "malformed_token", "garbage");
}

#[tokio::test]
async fn a_jwks_only_server_refuses_every_hs256_token() {
    let rsa = TestKey::rsa();
    let idp = idp(json!({"keys": [rsa.jwk("rsa-1")]})).await;
    let api = start(
        AuthConfig::jwks(jwks(&idp.url, 60), ISSUER, AUDIENCE),
        |s| s,
    )
    .await;
    let public = rsa.public_der();
    for (what, token) in [
        (
            "HMAC with the public key, kid",
            hs256(
                json!({"alg": "HS256", "kid": "rsa-1"}),
                &claims("v"),
                &public,
            ),
        ),
        (
            "HMAC with the public key, no kid",
            hs256(json!({"alg": "HS256"}), &claims("v"), &public),
        ),
        ("a dev token", dev_token("dev")),
    ] {
        let r = api.get("/v1/catalog", Some(&token)).await;
        assert_refused(&r, "algorithm_not_allowed", what);
    }
    // No HS256 token reached the IdP: the algorithm was refused before any key lookup.
    assert_eq!(idp.fetches.load(Ordering::SeqCst), 0);
    let ok = jwt(json!({"alg": "RS256", "kid": "rsa-1"}), &claims("v"), &rsa);
    assert_eq!(
        api.get("/v1/catalog", Some(&ok)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn unknown_kids_refetch_at_most_once_per_interval() {
    let s = setup(60).await;
    let ok = jwt(
        json!({"alg": "RS256", "kid": "rsa-1"}),
        &claims("v"),
        &s.rsa,
    );
    assert_eq!(
        s.api.get("/v1/catalog", Some(&ok)).await.status,
        StatusCode::OK
    );
    assert_eq!(s.idp.fetches.load(Ordering::SeqCst), 1);
    // A flood of made-up kids within the interval costs the IdP nothing.
    for i in 0..5 {
        let token = jwt(
            json!({"alg": "RS256", "kid": format!("made-up-{i}")}),
            &claims("v"),
            &s.rsa,
        );
        let r = s.api.get("/v1/catalog", Some(&token)).await;
        assert_refused(&r, "unknown_key", "made-up kid");
    }
    assert_eq!(s.idp.fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_on_its_first_token() {
    let s = setup(0).await;
    let ok = jwt(json!({"alg": "ES256", "kid": "ec-1"}), &claims("v"), &s.ec);
    assert_eq!(
        s.api.get("/v1/catalog", Some(&ok)).await.status,
        StatusCode::OK
    );
    // The IdP rotates: a new key appears, the old RSA key is withdrawn.
    let next = TestKey::rsa();
    *s.idp.keys.lock().unwrap() = json!({"keys": [next.jwk("rsa-2"), s.ec.jwk("ec-1")]});
    let rotated = jwt(json!({"alg": "RS256", "kid": "rsa-2"}), &claims("v"), &next);
    let r = s.api.get("/v1/catalog", Some(&rotated)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(s.idp.fetches.load(Ordering::SeqCst), 2);
    let withdrawn = jwt(
        json!({"alg": "RS256", "kid": "rsa-1"}),
        &claims("v"),
        &s.rsa,
    );
    let r = s.api.get("/v1/catalog", Some(&withdrawn)).await;
    assert_refused(&r, "unknown_key", "withdrawn key");
}

#[tokio::test]
async fn an_unreachable_jwks_is_503_not_a_bad_token() {
    let rsa = TestKey::rsa();
    let idp = idp(json!({"keys": [rsa.jwk("rsa-1")]})).await;
    let broken = idp.url.replace("/.well-known/jwks.json", "/broken");
    let api = start(AuthConfig::jwks(jwks(&broken, 60), ISSUER, AUDIENCE), |s| s).await;
    let token = jwt(json!({"alg": "RS256", "kid": "rsa-1"}), &claims("v"), &rsa);
    let r = api.get("/v1/catalog", Some(&token)).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert_eq!(r.body["code"], "auth_unavailable");
    assert_eq!(r.body["reason"], "keys_unavailable");
    assert!(r.headers.contains_key("retry-after"));
}

#[tokio::test]
async fn over_the_rate_limit_is_429_with_retry_after_and_other_users_are_unaffected() {
    let api = start(AuthConfig::hs256(&dev_secret(), ISSUER, AUDIENCE), |s| {
        s.with_rate_limit(RateLimitConfig {
            requests: 3,
            per_secs: 60,
            ..RateLimitConfig::default()
        })
        .unwrap()
    })
    .await;
    let ann = dev_token("ann");
    for i in 0..3 {
        let r = api.get("/v1/catalog", Some(&ann)).await;
        assert_eq!(r.status, StatusCode::OK, "request {i}: {}", r.text);
    }
    let r = api.get("/v1/catalog", Some(&ann)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(r.body["code"], "rate_limited");
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    // One token comes back every 20 s.
    assert!((1..=20).contains(&retry), "Retry-After: {retry}");
    // Another token of the same subject shares the budget; another subject has its own.
    let r = api.get("/v1/catalog", Some(&dev_token("ann"))).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let bob = dev_token("bob");
    for _ in 0..3 {
        assert_eq!(
            api.get("/v1/catalog", Some(&bob)).await.status,
            StatusCode::OK
        );
    }
    // Forged tokens naming cid do not spend cid's budget: they fail before the limit.
    let forged = hs256(
        json!({"alg": "HS256"}),
        &claims("cid"),
        b"not-the-secret-not-the-secret-000",
    );
    for _ in 0..5 {
        assert_eq!(
            api.get("/v1/catalog", Some(&forged)).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let cid = dev_token("cid");
    for _ in 0..3 {
        assert_eq!(
            api.get("/v1/catalog", Some(&cid)).await.status,
            StatusCode::OK
        );
    }
}

/// `[rate_limit] redis` pointing at a Redis that does not answer (nothing listens on port 1):
/// the server still serves, this process's own buckets hold the same limit, and `/metrics`
/// says the fallback is on.
#[tokio::test]
async fn an_unreachable_redis_falls_back_to_this_process_buckets_and_says_so() {
    let api = start(AuthConfig::hs256(&dev_secret(), ISSUER, AUDIENCE), |s| {
        s.with_rate_limit(RateLimitConfig {
            requests: 3,
            per_secs: 60,
            redis: Some("redis://127.0.0.1:1".into()),
            ..RateLimitConfig::default()
        })
        .unwrap()
    })
    .await;
    let gauge = |text: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix("tally_rate_limit_redis_fallback "))
            .map(str::to_string)
    };
    let before = api.get("/metrics", None).await;
    assert_eq!(gauge(&before.text).as_deref(), Some("0"), "not tried yet");
    let ann = dev_token("ann");
    for i in 0..3 {
        let r = api.get("/v1/catalog", Some(&ann)).await;
        assert_eq!(r.status, StatusCode::OK, "request {i}: {}", r.text);
    }
    let r = api.get("/v1/catalog", Some(&ann)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=20).contains(&retry), "Retry-After: {retry}");
    let after = api.get("/metrics", None).await;
    assert_eq!(gauge(&after.text).as_deref(), Some("1"), "{}", after.text);
}

#[tokio::test]
async fn crit_headers_long_lifetimes_missing_iat_and_oversize_tokens_are_refused_as_json() {
    let mut kept = None;
    let api = start(AuthConfig::hs256(&dev_secret(), ISSUER, AUDIENCE), |s| {
        kept = Some(s.clone());
        s
    })
    .await;
    let state = kept.unwrap();
    let secret = SECRET.as_bytes();
    let mut no_iat = claims("ivy");
    no_iat.as_object_mut().unwrap().remove("iat");
    let big_claims = with(claims("zed"), "pad", json!("x".repeat(20_000)));
    let cases = [
        (
            "crit names an extension",
            hs256(
                json!({"alg": "HS256", "crit": ["exp"]}),
                &claims("cid"),
                secret,
            ),
            "unsupported_crit",
        ),
        (
            "crit empty",
            hs256(json!({"alg": "HS256", "crit": []}), &claims("cid"), secret),
            "unsupported_crit",
        ),
        (
            "valid for two days",
            hs256(
                json!({"alg": "HS256"}),
                &with(claims("dan"), "exp", json!(now() + 2 * 86_400)),
                secret,
            ),
            "lifetime_too_long",
        ),
        (
            "no iat",
            hs256(json!({"alg": "HS256"}), &no_iat, secret),
            "missing_claim",
        ),
        (
            "a 20 KB token",
            hs256(json!({"alg": "HS256"}), &big_claims, secret),
            "token_too_large",
        ),
        ("a 100 KB header", "A".repeat(100_000), "token_too_large"),
    ];
    for (name, token, reason) in &cases {
        let r: Reply = api.get("/v1/catalog", Some(token)).await;
        assert_eq!(
            r.status,
            StatusCode::UNAUTHORIZED,
            "{name}: {}",
            r.text.len()
        );
        assert_eq!(r.body["code"], "unauthorized", "{name}: a JSON error");
        assert_eq!(r.body["reason"], *reason, "{name}");
    }
    // A day is the default maximum, and a token within it works.
    let day = hs256(
        json!({"alg": "HS256"}),
        &with(claims("eve"), "exp", json!(now() + 86_000)),
        secret,
    );
    assert_eq!(
        api.get("/v1/catalog", Some(&day)).await.status,
        StatusCode::OK
    );
    // Every refused token is in the audit log, counted by reason.
    state.flush_audit().await.unwrap();
    let rows = state
        .store
        .audit_rows(&tally::store::AuditFilter {
            after_seq: None,
            limit: 100,
            workspaces: None,
        })
        .await
        .unwrap();
    let failed = rows
        .iter()
        .find(|r| r.entry.event == "auth_failed")
        .expect("the refused tokens are audited");
    let detail: Value = serde_json::from_str(failed.entry.detail.as_deref().unwrap()).unwrap();
    assert_eq!(detail["coalesced"], cases.len());
    assert_eq!(detail["reasons"]["token_too_large"], 2);
    assert_eq!(detail["reasons"]["unsupported_crit"], 2);
}
