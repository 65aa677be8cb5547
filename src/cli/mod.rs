//! The `tally` command line: the subcommands and their flags, exit codes, and what several
//! subcommands share (loading the catalog, the app store, opening an engine on a warehouse or
//! the demo's); each subcommand's own flags and work are in its file, the work itself the
//! library's.
//!
//! Exit codes: 0 answered (or the command succeeded), 1 the machinery failed (warehouse, IO),
//! 2 invalid input (bad DSL, bad flags, bad catalog), 3 the query was refused by policy,
//! 4 the question needs clarification (`ask`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};

use crate::catalog::Catalog;
use crate::examples::{self, Example};
use crate::exec::Limits;
use crate::pipeline::Engine;
use crate::plan::Clock;
use crate::store::{Store, StoreOptions};
use crate::translate::llm::PromptExamples;

#[derive(Parser, Debug)]
#[command(
    name = "tally",
    version,
    about = "Exact answers to analytics questions, or an honest refusal"
)]
pub struct Cli {
    /// The catalog TOML (default: the embedded examples/metrica catalog).
    #[arg(long, global = true, env = "TALLY_CATALOG")]
    catalog: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Build the demo warehouse if absent, print a dev token per role and serve the API on it.
    Demo(demo::DemoArgs),
    /// Serve the HTTP API.
    Serve(serve::ServeArgs),
    /// Mint an HS256 development token (needs a dev secret).
    Token(serve::TokenArgs),
    /// Generate the seeded demo warehouse into a SQLite file.
    GenDemo(demo::GenDemoArgs),
    /// Load the seeded demo data into PostgreSQL or MySQL/MariaDB (replaces the demo's tables).
    LoadDemo(demo::LoadDemoArgs),
    /// Ask a question in English (rule translator) and print the answer.
    Ask(query::AskArgs),
    /// Evaluate the translator on a question set (JSON lines) and print its accuracy.
    Eval(query::EvalArgs),
    /// Run a DSL query file and print the answer.
    Run(query::RunArgs),
    /// Check and compile a DSL query file to SQL without running it.
    Compile(query::CompileArgs),
    /// Print the DSL JSON Schema (for a role, or the whole catalog).
    Schema(query::SchemaArgs),
    /// The audit log: purge rows past retention, or verify the hash chain.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// The catalog: check it against the warehouse it describes.
    #[command(subcommand)]
    Catalog(catalog::CatalogCommand),
    /// Rollups: build the catalog's pre-aggregations into a store file, or show what it holds.
    #[command(subcommand)]
    Rollup(rollup::RollupCommand),
    /// A Metrics API (dsl-spec/metrics-api.md): `serve` runs the reference server.
    #[command(subcommand, name = "metrics-api")]
    MetricsApi(metrics_api::MetricsApiCommand),
}

/// The app store's flags, shared by `demo`, `serve` and `audit`.
#[derive(Args, Debug, Clone)]
struct StoreArgs {
    /// The app store (audit log, revocations, conversations): `sqlite://FILE` or
    /// `postgres://…` (default: store.db in $TALLY_HOME or ~/.cache/tally).
    #[arg(long = "store", env = "TALLY_STORE")]
    url: Option<String>,
    /// Days audit rows are kept (the server purges hourly; default 30).
    #[arg(long)]
    retention_days: Option<u32>,
}

/// Prints a line to stdout; a closed pipe (`tally schema | head`) ends the process quietly.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        if let Err(e) = writeln!(out, $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}

// After `say!`, which they use.
mod audit;
mod catalog;
mod demo;
mod metrics_api;
mod query;
mod rollup;
mod serve;

/// A failure with its exit code, printed as `error[code]: message`.
struct Failure {
    exit: i32,
    code: &'static str,
    message: String,
}

impl Failure {
    fn usage(code: &'static str, message: impl Into<String>) -> Failure {
        Failure {
            exit: 2,
            code,
            message: message.into(),
        }
    }
    fn runtime(code: &'static str, message: impl Into<String>) -> Failure {
        Failure {
            exit: 1,
            code,
            message: message.into(),
        }
    }
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error[runtime]: {e}");
            return 1;
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(f) => {
            eprintln!("error[{}]: {}", f.code, f.message);
            f.exit
        }
    }
}

async fn dispatch(cli: Cli) -> Result<i32, Failure> {
    use catalog::CatalogCommand;
    // `catalog init` writes a catalog: it has none to load yet.
    if let Command::Catalog(CatalogCommand::Init(a)) = cli.command {
        return catalog::init_cmd(a).await;
    }
    let catalog = Arc::new(load_catalog(cli.catalog.as_deref())?);
    match cli.command {
        Command::Demo(a) => demo::demo_cmd(catalog, a).await,
        Command::Serve(a) => serve::serve_cmd(catalog, a).await,
        Command::Token(a) => serve::token_cmd(&catalog, a),
        Command::GenDemo(a) => demo::gen_demo(&catalog, a).await,
        Command::LoadDemo(a) => demo::load_demo(&catalog, a).await,
        Command::Ask(a) => query::ask(catalog, a).await,
        Command::Eval(a) => query::eval(catalog, a),
        Command::Run(a) => query::run(catalog, a).await,
        Command::Compile(a) => query::compile(catalog, a),
        Command::Schema(a) => query::schema_cmd(&catalog, a),
        Command::Audit(c) => audit::audit_cmd(c).await,
        Command::Catalog(CatalogCommand::Check(a)) => catalog::check_cmd(&catalog, a).await,
        Command::Catalog(CatalogCommand::Init(_)) => unreachable!("handled above"),
        Command::Rollup(c) => rollup::rollup_cmd(catalog, c).await,
        Command::MetricsApi(c) => metrics_api::metrics_api_cmd(catalog, c).await,
    }
}

fn load_catalog(path: Option<&Path>) -> Result<Catalog, Failure> {
    match path {
        None => Ok(Catalog::embedded_default()),
        Some(p) => Catalog::load_file(p).map_err(|e| Failure::usage(e.code(), e.to_string())),
    }
}

fn today(flag: Option<NaiveDate>) -> Clock {
    flag.map(Clock::fixed).unwrap_or_else(Clock::system)
}

/// The embedded example (generator, showcase, LLM examples) of a catalog, by catalog name.
fn example_for(catalog: &Catalog) -> Option<Example> {
    examples::find(&catalog.name)
}

/// What the LLM is shown for `catalog` besides the catalog itself: its example's few-shot
/// examples (none for a catalog of your own) and follow-up phrasings (the default example's
/// when its own example has none, so every catalog's instructions read as they always have).
fn prompt_examples(catalog: &Catalog) -> PromptExamples<'static> {
    let own = example_for(catalog);
    let followups = own
        .map(|e| e.followups)
        .filter(|f| !f.trim().is_empty())
        .unwrap_or(examples::default_example().followups);
    PromptExamples {
        fewshot: own.map_or("", |e| e.fewshot),
        followups,
    }
}

/// The engine on `--warehouse`, or on the catalog's demo warehouse (generated if absent);
/// `Engine::open` reads any `values = "discover"` dimensions.
/// The warehouse `--warehouse` names, or the demo's (generated on first use).
async fn warehouse_url(
    catalog: &Catalog,
    warehouse: Option<String>,
    clock: &Clock,
) -> Result<String, Failure> {
    match warehouse {
        Some(u) => Ok(u),
        None => demo::default_warehouse(catalog, clock).await,
    }
}

async fn open_engine(
    catalog: Arc<Catalog>,
    warehouse: Option<String>,
    rollups: &rollup::RollupsArg,
    clock: &Clock,
) -> Result<Engine, Failure> {
    let url = warehouse_url(&catalog, warehouse, clock).await?;
    let engine = Engine::open(catalog, &url, Limits::default())
        .await
        .map_err(|e| Failure::runtime(e.code(), e.to_string()))?;
    rollup::attach(engine, rollups).await
}

/// The app store's URL from `--store`, or the default SQLite file.
fn store_url(a: &StoreArgs) -> String {
    match &a.url {
        Some(u) => u.clone(),
        None => format!("sqlite://{}", demo::demo_dir().join("store.db").display()),
    }
}

/// Opens (creating if needed) the app store named by `--store`, or the default SQLite file.
async fn open_store(a: &StoreArgs) -> Result<Arc<Store>, Failure> {
    let store = Store::open(&store_url(a), StoreOptions::default())
        .await
        .map_err(|e| Failure::runtime(e.code(), e.to_string()))?;
    Ok(Arc::new(store))
}

/// Opens the app store for a server process and claims it (`Store::serve_alone`): a second
/// server on one SQLite store is refused here, before it says it is listening.
async fn open_store_to_serve(a: &StoreArgs) -> Result<Arc<Store>, Failure> {
    let store = open_store(a).await?;
    store
        .serve_alone()
        .await
        .map_err(|e| Failure::runtime(e.code(), e.to_string()))?;
    Ok(store)
}

/// Days audit rows are kept: `--retention-days`, or the store's default.
fn retention(a: &StoreArgs) -> u32 {
    a.retention_days
        .unwrap_or(crate::store::DEFAULT_RETENTION_DAYS)
}
