//! `tally serve` and `tally token`: the HTTP API on a warehouse with its config file, flags and
//! token verifiers (a dev secret, a JWKS, or both), and development tokens.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::NaiveDate;
use clap::Args;

use super::audit::spawn_hourly_purge;
use super::{
    open_engine, open_store_to_serve, prompt_examples, retention, today, Failure, StoreArgs,
};
use crate::catalog::Catalog;
use crate::config::Config;
use crate::exec::{CacheConfig, Limits, ResultCache};
use crate::server::{self, AppState, AuthConfig, DevSecret, Today};
use crate::translate::{Mode, Translators};

#[derive(Args, Debug)]
pub(super) struct ServeArgs {
    /// A TOML config file ([server], [warehouse], [store], [auth], [rate_limit], [llm],
    /// [cache]); flags and environment variables override it.
    #[arg(long, env = "TALLY_CONFIG")]
    config: Option<PathBuf>,
    /// `sqlite://FILE`, `postgres://…` or `mysql://…` (default: the demo warehouse, generated on
    /// first use).
    #[arg(long, env = "TALLY_WAREHOUSE")]
    warehouse: Option<String>,
    #[command(flatten)]
    rollups: super::rollup::RollupsArg,
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
    /// A Redis holding the rate-limit buckets, shared by every replica (`redis://…`; replaces
    /// `[rate_limit] redis`; prefer the environment variable when the URL carries a password).
    #[arg(long, env = "TALLY_RATE_LIMIT_REDIS", hide_env_values = true)]
    rate_limit_redis: Option<String>,
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
pub(super) struct TokenArgs {
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

pub(super) async fn serve_cmd(catalog: Arc<Catalog>, a: ServeArgs) -> Result<i32, Failure> {
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
    let rollups = super::rollup::RollupsArg {
        path: a.rollups.path.clone().or(file.rollups.path.clone()),
    };
    let engine = open_engine(catalog.clone(), warehouse, &rollups, &clock).await?;
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
    let store = open_store_to_serve(&store_args).await?;
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
    let engine = Arc::new(engine);
    super::rollup::spawn_upkeep(
        engine.clone(),
        rollups.path.clone(),
        file.rollups
            .rebuild_every_secs
            .map(std::time::Duration::from_secs),
        clock,
    );
    let mut state = AppState::new(engine, auth, store.clone())
        .with_today(today)
        .with_demo_tokens(tokens);
    if let Some(body_bytes) = file.server.body_limit_bytes {
        state = state.with_limits(server::ServerLimits { body_bytes });
    }
    let mut rate_limit = file.rate_limit;
    if let Some(url) = a.rate_limit_redis.clone().filter(|u| !u.is_empty()) {
        rate_limit.get_or_insert_with(Default::default).redis = Some(url);
    }
    if let Some(limit) = rate_limit {
        state = state
            .with_rate_limit(limit)
            .map_err(|m| Failure::usage("invalid_config", m))?;
    }
    let buckets = state.rate_limiter.display();
    tracing::info!(%addr, store = store.display_url(), translator, rate_limit = %buckets, "serving");
    eprintln!(
        "serving on http://{addr} (translator {translator}, audit store {}, rate-limit buckets in {buckets})",
        store.display_url()
    );
    serve_until_signal(listener, state).await
}

/// Mints and prints an 8-hour token per data role for `workspace`: (role, token).
pub(super) fn print_role_tokens(
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

pub(super) fn token_cmd(catalog: &Catalog, a: TokenArgs) -> Result<i32, Failure> {
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

pub(super) async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, Failure> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Failure::runtime("bind", format!("cannot listen on {addr}: {e}")))
}

pub(super) async fn serve_until_signal(
    listener: tokio::net::TcpListener,
    state: AppState,
) -> Result<i32, Failure> {
    server::serve(listener, state, server::shutdown_signal())
        .await
        .map_err(|e| Failure::runtime("serve", e.to_string()))?;
    eprintln!("stopped");
    Ok(0)
}
