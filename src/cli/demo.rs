//! `tally demo`, `gen-demo` and `load-demo`: the embedded example's warehouse (generated into
//! a cached SQLite file on first use, into a file, or loaded into PostgreSQL or MySQL after a
//! y/N prompt), its showcase queries, and the demo server with a token per role.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use clap::Args;
use indicatif::{HumanCount, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use super::audit::spawn_hourly_purge;
use super::serve::{bind, print_role_tokens, serve_until_signal};
use super::{example_for, open_engine, open_store_to_serve, retention, today, Failure, StoreArgs};
use crate::catalog::Catalog;
use crate::demo::{self, DemoOptions};
use crate::examples::{Example, ShowcaseQuery};
use crate::exec::{CacheConfig, ResultCache};
use crate::plan::Clock;
use crate::server::{self, AppState, AuthConfig, DevSecret, Today};

#[derive(Args, Debug)]
pub(super) struct DemoArgs {
    /// Today's date (default: the system clock, UTC).
    #[arg(long)]
    today: Option<NaiveDate>,
    /// Use this warehouse instead of the generated demo file.
    #[arg(long)]
    warehouse: Option<String>,
    #[command(flatten)]
    rollups: super::rollup::RollupsArg,
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Run the example queries for every demo role and exit instead of serving.
    #[arg(long)]
    showcase: bool,
    #[command(flatten)]
    store: StoreArgs,
}

/// What demo data to generate: the same flags for `gen-demo` and `load-demo`.
#[derive(Args, Debug)]
pub(super) struct DataArgs {
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Last day of data (default: yesterday, UTC).
    #[arg(long)]
    end_date: Option<NaiveDate>,
    /// Volume multiplier (1 = default size; 50 ≈ tens of millions of events).
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
}

impl DataArgs {
    /// The generator's options: data to `--end-date`, or to yesterday (UTC).
    fn options(&self) -> Result<DemoOptions, Failure> {
        let opts = DemoOptions {
            seed: self.seed,
            end_date: self
                .end_date
                .unwrap_or_else(|| Clock::system().today() - Days::new(1)),
            scale: self.scale,
        };
        opts.validate()
            .map_err(|e| Failure::usage(e.code(), e.to_string()))?;
        Ok(opts)
    }
}

#[derive(Args, Debug)]
pub(super) struct GenDemoArgs {
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Args, Debug)]
pub(super) struct LoadDemoArgs {
    /// `postgres://USER@HOST:PORT/DB` or `mysql://USER@HOST:PORT/DB`.
    #[arg(long)]
    warehouse: String,
    #[command(flatten)]
    data: DataArgs,
    /// Replace the demo's tables without asking.
    #[arg(long)]
    yes: bool,
}

pub(super) async fn demo_cmd(catalog: Arc<Catalog>, a: DemoArgs) -> Result<i32, Failure> {
    if a.showcase {
        return showcase(catalog, a).await;
    }
    let clock = today(a.today);
    let example = demo_example(&catalog)?;
    let first = showcase_queries(&example)?.remove(0);
    let workspace = first.workspace.clone();
    let engine = open_engine(catalog.clone(), a.warehouse, &a.rollups, &clock).await?;
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
    let store = open_store_to_serve(&a.store).await?;
    say!("Audit log: {}", store.display_url());
    spawn_hourly_purge(store.clone(), retention(&a.store));
    let state = AppState::new(Arc::new(engine), auth, store)
        .with_today(today)
        .with_demo_tokens(tokens);
    serve_until_signal(listener, state).await
}

async fn showcase(catalog: Arc<Catalog>, a: DemoArgs) -> Result<i32, Failure> {
    let clock = today(a.today);
    let example = demo_example(&catalog)?;
    let engine = open_engine(catalog.clone(), a.warehouse, &a.rollups, &clock).await?;
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

/// The demo warehouse for `catalog` whose data ends yesterday, generated if absent: one file
/// per example, seed and end date under `demo_dir()`, so a new day builds a new file.
pub(super) async fn default_warehouse(catalog: &Catalog, clock: &Clock) -> Result<String, Failure> {
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

/// Where demo warehouses (and the default app store) are kept: $TALLY_HOME, else
/// $XDG_CACHE_HOME/tally, else ~/.cache/tally.
pub(super) fn demo_dir() -> PathBuf {
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

async fn write_demo(path: &Path, example: &Example, opts: &DemoOptions) -> Result<(), Failure> {
    let started = Instant::now();
    let mut display = ProgressDisplay::new(
        &example.generator,
        opts,
        ("compacting the file", "compacting"),
    );
    let report = demo::write_sqlite(path, &example.generator, opts, &mut |event| {
        display.show(event)
    })
    .await
    .map_err(|e| Failure::runtime(e.code(), e.to_string()))?;
    display.finish(&report, started);
    Ok(())
}

/// How often a plain progress line is written while one table loads.
const PLAIN_LINE_EVERY: Duration = Duration::from_secs(10);

/// A demo writer's progress on stderr. On a terminal, one bar over every table's rows (the
/// generator's estimate, corrected as each table finishes) with the table, the rate and the
/// time left. Anywhere else (a CI log, a pipe), plain lines that are never rewritten in place:
/// one when a table's rows are in, one when it is indexed, and one every
/// [`PLAIN_LINE_EVERY`] while a big table loads.
struct ProgressDisplay {
    bar: Option<ProgressBar>,
    /// What the last step is called (`Progress::Finishing`), in a line and on the bar.
    finishing: (&'static str, &'static str),
    /// Every table's estimated rows, with the real count for the tables done.
    total: u64,
    /// Rows of the tables done.
    done: u64,
    table_estimate: u64,
    table_started: Instant,
    indexing_started: Instant,
    last_line: Instant,
}

impl ProgressDisplay {
    fn new(
        generator: &demo::Generator,
        opts: &DemoOptions,
        finishing: (&'static str, &'static str),
    ) -> Self {
        let total = (generator.estimated_rows)(opts).iter().sum();
        let bar = std::io::stderr().is_terminal().then(|| {
            // Under 80 columns with the longest table name and message, so it never wraps.
            let template =
                "{prefix:<15} [{bar:16}] {human_pos}/{human_len} {rate}/s ETA {eta} {msg}";
            let style = ProgressStyle::with_template(template)
                .map(|style| {
                    style
                        .with_key(
                            "rate",
                            |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                                let _ = write!(out, "{}", HumanCount(state.per_sec() as u64));
                            },
                        )
                        .progress_chars("=> ")
                })
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(style);
            // Redrawn while nothing moves too (an index build), so time keeps counting.
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        });
        let now = Instant::now();
        ProgressDisplay {
            bar,
            finishing,
            total,
            done: 0,
            table_estimate: 0,
            table_started: now,
            indexing_started: now,
            last_line: now,
        }
    }

    fn show(&mut self, event: demo::Progress<'_>) {
        use demo::Progress;
        match event {
            Progress::Table {
                table,
                expected_rows,
            } => {
                self.table_estimate = expected_rows;
                self.table_started = Instant::now();
                self.last_line = self.table_started;
                if let Some(bar) = &self.bar {
                    bar.set_prefix(table.to_owned());
                    bar.set_message("");
                }
            }
            Progress::Rows { table, rows } => match &self.bar {
                Some(bar) => bar.set_position(self.done + rows),
                None if self.last_line.elapsed() >= PLAIN_LINE_EVERY => {
                    self.last_line = Instant::now();
                    eprintln!(
                        "  {table}: {} rows so far ({} rows/s)",
                        HumanCount(rows),
                        HumanCount(per_second(rows, self.table_started))
                    );
                }
                None => {}
            },
            Progress::Indexing { table, rows } => {
                self.indexing_started = Instant::now();
                match &self.bar {
                    Some(bar) => bar.set_message("indexing"),
                    None => eprintln!(
                        "  {table}: {} rows in {:.1} s ({} rows/s), indexing",
                        HumanCount(rows),
                        self.table_started.elapsed().as_secs_f64(),
                        HumanCount(per_second(rows, self.table_started))
                    ),
                }
            }
            Progress::Done { table, rows } => {
                self.done += rows;
                self.total = (self.total + rows).saturating_sub(self.table_estimate);
                self.total = self.total.max(self.done);
                match &self.bar {
                    Some(bar) => {
                        bar.set_length(self.total);
                        bar.set_position(self.done);
                        bar.set_message("");
                    }
                    None => eprintln!(
                        "  {table}: indexed in {:.1} s",
                        self.indexing_started.elapsed().as_secs_f64()
                    ),
                }
            }
            Progress::Finishing => match &self.bar {
                Some(bar) => {
                    bar.set_prefix("");
                    bar.set_message(self.finishing.1);
                }
                None => eprintln!("  {}", self.finishing.0),
            },
        }
    }

    /// Clears the bar and writes the last line: every row, how long they took, the rate.
    fn finish(self, report: &demo::GenerateReport, started: Instant) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
        let rows = report.total_rows();
        eprintln!(
            "  {} rows in {:.1} s ({} rows/s)",
            HumanCount(rows),
            started.elapsed().as_secs_f64(),
            HumanCount(per_second(rows, started))
        );
    }
}

fn per_second(rows: u64, since: Instant) -> u64 {
    let seconds = since.elapsed().as_secs_f64();
    if seconds > 0.0 {
        (rows as f64 / seconds) as u64
    } else {
        0
    }
}

pub(super) async fn gen_demo(catalog: &Catalog, a: GenDemoArgs) -> Result<i32, Failure> {
    let example = generator_example(catalog)?;
    let opts = a.data.options()?;
    eprintln!(
        "generating {} demo data (seed {}, end {}, scale {})",
        example.name, opts.seed, opts.end_date, opts.scale
    );
    write_demo(&a.out, &example, &opts).await?;
    say!("{}", a.out.display());
    Ok(0)
}

/// Loads the demo data into a PostgreSQL or MySQL/MariaDB warehouse, after confirming that the
/// demo's tables may be replaced.
pub(super) async fn load_demo(catalog: &Catalog, a: LoadDemoArgs) -> Result<i32, Failure> {
    let example = generator_example(catalog)?;
    let scheme = a.warehouse.split("://").next().unwrap_or("");
    if !matches!(scheme, "postgres" | "postgresql" | "mysql" | "mariadb") {
        return Err(Failure::usage(
            "unsupported_warehouse",
            "--warehouse must be postgres://… or mysql://… (for SQLite use gen-demo --out FILE)",
        ));
    }
    let opts = a.data.options()?;
    let tables: Vec<&str> = (example.generator.tables)()
        .iter()
        .map(|def| def.name)
        .collect();
    if !a.yes && !confirm_replacing(&tables)? {
        eprintln!("nothing changed");
        return Ok(2);
    }
    eprintln!(
        "loading {} demo data (seed {}, end {}, scale {})",
        example.name, opts.seed, opts.end_date, opts.scale
    );
    let started = Instant::now();
    let mut display = ProgressDisplay::new(
        &example.generator,
        &opts,
        (
            "analysing the new tables and swapping them in",
            "swapping in",
        ),
    );
    let report = demo::load_demo(&a.warehouse, &example.generator, &opts, &mut |event| {
        display.show(event)
    })
    .await
    .map_err(|e| match e {
        demo::DemoError::InvalidOptions { .. } => Failure::usage(e.code(), e.to_string()),
        _ => Failure::runtime(e.code(), e.to_string()),
    })?;
    display.finish(&report, started);
    for entry in &report.tables {
        say!("{:<20} {:>12}", entry.table, entry.rows);
    }
    Ok(0)
}

/// The example whose generator `gen-demo` and `load-demo` run for `catalog`.
fn generator_example(catalog: &Catalog) -> Result<Example, Failure> {
    example_for(catalog).ok_or_else(|| {
        Failure::usage(
            "no_generator",
            format!("catalog `{}` has no demo generator", catalog.name),
        )
    })
}

/// Asks on the terminal whether `tables` may be dropped and recreated (`y` or `yes`); without
/// a terminal to ask on, `--yes` is required.
fn confirm_replacing(tables: &[&str]) -> Result<bool, Failure> {
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
        "This replaces the tables {} in the warehouse (the new ones are loaded beside them and swapped in at the end). Continue? [y/N] ",
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
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}
