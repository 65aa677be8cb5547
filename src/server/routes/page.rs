//! `GET /` (the chat page), `GET /q/{id}` (the same page, showing a past answer) and `GET /assets/{path}` (its script, style and the vendored chart
//! renderer), all compiled into the binary from `web/`: nothing is fetched at run time.
//!
//! Invariants: every response here carries the security headers (`SECURITY_HEADERS`); the page
//! is the only place demo tokens are written, only when `AppState::demo_tokens` is set (by
//! `tally demo`), as a JSON data block whose `<`, `>` and `&` are escaped, and never cached.

use std::sync::OnceLock;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::get;
use axum::Router;

use crate::server::error::ApiError;
use crate::server::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        // A permalink to one of the caller's past answers: the same page, which reads the id
        // from its address and asks `GET /v1/queries/{id}/answer` with the caller's token.
        .route("/q/{id}", get(index))
        .route("/assets/{*path}", get(asset))
}

/// Scripts, styles, images and connections only from this origin, no inline code, no framing.
/// The chart renderer runs without `eval`: the page calls vega-embed with `ast: true`, which
/// evaluates Vega expressions with its bundled vega-interpreter instead of generated functions,
/// so `script-src` needs no `'unsafe-eval'`.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

const SECURITY_HEADERS: [(HeaderName, &str); 5] = [
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    ),
];

const INDEX_HTML: &str = include_str!("../../../web/index.html");

/// Where the demo tokens go in `web/index.html`.
const DEMO_TOKENS_SLOT: &str = "<!--tally:demo-tokens-->";

/// The files under `/assets/`: path, content type, bytes.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../web/app.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../web/app.css"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("../../../web/favicon.svg"),
    ),
    (
        "vendor/vega.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../web/vendor/vega.min.js"),
    ),
    (
        "vendor/vega-lite.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../web/vendor/vega-lite.min.js"),
    ),
    (
        "vendor/vega-embed.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../web/vendor/vega-embed.min.js"),
    ),
    (
        "vendor/LICENSES.txt",
        "text/plain; charset=utf-8",
        include_bytes!("../../../web/vendor/LICENSES.txt"),
    ),
];

async fn index(State(state): State<AppState>) -> HttpResponse {
    let html = match &state.demo_tokens {
        Some(tokens) => {
            let roles: Vec<serde_json::Value> = tokens
                .iter()
                .map(|(role, token)| serde_json::json!({"role": role, "token": token}))
                .collect();
            let block = format!(
                r#"<script type="application/json" id="demo-tokens">{}</script>"#,
                json_for_html(&serde_json::Value::Array(roles))
            );
            INDEX_HTML.replacen(DEMO_TOKENS_SLOT, &block, 1)
        }
        None => INDEX_HTML.replacen(DEMO_TOKENS_SLOT, "", 1),
    };
    // The demo page holds live tokens: never store it.
    let mut headers = secured("text/html; charset=utf-8");
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    (StatusCode::OK, headers, html).into_response()
}

async fn asset(Path(path): Path<String>, request_headers: HeaderMap) -> HttpResponse {
    let Some(i) = ASSETS.iter().position(|(p, _, _)| *p == path) else {
        return ApiError::NotFound.into_response();
    };
    let (_, content_type, bytes) = ASSETS[i];
    let etag = &etags()[i];
    let mut headers = secured(content_type);
    // Revalidated on every load, so a new binary's assets are never served stale.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::ETAG,
        HeaderValue::from_str(etag).expect("an etag is ASCII"),
    );
    let fresh = request_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if fresh {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (StatusCode::OK, headers, bytes).into_response()
}

fn secured(content_type: &'static str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
}

/// One strong ETag per asset (FNV-1a of its bytes), computed once.
fn etags() -> &'static [String] {
    static ETAGS: OnceLock<Vec<String>> = OnceLock::new();
    ETAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|(_, _, bytes)| {
                let h = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                    (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
                });
                format!("\"{h:016x}\"")
            })
            .collect()
    })
}

/// JSON that is safe inside a `<script>` data block: no `</script>`, no `<!--`, no entities.
fn json_for_html(value: &serde_json::Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_in_a_script_block_cannot_close_it() {
        let v = serde_json::json!({"role": "</script><script>alert(1)</script>&amp;"});
        let s = json_for_html(&v);
        assert!(
            !s.contains('<') && !s.contains('>') && !s.contains('&'),
            "{s}"
        );
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn the_page_has_one_slot_for_demo_tokens() {
        assert_eq!(INDEX_HTML.matches(DEMO_TOKENS_SLOT).count(), 1);
    }

    /// `web/vendor/` is generated by `web/vendor.sh` from the versions `web/package.json` pins.
    #[test]
    fn vendored_renderer_matches_the_pinned_versions() {
        let package: serde_json::Value =
            serde_json::from_str(include_str!("../../../web/package.json")).unwrap();
        let notice = include_str!("../../../web/vendor/LICENSES.txt");
        for (name, version) in package["devDependencies"].as_object().unwrap() {
            let line = format!("== {name} {} ", version.as_str().unwrap());
            assert!(
                notice.contains(&line),
                "web/vendor/ is not {name} {version}: run `cd web && npm ci && sh vendor.sh`"
            );
            let path = format!("vendor/{name}.min.js");
            assert!(ASSETS.iter().any(|(p, _, _)| *p == path), "{path}");
        }
    }

    #[test]
    fn every_asset_the_page_names_is_embedded() {
        for reference in INDEX_HTML.split("/assets/").skip(1) {
            let path = reference.split('"').next().unwrap();
            assert!(
                ASSETS.iter().any(|(p, _, _)| *p == path),
                "index.html names /assets/{path}, which is not embedded"
            );
        }
    }
}
