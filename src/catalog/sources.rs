//! `[sources.NAME]`: other sources of numbers than the warehouse. The one kind is
//! `metrics_api`, a Metrics API of pre-computed KPIs (protocol: dsl-spec/metrics-api.md) that
//! the pipeline asks first when it can answer a query exactly (`metrics_api::route`).
//!
//! Invariants: a source names only metrics the catalog defines, each with at least one grain;
//! its URL is `http://` or `https://` without a query or fragment; its service role (the one
//! the reference server answers as) may ask for every metric it serves and withholds nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use super::{Catalog, CatalogError, Kind, Window};

/// A source as written.
#[derive(Deserialize, JsonSchema, Debug)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSource {
    /// The kind of source; `metrics_api` is the only one.
    pub kind: RawSourceKind,
    /// The API's base URL (`GET {url}/v1/metrics/{name}`).
    pub url: String,
    /// How long one call may take before the query is answered from the warehouse.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// The metrics it serves (catalog names).
    pub metrics: Vec<String>,
    /// The grains it serves them at (default all three).
    #[serde(default = "all_grains")]
    pub grains: Vec<RawGrain>,
    /// Per metric, other grains than `grains` (`{ wau = ["week", "month"] }`).
    #[serde(default)]
    pub metric_grains: BTreeMap<String, Vec<RawGrain>>,
    /// The share of its answers (0 to 1) re-run on the warehouse in the background and compared.
    #[serde(default = "default_verify")]
    pub verify: f64,
    /// An environment variable holding a bearer token for the API (none: no `Authorization`).
    #[serde(default)]
    pub token_env: Option<String>,
    /// The role `tally metrics-api serve` answers as (default: the first role, by name, that
    /// may ask for every metric served and withholds no small groups).
    #[serde(default)]
    pub role: Option<String>,
    /// Consecutive failed queries (any of their calls failed) after which the API is not
    /// called (the breaker opens).
    #[serde(default = "default_breaker_failures")]
    pub breaker_failures: u32,
    /// How long the breaker stays open before one call probes the API again.
    #[serde(default = "default_breaker_cooldown_ms")]
    pub breaker_cooldown_ms: u64,
}

#[derive(Deserialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RawSourceKind {
    MetricsApi,
}

#[derive(Deserialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RawGrain {
    Day,
    Week,
    Month,
}

impl RawGrain {
    fn window(self) -> Window {
        match self {
            RawGrain::Day => Window::Day,
            RawGrain::Week => Window::Week,
            RawGrain::Month => Window::Month,
        }
    }
}

fn default_timeout_ms() -> u64 {
    300
}
fn all_grains() -> Vec<RawGrain> {
    vec![RawGrain::Day, RawGrain::Week, RawGrain::Month]
}
fn default_verify() -> f64 {
    0.0
}
fn default_breaker_failures() -> u32 {
    5
}
fn default_breaker_cooldown_ms() -> u64 {
    30_000
}

/// A Metrics API as loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsApiSource {
    pub name: String,
    /// Without a trailing `/`.
    pub url: String,
    pub timeout: Duration,
    /// Served metric → its grains, in day, week, month order.
    pub metrics: BTreeMap<String, Vec<Window>>,
    /// Share of answers checked against the warehouse, 0 to 1.
    pub verify: f64,
    pub token_env: Option<String>,
    /// The role the reference server answers as (`None`: no role may ask for every metric).
    pub service_role: Option<String>,
    pub breaker: BreakerSettings,
}

/// When the circuit breaker opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Consecutive failures that open it (at least 1).
    pub failures: u32,
    /// Open this long, then one call probes.
    pub cooldown: Duration,
}

impl MetricsApiSource {
    /// Whether it serves `metric` at `grain`.
    pub fn serves(&self, metric: &str, grain: Window) -> bool {
        self.metrics
            .get(metric)
            .is_some_and(|grains| grains.contains(&grain))
    }
}

/// Loads `[sources.*]` against the rest of the catalog.
pub(super) fn load(
    file: &str,
    raw: &BTreeMap<String, RawSource>,
    catalog: &Catalog,
) -> Result<BTreeMap<String, MetricsApiSource>, CatalogError> {
    let err = |key: String, message: String| CatalogError {
        file: file.to_string(),
        key,
        message,
    };
    let mut out = BTreeMap::new();
    for (name, s) in raw {
        let key = format!("sources.{name}");
        let RawSourceKind::MetricsApi = s.kind;
        let ident = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && name.len() <= 63;
        if !ident {
            return Err(err(
                key,
                format!("`{name}` is not a lower_snake_case identifier (a-z, 0-9, _; at most 63)"),
            ));
        }
        let url = s.url.trim_end_matches('/').to_string();
        let scheme = url.starts_with("http://") || url.starts_with("https://");
        if !scheme
            || url.contains(['?', '#', ' '])
            || url.split("//").nth(1).unwrap_or("").is_empty()
        {
            return Err(err(
                format!("{key}.url"),
                format!(
                    "`{}` is not an http:// or https:// base URL (no query, no fragment)",
                    s.url
                ),
            ));
        }
        if s.timeout_ms == 0 || s.timeout_ms > 60_000 {
            return Err(err(
                format!("{key}.timeout_ms"),
                "the timeout must be 1 to 60000 ms".into(),
            ));
        }
        if !(0.0..=1.0).contains(&s.verify) {
            return Err(err(
                format!("{key}.verify"),
                format!("{} is not a share between 0 and 1", s.verify),
            ));
        }
        if s.breaker_failures == 0 {
            return Err(err(
                format!("{key}.breaker_failures"),
                "at least one failure must open the breaker".into(),
            ));
        }
        if s.metrics.is_empty() {
            return Err(err(
                format!("{key}.metrics"),
                "name at least one metric".into(),
            ));
        }
        let grains = |g: &[RawGrain]| {
            let mut w: Vec<Window> = g.iter().map(|g| g.window()).collect();
            w.sort();
            w.dedup();
            w
        };
        if s.grains.is_empty() {
            return Err(err(
                format!("{key}.grains"),
                "name at least one grain".into(),
            ));
        }
        let mut metrics = BTreeMap::new();
        for m in &s.metrics {
            if !catalog.metrics.contains_key(m) {
                return Err(err(
                    format!("{key}.metrics"),
                    format!("unknown metric `{m}`"),
                ));
            }
            metrics.insert(m.clone(), grains(&s.grains));
        }
        for (m, g) in &s.metric_grains {
            if !metrics.contains_key(m) {
                return Err(err(
                    format!("{key}.metric_grains.{m}"),
                    format!("`{m}` is not one of the source's metrics"),
                ));
            }
            if g.is_empty() {
                return Err(err(
                    format!("{key}.metric_grains.{m}"),
                    "name at least one grain".into(),
                ));
            }
            metrics.insert(m.clone(), grains(g));
        }
        if let Some(env) = &s.token_env {
            let ok = !env.is_empty()
                && env
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !ok {
                return Err(err(
                    format!("{key}.token_env"),
                    format!("`{env}` is not an environment variable name (A-Z, 0-9, _)"),
                ));
            }
        }
        let can_serve = |role: &super::Role| {
            role.kinds.contains(&Kind::Metric)
                && role.min_group_size == 0
                && metrics.keys().all(|m| {
                    role.metrics.allows(m) && catalog.metrics[m].sensitivity <= role.max_sensitivity
                })
        };
        let service_role = match &s.role {
            Some(r) => {
                let Some(role) = catalog.roles.get(r) else {
                    return Err(err(format!("{key}.role"), format!("unknown role `{r}`")));
                };
                if !can_serve(role) {
                    return Err(err(
                        format!("{key}.role"),
                        format!("`{r}` may not ask for every metric the source serves without withholding small groups"),
                    ));
                }
                Some(r.clone())
            }
            None => catalog
                .roles
                .values()
                .find(|r| can_serve(r))
                .map(|r| r.name.clone()),
        };
        out.insert(
            name.clone(),
            MetricsApiSource {
                name: name.clone(),
                url,
                timeout: Duration::from_millis(s.timeout_ms),
                metrics,
                verify: s.verify,
                token_env: s.token_env.clone(),
                service_role,
                breaker: BreakerSettings {
                    failures: s.breaker_failures,
                    cooldown: Duration::from_millis(s.breaker_cooldown_ms),
                },
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(source: &str) -> Result<Catalog, CatalogError> {
        let base = crate::examples::default_example().catalog_toml;
        Catalog::from_toml(&format!("{base}\n{source}"), "test.toml")
    }

    #[test]
    fn a_metrics_api_loads_with_defaults_and_per_metric_grains() {
        let c = with(
            "[sources.kpi]\nkind = \"metrics_api\"\nurl = \"http://127.0.0.1:9/\"\nmetrics = [\"dau\", \"wau\"]\nmetric_grains = { wau = [\"week\"] }\n",
        )
        .unwrap();
        let s = &c.sources["kpi"];
        assert_eq!(s.url, "http://127.0.0.1:9");
        assert_eq!(s.timeout, Duration::from_millis(300));
        assert!(s.serves("dau", Window::Month));
        assert!(s.serves("wau", Window::Week));
        assert!(!s.serves("wau", Window::Day));
        assert!(!s.serves("signups", Window::Day));
        assert_eq!(s.breaker.failures, 5);
        assert!(s.service_role.is_some());
    }

    #[test]
    fn bad_sources_are_load_errors_naming_the_key() {
        let cases = [
            (
                "metrics = [\"dau\", \"daus\"]",
                "sources.kpi.metrics",
                "daus",
            ),
            (
                "metrics = [\"dau\"]\nverify = 2.0",
                "sources.kpi.verify",
                "share",
            ),
            (
                "metrics = [\"dau\"]\nmetric_grains = { signups = [\"day\"] }",
                "sources.kpi.metric_grains.signups",
                "signups",
            ),
            (
                "metrics = [\"dau\"]\nrole = \"nobody\"",
                "sources.kpi.role",
                "nobody",
            ),
            (
                "metrics = [\"dau\"]\ntimeout_ms = 0",
                "sources.kpi.timeout_ms",
                "timeout",
            ),
            (
                "metrics = [\"dau\"]\ntoken_env = \"a b\"",
                "sources.kpi.token_env",
                "environment",
            ),
        ];
        for (body, key, word) in cases {
            let e = with(&format!(
                "[sources.kpi]\nkind = \"metrics_api\"\nurl = \"http://127.0.0.1:9\"\n{body}\n"
            ))
            .unwrap_err();
            assert_eq!(e.key, key, "{body}: {e}");
            assert!(e.message.contains(word), "{body}: {e}");
        }
        let e =
            with("[sources.kpi]\nkind = \"metrics_api\"\nurl = \"ftp://x\"\nmetrics = [\"dau\"]\n")
                .unwrap_err();
        assert_eq!(e.key, "sources.kpi.url");
        let e =
            with("[sources.kpi]\nkind = \"warehouse\"\nurl = \"http://x\"\nmetrics = [\"dau\"]\n")
                .unwrap_err();
        assert!(e.to_string().contains("metrics_api"), "{e}");
    }
}
