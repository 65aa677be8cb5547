//! The chat page (`GET /`): its headers and demo tokens over HTTP, and the whole page in a real
//! browser: `web/e2e/chat.mjs` drives Debian's chromium with playwright-core against the built
//! `tally demo --today 2026-11-23` on 127.0.0.1 — the chat, then each answer kind at 1200 and
//! 390 px (its element holds the response's values, no sideways scroll, nothing under the
//! input), the CSV download, permalinks (owner only), the glossary, keyboard-only use and AA
//! contrast. The browser test is `#[ignore]`d (it needs node,
//! chromium and `npm ci` in web/e2e, which `.ci/run` installs): `cargo test -- --ignored` runs it
//! and fails, naming what is missing, without them.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tally::server::{AuthConfig, DevSecret};

const SECRET: &str = "browser-test-secret-0123456789abcdef01234567";

/// A server on an ephemeral port (see `common::http`), with demo tokens when given.
async fn start(demo_tokens: Option<Vec<(String, String)>>) -> common::http::Api {
    let secret = DevSecret::new(SECRET).unwrap();
    common::http::start(
        AuthConfig::hs256(&secret, "t", "t"),
        |state| match demo_tokens {
            Some(tokens) => state.with_demo_tokens(tokens),
            None => state,
        },
    )
    .await
}

fn assert_security_headers(response: &reqwest::Response) {
    let h = response.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(csp.contains("style-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "no-referrer");
}

#[tokio::test]
async fn the_page_and_its_assets_carry_security_headers_and_no_tokens_outside_the_demo() {
    let api = start(None).await;
    let (base, client) = (&api.base, &api.client);

    let page = client.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_security_headers(&page);
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("demo-tokens"),
        "no token block outside `tally demo`"
    );
    assert!(
        html.contains("id=\"token-form\""),
        "the page asks for a token"
    );

    let js = client
        .get(format!("{base}/assets/app.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), StatusCode::OK);
    assert_security_headers(&js);
    assert!(js.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    let etag = js.headers()["etag"].clone();
    let again = client
        .get(format!("{base}/assets/app.js"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    let vega = client
        .get(format!("{base}/assets/vendor/vega-embed.min.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(vega.status(), StatusCode::OK);

    for missing in ["/assets/nope.js", "/assets/../Cargo.toml", "/assets/"] {
        let r = client.get(format!("{base}{missing}")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{missing}");
    }
}

#[tokio::test]
async fn the_demo_page_carries_its_tokens_escaped_for_a_script_block() {
    let hostile = "a.b.c</script><script>alert(1)</script>".to_string();
    let api = start(Some(vec![
        ("analyst".into(), "x.y.z".into()),
        ("executive".into(), hostile),
    ]))
    .await;
    let page = reqwest::get(format!("{}/", api.base)).await.unwrap();
    assert_security_headers(&page);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    let start = html
        .find(r#"<script type="application/json" id="demo-tokens">"#)
        .expect("the demo token block");
    let block = &html[start..];
    let json = &block[block.find('>').unwrap() + 1..block.find("</script>").unwrap()];
    let tokens: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(tokens[0]["role"], "analyst");
    assert_eq!(tokens[0]["token"], "x.y.z");
    assert_eq!(
        tokens[1]["token"],
        "a.b.c</script><script>alert(1)</script>"
    );
    assert_eq!(
        html.matches("<script>").count(),
        0,
        "no markup from a token reaches the page"
    );
}

/// Kills the demo server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    [
        "/usr/lib/chromium/chromium",
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
}

fn node_runs() -> bool {
    Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// What the browser test needs and is missing, if anything.
fn missing_tools(e2e: &Path) -> Vec<&'static str> {
    let mut missing = Vec::new();
    if !node_runs() {
        missing.push("node (apt-get install nodejs npm)");
    }
    if chromium().is_none() {
        missing.push("chromium (apt-get install chromium)");
    }
    if !e2e
        .join("node_modules/playwright-core/package.json")
        .is_file()
    {
        missing.push("playwright-core (npm ci --prefix web/e2e)");
    }
    missing
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
#[ignore = "needs chromium, node and `npm ci --prefix web/e2e`: cargo test -- --ignored"]
async fn the_chat_page_in_a_real_browser() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let e2e = root.join("web").join("e2e");
    let missing = missing_tools(&e2e);
    if !missing.is_empty() {
        panic!("the browser test needs {}", missing.join(", "));
    }

    let out = root.join("target").join("e2e");
    std::fs::create_dir_all(&out).unwrap();
    // The chat's pictures, then each answer kind and the glossary at both widths (cropped to
    // the answer; `UPDATE_SCREENSHOTS=1` copies them into web/screenshots/).
    let mut shots: Vec<String> = ["01-answer", "02-inspector", "03-follow-up", "04-refusal"]
        .map(String::from)
        .to_vec();
    for kind in [
        "list",
        "overview",
        "funnel",
        "anomalies",
        "retention",
        "define",
        "chart",
        "glossary",
    ] {
        for width in ["desktop", "phone"] {
            shots.push(format!("{kind}-{width}"));
        }
    }
    for shot in &shots {
        // Screenshots of an earlier run must not pass for this one's.
        let _ = std::fs::remove_file(out.join(format!("{shot}.png")));
    }
    let db = common::demo_db().await;
    let addr = format!("127.0.0.1:{}", free_port());
    let log = std::fs::File::create(out.join("demo.log")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["demo", "--today", common::TODAY, "--addr", &addr])
        .arg("--warehouse")
        .arg(format!("sqlite://{}", db.display()))
        .env("TALLY_HOME", out.join("home"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start tally demo");
    let mut server = Server(child);

    let base = format!("http://{addr}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = reqwest::get(format!("{base}/healthz")).await {
            if r.status().is_success() {
                break;
            }
        }
        if let Ok(Some(status)) = server.0.try_wait() {
            panic!(
                "tally demo exited with {status}: {}",
                std::fs::read_to_string(out.join("demo.log")).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "tally demo did not answer /healthz within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut node = Command::new("node");
    node.arg(e2e.join("chat.mjs"))
        .current_dir(&root)
        .env("TALLY_URL", &base)
        .env("E2E_OUT", &out);
    if let Some(browser) = chromium() {
        node.env("CHROMIUM", browser);
    }
    let run = tokio::task::spawn_blocking(move || node.output())
        .await
        .unwrap()
        .expect("run node web/e2e/chat.mjs");
    drop(server);
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    println!("{stdout}");
    assert!(
        run.status.success(),
        "the browser scenario failed ({}):\n{stdout}\n{stderr}",
        run.status
    );
    for shot in &shots {
        assert!(out.join(format!("{shot}.png")).is_file(), "{shot}.png");
    }
}
