//! `tally audit purge`, `head` and `verify`: the app store's audit log past retention, its
//! newest row, and its hash chain; and the hourly purge a running server does.

use std::sync::Arc;

use clap::{Args, Subcommand};

use super::{open_store, retention, store_url, Failure, StoreArgs};
use crate::store::{Store, StoreOptions};

#[derive(Subcommand, Debug)]
pub(super) enum AuditCommand {
    /// Remove audit rows older than the retention period (the purge is itself audited).
    Purge(StoreArgs),
    /// Check the audit log's numbering, hash chain and head; exit 1 if it is broken.
    Verify(VerifyArgs),
    /// Print the newest row's number and hash (`SEQ:HASH`): keep it elsewhere, and a later
    /// `tally audit verify --head SEQ:HASH` shows rows deleted since.
    Head(StoreArgs),
}

#[derive(Args, Debug, Clone)]
pub(super) struct VerifyArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// A head kept from `tally audit head` (`SEQ:HASH`): the row must still be there, unchanged.
    #[arg(long)]
    head: Option<String>,
}

pub(super) async fn audit_cmd(c: AuditCommand) -> Result<i32, Failure> {
    match c {
        AuditCommand::Purge(a) => purge(&a).await,
        AuditCommand::Head(a) => head(&a).await,
        AuditCommand::Verify(a) => verify(&a).await,
    }
}

async fn purge(a: &StoreArgs) -> Result<i32, Failure> {
    let store = open_store(a).await?;
    let who = format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    );
    let r = store
        .purge(retention(a), &who)
        .await
        .map_err(|e| Failure::runtime(e.code(), e.to_string()))?;
    say!(
        "purged {} audit row(s) older than {} ({} days) from {}; recorded as row {}",
        r.deleted,
        r.cutoff,
        retention(a),
        store.display_url(),
        r.recorded_seq
    );
    Ok(0)
}

async fn head(a: &StoreArgs) -> Result<i32, Failure> {
    let store = open_existing_store(a).await?;
    let head = store
        .head()
        .await
        .map_err(|e| Failure::runtime(e.code(), e.to_string()))?;
    match head {
        Some((seq, hash)) => {
            say!("{seq}:{hash}");
            Ok(0)
        }
        None => Err(Failure::runtime(
            "audit_empty",
            format!("the audit log at {} has no rows yet", store.display_url()),
        )),
    }
}

async fn verify(a: &VerifyArgs) -> Result<i32, Failure> {
    let kept = a
        .head
        .as_deref()
        .map(|h| {
            h.split_once(':')
                .and_then(|(seq, hash)| Some((seq.parse::<i64>().ok()?, hash.to_string())))
                .ok_or_else(|| {
                    Failure::usage(
                        "invalid_head",
                        format!("`--head {h}` is not SEQ:HASH as `tally audit head` prints it"),
                    )
                })
        })
        .transpose()?;
    let store = open_existing_store(&a.store).await?;
    let r = store
        .verify_chain()
        .await
        .map_err(|e| Failure::runtime(e.code(), e.to_string()))?;
    let mut kept_problems = Vec::new();
    if let Some((seq, hash)) = &kept {
        kept_problems = store
            .verify_kept_head(*seq, hash)
            .await
            .map_err(|e| Failure::runtime(e.code(), e.to_string()))?;
    }
    if r.ok && kept_problems.is_empty() {
        say!(
            "audit chain intact: {} row(s), seq {}..{} (anchored after {})",
            r.rows,
            r.first_seq.unwrap_or(0),
            r.last_seq.unwrap_or(0),
            r.anchor_seq
        );
        Ok(0)
    } else {
        for b in &r.breaks {
            say!("seq {}: {}", b.seq, b.problem);
        }
        for p in &kept_problems {
            say!("kept head: {p}");
        }
        Err(Failure::runtime(
            "audit_chain_broken",
            format!(
                "the audit chain is broken at {} place(s)",
                r.breaks.len() + kept_problems.len()
            ),
        ))
    }
}

/// Opens a store that must exist already: checking a store that is not there is a failure,
/// never a new empty store reported intact.
async fn open_existing_store(a: &StoreArgs) -> Result<Arc<Store>, Failure> {
    let store = Store::open_existing(&store_url(a), StoreOptions::default())
        .await
        .map_err(|e| Failure::runtime(e.code(), e.to_string()))?;
    Ok(Arc::new(store))
}

/// Purges audit rows past retention once an hour while the server runs.
pub(super) fn spawn_hourly_purge(store: Arc<Store>, retention_days: u32) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every.tick().await;
            match store.purge(retention_days, "server:retention").await {
                Ok(r) => tracing::info!(deleted = r.deleted, cutoff = %r.cutoff, "audit purge"),
                Err(e) => tracing::error!(error = %e, "audit purge failed"),
            }
        }
    });
}
