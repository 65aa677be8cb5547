//! The app store on the real PostgreSQL (`#[ignore]`d: `cargo test -- --ignored` runs it): migrations, the append-only guard, the hash chain under concurrent writers
//! from two store instances (two servers), the retention purge, revocations, conversations.

use crate::common;

use std::sync::Arc;

use common::engines::{reach, Kind};
use sqlx::postgres::PgPoolOptions;
use tally::store::{AuditEntry, AuditFilter, Store, StoreOptions, TurnUsage};

fn entry(subject: &str, n: usize) -> AuditEntry {
    AuditEntry {
        event: "request".into(),
        subject: Some(subject.into()),
        route: Some("/v1/query".into()),
        status: Some(200),
        workspace: Some("acme".into()),
        query_id: Some(format!("q_{subject}_{n}")),
        latency_ms: Some(1.25 + n as f64),
        cost_usd: Some(0.001),
        // Which source answered: every other one the Metrics API, the rest the warehouse
        // after the API timed out.
        source: Some(
            if n.is_multiple_of(2) {
                "metrics_api:kpi"
            } else {
                "warehouse"
            }
            .into(),
        ),
        source_note: (n % 2 == 1).then(|| "the metrics API `kpi` timed out".into()),
        ..AuditEntry::default()
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL on 127.0.0.1: cargo test -- --ignored"]
async fn the_store_works_on_postgresql() {
    let reached = reach(Kind::Postgres).await;
    let schema = format!("tally_store_test_{}", std::process::id());
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&reached.url)
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE"
    )))
    .execute(&admin)
    .await
    .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&admin)
        .await
        .unwrap();
    let sep = if reached.url.contains('?') { '&' } else { '?' };
    let url = format!("{}{sep}options=-c%20search_path%3D{schema}", reached.url);

    let one = Arc::new(Store::open(&url, StoreOptions::default()).await.unwrap());
    // A second instance (another server) migrates idempotently and shares the chain.
    let two = Arc::new(Store::open(&url, StoreOptions::default()).await.unwrap());
    assert_eq!(one.kind(), "postgres");

    let mut tasks = Vec::new();
    for n in 0..20 {
        let store = if n % 2 == 0 { one.clone() } else { two.clone() };
        tasks.push(tokio::spawn(async move {
            store.append(&entry("ana", n)).await.unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let report = one.verify_chain().await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.rows, 20);
    assert_eq!((report.first_seq, report.last_seq), (Some(1), Some(20)));
    let found = one.find_query("q_ana_7").await.unwrap().unwrap();
    assert_eq!(found.entry.latency_ms, Some(8.25));
    assert!(found.hash_matches());
    assert_eq!(found.entry.source.as_deref(), Some("warehouse"));
    assert_eq!(
        found.entry.source_note.as_deref(),
        Some("the metrics API `kpi` timed out")
    );
    let found = one.find_query("q_ana_6").await.unwrap().unwrap();
    assert_eq!(found.entry.source.as_deref(), Some("metrics_api:kpi"));
    assert_eq!(found.entry.source_note, None);

    // The database itself refuses edits and deletes outside the purge.
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap();
    let edit = sqlx::query("UPDATE audit SET subject = 'x' WHERE seq = 3")
        .execute(&pool)
        .await;
    assert!(edit.unwrap_err().to_string().contains("append-only"));
    let delete = sqlx::query("DELETE FROM audit WHERE seq = 3")
        .execute(&pool)
        .await;
    assert!(delete.unwrap_err().to_string().contains("retention purge"));

    // Purge everything older than now: one row remains, the purge's own, chained on.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let purged = two.purge(0, "test").await.unwrap();
    assert_eq!(purged.deleted, 20);
    assert_eq!(purged.through_seq, Some(20));
    let report = one.verify_chain().await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.anchor_seq, 20);
    one.append(&entry("bob", 1)).await.unwrap();
    let rows = one
        .audit_rows(&AuditFilter {
            limit: 10,
            workspaces: Some(vec!["globex".into()]),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(
        rows.len(),
        1,
        "the purge row has no workspace; bob's is acme's"
    );
    assert_eq!(rows[0].entry.event, "purge");
    assert!(one.verify_chain().await.unwrap().ok);

    // The head moves with every append, in the same transaction.
    let head = one.head().await.unwrap().unwrap();
    assert_eq!(Some(head.0), one.verify_chain().await.unwrap().last_seq);

    // Revocations, scoped to workspaces, and conversations.
    let acme = ["acme".to_string()];
    assert!(one
        .revoked_in("j1", "ana", Some(1))
        .await
        .unwrap()
        .is_empty());
    one.revoke_token("j1", &acme, "root").await.unwrap();
    one.revoke_token("j1", &acme, "root").await.unwrap();
    let revoked = two.revoked_in("j1", "ana", Some(1)).await.unwrap();
    assert!(revoked.covers("acme") && !revoked.covers("globex"));
    one.revoke_subject("bob", &acme, "root").await.unwrap();
    assert!(two
        .revoked_in("j2", "bob", Some(1))
        .await
        .unwrap()
        .covers("acme"));
    assert!(two
        .revoked_in("j2", "bob", Some(u64::MAX / 2))
        .await
        .unwrap()
        .is_empty());
    one.create_conversation("c_1", "ana", "acme").await.unwrap();
    one.record_turn(
        "c_1",
        Some("{\"kind\":\"metric\"}"),
        TurnUsage {
            tokens_in: 10,
            tokens_out: 5,
            cost_usd: 0.25,
        },
    )
    .await
    .unwrap();
    one.record_turn("c_1", None, TurnUsage::default())
        .await
        .unwrap();
    let c = two.conversation("c_1").await.unwrap().unwrap();
    assert_eq!((c.turns, c.tokens_in, c.tokens_out), (2, 10, 5));
    assert_eq!(c.last_dsl.as_deref(), Some("{\"kind\":\"metric\"}"));
    assert_eq!(c.cost_usd, 0.25);

    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&admin)
        .await
        .unwrap();
}
