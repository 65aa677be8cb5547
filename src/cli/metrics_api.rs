//! `tally metrics-api serve`: the reference Metrics API (`server::metrics_api`) on a warehouse,
//! answering as the catalog source's service role (or `--role`).

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::NaiveDate;
use clap::{Args, Subcommand};

use super::{open_engine, Failure};
use crate::catalog::Catalog;
use crate::plan::Clock;
use crate::server::metrics_api::{serve_reference, ReferenceServer};

#[derive(Subcommand, Debug)]
pub(super) enum MetricsApiCommand {
    /// Serve the Metrics API protocol from the warehouse through Tally's own pipeline.
    Serve(ServeArgs),
}

#[derive(Args, Debug)]
pub(super) struct ServeArgs {
    /// `sqlite://FILE`, `postgres://…` or `mysql://…` (default: the demo warehouse).
    #[arg(long, env = "TALLY_WAREHOUSE")]
    warehouse: Option<String>,
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// The role every request runs as (default: the service role of the catalog's first
    /// `[sources.*]`, else the first role, by name, that may ask for metrics and withholds no
    /// small groups).
    #[arg(long)]
    role: Option<String>,
    /// Today's date for every request (default: the system clock, UTC).
    #[arg(long)]
    today: Option<NaiveDate>,
    /// An environment variable holding the bearer token callers must send (default: none).
    #[arg(long)]
    token_env: Option<String>,
}

pub(super) async fn metrics_api_cmd(
    catalog: Arc<Catalog>,
    c: MetricsApiCommand,
) -> Result<i32, Failure> {
    let MetricsApiCommand::Serve(a) = c;
    let role = match a.role.clone().or_else(|| service_role(&catalog)) {
        Some(r) if catalog.roles.contains_key(&r) => r,
        Some(r) => {
            return Err(Failure::usage(
                "unknown_role",
                format!("the catalog has no role `{r}`"),
            ))
        }
        None => {
            return Err(Failure::usage(
                "no_service_role",
                "no role of the catalog may ask for metrics without withholding small groups: name one with --role",
            ))
        }
    };
    let token = match &a.token_env {
        Some(var) => Some(std::env::var(var).map_err(|_| {
            Failure::usage("token_missing", format!("the variable `{var}` is not set"))
        })?),
        None => None,
    };
    let clock = a.today.map(Clock::fixed).unwrap_or_else(Clock::system);
    let engine = open_engine(catalog, a.warehouse.clone(), &Default::default(), &clock)
        .await?
        .with_metrics_apis(None);
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .map_err(|e| Failure::runtime("listen_failed", format!("{}: {e}", a.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Failure::runtime("listen_failed", e.to_string()))?;
    say!("metrics API on http://{addr}/v1/metrics/{{name}} as role {role}");
    let server = ReferenceServer {
        engine: Arc::new(engine),
        role,
        today: a.today,
        token,
    };
    serve_reference(listener, server, crate::server::shutdown_signal())
        .await
        .map_err(|e| Failure::runtime("serve_failed", e.to_string()))?;
    Ok(0)
}

/// The service role of the catalog's first source, else the first role (by name) that may ask
/// for metric queries and withholds nothing.
fn service_role(catalog: &Catalog) -> Option<String> {
    if let Some(r) = catalog
        .sources
        .values()
        .find_map(|s| s.service_role.clone())
    {
        return Some(r);
    }
    catalog
        .roles
        .values()
        .find(|r| r.kinds.contains(&crate::dsl::Kind::Metric) && r.min_group_size == 0)
        .map(|r| r.name.clone())
}
