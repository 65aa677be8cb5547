//! The `tally` binary end to end, as a user runs it: real processes, a real SQLite file.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};
use sqlx::Row;

fn tally(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(args)
        .env(
            "TALLY_HOME",
            std::env::temp_dir().join("tally-cli-test-home"),
        )
        .output()
        .expect("run tally")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn run_json(dir: &Path, db: &Path, dsl: Value, role: &str) -> (i32, Value) {
    let q = write(dir, "q.json", &dsl.to_string());
    let warehouse = format!("sqlite://{}", db.display());
    let out = tally(&[
        "run",
        q.to_str().unwrap(),
        "--role",
        role,
        "--workspace",
        "acme",
        "--today",
        "2026-11-23",
        "--warehouse",
        &warehouse,
        "--json",
    ]);
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), v)
}

/// gen-demo writes a warehouse; the DAU question answers with the hand-calculated mean.
#[tokio::test]
async fn gen_demo_then_run_answers_dau_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let out = tally(&[
        "gen-demo",
        "--out",
        db.to_str().unwrap(),
        "--end-date",
        "2026-11-22",
        "--scale",
        "0.2",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let dsl = json!({"kind":"metric","metrics":["dau"],"period":{"preset":"last_week"},"compare":"previous_period"});
    let (code, r) = run_json(dir.path(), &db, dsl, "analyst");
    assert_eq!(code, 0);
    assert_eq!(r["outcome"], "answered");
    assert_eq!(
        r["data"]["period"],
        json!({"start":"2026-11-16","end":"2026-11-22"})
    );

    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", db.display()))
        .await
        .unwrap();
    let mean = |start: &'static str, end: &'static str| {
        let pool = pool.clone();
        async move {
            let rows = sqlx::query(
                "SELECT substr(ts, 1, 10) AS d, COUNT(DISTINCT user_id) FROM events \
                 WHERE workspace_id = 'acme' AND ts >= ? AND ts < ? GROUP BY d",
            )
            .bind(start)
            .bind(end)
            .fetch_all(&pool)
            .await
            .unwrap();
            rows.iter().map(|r| r.get::<i64, _>(1) as f64).sum::<f64>() / 7.0
        }
    };
    let value = mean("2026-11-16", "2026-11-23").await;
    let previous = mean("2026-11-09", "2026-11-16").await;
    let s = &r["data"]["summary"][0];
    assert_eq!(s["value"].as_f64().unwrap(), value);
    assert_eq!(s["previous"].as_f64().unwrap(), previous);
    assert!((s["delta_pct"].as_f64().unwrap() - (value - previous) / previous).abs() < 1e-12);
    assert!(
        r["sql"].as_str().unwrap().contains("COUNT(DISTINCT"),
        "analysts see SQL"
    );
}

#[tokio::test]
async fn refusals_carry_no_numbers() {
    let db = common::demo_db().await;
    let dir = tempfile::tempdir().unwrap();

    let (code, r) = run_json(
        dir.path(),
        &db,
        json!({"kind":"metric","metrics":["mrr"],"period":{"preset":"last_week"},"compare":"previous_period"}),
        "support_agent",
    );
    assert_eq!((code, r["outcome"].as_str()), (3, Some("refused")));
    assert_eq!(r["data"], Value::Null);
    assert_eq!(r["sql"], Value::Null);
    assert!(
        !r["answer"]
            .as_str()
            .unwrap()
            .chars()
            .any(|c| c.is_ascii_digit()),
        "{}",
        r["answer"]
    );

    for role in ["analyst", "support_agent", "executive", "admin"] {
        let (code, r) = run_json(
            dir.path(),
            &db,
            json!({"kind":"list","entity":"customer","fields":["company_name","contact_email"]}),
            role,
        );
        assert_eq!(code, 3);
        assert_eq!(r["refusal"]["code"], "pii_not_permitted", "{role}");
        assert_eq!(r["data"], Value::Null);
        assert!(
            !r.to_string().contains("@example"),
            "no email leaks for {role}"
        );
    }

    let (code, r) = run_json(
        dir.path(),
        &db,
        json!({"kind":"metric","metrics":["tickets_opened"],"period":{"preset":"last_week"},"group_by":["company_name"]}),
        "support_agent",
    );
    assert_eq!(code, 3);
    assert_eq!(r["refusal"]["code"], "record_level_not_permitted");
}

#[test]
fn compile_prints_three_dialects_with_the_tenant_on_every_table() {
    let dir = tempfile::tempdir().unwrap();
    let q = write(
        dir.path(),
        "q.json",
        r#"{"kind":"metric","metrics":["dau"],"period":{"preset":"last_week"},"group_by":["acquisition_channel"]}"#,
    );
    let out = tally(&[
        "compile",
        q.to_str().unwrap(),
        "--workspace",
        "acme",
        "--today",
        "2026-11-23",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for (dialect, quote) in [("sqlite", '"'), ("postgres", '"'), ("mysql", '`')] {
        let start = text.find(&format!("-- {dialect}\n")).unwrap();
        let rest = &text[start + 4..];
        let end = ["\n-- sqlite\n", "\n-- postgres\n", "\n-- mysql\n"]
            .iter()
            .filter_map(|h| rest.find(h))
            .min()
            .unwrap_or(rest.len());
        let section = &rest[..end];
        let q = |s: &str| format!("{quote}{s}{quote}");
        let mut joined = 0;
        for statement in section.lines().filter(|l| l.starts_with("SELECT")) {
            // Every table alias in the statement carries the workspace predicate.
            for alias in ["t0", "t1", "t2", "t3"] {
                if statement.contains(&format!("AS {}", q(alias))) {
                    joined += 1;
                    assert!(
                        statement.contains(&format!("{}.{} = ", q(alias), q("workspace_id"))),
                        "{dialect}: {alias} unscoped in {statement}"
                    );
                }
            }
        }
        assert!(
            joined >= 4,
            "{dialect}: expected the grouped statement to join two tables"
        );
        assert!(
            !section.contains("'acme'") || section.contains("-- params"),
            "values are bound"
        );
    }
    assert!(text.contains("$1"), "postgres placeholders");
}

#[test]
fn bad_input_gives_stable_codes_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("absent.db");
    let warehouse = format!("sqlite://{}", db.display());
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("malformed", b"{\"kind\":\"metric\",".to_vec(), "malformed_json"),
        ("near_miss", br#"{"kind":"metric","metrics":["dua"],"period":{"preset":"last_week"}}"#.to_vec(), "unknown_metric"),
        ("top_n", br#"{"kind":"metric","metrics":["dau"],"period":{"preset":"last_week"},"group_by":["country"],"top_n":0}"#.to_vec(), "out_of_range"),
        ("between", br#"{"kind":"metric","metrics":["dau"],"period":{"between":{"start":"2026-11-10","end":"2026-11-01"}}}"#.to_vec(), "invalid_period"),
        ("huge", vec![b' '; 10 * 1024 * 1024], "too_large"),
    ];
    for (name, body, code) in cases {
        let q = dir.path().join(format!("{name}.json"));
        std::fs::write(&q, body).unwrap();
        let out = tally(&[
            "run",
            q.to_str().unwrap(),
            "--role",
            "analyst",
            "--workspace",
            "acme",
            "--warehouse",
            &warehouse,
            "--json",
        ]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(r["outcome"], "invalid", "{name}");
        assert_eq!(r["diagnostics"][0]["code"], code, "{name}: {r}");
        if name == "near_miss" {
            assert_eq!(r["diagnostics"][0]["nearest"], "dau");
        }
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("panicked"),
            "{name}"
        );
    }
    // A bad catalog is a load error naming the file and key, exit 2.
    let cat = write(
        dir.path(),
        "bad.toml",
        "[catalog]\nname = \"x\"\nversion = \"1\"\n[tables.t]\ntime = \"ts\"\n",
    );
    let out = tally(&["--catalog", cat.to_str().unwrap(), "schema"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("catalog_invalid") && err.contains("tables.t"),
        "{err}"
    );
}

#[test]
fn schema_is_narrowed_per_role() {
    let out = tally(&["schema", "--role", "support_agent"]);
    assert!(out.status.success());
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    let metrics = s
        .pointer("/$defs/MetricName/enum")
        .unwrap()
        .as_array()
        .unwrap();
    assert!(metrics.contains(&json!("dau")) && !metrics.contains(&json!("mrr")));
    let out = tally(&["schema", "--role", "nobody"]);
    assert_eq!(out.status.code(), Some(2));
}

/// `tally serve --config FILE` takes its warehouse, store, address and limits from the file;
/// every request leaves an audit row that `tally audit verify` checks and `tally audit purge`
/// removes (recording the purge).
#[tokio::test]
async fn serve_with_a_config_file_then_audit_verify_and_purge() {
    let db = common::demo_db().await;
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let store = format!("sqlite://{}", dir.path().join("audit.db").display());
    let config = write(
        dir.path(),
        "tally.toml",
        &format!(
            "[server]\naddr = \"127.0.0.1:{port}\"\ntoday = \"2026-11-23\"\n\n\
             [warehouse]\nurl = \"sqlite://{}\"\n\n[store]\nurl = \"{store}\"\n\n\
             [auth]\nissuer = \"acme-sso\"\naudience = \"tally-api\"\n",
            db.display()
        ),
    );
    let secret = "cli-config-test-secret-0123456789abcdef";
    let mut child = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["serve", "--config", config.to_str().unwrap()])
        .env("TALLY_DEV_SECRET", secret)
        .env("TALLY_HOME", dir.path())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(up, "the server came up on the configured address");
    let minted = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["token", "--role", "analyst", "--workspace", "acme"])
        .args(["--issuer", "acme-sso", "--audience", "tally-api"])
        .env("TALLY_DEV_SECRET", secret)
        .output()
        .unwrap();
    let token = String::from_utf8(minted.stdout).unwrap().trim().to_string();
    let answered: Value = client
        .post(format!("{base}/v1/chat"))
        .bearer_auth(&token)
        .json(&json!({"question": "What was our DAU last week vs the week before?"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answered["outcome"], "answered", "{answered}");
    assert_eq!(
        answered["data"]["period"]["end"], "2026-11-22",
        "today came from the file"
    );
    let unauthorized = client
        .post(format!("{base}/v1/query"))
        .json(&json!({"dsl": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), 401);
    // A second server on the same SQLite store is refused before it listens: revocations are
    // answered from the one server's memory, so no other process may take them.
    let second = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["serve", "--config", config.to_str().unwrap()])
        .args(["--addr", "127.0.0.1:0"])
        .env("TALLY_DEV_SECRET", secret)
        .env("TALLY_HOME", dir.path())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{said}");
    assert!(
        said.contains("store_in_use") && said.contains("audit.db-serve.lock"),
        "{said}"
    );
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();

    let out = tally(&["audit", "verify", "--store", &store]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    // The server's retention purge runs at start (and hourly) and is itself a row.
    assert!(text.contains("intact: 3 row(s)"), "{text}");
    std::thread::sleep(std::time::Duration::from_millis(5));
    let out = tally(&["audit", "purge", "--store", &store, "--retention-days", "0"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("purged 3 audit row(s)"), "{text}");
    let out = tally(&["audit", "verify", "--store", &store]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("intact: 1 row(s), seq 4..4 (anchored after 3)"),
        "{text}"
    );

    // A misspelt key is an error naming it, before anything starts.
    let bad = write(dir.path(), "bad.toml", "[store]\nretention = 3\n");
    let out = tally(&["serve", "--config", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("retention"));
}

/// `tally eval` reports each question set on its own, the held-back one marked as such, each
/// with the same counts.
#[test]
fn eval_reports_tuning_and_held_back_sets_apart() {
    let root = env!("CARGO_MANIFEST_DIR");
    let tuning = format!("{root}/examples/adnavi/questions.jsonl");
    let held_back = format!("{root}/examples/adnavi/questions-heldback.jsonl");
    let catalog = format!("{root}/examples/adnavi/catalog.toml");
    let out = tally(&["--catalog", &catalog, "eval", &tuning, &held_back]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let blocks: Vec<&str> = text.split("questions.jsonl · ").collect();
    let count = |path: &str| {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count()
    };
    let (n_tuning, n_held_back) = (count(&tuning), count(&held_back));
    assert!(
        text.contains(&format!(
            "questions.jsonl · tuning set · translator: rules · {n_tuning} questions"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "questions-heldback.jsonl · held-back set · translator: rules · {n_held_back} questions"
        )),
        "{text}"
    );
    assert_eq!(blocks.len(), 2, "{text}");
    for label in [
        "correct",
        "answered-wrong",
        "of which must-not-answer",
        "clarified instead",
        "refused instead",
    ] {
        assert_eq!(
            text.matches(&format!("\n{label} ")).count()
                + text.matches(&format!("\n  {label} ")).count(),
            2,
            "{label}: {text}"
        );
    }
    // An unreadable set is a usage error, not an empty report.
    let out = tally(&["eval", "/nonexistent/questions.jsonl"]);
    assert_eq!(out.status.code(), Some(2));
}

/// `tally catalog check`: exit 0 on the demo warehouse, 2 with every problem (code, key,
/// nearest column) on a catalog with mistakes, in text and as JSON; `serve` refuses to start on
/// a catalog that does not match its warehouse.
#[tokio::test]
async fn catalog_check_exits_2_naming_every_mistake_and_serve_refuses_a_broken_catalog() {
    let db = common::demo_db().await;
    let warehouse = format!("sqlite://{}", db.display());
    let ok = tally(&["catalog", "check", "--warehouse", &warehouse]);
    let text = String::from_utf8_lossy(&ok.stdout);
    assert_eq!(ok.status.code(), Some(0), "{text}");
    assert!(text.contains("0 error(s)"), "{text}");

    let dir = tempfile::tempdir().unwrap();
    let broken = write(
        dir.path(),
        "broken.toml",
        &include_str!("../../examples/metrica/catalog.toml")
            .replace("docs = \"docs\"\n", "")
            .replace("time = \"ts\"\n", "time = \"tss\"\n")
            .replace("support_tickets", "support_ticket"),
    );
    let broken = broken.to_str().unwrap();
    let out = tally(&[
        "--catalog",
        broken,
        "catalog",
        "check",
        "--warehouse",
        &warehouse,
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("error[missing_column] tables.events.time: column `tss` is not in table `events` (nearest: `ts`)"),
        "{text}"
    );
    assert!(
        text.contains("error[missing_table] tables.support_ticket: table `support_ticket` is not in the warehouse (nearest: `support_tickets`)"),
        "{text}"
    );
    let out = tally(&[
        "--catalog",
        broken,
        "catalog",
        "check",
        "--warehouse",
        &warehouse,
        "--json",
    ]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert!(report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["code"] == "missing_table" && f["key"] == "tables.support_ticket"));

    let serve = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["--catalog", broken, "serve", "--warehouse", &warehouse])
        .args(["--addr", "127.0.0.1:0", "--store"])
        .arg(format!(
            "sqlite://{}",
            dir.path().join("store.db").display()
        ))
        .env("TALLY_DEV_SECRET", "catalog-check-secret-0123456789abcdef")
        .env("TALLY_HOME", dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&serve.stderr);
    assert_eq!(serve.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("catalog_check_failed"), "{stderr}");
    assert!(stderr.contains("tables.events.time"), "{stderr}");
}

/// A single-tenant shop made for the test: customers and orders, no tenant column.
async fn single_tenant_shop(path: &Path) {
    use sqlx::Connection;
    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap();
    let mut script = String::from(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, country TEXT, created_at TIMESTAMP);
         CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id),
           status TEXT, amount REAL, ordered_at TIMESTAMP);",
    );
    for i in 1..=40 {
        script.push_str(&format!(
            "INSERT INTO customers VALUES ({i}, 'c{i}@example.org', '{}', '2026-0{}-01 09:00:00');",
            ["US", "DE", "FR"][i % 3],
            1 + i % 9
        ));
    }
    for i in 1..=300 {
        script.push_str(&format!(
            "INSERT INTO orders VALUES ({i}, {}, '{}', {}.5, '2026-{:02}-{:02} 12:00:00');",
            1 + (i * 7) % 40,
            ["paid", "refunded"][i % 2],
            10 + (i * 31) % 200,
            1 + i % 11,
            1 + (i * 3) % 28
        ));
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(script))
        .execute(&mut c)
        .await
        .unwrap();
}

/// "Use your own data" as the README walks it, on a database made here: `catalog init` writes
/// a catalog that loads (twice the same bytes, never over a file without --force), `catalog
/// check` passes, `tally run` gives the numbers of hand-written SQL, a single-tenant catalog
/// serves only its workspace, a wrong column fails the check naming it, and `serve --dev` prints
/// tokens whose page offers the catalog's own example questions.
#[tokio::test]
async fn catalog_init_check_run_and_serve_dev_on_a_fresh_sqlite_warehouse() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    single_tenant_shop(&db).await;
    let warehouse = format!("sqlite://{}", db.display());
    let catalog = dir.path().join("shop.toml");
    let catalog_s = catalog.to_str().unwrap();
    let init = |out: &str| {
        tally(&[
            "catalog",
            "init",
            "--warehouse",
            &warehouse,
            "--single-tenant",
            "--out",
            out,
        ])
    };
    let out = init(catalog_s);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&catalog).unwrap();
    assert!(text.contains("tenancy = \"single\""), "{text}");
    assert!(!text.contains("example.org"), "no sampled value is written");
    let again = dir.path().join("again.toml");
    assert_eq!(init(again.to_str().unwrap()).status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(&again).unwrap(),
        text,
        "init is deterministic"
    );
    let refused = init(catalog_s);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("error[file_exists]"));

    let check = tally(&[
        "--catalog",
        catalog_s,
        "catalog",
        "check",
        "--warehouse",
        &warehouse,
    ]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );

    let dsl = json!({
        "kind": "metric",
        "metrics": ["total_amount", "orders"],
        "period": {"between": {"start": "2026-03-01", "end": "2026-08-31"}},
        "group_by": ["country"],
        "filters": [{"dimension": "status", "op": "eq", "values": ["paid"]}]
    });
    let q = write(dir.path(), "q.json", &dsl.to_string());
    let run = |workspace: &str| {
        tally(&[
            "--catalog",
            catalog_s,
            "run",
            q.to_str().unwrap(),
            "--role",
            "analyst",
            "--workspace",
            workspace,
            "--today",
            "2026-11-23",
            "--warehouse",
            &warehouse,
            "--json",
        ])
    };
    let out = run("default");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let pool = sqlx::SqlitePool::connect(&warehouse).await.unwrap();
    let hand = sqlx::query(
        "SELECT c.country, SUM(o.amount), COUNT(*) FROM orders o \
         LEFT JOIN customers c ON c.id = o.customer_id \
         WHERE o.status = 'paid' AND o.ordered_at >= '2026-03-01' AND o.ordered_at < '2026-09-01' \
         GROUP BY c.country",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(hand.len(), 3);
    for row in &hand {
        let country: String = row.get(0);
        let amount: f64 = row.get(1);
        let orders: i64 = row.get(2);
        let ours = |metric: &str| {
            v["data"]["breakdown"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["dimensions"]["country"] == country.as_str() && r["metric"] == metric)
                .and_then(|r| r["value"].as_f64())
                .unwrap_or_else(|| panic!("{country} {metric} in {v:#}"))
        };
        assert!((ours("total_amount") - amount).abs() < 1e-6, "{country}");
        assert_eq!(ours("orders"), orders as f64, "{country}");
    }
    // Discovered values: a value in a question is read as a filter.
    let asked = tally(&[
        "--catalog",
        catalog_s,
        "ask",
        "paid orders by country in october",
        "--role",
        "analyst",
        "--workspace",
        "default",
        "--today",
        "2026-11-23",
        "--warehouse",
        &warehouse,
    ]);
    let said = String::from_utf8_lossy(&asked.stdout);
    assert_eq!(asked.status.code(), Some(0), "{said}");
    assert!(said.contains("(status paid)"), "{said}");
    let other = run("acme");
    assert_eq!(other.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&other.stdout).contains("one workspace's data"));

    // A wrong column: exit 2, naming the key and the nearest column.
    let broken = write(
        dir.path(),
        "broken.toml",
        &text.replace("column = \"amount\"", "column = \"amout\""),
    );
    let check = tally(&[
        "--catalog",
        broken.to_str().unwrap(),
        "catalog",
        "check",
        "--warehouse",
        &warehouse,
    ]);
    assert_eq!(check.status.code(), Some(2));
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(
        said.contains("error[missing_column] metrics.total_amount")
            && said.contains("nearest: `amount`"),
        "{said}"
    );

    // serve --dev: tokens per role, and the page's examples are this catalog's.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args([
            "--catalog",
            catalog_s,
            "serve",
            "--dev",
            "--warehouse",
            &warehouse,
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--store",
            &format!("sqlite://{}", dir.path().join("audit.db").display()),
        ])
        .env("TALLY_HOME", dir.path())
        .env_remove("TALLY_DEV_SECRET")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // Read on to the end (a closed pipe would end the server), handing over the analyst token.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(rest) = line.trim_start().strip_prefix("analyst") {
                let _ = tx.send(rest.trim().to_string());
            }
        }
    });
    let token = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .unwrap_or_default();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut catalog_view = Value::Null;
    for _ in 0..100 {
        if let Ok(r) = client
            .get(format!("{base}/v1/catalog"))
            .bearer_auth(&token)
            .send()
            .await
        {
            if r.status() == 200 {
                catalog_view = r.json().await.unwrap();
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let examples = catalog_view["catalog"]["example_questions"]
        .as_array()
        .cloned();
    let _ = child.kill();
    let _ = child.wait();
    assert!(token.len() > 40, "an analyst token was printed");
    let examples = examples.unwrap_or_else(|| panic!("GET /v1/catalog: {catalog_view:#}"));
    assert!(
        examples.iter().any(|e| e == "How many orders last month?"),
        "{examples:?}"
    );
}

/// `rollup build` then `ask --json --stable` twice, with and without the store: the same bytes
/// each time, the numbers in them, and the rollup named as the source; `rollup status` lists
/// what the store holds.
#[tokio::test]
async fn rollup_build_then_stable_json_is_byte_for_byte_and_names_its_source() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::demo_db().await;
    let warehouse = format!("sqlite://{}", db.display());
    let store = dir.path().join("rollups.db");
    let store = store.to_str().unwrap();
    let out = tally(&[
        "rollup",
        "build",
        "--rollups",
        store,
        "--warehouse",
        &warehouse,
        "--today",
        "2026-11-23",
        "--only",
        "daily_users",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("daily_users: full build"), "{said}");

    let ask = |extra: &[&str]| {
        let mut args = vec![
            "ask",
            "What was DAU last week vs the week before?",
            "--role",
            "analyst",
            "--workspace",
            "acme",
            "--today",
            "2026-11-23",
            "--warehouse",
            &warehouse,
            "--json",
        ];
        args.extend_from_slice(extra);
        let out = tally(&args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    for extra in [&["--stable"][..], &["--stable", "--rollups", store][..]] {
        let (first, second) = (ask(extra), ask(extra));
        assert!(
            first == second,
            "--stable output differs between runs ({extra:?})"
        );
        let v: Value = serde_json::from_slice(&first).unwrap();
        assert_eq!(v["query_id"], "q_0000000000000000");
        assert_eq!(v["timings_ms"]["total"], 0.0);
        let dau = v["data"]["summary"][0]["value"].as_f64().unwrap();
        assert!(dau > 0.0, "{v}");
        let expected = if extra.len() > 1 {
            "rollup:daily_users"
        } else {
            "warehouse"
        };
        assert_eq!(v["source"], expected);
    }
    // Without --stable the id differs from run to run.
    assert_ne!(ask(&[]), ask(&[]));

    let out = tally(&["rollup", "status", "--rollups", store]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("daily_users: days from the first row to before 2026-11-23"),
        "{said}"
    );
    assert!(said.contains("daily_events: not built"), "{said}");
}
