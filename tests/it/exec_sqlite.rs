//! The SQLite warehouse is read-only and bounded: writes and ATTACH fail, a slow statement is
//! stopped at its time limit, rows beyond the cap are cut and flagged. Real file, real sqlx.

use crate::common;

use std::time::{Duration, Instant};

use tally::exec::{ExecError, Limits, Warehouse};
use tally::sql::{Column, ColumnKind, Param, Statement};

fn statement(sql: &str, kind: ColumnKind) -> Statement {
    Statement {
        rollup: None,
        merged: None,
        sql: sql.to_string(),
        params: Vec::new(),
        columns: vec![Column {
            name: "x".into(),
            kind,
        }],
    }
}

async fn warehouse() -> Warehouse {
    let db = common::demo_db().await;
    Warehouse::open(&format!("sqlite://{}", db.display()))
        .await
        .unwrap()
}

#[tokio::test]
async fn writes_and_attach_fail() {
    let w = warehouse().await;
    let limits = Limits::default();
    for sql in [
        "INSERT INTO customers (workspace_id, customer_id, company_name, contact_email, plan_tier, mrr, created_at) VALUES ('x', 1, 'x', 'x', 'free', 0, '2026-01-01 00:00:00')",
        "DELETE FROM customers",
        "CREATE TABLE t (x INTEGER)",
        "ATTACH DATABASE ':memory:' AS other",
        "PRAGMA query_only = OFF",
    ] {
        let r = w.run(&statement(sql, ColumnKind::Int), &limits).await;
        // PRAGMA may "succeed" as a no-op read; what matters is that nothing can be written after it.
        if sql.starts_with("PRAGMA") {
            let again = w
                .run(&statement("DELETE FROM customers", ColumnKind::Int), &limits)
                .await;
            assert!(matches!(again, Err(ExecError::Failed(_))), "{again:?}");
            continue;
        }
        assert!(matches!(r, Err(ExecError::Failed(_))), "{sql}: {r:?}");
    }
    let count = w
        .run(
            &statement("SELECT COUNT(*) FROM customers", ColumnKind::Int),
            &limits,
        )
        .await
        .unwrap();
    assert!(matches!(count.rows[0][0], tally::exec::Cell::Int(n) if n > 0));
}

#[tokio::test]
async fn slow_statement_times_out_within_the_limit_plus_a_second() {
    let w = warehouse().await;
    let limits = Limits {
        row_cap: 10,
        timeout: Duration::from_millis(500),
    };
    let slow = statement(
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT MAX(n) FROM c",
        ColumnKind::Int,
    );
    let started = Instant::now();
    let r = w.run(&slow, &limits).await;
    let took = started.elapsed();
    assert!(matches!(r, Err(ExecError::Timeout(_))), "{r:?}");
    assert_eq!(r.unwrap_err().code(), "timeout");
    assert!(took < limits.timeout + Duration::from_secs(1), "{took:?}");
    // The pool still serves after an interrupted statement.
    let ok = w
        .run(&statement("SELECT 1", ColumnKind::Int), &limits)
        .await
        .unwrap();
    assert_eq!(ok.rows.len(), 1);
}

#[tokio::test]
async fn rows_beyond_the_cap_are_cut_and_flagged() {
    let w = warehouse().await;
    let limits = Limits {
        row_cap: 7,
        timeout: Duration::from_secs(10),
    };
    let mut s = statement(
        "SELECT event_name FROM events WHERE workspace_id = ?",
        ColumnKind::Text,
    );
    s.params.push(Param::Text("acme".into()));
    let rows = w.run(&s, &limits).await.unwrap();
    assert_eq!(rows.rows.len(), 7);
    assert!(rows.truncated);
    s.sql.push_str(" LIMIT 3");
    let rows = w.run(&s, &limits).await.unwrap();
    assert_eq!(rows.rows.len(), 3);
    assert!(!rows.truncated);
}

#[tokio::test]
async fn a_missing_file_is_unavailable_not_created() {
    let path = std::env::temp_dir().join("tally-no-such-warehouse.db");
    let _ = std::fs::remove_file(&path);
    let r = Warehouse::open(&format!("sqlite://{}", path.display())).await;
    assert_eq!(r.unwrap_err().code(), "warehouse_unavailable");
    assert!(!path.exists());
    let r = Warehouse::open("oracle://somewhere").await;
    assert_eq!(r.unwrap_err().code(), "unsupported_warehouse");
}
