//! `tally rollup build` and `status`: the catalog's rollups built from a warehouse into a store
//! file, and what that file holds; and `--rollups FILE`, which lets `ask`, `run`, `serve` and
//! `demo` answer from it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use clap::{Args, Subcommand};

use super::{today, Failure};
use crate::catalog::Catalog;
use crate::exec::{Limits, Warehouse};
use crate::pipeline::Engine;
use crate::rollup::{self, BuildOptions, Rollups};

/// The rollup store a command answers from.
#[derive(Args, Debug, Clone, Default)]
pub(super) struct RollupsArg {
    /// A rollup store made by `tally rollup build`: units it answers exactly are read from it
    /// (default: none, every statement reads the warehouse).
    #[arg(long = "rollups", env = "TALLY_ROLLUPS")]
    pub path: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub(super) enum RollupCommand {
    /// Build the catalog's rollups (`[rollups.NAME]`) from the warehouse into a store file:
    /// new or redefined ones in full, the others from their watermark (or `--since`) on.
    Build(BuildArgs),
    /// What a store holds: each rollup's days, rows, and whether the catalog still defines it so.
    Status(StatusArgs),
}

#[derive(Args, Debug)]
pub(super) struct BuildArgs {
    /// The store file (made if missing).
    #[arg(long = "rollups", env = "TALLY_ROLLUPS")]
    store: PathBuf,
    /// `sqlite://FILE`, `postgres://…` or `mysql://…` (default: the demo warehouse).
    #[arg(long, env = "TALLY_WAREHOUSE")]
    warehouse: Option<String>,
    /// Rebuild from this day on (default: from the watermark).
    #[arg(long)]
    since: Option<NaiveDate>,
    /// Rebuild everything.
    #[arg(long)]
    full: bool,
    /// Only this rollup (repeatable; default: all).
    #[arg(long = "only")]
    only: Vec<String>,
    /// Today's date: days before it are built (default: the system clock, UTC).
    #[arg(long)]
    today: Option<NaiveDate>,
    /// Each warehouse read's time limit, in seconds.
    #[arg(long, default_value_t = 600)]
    timeout_secs: u64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub(super) struct StatusArgs {
    #[arg(long = "rollups", env = "TALLY_ROLLUPS")]
    store: PathBuf,
    #[arg(long)]
    json: bool,
}

pub(super) async fn rollup_cmd(catalog: Arc<Catalog>, c: RollupCommand) -> Result<i32, Failure> {
    match c {
        RollupCommand::Build(a) => build(catalog, a).await,
        RollupCommand::Status(a) => status(&catalog, a).await,
    }
}

async fn build(catalog: Arc<Catalog>, a: BuildArgs) -> Result<i32, Failure> {
    let clock = today(a.today);
    let url = super::warehouse_url(&catalog, a.warehouse, &clock).await?;
    let warehouse = Warehouse::open(&url)
        .await
        .map_err(|e| Failure::runtime(e.code(), e.to_string()))?;
    let opts = BuildOptions {
        since: a.since,
        today: clock.today(),
        full: a.full,
        only: a.only,
        timeout: Duration::from_secs(a.timeout_secs),
    };
    let report = rollup::build(
        &catalog,
        &warehouse,
        &a.store,
        &opts,
        &mut |name, workspace, rows| {
            eprintln!("  {name}: workspace {workspace} done, {rows} rows so far");
        },
    )
    .await
    .map_err(|e| Failure::runtime(e.code(), e.to_string()))?;
    if a.json {
        say!(
            "{}",
            serde_json::to_string_pretty(&report).expect("reports serialize")
        );
        return Ok(0);
    }
    for r in &report.rollups {
        let from = r
            .from
            .map_or("the first row".to_string(), |d| d.to_string());
        let windows = if r.windows_written > 0 {
            format!(", {} counted windows", r.windows_written)
        } else {
            String::new()
        };
        say!(
            "{}: {} build, days from {from} to before {}: {} rows written for {} table rows in {} workspace(s){windows}, {:.2} s",
            r.name,
            r.mode,
            r.until,
            r.rows_written,
            r.source_rows,
            r.workspaces,
            r.seconds
        );
    }
    say!("store: {}", report.store);
    Ok(0)
}

async fn status(catalog: &Catalog, a: StatusArgs) -> Result<i32, Failure> {
    let rollups = open(&a.store).await?;
    let built = rollups.built();
    let stale = rollup::stale(catalog, &built);
    if a.json {
        let list: Vec<serde_json::Value> = catalog
            .rollups
            .values()
            .map(|r| {
                let b = built.get(&r.name);
                serde_json::json!({
                    "name": r.name,
                    "built": b.is_some(),
                    "current": !stale.contains(&r.name.as_str()),
                    "from": b.and_then(|b| b.from).map(|d| d.to_string()),
                    "until": b.map(|b| b.until.to_string()),
                    "rows": b.map(|b| b.rows),
                    "built_at": b.map(|b| b.built_at.clone()),
                })
            })
            .collect();
        say!(
            "{}",
            serde_json::to_string_pretty(&list).expect("values serialize")
        );
        return Ok(0);
    }
    for r in catalog.rollups.values() {
        match built.get(&r.name) {
            None => say!("{}: not built", r.name),
            Some(b) => say!(
                "{}: days from {} to before {}, {} rows, built {}{}",
                r.name,
                b.from
                    .map_or("the first row".to_string(), |d| d.to_string()),
                b.until,
                b.rows,
                b.built_at,
                if stale.contains(&r.name.as_str()) {
                    " — the catalog defines it otherwise now: not used until rebuilt"
                } else {
                    ""
                }
            ),
        }
    }
    Ok(0)
}

async fn open(path: &std::path::Path) -> Result<Rollups, Failure> {
    Rollups::open(path, &Limits::default()).await.map_err(|e| {
        Failure::runtime(
            "rollup_store_unavailable",
            format!(
                "rollup store {}: {e} (make it with `tally rollup build --rollups {}`)",
                path.display(),
                path.display()
            ),
        )
    })
}

/// `engine`, answering from the store `a` names, if any.
pub(super) async fn attach(engine: Engine, a: &RollupsArg) -> Result<Engine, Failure> {
    match &a.path {
        None => Ok(engine),
        Some(p) => {
            let rollups = open(p).await?;
            Ok(engine.with_rollups(Some(Arc::new(rollups))))
        }
    }
}

/// While serving: reads the store's state again every minute (a build by another process shows
/// within that), and, with `rebuild_every`, builds the rollups incrementally that often first.
/// A failed build is logged; the rollups built before keep answering.
pub(super) fn spawn_upkeep(
    engine: Arc<Engine>,
    store: Option<PathBuf>,
    rebuild_every: Option<Duration>,
    clock: crate::plan::Clock,
) {
    let (Some(store), Some(_)) = (store, engine.rollups()) else {
        return;
    };
    tokio::spawn(async move {
        let refresh = Duration::from_secs(60);
        let mut last_build = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(refresh.min(rebuild_every.unwrap_or(refresh))).await;
            if let Some(every) = rebuild_every {
                if last_build.elapsed() >= every {
                    last_build = tokio::time::Instant::now();
                    let opts = BuildOptions {
                        since: None,
                        today: clock.today(),
                        full: false,
                        only: Vec::new(),
                        timeout: Duration::from_secs(600),
                    };
                    match rollup::build(
                        engine.catalog(),
                        engine.warehouse(),
                        &store,
                        &opts,
                        &mut |_, _, _| {},
                    )
                    .await
                    {
                        Ok(r) => tracing::info!(
                            rollups = r.rollups.len(),
                            rows = r.rollups.iter().map(|x| x.rows_written).sum::<u64>(),
                            "rollups built"
                        ),
                        Err(e) => tracing::warn!(error = %e, "building rollups failed"),
                    }
                }
            }
            if let Some(r) = engine.rollups() {
                if let Err(e) = r.refresh(&Limits::default()).await {
                    tracing::warn!(error = %e, "reading the rollup store failed");
                }
            }
        }
    });
}
