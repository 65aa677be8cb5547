//! The `tally` command line: subcommands, flags and exit codes, and assembling an engine, a store
//! and the demo warehouse from them; the work itself is the library's.
//!
//! Exit codes: 0 answered (or the command succeeded), 1 the machinery failed (warehouse, IO),
//! 2 invalid input (bad DSL, bad flags, bad catalog), 3 the query was refused by policy,
//! 4 the question needs clarification (`ask`).

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{Days, NaiveDate};
use clap::{Args, Parser, Subcommand};

use crate::catalog::Catalog;
use crate::check::{Checker, MAX_DSL_BYTES};
use crate::config::Config;
use crate::demo::{self, DemoOptions};
use crate::dsl::schema::{self, Form, Names};
use crate::examples::{self, Example, ShowcaseQuery};
use crate::exec::{CacheConfig, Limits, ResultCache};
use crate::pipeline::{self, CompileOnlyError, Engine, Outcome, Response};
use crate::plan::Clock;
use crate::server::{self, AppState, AuthConfig, DevSecret, Today};
use crate::sql::{self, Dialect};
use crate::store::{Store, StoreOptions};
use crate::translate::llm::PromptExamples;
use crate::translate::{Mode, Translators};
use catalog::CatalogCommand;

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
    Demo(DemoArgs),
    /// Serve the HTTP API.
    Serve(ServeArgs),
    /// Mint an HS256 development token (needs a dev secret).
    Token(TokenArgs),
    /// Generate the seeded demo warehouse into a SQLite file.
    GenDemo(GenDemoArgs),
    /// Load the seeded demo data into PostgreSQL or MySQL/MariaDB (replaces the demo's tables).
    LoadDemo(LoadDemoArgs),
    /// Ask a question in English (rule translator) and print the answer.
    Ask(AskArgs),
    /// Evaluate the translator on a question set (JSON lines) and print its accuracy.
    Eval(EvalArgs),
    /// Run a DSL query file and print the answer.
    Run(RunArgs),
    /// Check and compile a DSL query file to SQL without running it.
    Compile(CompileArgs),
    /// Print the DSL JSON Schema (for a role, or the whole catalog).
    Schema(SchemaArgs),
    /// The audit log: purge rows past retention, or verify the hash chain.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// The catalog: check it against the warehouse it describes.
    #[command(subcommand)]
    Catalog(CatalogCommand),
}

#[derive(Subcommand, Debug)]
enum AuditCommand {
    /// Remove audit rows older than the retention period (the purge is itself audited).
    Purge(StoreArgs),
    /// Check the audit log's numbering, hash chain and head; exit 1 if it is broken.
    Verify(VerifyArgs),
    /// Print the newest row's number and hash (`SEQ:HASH`): keep it elsewhere, and a later
    /// `tally audit verify --head SEQ:HASH` shows rows deleted since.
    Head(StoreArgs),
}

#[derive(Args, Debug, Clone)]
struct VerifyArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// A head kept from `tally audit head` (`SEQ:HASH`): the row must still be there, unchanged.
    #[arg(long)]
    head: Option<String>,
}

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

#[derive(Args, Debug)]
struct AskArgs {
    /// The question.
    question: String,
    #[arg(long)]
    role: String,
    #[arg(long)]
    workspace: String,
    /// Earlier questions of the same conversation, oldest first (for follow-ups).
    #[arg(long)]
    after: Vec<String>,
    #[arg(long)]
    today: Option<NaiveDate>,
    #[arg(long, env = "TALLY_WAREHOUSE")]
    warehouse: Option<String>,
    /// Print exactly the response JSON.
    #[arg(long)]
    json: bool,
    /// Which translator answers (default: hybrid when TALLY_LLM_BASE_URL and TALLY_LLM_MODEL
    /// are set, rules otherwise).
    #[arg(long, value_enum)]
    translator: Option<TranslatorArg>,
}

/// `--translator` values.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum TranslatorArg {
    Rules,
    Llm,
    Hybrid,
}

impl From<TranslatorArg> for crate::translate::Mode {
    fn from(a: TranslatorArg) -> Self {
        match a {
            TranslatorArg::Rules => crate::translate::Mode::Rules,
            TranslatorArg::Llm => crate::translate::Mode::Llm,
            TranslatorArg::Hybrid => crate::translate::Mode::Hybrid,
        }
    }
}

#[derive(Args, Debug)]
struct EvalArgs {
    /// JSON lines: {id, question, role, after?, expect, dsl?, refusal?}; each file is reported
    /// on its own (a name containing `heldback` or `fresh` is reported as a held-back set).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Today's date for relative periods (default 2026-11-23, the question set's pinned date).
    #[arg(long, default_value = "2026-11-23")]
    today: NaiveDate,
    /// Print every miss, not only the summary.
    #[arg(long)]
    verbose: bool,
}

#[derive(Args, Debug)]
struct DemoArgs {
    /// Today's date (default: the system clock, UTC).
    #[arg(long)]
    today: Option<NaiveDate>,
    /// Use this warehouse instead of the generated demo file.
    #[arg(long)]
    warehouse: Option<String>,
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Run the example queries for every demo role and exit instead of serving.
    #[arg(long)]
    showcase: bool,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// A TOML config file ([server], [warehouse], [store], [auth], [llm]); flags and
    /// environment variables override it.
    #[arg(long, env = "TALLY_CONFIG")]
    config: Option<PathBuf>,
    /// `sqlite://FILE`, `postgres://…` or `mysql://…` (default: the demo warehouse, generated on
    /// first use).
    #[arg(long, env = "TALLY_WAREHOUSE")]
    warehouse: Option<String>,
    /// Where to listen (default 127.0.0.1:8080).
    #[arg(long)]
    addr: Option<SocketAddr>,
    /// Today's date for every request (default: the system clock, UTC, per request).
    #[arg(long)]
    today: Option<NaiveDate>,
    #[command(flatten)]
    auth: AuthArgs,
    #[command(flatten)]
    store: StoreArgs,
    /// Development: print a token per role (signed with a secret made for this process unless
    /// a dev secret is given) and the page URL, as `demo` does, on your own warehouse.
    #[arg(long)]
    dev: bool,
    /// The workspace the --dev tokens grant (default: a single-tenant catalog's workspace).
    #[arg(long, requires = "dev")]
    dev_workspace: Option<String>,
}

#[derive(Args, Debug, Clone)]
struct AuthArgs {
    /// HS256 secret for development tokens, at least 32 bytes (prefer the environment variable:
    /// a flag shows in the process list).
    #[arg(long, env = "TALLY_DEV_SECRET", hide_env_values = true)]
    dev_secret: Option<String>,
    /// The `iss` tokens must carry (default `tally`).
    #[arg(long)]
    issuer: Option<String>,
    /// The `aud` tokens must carry (default `tally`).
    #[arg(long)]
    audience: Option<String>,
    /// A JWKS URL (https, or http on loopback) whose RS256/ES256 keys verify SSO tokens; with a
    /// dev secret too, both kinds of token are accepted.
    #[arg(long, env = "TALLY_JWKS_URL")]
    jwks_url: Option<String>,
}

#[derive(Args, Debug)]
struct TokenArgs {
    /// A role from the catalog.
    #[arg(long)]
    role: String,
    /// A workspace the token grants (repeat for several).
    #[arg(long = "workspace", required = true)]
    workspaces: Vec<String>,
    /// Lifetime: a number with s, m, h or d (at most 30d).
    #[arg(long, default_value = "8h")]
    ttl: String,
    /// The `sub` claim (default: dev-ROLE).
    #[arg(long)]
    subject: Option<String>,
    #[command(flatten)]
    auth: AuthArgs,
}

#[derive(Args, Debug)]
struct GenDemoArgs {
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Last day of data (default: yesterday, UTC).
    #[arg(long)]
    end_date: Option<NaiveDate>,
    /// Volume multiplier (1 = default size; 50 ≈ tens of millions of events).
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
}

#[derive(Args, Debug)]
struct LoadDemoArgs {
    /// `postgres://USER@HOST:PORT/DB` or `mysql://USER@HOST:PORT/DB`.
    #[arg(long)]
    warehouse: String,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Last day of data (default: yesterday, UTC).
    #[arg(long)]
    end_date: Option<NaiveDate>,
    /// Volume multiplier (1 = default size).
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Drop and recreate the demo's tables without asking.
    #[arg(long)]
    yes: bool,
}

#[derive(Args, Debug)]
struct RunArgs {
    /// A JSON file with one DSL query (`-` for standard input).
    query: PathBuf,
    #[arg(long)]
    role: String,
    #[arg(long)]
    workspace: String,
    /// Today's date (default: the system clock, UTC).
    #[arg(long)]
    today: Option<NaiveDate>,
    /// `sqlite://FILE` (default: the demo warehouse, generated on first use).
    #[arg(long, env = "TALLY_WAREHOUSE")]
    warehouse: Option<String>,
    /// Print exactly the response JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct CompileArgs {
    query: PathBuf,
    /// One dialect (default: all three).
    #[arg(long, value_enum)]
    dialect: Option<DialectArg>,
    /// Role to check the query as (default: the first role that may see SQL).
    #[arg(long)]
    role: Option<String>,
    /// Workspace bound as the tenant parameter.
    #[arg(long, default_value = "WORKSPACE")]
    workspace: String,
    #[arg(long)]
    today: Option<NaiveDate>,
}

/// `--dialect` values: the flag's spelling of `sql::Dialect`, which knows nothing of clap.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum DialectArg {
    Sqlite,
    Postgres,
    Mysql,
}

impl From<DialectArg> for Dialect {
    fn from(a: DialectArg) -> Self {
        match a {
            DialectArg::Sqlite => Dialect::Sqlite,
            DialectArg::Postgres => Dialect::Postgres,
            DialectArg::Mysql => Dialect::Mysql,
        }
    }
}

#[derive(Args, Debug)]
struct SchemaArgs {
    /// Narrow the schema to what this role may use (default: the whole catalog).
    #[arg(long)]
    role: Option<String>,
    /// `strict` (OpenAI structured outputs) or `validation` (what Tally accepts).
    #[arg(long, default_value = "strict")]
    form: String,
}

/// Prints a line to stdout; a closed pipe (`tally schema | head`) ends the process quietly.
macro_rules! say {
    ($($arg:tt)*) => {{
        let mut out = std::io::stdout().lock();
        if let Err(e) = writeln!(out, $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}

// After `say!`, which it uses.
mod catalog;

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
    // `catalog init` writes a catalog: it has none to load yet.
    if let Command::Catalog(CatalogCommand::Init(a)) = cli.command {
        return catalog::init_cmd(a).await;
    }
    let catalog = Arc::new(load_catalog(cli.catalog.as_deref())?);
    match cli.command {
        Command::Demo(a) => demo_cmd(catalog, a).await,
        Command::Serve(a) => serve_cmd(catalog, a).await,
        Command::Token(a) => token_cmd(&catalog, a),
        Command::GenDemo(a) => gen_demo(&catalog, a).await,
        Command::LoadDemo(a) => load_demo(&catalog, a).await,
        Command::Ask(a) => ask(catalog, a).await,
        Command::Eval(a) => eval(catalog, a),
        Command::Run(a) => run(catalog, a).await,
        Command::Compile(a) => compile(catalog, a),
        Command::Schema(a) => schema_cmd(&catalog, a),
        Command::Audit(c) => audit_cmd(c).await,
        Command::Catalog(CatalogCommand::Check(a)) => catalog::check_cmd(&catalog, a).await,
        Command::Catalog(CatalogCommand::Init(_)) => unreachable!("handled above"),
    }
}

/// The app store's URL from `--store`, or the default SQLite file.
fn store_url(a: &StoreArgs) -> String {
    match &a.url {
        Some(u) => u.clone(),
        None => format!("sqlite://{}", demo_dir().join("store.db").display()),
    }
}

/// Opens (creating if needed) the app store named by `--store`, or the default SQLite file.
async fn open_store(a: &StoreArgs) -> Result<Arc<Store>, Failure> {
    let store = Store::open(&store_url(a), StoreOptions::default())
        .await
        .map_err(|e| Failure::runtime(e.code(), e.to_string()))?;
    Ok(Arc::new(store))
}

/// Opens a store that must exist already: checking a store that is not there is a failure,
/// never a new empty store reported intact.
async fn open_existing_store(a: &StoreArgs) -> Result<Arc<Store>, Failure> {
    let store = Store::open_existing(&store_url(a), StoreOptions::default())
        .await
        .map_err(|e| Failure::runtime(e.code(), e.to_string()))?;
    Ok(Arc::new(store))
}

async fn audit_cmd(c: AuditCommand) -> Result<i32, Failure> {
    match c {
        AuditCommand::Purge(a) => {
            let store = open_store(&a).await?;
            let who = format!(
                "cli:{}",
                std::env::var("USER").unwrap_or_else(|_| "unknown".into())
            );
            let r = store
                .purge(retention(&a), &who)
                .await
                .map_err(|e| Failure::runtime(e.code(), e.to_string()))?;
            say!(
                "purged {} audit row(s) older than {} ({} days) from {}; recorded as row {}",
                r.deleted,
                r.cutoff,
                retention(&a),
                store.display_url(),
                r.recorded_seq
            );
            Ok(0)
        }
        AuditCommand::Head(a) => {
            let store = open_existing_store(&a).await?;
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
        AuditCommand::Verify(a) => {
            let kept = a
                .head
                .as_deref()
                .map(|h| {
                    h.split_once(':')
                        .and_then(|(seq, hash)| Some((seq.parse::<i64>().ok()?, hash.to_string())))
                        .ok_or_else(|| {
                            Failure::usage(
                                "invalid_head",
                                format!(
                                    "`--head {h}` is not SEQ:HASH as `tally audit head` prints it"
                                ),
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
    }
}

/// Purges audit rows past retention once an hour while the server runs.
fn spawn_hourly_purge(store: Arc<Store>, retention_days: u32) {
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

/// Where demo warehouses are kept: $TALLY_HOME, else $XDG_CACHE_HOME/tally, else ~/.cache/tally.
fn demo_dir() -> PathBuf {
    if let Some(h) = std::env::var_os("TALLY_HOME") {
        return PathBuf::from(h);
    }
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(x).join("tally");
    }
    if let Some(h) = std::env::var_os("HOME") {
        return PathBuf::from(h).join(".cache").join("tally");
    }
    PathBuf::from(".tally")
}

/// The demo warehouse for `catalog` whose data ends yesterday, generated if absent.
async fn default_warehouse(catalog: &Catalog, clock: &Clock) -> Result<String, Failure> {
    let example = example_for(catalog).ok_or_else(|| {
        Failure::usage(
            "no_warehouse",
            format!(
                "catalog `{}` has no demo generator: pass --warehouse sqlite://FILE",
                catalog.name
            ),
        )
    })?;
    let end = clock.today() - Days::new(1);
    let opts = DemoOptions::new(end);
    let dir = demo_dir();
    let path = dir.join(format!("{}-demo-seed{}-{end}.db", example.name, opts.seed));
    if !path.is_file() {
        std::fs::create_dir_all(&dir).map_err(|e| {
            Failure::runtime("demo_io", format!("cannot create {}: {e}", dir.display()))
        })?;
        eprintln!(
            "building the {} demo warehouse (data to {end}) at {} — first run only",
            example.name,
            path.display()
        );
        write_demo(&path, &example, &opts).await?;
    }
    Ok(format!("sqlite://{}", path.display()))
}

async fn write_demo(path: &Path, example: &Example, opts: &DemoOptions) -> Result<(), Failure> {
    let started = std::time::Instant::now();
    let mut progress = |table: &str, rows: u64| {
        eprint!("\r  {table}: {rows} rows          ");
        let _ = std::io::stderr().flush();
    };
    let report = demo::write_sqlite(path, &example.generator, opts, &mut progress)
        .await
        .map_err(|e| Failure::runtime(e.code(), e.to_string()))?;
    eprintln!(
        "\r  {} rows in {:.1} s                    ",
        report.total_rows(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn gen_demo(catalog: &Catalog, a: GenDemoArgs) -> Result<i32, Failure> {
    let example = example_for(catalog).ok_or_else(|| {
        Failure::usage(
            "no_generator",
            format!("catalog `{}` has no demo generator", catalog.name),
        )
    })?;
    let end = a
        .end_date
        .unwrap_or_else(|| Clock::system().today() - Days::new(1));
    let opts = DemoOptions {
        seed: a.seed,
        end_date: end,
        scale: a.scale,
    };
    opts.validate()
        .map_err(|e| Failure::usage(e.code(), e.to_string()))?;
    eprintln!(
        "generating {} demo data (seed {}, end {end}, scale {})",
        example.name, a.seed, a.scale
    );
    write_demo(&a.out, &example, &opts).await?;
    say!("{}", a.out.display());
    Ok(0)
}

/// Loads the demo data into a PostgreSQL or MySQL/MariaDB warehouse, after confirming that the
/// demo's tables may be replaced.
async fn load_demo(catalog: &Catalog, a: LoadDemoArgs) -> Result<i32, Failure> {
    use std::io::IsTerminal;

    let example = example_for(catalog).ok_or_else(|| {
        Failure::usage(
            "no_generator",
            format!("catalog `{}` has no demo generator", catalog.name),
        )
    })?;
    let scheme = a.warehouse.split("://").next().unwrap_or("");
    if !matches!(scheme, "postgres" | "postgresql" | "mysql" | "mariadb") {
        return Err(Failure::usage(
            "unsupported_warehouse",
            "--warehouse must be postgres://… or mysql://… (for SQLite use gen-demo --out FILE)",
        ));
    }
    let end = a
        .end_date
        .unwrap_or_else(|| Clock::system().today() - Days::new(1));
    let opts = DemoOptions {
        seed: a.seed,
        end_date: end,
        scale: a.scale,
    };
    opts.validate()
        .map_err(|e| Failure::usage(e.code(), e.to_string()))?;
    let tables: Vec<&str> = (example.generator.tables)()
        .iter()
        .map(|def| def.name)
        .collect();
    if !a.yes {
        if !std::io::stdin().is_terminal() {
            return Err(Failure::usage(
                "confirmation_required",
                format!(
                    "load-demo replaces the tables {} in the warehouse; pass --yes to confirm when standard input is not a terminal",
                    tables.join(", ")
                ),
            ));
        }
        eprint!(
            "This drops and recreates the tables {} in the warehouse. Continue? [y/N] ",
            tables.join(", ")
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).map_err(|e| {
            Failure::usage(
                "confirmation_required",
                format!("cannot read the answer: {e}"),
            )
        })?;
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            eprintln!("nothing changed");
            return Ok(2);
        }
    }
    eprintln!(
        "loading {} demo data (seed {}, end {end}, scale {})",
        example.name, a.seed, a.scale
    );
    let started = std::time::Instant::now();
    let mut progress = |table: &str, rows: u64| {
        eprint!("\r  {table}: {rows} rows          ");
        let _ = std::io::stderr().flush();
    };
    let report = demo::load_demo(&a.warehouse, &example.generator, &opts, &mut progress)
        .await
        .map_err(|e| match e {
            demo::DemoError::InvalidOptions { .. } => Failure::usage(e.code(), e.to_string()),
            _ => Failure::runtime(e.code(), e.to_string()),
        })?;
    eprintln!(
        "\r  {} rows in {:.1} s                    ",
        report.total_rows(),
        started.elapsed().as_secs_f64()
    );
    for entry in &report.tables {
        say!("{:<20} {:>12}", entry.table, entry.rows);
    }
    Ok(0)
}

/// Reads a query file, refusing more than the DSL size limit without reading it all.
fn read_query(path: &Path) -> Result<Vec<u8>, Failure> {
    let mut buf = Vec::new();
    let limit = (MAX_DSL_BYTES + 1) as u64;
    let result = if path == Path::new("-") {
        std::io::stdin().take(limit).read_to_end(&mut buf)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(limit).read_to_end(&mut buf))
    };
    result.map_err(|e| {
        Failure::usage(
            "unreadable_query",
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    Ok(buf)
}

async fn open_engine(
    catalog: Arc<Catalog>,
    warehouse: Option<String>,
    clock: &Clock,
) -> Result<Engine, Failure> {
    let url = match warehouse {
        Some(u) => u,
        None => default_warehouse(&catalog, clock).await?,
    };
    Engine::open(catalog, &url, Limits::default())
        .await
        .map_err(|e| Failure::runtime(e.code(), e.to_string()))
}

fn exit_for(outcome: Outcome) -> i32 {
    match outcome {
        Outcome::Answered => 0,
        Outcome::Invalid => 2,
        Outcome::Refused => 3,
        Outcome::NeedsClarification => 4,
    }
}

async fn ask(catalog: Arc<Catalog>, a: AskArgs) -> Result<i32, Failure> {
    let clock = today(a.today);
    // The LLM setup is read before the warehouse is opened, so a bad setting fails fast; the
    // translators are built again only if the catalog as opened differs (discovered values).
    let translators = |catalog: &Arc<Catalog>, rules: &Arc<crate::translate::rules::Rules>| {
        crate::translate::Translators::from_env(
            catalog.clone(),
            rules.clone(),
            a.translator.map(Into::into),
            prompt_examples(catalog),
        )
        .map_err(|e| Failure::usage("invalid_translator", e.to_string()))
    };
    let rules = Arc::new(crate::translate::rules::Rules::new(&catalog));
    let early = translators(&catalog, &rules)?;
    let engine = open_engine(catalog.clone(), a.warehouse.clone(), &clock).await?;
    let engine = if Arc::ptr_eq(engine.catalog(), &catalog) {
        engine.with_translators(early)
    } else {
        let again = translators(engine.catalog(), engine.rules())?;
        engine.with_translators(again)
    };
    let mut previous: Option<serde_json::Value> = None;
    let mut spent_usd = 0.0;
    for q in &a.after {
        let turn = pipeline::Turn {
            previous: previous.as_ref(),
            spent_usd,
        };
        let (r, trace) = engine
            .ask_in_conversation(q, &a.role, &a.workspace, &clock, turn)
            .await
            .map_err(|e| Failure::runtime(e.code(), e.to_string()))?;
        spent_usd += trace.translation.map_or(0.0, |t| t.usage.cost_usd);
        if let Some(dsl) = r
            .executed_dsl
            .as_ref()
            .and_then(|d| serde_json::to_value(d).ok())
        {
            previous = Some(dsl);
        }
    }
    let turn = pipeline::Turn {
        previous: previous.as_ref(),
        spent_usd,
    };
    let (response, _) = engine
        .ask_in_conversation(&a.question, &a.role, &a.workspace, &clock, turn)
        .await
        .map_err(|e| Failure::runtime(e.code(), e.to_string()))?;
    print_response(&response, Print::from_flag(a.json), &a.role, &a.workspace);
    if let (false, Some(note)) = (a.json, &response.note) {
        eprintln!("note: {note}");
    }
    Ok(exit_for(response.outcome))
}

fn eval(catalog: Arc<Catalog>, a: EvalArgs) -> Result<i32, Failure> {
    use crate::translate::eval::{evaluate, read_cases};
    let checker = Checker::new(catalog.clone());
    let rules = crate::translate::rules::Rules::new(&catalog);
    for file in &a.files {
        let text = std::fs::read_to_string(file).map_err(|e| {
            Failure::usage(
                "unreadable_file",
                format!("cannot read {}: {e}", file.display()),
            )
        })?;
        let cases = read_cases(&text).map_err(|(line, e)| {
            Failure::usage(
                "invalid_question_set",
                format!("{}:{line}: {e}", file.display()),
            )
        })?;
        let started = std::time::Instant::now();
        let report = evaluate(&cases, &rules, &checker, a.today);
        let took = started.elapsed();
        for o in report
            .outcomes
            .iter()
            .filter(|o| a.verbose && !o.verdict.correct())
        {
            let q = cases
                .iter()
                .find(|c| c.id == o.id)
                .map(|c| c.question.as_str())
                .unwrap_or("");
            say!("{} {:?}: {q}\n    {}", o.id, o.verdict, o.detail);
        }
        // A file named *heldback* was written before the translator was tuned, *fresh* by
        // another engineer after it; neither is tuned on, so their figures are the honest ones.
        let name = file.to_string_lossy();
        let set = if name.contains("heldback") {
            "held-back"
        } else if name.contains("fresh") {
            "fresh held-back"
        } else {
            "tuning"
        };
        say!(
            "{} · {set} set · translator: rules · {} questions · {:.1} ms",
            file.display(),
            report.total,
            took.as_secs_f64() * 1e3
        );
        let lines = [
            ("correct", report.correct),
            ("  answered-correct", report.answered_correct),
            ("  refused-correct", report.refused_correct),
            ("  clarified-correct", report.clarified_correct),
            ("answered-wrong", report.answered_wrong),
            ("  of which must-not-answer", report.answered_must_not),
            ("clarified instead", report.clarified_instead),
            ("refused instead", report.refused_wrong),
        ];
        for (label, n) in lines {
            say!("{label:<28}{n:4}  {:5.1}%", report.pct(n));
        }
    }
    Ok(0)
}

async fn run(catalog: Arc<Catalog>, a: RunArgs) -> Result<i32, Failure> {
    let raw = read_query(&a.query)?;
    let clock = today(a.today);
    // Invalid input is reported before any warehouse is built or opened.
    let checker = Checker::new(catalog.clone());
    if let Err(rejection) = checker.check_bytes(&raw, &a.role) {
        if matches!(rejection, crate::check::Rejection::Invalid { .. })
            || catalog.role(&a.role).is_none()
        {
            let engine_free = pipeline::rejection_response(&catalog, rejection);
            print_response(
                &engine_free,
                Print::from_flag(a.json),
                &a.role,
                &a.workspace,
            );
            return Ok(exit_for(engine_free.outcome));
        }
    }
    let engine = open_engine(catalog, a.warehouse, &clock).await?;
    let (response, _) = engine
        .run(&raw, &a.role, &a.workspace, &clock)
        .await
        .map_err(|e| Failure::runtime(e.code(), e.to_string()))?;
    print_response(&response, Print::from_flag(a.json), &a.role, &a.workspace);
    Ok(exit_for(response.outcome))
}

/// How a response is printed: for people, or exactly the response JSON (`--json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Print {
    Text,
    Json,
}

impl Print {
    fn from_flag(json: bool) -> Print {
        if json {
            Print::Json
        } else {
            Print::Text
        }
    }
}

fn print_response(r: &Response, print: Print, role: &str, workspace: &str) {
    if print == Print::Json {
        say!(
            "{}",
            serde_json::to_string_pretty(r).expect("responses serialize")
        );
        return;
    }
    say!(
        "{} · role {role} · workspace {workspace}",
        r.outcome.as_str()
    );
    say!("{}", r.answer);
    for d in &r.diagnostics {
        say!("  - {d}");
    }
    if let Some(data) = &r.data {
        if !data.summary.is_empty() {
            say!(
                "\nsummary: {}",
                serde_json::to_string(&data.summary).unwrap_or_default()
            );
        }
        if !data.breakdown.is_empty() {
            say!(
                "breakdown: {}",
                serde_json::to_string(&data.breakdown).unwrap_or_default()
            );
        }
        if !data.timeseries.is_empty() {
            say!(
                "timeseries: {}",
                serde_json::to_string(&data.timeseries).unwrap_or_default()
            );
        }
        if !data.rows.is_empty() {
            say!(
                "rows: {}",
                serde_json::to_string(&data.rows).unwrap_or_default()
            );
        }
    }
    if let Some(q) = &r.executed_dsl {
        say!(
            "\nexecuted DSL: {}",
            serde_json::to_string(q).unwrap_or_default()
        );
    }
    if let Some(s) = &r.refusal.as_ref().and_then(|f| f.suggestion.clone()) {
        say!("suggestion: {s}");
    }
    if let Some(sql) = &r.sql {
        say!("\nSQL:\n{sql}");
    }
}

fn compile(catalog: Arc<Catalog>, a: CompileArgs) -> Result<i32, Failure> {
    let raw = read_query(&a.query)?;
    let role = match a.role {
        Some(r) => r,
        None => catalog
            .roles
            .values()
            .find(|r| r.see_sql)
            .map(|r| r.name.clone())
            .ok_or_else(|| {
                Failure::usage("no_role", "give --role: no role in the catalog may see SQL")
            })?,
    };
    let clock = today(a.today);
    let checker = Checker::new(catalog.clone());
    let dialects = match a.dialect {
        Some(d) => vec![d.into()],
        None => Dialect::ALL.to_vec(),
    };
    for d in dialects {
        match pipeline::compile_only(&checker, &raw, &role, &a.workspace, &clock, d) {
            Ok(statements) => {
                say!("-- {}", d.as_str());
                say!("{}", sql::render(&statements));
            }
            Err(CompileOnlyError::Rejected(rejection)) => {
                let r = pipeline::rejection_response(&catalog, rejection);
                print_response(&r, Print::Text, &role, &a.workspace);
                return Ok(exit_for(r.outcome));
            }
            Err(CompileOnlyError::Plan(e)) => return Err(Failure::usage(e.code(), e.to_string())),
            Err(CompileOnlyError::Compile(e)) => {
                return Err(Failure::runtime(e.code(), e.to_string()))
            }
        }
    }
    Ok(0)
}

fn schema_cmd(catalog: &Catalog, a: SchemaArgs) -> Result<i32, Failure> {
    let form = match a.form.as_str() {
        "strict" => Form::Strict,
        "validation" => Form::Validation,
        other => {
            return Err(Failure::usage(
                "invalid_flag",
                format!("--form {other}: use strict or validation"),
            ))
        }
    };
    let names = match &a.role {
        None => Names::of_catalog(catalog),
        Some(r) => {
            let role = catalog.role(r).ok_or_else(|| {
                Failure::usage(
                    "unknown_role",
                    format!(
                        "unknown role `{r}` (roles: {})",
                        catalog.roles.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                )
            })?;
            Names::of_role(catalog, role)
        }
    };
    let s = schema::schema(&names, form);
    say!(
        "{}",
        serde_json::to_string_pretty(&s).expect("schema serializes")
    );
    Ok(0)
}

/// The example (generator and showcase queries) `tally demo` runs for `catalog`.
fn demo_example(catalog: &Catalog) -> Result<Example, Failure> {
    example_for(catalog).ok_or_else(|| {
        Failure::usage(
            "no_generator",
            format!(
                "catalog `{}` has no demo: to serve it on your own warehouse, run `tally --catalog FILE serve --dev --warehouse URL` (see the README's \"Use your own data\")",
                catalog.name
            ),
        )
    })
}

/// The example's showcase queries: at least one (the first is the one `tally demo` offers).
fn showcase_queries(example: &Example) -> Result<Vec<ShowcaseQuery>, Failure> {
    let queries = example.showcase().map_err(|e| {
        Failure::runtime(
            "demo_queries",
            format!("the example's demo queries do not parse: {e}"),
        )
    })?;
    if queries.is_empty() {
        return Err(Failure::runtime(
            "demo_queries",
            "the example has no demo queries",
        ));
    }
    Ok(queries)
}

async fn showcase(catalog: Arc<Catalog>, a: DemoArgs) -> Result<i32, Failure> {
    let clock = today(a.today);
    let example = demo_example(&catalog)?;
    let engine = open_engine(catalog.clone(), a.warehouse, &clock).await?;
    let queries = showcase_queries(&example)?;
    let own_workspace = queries[0].workspace.clone();
    say!(
        "Tally demo · catalog {} {} · today {}\n",
        catalog.name,
        catalog.version,
        clock.today()
    );
    for q in queries {
        let (title, role, workspace) = (&q.title, &q.role, &q.workspace);
        let dsl = serde_json::to_vec(&q.dsl).unwrap_or_default();
        let (r, _) = engine
            .run(&dsl, role, workspace, &clock)
            .await
            .map_err(|e| Failure::runtime(e.code(), e.to_string()))?;
        say!("▶ {title}  [{role} @ {workspace}]");
        say!("  DSL: {}", String::from_utf8_lossy(&dsl));
        say!("  {} — {}\n", r.outcome.as_str(), r.answer);
    }
    say!(
        "Run your own: tally run QUERY.json --role analyst --workspace {own_workspace}  (see README)"
    );
    Ok(0)
}

/// The dev-token verifier, or why there is none.
/// The token verifiers the flags configure: the dev secret, the JWKS URL, or both (at least one).
/// The token verifiers: the dev secret (flag or environment) and a JWKS (flag, environment or
/// the config file's `[auth.jwks]`); issuer and audience from the flags, the file or `tally`.
fn auth_config(
    a: &AuthArgs,
    file: Option<&crate::config::AuthSection>,
) -> Result<(Option<DevSecret>, AuthConfig), Failure> {
    let issuer = a
        .issuer
        .clone()
        .or_else(|| file.and_then(|f| f.issuer.clone()))
        .unwrap_or_else(|| "tally".into());
    let audience = a
        .audience
        .clone()
        .or_else(|| file.and_then(|f| f.audience.clone()))
        .unwrap_or_else(|| "tally".into());
    let jwks_config = match (&a.jwks_url, file.and_then(|f| f.jwks.clone())) {
        (Some(url), _) => Some(server::JwksConfig::new(url.as_str())),
        (None, from_file) => from_file,
    };
    let jwks = jwks_config
        .map(|c| server::JwksVerifier::new(&c).map_err(|m| Failure::usage("invalid_jwks_url", m)))
        .transpose()?;
    let a = &ResolvedAuth {
        dev_secret: a.dev_secret.clone(),
        issuer,
        audience,
    };
    match jwks {
        Some(j) if a.dev_secret.is_none() => {
            Ok((None, AuthConfig::jwks(j, &a.issuer, &a.audience)))
        }
        Some(j) => {
            let secret = dev_secret(a)?;
            let auth = AuthConfig::hs256(&secret, &a.issuer, &a.audience).with_jwks(j);
            Ok((Some(secret), auth))
        }
        None => {
            let secret = dev_secret(a)?;
            let auth = AuthConfig::hs256(&secret, &a.issuer, &a.audience);
            Ok((Some(secret), auth))
        }
    }
}

struct ResolvedAuth {
    dev_secret: Option<String>,
    issuer: String,
    audience: String,
}

/// The dev secret, required (`tally token` mints only with one).
fn dev_secret(a: &ResolvedAuth) -> Result<DevSecret, Failure> {
    let secret = a.dev_secret.as_deref().ok_or_else(|| {
        Failure::usage(
            "no_dev_secret",
            "no dev secret configured: set TALLY_DEV_SECRET (or pass --dev-secret) to a secret of at least 32 bytes",
        )
    })?;
    DevSecret::new(secret.as_bytes()).map_err(|m| Failure::usage("weak_dev_secret", m))
}

/// Parses a lifetime such as `90s`, `30m`, `8h` or `7d`.
fn parse_ttl(s: &str) -> Result<std::time::Duration, Failure> {
    let bad = || {
        Failure::usage(
            "invalid_flag",
            format!("--ttl {s}: use a number with s, m, h or d (at most 30d)"),
        )
    };
    let unit = s.chars().last().ok_or_else(bad)?;
    let n: u64 = s[..s.len() - unit.len_utf8()].parse().map_err(|_| bad())?;
    let seconds = match unit {
        's' => n,
        'm' => n.checked_mul(60).ok_or_else(bad)?,
        'h' => n.checked_mul(3600).ok_or_else(bad)?,
        'd' => n.checked_mul(86_400).ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    if seconds == 0 || seconds > 30 * 86_400 {
        return Err(bad());
    }
    Ok(std::time::Duration::from_secs(seconds))
}

fn token_cmd(catalog: &Catalog, a: TokenArgs) -> Result<i32, Failure> {
    let resolved = ResolvedAuth {
        dev_secret: a.auth.dev_secret.clone(),
        issuer: a.auth.issuer.clone().unwrap_or_else(|| "tally".into()),
        audience: a.auth.audience.clone().unwrap_or_else(|| "tally".into()),
    };
    let secret = dev_secret(&resolved)?;
    if catalog.role(&a.role).is_none() {
        return Err(Failure::usage(
            "unknown_role",
            format!(
                "unknown role `{}` (roles: {})",
                a.role,
                catalog.roles.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    for w in &a.workspaces {
        crate::plan::WorkspaceId::parse(w).map_err(|e| Failure::usage(e.code(), e.to_string()))?;
    }
    let ttl = parse_ttl(&a.ttl)?;
    if ttl > server::auth::DEFAULT_MAX_LIFETIME {
        eprintln!(
            "warning: a server with the default [auth] max_token_lifetime_secs (86400) refuses \
             tokens valid for longer than a day"
        );
    }
    let subject = a.subject.unwrap_or_else(|| format!("dev-{}", a.role));
    let token = server::mint_dev_token(
        &secret,
        &resolved.issuer,
        &resolved.audience,
        &subject,
        &a.role,
        &a.workspaces,
        ttl,
    )
    .map_err(|m| Failure::runtime("token", m))?;
    say!("{token}");
    Ok(0)
}

async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, Failure> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Failure::runtime("bind", format!("cannot listen on {addr}: {e}")))
}

async fn serve_until_signal(
    listener: tokio::net::TcpListener,
    state: AppState,
) -> Result<i32, Failure> {
    server::serve(listener, state, server::shutdown_signal())
        .await
        .map_err(|e| Failure::runtime("serve", e.to_string()))?;
    eprintln!("stopped");
    Ok(0)
}

async fn serve_cmd(catalog: Arc<Catalog>, a: ServeArgs) -> Result<i32, Failure> {
    let file = match &a.config {
        Some(path) => Config::load(path).map_err(|m| Failure::usage("invalid_config", m))?,
        None => Config::default(),
    };
    // `--dev`: tokens per role, signed with the given dev secret or one made for this process.
    let mut auth_args = a.auth.clone();
    let dev_workspace = if a.dev {
        if auth_args.dev_secret.is_none() {
            let secret = DevSecret::random_text().map_err(|m| Failure::runtime("randomness", m))?;
            auth_args.dev_secret = Some(secret);
        }
        match (&a.dev_workspace, &catalog.tenancy) {
            (Some(w), _) => Some(w.clone()),
            (None, crate::catalog::Tenancy::Single { workspace }) => Some(workspace.clone()),
            (None, crate::catalog::Tenancy::Multi) => {
                return Err(Failure::usage(
                    "dev_workspace_required",
                    "the catalog is multi-tenant: say which workspace the --dev tokens grant with --dev-workspace W",
                ))
            }
        }
    } else {
        None
    };
    // Fail closed: without a verifier no request could be authorised.
    let (dev_secret, auth) = auth_config(&auth_args, Some(&file.auth))?;
    let auth = match file.auth.max_token_lifetime_secs {
        Some(0) => {
            return Err(Failure::usage(
                "invalid_config",
                "[auth] max_token_lifetime_secs must be at least 1",
            ))
        }
        Some(secs) => auth.with_max_lifetime(std::time::Duration::from_secs(secs)),
        None => auth,
    };
    if let Some(jwks) = auth.jwks_verifier() {
        // Fetch the keys now so the first SSO request does not wait; a failure is not fatal
        // (the verifier retries), but it is said.
        match jwks.refresh().await {
            Ok(n) => eprintln!("JWKS: {n} key(s) loaded"),
            Err(e) => eprintln!("warning: JWKS not loaded yet: {e}"),
        }
    }
    let today_flag = a.today.or(file.server.today);
    let clock = today(today_flag);
    let warehouse = a.warehouse.clone().or(file.warehouse.url.clone());
    let engine = open_engine(catalog.clone(), warehouse, &clock).await?;
    // With its discovered values, from here on.
    let catalog = engine.catalog().clone();
    // The catalog must describe this warehouse: a missing column would otherwise surface as a
    // failed query in front of a user.
    let findings = crate::inspect::check(&catalog, engine.warehouse(), &Limits::default())
        .await
        .map_err(|e| Failure::runtime(e.code(), e.to_string()))?;
    for f in &findings {
        eprintln!(
            "catalog check: {:?} [{}] {}: {}",
            f.level, f.code, f.key, f.message
        );
    }
    if findings
        .iter()
        .any(|f| f.level == crate::inspect::Level::Error)
    {
        return Err(Failure::usage(
            "catalog_check_failed",
            "the catalog does not match the warehouse (see above; `tally catalog check` lists the same)",
        ));
    }
    let defaults = Limits::default();
    let limits = Limits {
        row_cap: file.warehouse.row_cap.unwrap_or(defaults.row_cap),
        timeout: file
            .warehouse
            .timeout_secs
            .map(std::time::Duration::from_secs)
            .unwrap_or(defaults.timeout),
    };
    let cache = match file.cache.ttl_secs.unwrap_or(60) {
        0 => None,
        ttl => Some(ResultCache::new(CacheConfig {
            ttl: std::time::Duration::from_secs(ttl),
            max_bytes: file.cache.max_mb.unwrap_or(64).saturating_mul(1024 * 1024),
        })),
    };
    let translators = match file.llm {
        Some(llm) => {
            let llm = Translators::llm_for(llm, &catalog, prompt_examples(&catalog))
                .map_err(|e| Failure::usage("invalid_llm_config", e.to_string()))?;
            Translators::new(
                Mode::Hybrid,
                catalog.clone(),
                engine.rules().clone(),
                Some(Arc::new(llm)),
            )
        }
        None => Translators::from_env(
            catalog.clone(),
            engine.rules().clone(),
            None,
            prompt_examples(&catalog),
        ),
    }
    .map_err(|e| Failure::usage("invalid_llm_config", e.to_string()))?;
    let addr = a
        .addr
        .or(file.server.addr)
        .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080)));
    let listener = bind(addr).await?;
    server::init_logging();
    let today = today_flag.map(Today::Fixed).unwrap_or(Today::System);
    let store_args = StoreArgs {
        url: a.store.url.clone().or(file.store.url.clone()),
        retention_days: a.store.retention_days.or(file.store.retention_days),
    };
    let store = open_store(&store_args).await?;
    spawn_hourly_purge(store.clone(), retention(&store_args));
    let engine = engine
        .with_limits(limits)
        .with_cache(cache)
        .with_translators(translators);
    let translator = engine.translators().mode().as_str();
    let mut tokens = Vec::new();
    if let (Some(workspace), Some(secret)) = (&dev_workspace, &dev_secret) {
        let (issuer, audience) = (auth.issuer().to_string(), auth.audience().to_string());
        tokens = print_role_tokens(&catalog, secret, &issuer, &audience, workspace)?;
        let shown = listener.local_addr().unwrap_or(addr);
        say!("\nWeb page: http://{shown}/ (a role picker with these tokens)");
    }
    let mut state = AppState::new(Arc::new(engine), auth, store.clone())
        .with_today(today)
        .with_demo_tokens(tokens);
    if let Some(body_bytes) = file.server.body_limit_bytes {
        state = state.with_limits(server::ServerLimits { body_bytes });
    }
    if let Some(limit) = file.rate_limit {
        state = state
            .with_rate_limit(limit)
            .map_err(|m| Failure::usage("invalid_config", m))?;
    }
    tracing::info!(%addr, store = store.display_url(), translator, "serving");
    eprintln!(
        "serving on http://{addr} (translator {translator}, audit store {})",
        store.display_url()
    );
    serve_until_signal(listener, state).await
}

fn retention(a: &StoreArgs) -> u32 {
    a.retention_days
        .unwrap_or(crate::store::DEFAULT_RETENTION_DAYS)
}

/// Mints and prints an 8-hour token per data role for `workspace`: (role, token).
fn print_role_tokens(
    catalog: &Catalog,
    secret: &DevSecret,
    issuer: &str,
    audience: &str,
    workspace: &str,
) -> Result<Vec<(String, String)>, Failure> {
    say!("Dev tokens (workspace {workspace}, valid 8 h):");
    let mut tokens = Vec::new();
    for role in catalog.roles.values().filter(|r| !r.kinds.is_empty()) {
        let token = server::mint_dev_token(
            secret,
            issuer,
            audience,
            &format!("demo-{}", role.name),
            &role.name,
            &[workspace.to_string()],
            std::time::Duration::from_secs(8 * 3600),
        )
        .map_err(|m| Failure::runtime("token", m))?;
        say!("  {:<14} {token}", role.name);
        tokens.push((role.name.clone(), token));
    }
    Ok(tokens)
}

async fn demo_cmd(catalog: Arc<Catalog>, a: DemoArgs) -> Result<i32, Failure> {
    if a.showcase {
        return showcase(catalog, a).await;
    }
    let clock = today(a.today);
    let example = demo_example(&catalog)?;
    let first = showcase_queries(&example)?.remove(0);
    let workspace = first.workspace.clone();
    let engine = open_engine(catalog.clone(), a.warehouse, &clock).await?;
    // The demo's data does not change while it runs: repeated questions come from the cache.
    let engine = engine.with_cache(Some(ResultCache::new(CacheConfig::default())));
    let listener = bind(a.addr).await?;

    // A fresh secret per process: the printed tokens die with it.
    let secret = DevSecret::random().map_err(|m| Failure::runtime("randomness", m))?;
    let (issuer, audience) = ("tally", "tally");
    let auth = AuthConfig::hs256(&secret, issuer, audience);
    let url = format!("http://{}", a.addr);
    say!(
        "Tally demo · catalog {} {} · today {} · {url}\n",
        catalog.name,
        catalog.version,
        clock.today()
    );
    let tokens = print_role_tokens(&catalog, &secret, issuer, audience, &workspace)?;
    let (question, role) = (first.title.as_str(), first.role.as_str());
    let token = tokens
        .iter()
        .find(|(r, _)| r == role)
        .or(tokens.first())
        .map(|(_, t)| t.clone())
        .unwrap_or_default();
    let body = serde_json::json!({"dsl": first.dsl}).to_string();
    say!("\n{question} ({role}):");
    say!(
        "  curl -s {url}/v1/query -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' -d '{body}'"
    );
    let chat = serde_json::json!({"question": question}).to_string();
    say!("The same question in English:");
    say!(
        "  curl -s {url}/v1/chat -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' -d '{chat}'"
    );
    say!("\nWeb page: {url}/ (a role picker with these tokens)");
    say!("\nAlso: GET {url}/v1/catalog, GET {url}/v1/schema, POST {url}/v1/compile (analyst). Ctrl-C stops.");
    server::init_logging();
    let today = a.today.map(Today::Fixed).unwrap_or(Today::System);
    let store = open_store(&a.store).await?;
    say!("Audit log: {}", store.display_url());
    spawn_hourly_purge(store.clone(), retention(&a.store));
    let state = AppState::new(Arc::new(engine), auth, store)
        .with_today(today)
        .with_demo_tokens(tokens);
    serve_until_signal(listener, state).await
}
