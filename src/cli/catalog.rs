//! `tally catalog init` and `tally catalog check`: a starter catalog from the warehouse, and the
//! catalog against the warehouse it describes.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand};

use super::demo::default_warehouse;
use super::{today, Failure};
use crate::catalog::Catalog;
use crate::exec::{Limits, Warehouse};
use crate::inspect::{self, init, Level};

#[derive(Subcommand, Debug)]
pub(super) enum CatalogCommand {
    /// Write a commented starter catalog from the warehouse's tables, keys and a bounded sample
    /// of its values (never written into the file); reads only.
    Init(InitArgs),
    /// Check every table, column, type, join and listed value of the catalog against the
    /// warehouse, and advise indexes; exit 0 when consistent, 2 with every problem otherwise.
    Check(CheckArgs),
}

#[derive(Args, Debug)]
pub(super) struct InitArgs {
    /// `sqlite://FILE`, `postgres://…` or `mysql://…`.
    #[arg(long, env = "TALLY_WAREHOUSE")]
    warehouse: String,
    /// The schema (PostgreSQL), database (MySQL) or attached database (SQLite) to read
    /// (default: the connection's own); tables are then written schema-qualified.
    #[arg(long)]
    schema: Option<String>,
    /// The column naming each row's workspace (tenant).
    #[arg(long, conflicts_with = "single_tenant")]
    tenant_column: Option<String>,
    /// The warehouse holds one organisation's data: nothing is scoped.
    #[arg(long)]
    single_tenant: bool,
    /// The catalog's name (default: the schema's or the database file's name).
    #[arg(long)]
    name: Option<String>,
    /// Write here (refused if the file exists, unless --force); default: standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Overwrite --out if it exists.
    #[arg(long)]
    force: bool,
}

#[derive(Args, Debug)]
pub(super) struct CheckArgs {
    /// `sqlite://FILE`, `postgres://…` or `mysql://…` (default: the demo warehouse).
    #[arg(long, env = "TALLY_WAREHOUSE")]
    warehouse: Option<String>,
    /// Print the findings as JSON.
    #[arg(long)]
    json: bool,
}

/// The warehouse at `url`, or a failure naming where it was looked for (password hidden).
async fn open(url: &str) -> Result<Warehouse, Failure> {
    Warehouse::open(url).await.map_err(|e| {
        Failure::runtime(
            e.code(),
            format!("cannot reach {}: {e}", crate::store::redact_url(url)),
        )
    })
}

/// A catalog name from the warehouse URL: the schema, else the database (file) name.
fn default_name(url: &str, schema: Option<&str>) -> String {
    if let Some(s) = schema {
        return init::snake(s);
    }
    let path = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split(['?', '#'])
        .next()
        .unwrap_or_default();
    let last = path.rsplit('/').next().unwrap_or_default();
    let stem = last.split('.').next().unwrap_or_default();
    if stem.is_empty() {
        "warehouse".into()
    } else {
        init::snake(stem)
    }
}

/// `tally catalog init`: introspect, render, write (or print). Nothing is written when any step
/// fails, and an existing file is never overwritten without `--force`.
pub(super) async fn init_cmd(a: InitArgs) -> Result<i32, Failure> {
    if let Some(out) = &a.out {
        if out.exists() && !a.force {
            return Err(Failure::usage(
                "file_exists",
                format!(
                    "{} exists: pass --force to overwrite it, or choose another --out",
                    out.display()
                ),
            ));
        }
    }
    let warehouse = open(&a.warehouse).await?;
    let limits = Limits::default();
    let progress = |table: &str| eprintln!("reading {table} …");
    let facts = init::gather(&warehouse, a.schema.as_deref(), &limits, &progress)
        .await
        .map_err(|e| Failure::runtime(e.code(), e.to_string()))?;
    let tenancy = match (a.tenant_column, a.single_tenant) {
        (Some(c), _) => init::Tenancy::Column(c),
        (None, true) => init::Tenancy::Single,
        (None, false) => init::Tenancy::Detect,
    };
    let opts = init::Options {
        schema: a.schema.clone(),
        tenancy,
        name: a
            .name
            .unwrap_or_else(|| default_name(&a.warehouse, a.schema.as_deref())),
        source: crate::store::redact_url(&a.warehouse),
    };
    let text = init::render(&facts, &opts).map_err(|e| Failure::usage(e.code(), e.to_string()))?;
    // The file must load: a starter that does not is our bug, reported rather than written.
    if let Err(e) = Catalog::from_toml(&text, "the generated catalog") {
        return Err(Failure::runtime(
            "init_failed",
            format!(
                "the generated catalog does not load ({e}); please report this with the schema"
            ),
        ));
    }
    match &a.out {
        None => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
        }
        Some(path) => {
            // Written beside the target and renamed: never a half-written catalog.
            let tmp = path.with_extension("toml.tmp");
            std::fs::write(&tmp, &text)
                .and_then(|()| std::fs::rename(&tmp, path))
                .map_err(|e| {
                    let _ = std::fs::remove_file(&tmp);
                    Failure::runtime("init_io", format!("cannot write {}: {e}", path.display()))
                })?;
            eprintln!(
                "wrote {} ({} table(s)); next: tally catalog check --catalog {} --warehouse {}",
                path.display(),
                facts.tables.len(),
                path.display(),
                crate::store::redact_url(&a.warehouse)
            );
        }
    }
    Ok(0)
}

/// `tally catalog check`: every finding, errors first; exit 2 when there is an error.
pub(super) async fn check_cmd(catalog: &Arc<Catalog>, a: CheckArgs) -> Result<i32, Failure> {
    let clock = today(None);
    let url = match a.warehouse {
        Some(u) => u,
        None => default_warehouse(catalog, &clock).await?,
    };
    let warehouse = open(&url).await?;
    let findings = inspect::check(catalog, &warehouse, &Limits::default())
        .await
        .map_err(|e| Failure::runtime(e.code(), e.to_string()))?;
    let errors = findings.iter().filter(|f| f.level == Level::Error).count();
    if a.json {
        say!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "ok": errors == 0,
                "findings": findings,
            }))
            .expect("findings serialize")
        );
    } else {
        for f in &findings {
            let level = match f.level {
                Level::Error => "error",
                Level::Warning => "warning",
            };
            say!("{level}[{}] {}: {}", f.code, f.key, f.message);
        }
        say!(
            "catalog {} against {}: {errors} error(s), {} warning(s)",
            catalog.name,
            crate::store::redact_url(&url),
            findings.len() - errors
        );
    }
    Ok(if errors == 0 { 0 } else { 2 })
}
