//! TOML → `Catalog`: every reference resolved, every rule of the catalog checked, each error naming
//! the file and the key.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::raw::{RawAllow, RawCatalog, RawJoin, RawMetric, RawTenancy, RawValues};
use super::*;

/// A catalog that cannot be loaded: the file, the dotted key, and what is wrong.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{file}: {key}: {message}")]
pub struct CatalogError {
    pub file: String,
    pub key: String,
    pub message: String,
}

impl CatalogError {
    pub fn code(&self) -> &'static str {
        "catalog_invalid"
    }
}

/// `[catalog] docs`: a relative folder below the catalog file's.
fn docs_dir(l: &Loader, docs: Option<&str>) -> Result<Option<String>, CatalogError> {
    let Some(d) = docs.map(str::trim) else {
        return Ok(None);
    };
    let path = std::path::Path::new(d);
    let below = path
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    if d.is_empty() || !below {
        return Err(l.err(
            "catalog.docs",
            format!("`{d}` is not a folder below the catalog file's: give a relative path such as \"docs\""),
        ));
    }
    Ok(Some(d.to_string()))
}

struct Loader<'a> {
    file: &'a str,
}

impl Loader<'_> {
    fn err(&self, key: impl Into<String>, message: impl Into<String>) -> CatalogError {
        CatalogError {
            file: self.file.to_string(),
            key: key.into(),
            message: message.into(),
        }
    }

    fn ident(&self, key: &str, name: &str) -> Result<(), CatalogError> {
        let ok = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && name.len() <= 63;
        if ok {
            Ok(())
        } else {
            Err(self.err(
                key,
                format!("`{name}` is not a lower_snake_case identifier (a-z, 0-9, _; at most 63)"),
            ))
        }
    }

    /// A name in the warehouse (a column, a schema): quoted in every statement, so any case is
    /// fine, but only letters, digits, `_` and `$`.
    fn column(&self, key: &str, name: &str) -> Result<(), CatalogError> {
        if is_warehouse_name(name) {
            Ok(())
        } else {
            Err(self.err(
                key,
                format!("`{name}` is not a table, column or schema name Tally can use (letters, digits, _ and $, starting with a letter or _; at most 63)"),
            ))
        }
    }

    fn sensitivity(&self, key: &str, s: &str) -> Result<Sensitivity, CatalogError> {
        Sensitivity::parse(s).ok_or_else(|| {
            self.err(
                key,
                format!(
                    "unknown sensitivity `{s}` (expected public, business, confidential or pii)"
                ),
            )
        })
    }

    fn value_type(&self, key: &str, s: &str) -> Result<ValueType, CatalogError> {
        match s {
            "string" => Ok(ValueType::String),
            "number" => Ok(ValueType::Number),
            "date" => Ok(ValueType::Date),
            _ => Err(self.err(
                key,
                format!("unknown type `{s}` (expected string, number or date)"),
            )),
        }
    }
}

pub(super) fn load(text: &str, file: &str) -> Result<Catalog, CatalogError> {
    let l = Loader { file };
    let raw: RawCatalog = toml::from_str(text).map_err(|e| {
        let span = e
            .span()
            .map(|s| {
                let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                format!("line {line}")
            })
            .unwrap_or_default();
        l.err(span, e.message().to_string())
    })?;

    if raw.catalog.timezone != "UTC" {
        return Err(l.err(
            "catalog.timezone",
            format!(
                "timezone `{}` is not supported yet: this version computes calendar dates in UTC only",
                raw.catalog.timezone
            ),
        ));
    }
    if raw.catalog.week_start != "monday" {
        return Err(l.err("catalog.week_start", "weeks start on monday (ISO 8601)"));
    }
    if raw.catalog.version.trim().is_empty() {
        return Err(l.err("catalog.version", "the version must not be empty"));
    }

    let tenancy = match (raw.catalog.tenancy, &raw.catalog.workspace) {
        (RawTenancy::Multi, None) => Tenancy::Multi,
        (RawTenancy::Multi, Some(_)) => {
            return Err(l.err(
                "catalog.workspace",
                "a fixed workspace is only for `tenancy = \"single\"`: a multi-tenant catalog serves the workspaces tokens grant",
            ))
        }
        (RawTenancy::Single, w) => {
            let workspace = w.clone().unwrap_or_else(|| "default".into());
            if !is_workspace_id(&workspace) {
                return Err(l.err(
                    "catalog.workspace",
                    format!("`{workspace}` is not a workspace id (1-64 of letters, digits, `_`, `-`, `.`)"),
                ));
            }
            Tenancy::Single { workspace }
        }
    };
    let tables = load_tables(&l, &raw)?;
    let dimensions = load_dimensions(&l, &raw, &tables)?;
    let reach = compute_reach(&l, &tables, &dimensions)?;
    let mut metrics = BTreeMap::new();
    for (name, m) in &raw.metrics {
        metrics.insert(name.clone(), load_metric(&l, name, m, &tables)?);
    }
    check_metric_references(&l, &mut metrics)?;
    let entities = load_entities(&l, &raw, &tables, &metrics)?;
    let funnels = load_funnels(&l, &raw, &tables, &metrics)?;
    let retention = load_retention(&l, &raw, &tables)?;
    let roles = load_roles(&l, &raw, &metrics, &dimensions)?;

    let mut catalog = Catalog {
        name: raw.catalog.name.clone(),
        version: raw.catalog.version.clone(),
        description: raw.catalog.description.clone(),
        example_questions: raw.catalog.example_questions.clone(),
        data_access_contact: raw
            .catalog
            .data_access_contact
            .as_ref()
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty()),
        tables,
        dimensions,
        entities,
        metrics,
        funnels,
        retention,
        roles,
        rollups: BTreeMap::new(),
        sources: BTreeMap::new(),
        tenancy,
        reach,
        docs_dir: docs_dir(&l, raw.catalog.docs.as_deref())?,
        docs: Arc::new(DocIndex::empty()),
    };
    catalog.rollups = load_rollups(&l, &raw, &catalog)?;
    catalog.sources = super::sources::load(file, &raw.sources, &catalog)?;
    Ok(catalog)
}

/// `[rollups.NAME]`: what each keeps follows from the metrics it is built for, which must be
/// counts or distinct counts (sums would be re-added in another order, not provably the same)
/// on its table and one time column, counting at most one distinct column between them.
fn load_rollups(
    l: &Loader,
    raw: &RawCatalog,
    catalog: &Catalog,
) -> Result<BTreeMap<String, Rollup>, CatalogError> {
    let mut rollups = BTreeMap::new();
    for (name, r) in &raw.rollups {
        let key = format!("rollups.{name}");
        l.ident(&key, name)?;
        if !catalog.tables.contains_key(&r.table) {
            return Err(l.err(
                format!("{key}.table"),
                format!("unknown table `{}`", r.table),
            ));
        }
        if r.metrics.is_empty() {
            return Err(l.err(format!("{key}.metrics"), "name at least one metric"));
        }
        let mut time: Option<String> = None;
        let mut entity: Option<String> = None;
        let mut columns: Vec<String> = Vec::new();
        for m in &r.metrics {
            if !catalog.metrics.contains_key(m) {
                return Err(l.err(format!("{key}.metrics"), format!("unknown metric `{m}`")));
            }
            for (agg_name, agg) in catalog.aggregates_of(m) {
                let bad = |why: &str| {
                    l.err(
                        format!("{key}.metrics"),
                        format!("`{m}` cannot be rolled up: its aggregate `{agg_name}` {why}"),
                    )
                };
                if agg.table != r.table {
                    return Err(bad(&format!("reads `{}`, not `{}`", agg.table, r.table)));
                }
                let TimeBasis::Column(t) = &agg.time else {
                    return Err(bad("is a snapshot"));
                };
                if time.get_or_insert_with(|| t.clone()) != t {
                    return Err(bad(
                        "uses another time column than the rollup's other metrics",
                    ));
                }
                match &agg.func {
                    AggFunc::Count => {}
                    AggFunc::CountDistinct(c) | AggFunc::ActiveUsers { column: c, .. } => {
                        if entity.get_or_insert_with(|| c.clone()) != c {
                            return Err(bad(
                                "counts another distinct column than the rollup's other metrics",
                            ));
                        }
                    }
                    AggFunc::Sum(_) | AggFunc::Avg(_) | AggFunc::Median(_) => {
                        return Err(bad("is not a count or distinct count"))
                    }
                }
                for (c, _) in &agg.filters {
                    if !columns.contains(c) {
                        columns.push(c.clone());
                    }
                }
            }
        }
        for d in &r.dimensions {
            let Some(dim) = catalog.dimensions.get(d) else {
                return Err(l.err(
                    format!("{key}.dimensions"),
                    format!("unknown dimension `{d}`"),
                ));
            };
            if dim.ty != ValueType::String {
                return Err(l.err(
                    format!("{key}.dimensions"),
                    format!("`{d}` is not a text dimension"),
                ));
            }
            if catalog.reach(&r.table, d).is_none() {
                return Err(l.err(
                    format!("{key}.dimensions"),
                    format!("`{d}` does not apply to `{}`", r.table),
                ));
            }
        }
        columns.sort();
        rollups.insert(
            name.clone(),
            Rollup {
                name: name.clone(),
                table: r.table.clone(),
                time: time.expect("at least one aggregate"),
                dimensions: r.dimensions.clone(),
                columns,
                entity,
            },
        );
    }
    Ok(rollups)
}

fn load_tables(l: &Loader, raw: &RawCatalog) -> Result<BTreeMap<String, Table>, CatalogError> {
    let single = raw.catalog.tenancy == RawTenancy::Single;
    let mut tables = BTreeMap::new();
    for (name, t) in &raw.tables {
        let key = format!("tables.{name}");
        let (schema, source) = match name.split_once('.') {
            Some((schema, table)) => {
                if t.schema.is_some() {
                    return Err(l.err(
                        format!("{key}.schema"),
                        "the table's name already names its schema: give one or the other",
                    ));
                }
                l.column(&key, schema)?;
                l.column(&key, table)?;
                (Some(schema.to_string()), table.to_string())
            }
            None => {
                l.column(&key, name)?;
                if let Some(schema) = &t.schema {
                    l.column(&format!("{key}.schema"), schema)?;
                }
                (t.schema.clone(), name.clone())
            }
        };
        let mut joins = BTreeMap::new();
        for (to, join) in &t.joins {
            let jkey = format!("{key}.joins.{to}");
            if !raw.tables.contains_key(to) {
                return Err(l.err(jkey, format!("joins unknown table `{to}`")));
            }
            let on = match join {
                RawJoin::Shared(c) => JoinOn {
                    column: c.clone(),
                    references: c.clone(),
                },
                RawJoin::Keys(k) => JoinOn {
                    column: k.column.clone(),
                    references: k.references.clone(),
                },
            };
            l.column(&jkey, &on.column)?;
            l.column(&jkey, &on.references)?;
            joins.insert(to.clone(), on);
        }
        let tenant = match (&t.tenant, &t.tenant_via) {
            (Some(_), _) | (_, Some(_)) if single => {
                return Err(l.err(
                    &key,
                    "the catalog is single-tenant (`tenancy = \"single\"`), which scopes nothing: remove `tenant`/`tenant_via`, or make the catalog multi-tenant",
                ))
            }
            (None, None) if single => Tenant::Unscoped,
            (Some(c), None) => {
                l.column(&format!("{key}.tenant"), c)?;
                Tenant::Column(c.clone())
            }
            (None, Some(via)) => {
                if !t.joins.contains_key(via) {
                    return Err(l.err(
                        format!("{key}.tenant_via"),
                        format!("`{via}` is not one of this table's joins"),
                    ));
                }
                match raw.tables.get(via).and_then(|v| v.tenant.as_ref()) {
                    Some(_) => Tenant::Via(via.clone()),
                    None => {
                        return Err(l.err(
                            format!("{key}.tenant_via"),
                            format!("the joined table `{via}` has no tenant column of its own"),
                        ))
                    }
                }
            }
            (Some(_), Some(_)) => {
                return Err(l.err(&key, "give either `tenant` or `tenant_via`, not both"))
            }
            (None, None) => {
                return Err(l.err(
                    &key,
                    "the table has no tenant column and no `tenant_via` join: every query must be scoped to a workspace (or declare `tenancy = \"single\"` under [catalog] if the warehouse holds one organisation's data)",
                ))
            }
        };
        if let Some(time) = &t.time {
            l.column(&format!("{key}.time"), time)?;
        }
        if let Some(entity) = &t.entity {
            l.column(&format!("{key}.entity"), entity)?;
        }
        if let Some(event) = &t.event {
            l.column(&format!("{key}.event"), event)?;
        }
        tables.insert(
            name.clone(),
            Table {
                name: name.clone(),
                schema,
                source,
                tenant,
                time: t.time.clone(),
                joins,
                entity: t.entity.clone(),
                event: t.event.clone(),
            },
        );
    }
    // A join target carries its own tenant column, so the join can be scoped in its ON clause.
    for (name, t) in &raw.tables {
        for to in t.joins.keys() {
            if !single && raw.tables[to].tenant.is_none() {
                return Err(l.err(
                    format!("tables.{name}.joins.{to}"),
                    format!("the joined table `{to}` has no tenant column of its own, so the join cannot be scoped"),
                ));
            }
        }
    }
    Ok(tables)
}

fn load_dimensions(
    l: &Loader,
    raw: &RawCatalog,
    tables: &BTreeMap<String, Table>,
) -> Result<BTreeMap<String, Dimension>, CatalogError> {
    let mut dimensions = BTreeMap::new();
    for (name, d) in &raw.dimensions {
        let key = format!("dimensions.{name}");
        l.ident(&key, name)?;
        if d.bindings.is_empty() {
            return Err(l.err(format!("{key}.bindings"), "needs at least one table.column"));
        }
        let mut bindings = Vec::new();
        for b in &d.bindings {
            let Some((table, column)) = b.rsplit_once('.') else {
                return Err(l.err(
                    format!("{key}.bindings"),
                    format!("`{b}` is not table.column"),
                ));
            };
            if !tables.contains_key(table) {
                return Err(l.err(
                    format!("{key}.bindings"),
                    format!("`{b}` names unknown table `{table}`"),
                ));
            }
            l.column(&format!("{key}.bindings"), column)?;
            if bindings.iter().any(|(t, _): &(String, String)| t == table) {
                return Err(l.err(
                    format!("{key}.bindings"),
                    format!("table `{table}` is bound twice"),
                ));
            }
            bindings.push((table.to_string(), column.to_string()));
        }
        let sensitivity = l.sensitivity(&format!("{key}.sensitivity"), &d.sensitivity)?;
        let (values, discover) = match &d.values {
            RawValues::Listed(v) => (v.clone(), false),
            RawValues::Discover(s) if s == "discover" => {
                if sensitivity >= Sensitivity::Confidential {
                    return Err(l.err(
                        format!("{key}.values"),
                        "values of a confidential or pii dimension are never read from the warehouse: list them, or leave them out",
                    ));
                }
                (Vec::new(), true)
            }
            RawValues::Discover(s) => {
                return Err(l.err(
                    format!("{key}.values"),
                    format!("`{s}` is neither a list of values nor \"discover\""),
                ))
            }
        };
        for v in d.value_synonyms.keys() {
            if !discover && !values.contains(v) {
                return Err(l.err(
                    format!("{key}.value_synonyms.{v}"),
                    format!("`{v}` is not one of the dimension's values"),
                ));
            }
        }
        dimensions.insert(
            name.clone(),
            Dimension {
                name: name.clone(),
                description: d.description.clone(),
                bindings,
                sensitivity,
                ty: l.value_type(&format!("{key}.type"), &d.ty)?,
                synonyms: d.synonyms.clone(),
                phrases: d.phrases.clone(),
                values_complete: !discover,
                values,
                discover,
                value_synonyms: d.value_synonyms.clone(),
                entity: d.entity,
                driver: d.driver,
            },
        );
    }
    Ok(dimensions)
}

/// For every table, the nearest binding of every dimension over the declared joins (breadth first).
/// Two bindings at the same nearest distance are ambiguous and a load error.
fn compute_reach(
    l: &Loader,
    tables: &BTreeMap<String, Table>,
    dimensions: &BTreeMap<String, Dimension>,
) -> Result<BTreeMap<(String, String), Reach>, CatalogError> {
    let mut reach = BTreeMap::new();
    for start in tables.keys() {
        // Shortest join path from `start` to every reachable table.
        let mut paths: BTreeMap<&str, Vec<Hop>> = BTreeMap::new();
        paths.insert(start, Vec::new());
        let mut queue = VecDeque::from([start.as_str()]);
        while let Some(t) = queue.pop_front() {
            let path = paths[t].clone();
            for (to, on) in &tables[t].joins {
                if paths.contains_key(to.as_str()) {
                    continue;
                }
                let mut p = path.clone();
                p.push(Hop {
                    from: t.to_string(),
                    to: to.clone(),
                    on: on.clone(),
                });
                paths.insert(to, p);
                queue.push_back(to);
            }
        }
        for (dname, d) in dimensions {
            let mut best: Option<(usize, &str, &str)> = None;
            for (table, column) in &d.bindings {
                let Some(path) = paths.get(table.as_str()) else {
                    continue;
                };
                match best {
                    Some((dist, other, _)) if dist == path.len() => {
                        return Err(l.err(
                            format!("dimensions.{dname}.bindings"),
                            format!(
                                "ambiguous from table `{start}`: `{other}` and `{table}` are both {dist} join(s) away"
                            ),
                        ))
                    }
                    Some((dist, _, _)) if dist < path.len() => {}
                    _ => best = Some((path.len(), table, column)),
                }
            }
            if let Some((_, table, column)) = best {
                reach.insert(
                    (start.clone(), dname.clone()),
                    Reach {
                        path: paths[table].clone(),
                        table: table.to_string(),
                        column: column.to_string(),
                    },
                );
            }
        }
    }
    Ok(reach)
}

fn load_metric(
    l: &Loader,
    name: &str,
    m: &RawMetric,
    tables: &BTreeMap<String, Table>,
) -> Result<Metric, CatalogError> {
    let key = format!("metrics.{name}");
    l.ident(&key, name)?;
    let format = Format::parse(&m.format).ok_or_else(|| {
        l.err(
            format!("{key}.format"),
            format!("unknown format `{}` (expected integer, decimal, percent, currency, duration_minutes or duration_hours)", m.format),
        )
    })?;
    let sensitivity = l.sensitivity(&format!("{key}.sensitivity"), &m.sensitivity)?;
    let need = |field: &str, v: &Option<String>| -> Result<String, CatalogError> {
        v.clone().ok_or_else(|| {
            l.err(
                format!("{key}.{field}"),
                format!("a `{}` metric needs `{field}`", m.ty),
            )
        })
    };
    let def = match m.ty.as_str() {
        "ratio" => MetricDef::Ratio {
            numerator: need("numerator", &m.numerator)?,
            denominator: need("denominator", &m.denominator)?,
        },
        "derived" => {
            let text = need("expression", &m.expression)?;
            let expr = Expr::parse(&text)
                .map_err(|e| l.err(format!("{key}.expression"), format!("`{text}`: {e}")))?;
            MetricDef::Derived { expr }
        }
        "count" | "count_distinct" | "sum" | "avg" | "median" | "active_users" => {
            let table_name = need("table", &m.table)?;
            let table = tables.get(&table_name).ok_or_else(|| {
                l.err(
                    format!("{key}.table"),
                    format!("unknown table `{table_name}`"),
                )
            })?;
            let measure = || -> Result<Measure, CatalogError> {
                match (&m.column, &m.duration) {
                    (Some(c), None) => {
                        l.column(&format!("{key}.column"), c)?;
                        Ok(Measure::Column(c.clone()))
                    }
                    (None, Some(d)) => {
                        l.column(&format!("{key}.duration.from"), &d.from)?;
                        l.column(&format!("{key}.duration.to"), &d.to)?;
                        let unit = match d.unit.as_str() {
                            "second" => DurationUnit::Second,
                            "minute" => DurationUnit::Minute,
                            "hour" => DurationUnit::Hour,
                            "day" => DurationUnit::Day,
                            other => {
                                return Err(l.err(
                                    format!("{key}.duration.unit"),
                                    format!("unknown unit `{other}` (second, minute, hour or day)"),
                                ))
                            }
                        };
                        Ok(Measure::Duration {
                            from: d.from.clone(),
                            to: d.to.clone(),
                            unit,
                        })
                    }
                    _ => Err(l.err(
                        &key,
                        format!("a `{}` metric needs exactly one of `column` or `duration`", m.ty),
                    )),
                }
            };
            let column = || -> Result<String, CatalogError> {
                let c = need("column", &m.column)?;
                l.column(&format!("{key}.column"), &c)?;
                Ok(c)
            };
            let func = match m.ty.as_str() {
                "count" => AggFunc::Count,
                "count_distinct" => AggFunc::CountDistinct(column()?),
                "sum" => AggFunc::Sum(measure()?),
                "avg" => AggFunc::Avg(measure()?),
                "median" => AggFunc::Median(measure()?),
                _ => {
                    let window = match need("window", &m.window)?.as_str() {
                        "day" => Window::Day,
                        "week" => Window::Week,
                        "month" => Window::Month,
                        other => {
                            return Err(l.err(
                                format!("{key}.window"),
                                format!("unknown window `{other}` (day, week or month)"),
                            ))
                        }
                    };
                    AggFunc::ActiveUsers {
                        column: column()?,
                        window,
                    }
                }
            };
            let time = match (&m.time, &m.snapshot) {
                (Some(_), Some(_)) => {
                    return Err(l.err(&key, "give either `time` or `snapshot`, not both"))
                }
                (None, Some(s)) => {
                    if matches!(func, AggFunc::ActiveUsers { .. } | AggFunc::Median(_)) {
                        return Err(l.err(
                            format!("{key}.snapshot"),
                            format!("a `{}` metric cannot be a snapshot", m.ty),
                        ));
                    }
                    l.column(&format!("{key}.snapshot.from"), &s.from)?;
                    l.column(&format!("{key}.snapshot.to"), &s.to)?;
                    let at = match s.at.as_str() {
                        "start" => SnapshotAt::Start,
                        "end" => SnapshotAt::End,
                        other => {
                            return Err(l.err(
                                format!("{key}.snapshot.at"),
                                format!("unknown instant `{other}` (start or end)"),
                            ))
                        }
                    };
                    TimeBasis::Snapshot {
                        from: s.from.clone(),
                        to: s.to.clone(),
                        at,
                    }
                }
                (Some(t), None) => {
                    l.column(&format!("{key}.time"), t)?;
                    TimeBasis::Column(t.clone())
                }
                (None, None) => match &table.time {
                    Some(t) => TimeBasis::Column(t.clone()),
                    None => {
                        return Err(l.err(
                            format!("{key}.time"),
                            format!("table `{table_name}` has no time column: give the metric `time`"),
                        ))
                    }
                },
            };
            let mut filters = Vec::new();
            for (column, value) in &m.filter {
                l.column(&format!("{key}.where"), column)?;
                filters.push((column.clone(), value.clone()));
            }
            MetricDef::Aggregate(Aggregate {
                table: table_name,
                func,
                time,
                filters,
            })
        }
        other => {
            return Err(l.err(
                format!("{key}.type"),
                format!("unknown metric type `{other}` (count, count_distinct, sum, avg, median, ratio, derived or active_users)"),
            ))
        }
    };
    Ok(Metric {
        name: name.to_string(),
        label: m.label.clone().unwrap_or_else(|| name.replace('_', " ")),
        description: m.description.clone(),
        synonyms: m.synonyms.clone(),
        phrases: m.phrases.clone(),
        format,
        sensitivity,
        watch: m.watch,
        lower_is_better: m.lower_is_better,
        def,
    })
}

/// Components exist, there are no cycles, and sensitivity is raised to the highest component's.
fn check_metric_references(
    l: &Loader,
    metrics: &mut BTreeMap<String, Metric>,
) -> Result<(), CatalogError> {
    fn components(m: &Metric) -> Vec<String> {
        match &m.def {
            MetricDef::Aggregate(_) => vec![],
            MetricDef::Ratio {
                numerator,
                denominator,
            } => vec![numerator.clone(), denominator.clone()],
            MetricDef::Derived { expr } => expr.metrics().into_iter().map(String::from).collect(),
        }
    }
    for (name, m) in metrics.iter() {
        for c in components(m) {
            if !metrics.contains_key(&c) {
                return Err(l.err(
                    format!("metrics.{name}"),
                    format!("refers to unknown metric `{c}`"),
                ));
            }
        }
    }
    // Depth-first search with colours; a grey node met again is a cycle.
    #[derive(Clone, Copy, PartialEq)]
    enum Colour {
        White,
        Grey,
        Black,
    }
    fn visit(
        l: &Loader,
        name: &str,
        metrics: &BTreeMap<String, Metric>,
        colour: &mut BTreeMap<String, Colour>,
        stack: &mut Vec<String>,
    ) -> Result<Sensitivity, CatalogError> {
        match colour[name] {
            Colour::Grey => {
                stack.push(name.to_string());
                return Err(l.err(
                    format!("metrics.{}", stack[0]),
                    format!("derived metrics form a cycle: {}", stack.join(" → ")),
                ));
            }
            Colour::Black | Colour::White => {}
        }
        colour.insert(name.to_string(), Colour::Grey);
        stack.push(name.to_string());
        let m = &metrics[name];
        let mut sensitivity = m.sensitivity;
        for c in components(m) {
            sensitivity = sensitivity.max(visit(l, &c, metrics, colour, stack)?);
        }
        stack.pop();
        colour.insert(name.to_string(), Colour::Black);
        Ok(sensitivity)
    }
    let mut colour: BTreeMap<String, Colour> =
        metrics.keys().map(|k| (k.clone(), Colour::White)).collect();
    let names: Vec<String> = metrics.keys().cloned().collect();
    for name in names {
        let s = visit(l, &name, metrics, &mut colour, &mut Vec::new())?;
        metrics.get_mut(&name).expect("known").sensitivity = s;
    }
    Ok(())
}

fn load_entities(
    l: &Loader,
    raw: &RawCatalog,
    tables: &BTreeMap<String, Table>,
    metrics: &BTreeMap<String, Metric>,
) -> Result<BTreeMap<String, Entity>, CatalogError> {
    let mut entities = BTreeMap::new();
    for (name, e) in &raw.entities {
        let key = format!("entities.{name}");
        l.ident(&key, name)?;
        if !tables.contains_key(&e.table) {
            return Err(l.err(
                format!("{key}.table"),
                format!("unknown table `{}`", e.table),
            ));
        }
        l.column(&format!("{key}.key"), &e.key)?;
        let mut fields = BTreeMap::new();
        for (fname, f) in &e.fields {
            let fkey = format!("{key}.fields.{fname}");
            l.ident(&fkey, fname)?;
            let format = match &f.format {
                None => None,
                Some(s) => Some(Format::parse(s).ok_or_else(|| {
                    l.err(format!("{fkey}.format"), format!("unknown format `{s}`"))
                })?),
            };
            fields.insert(
                fname.clone(),
                Field {
                    name: fname.clone(),
                    ty: l.value_type(&format!("{fkey}.type"), &f.ty)?,
                    sensitivity: l.sensitivity(&format!("{fkey}.sensitivity"), &f.sensitivity)?,
                    description: f.description.clone(),
                    format,
                    synonyms: f.synonyms.clone(),
                },
            );
        }
        if let Some(m) = &e.count_metric {
            if !metrics.contains_key(m) {
                return Err(l.err(
                    format!("{key}.count_metric"),
                    format!("unknown metric `{m}`"),
                ));
            }
        }
        if let Some(t) = &e.default_time {
            if fields.get(t).map(|f: &Field| f.ty) != Some(ValueType::Date) {
                return Err(l.err(
                    format!("{key}.default_time"),
                    format!("`{t}` is not a date field of the entity"),
                ));
            }
        }
        for f in &e.default_fields {
            match fields.get(f) {
                Some(field) if field.sensitivity < Sensitivity::Pii => {}
                Some(_) => {
                    return Err(l.err(
                        format!("{key}.default_fields"),
                        format!("`{f}` is PII and cannot be a default field"),
                    ))
                }
                None => {
                    return Err(l.err(
                        format!("{key}.default_fields"),
                        format!("`{f}` is not a field of the entity"),
                    ))
                }
            }
        }
        entities.insert(
            name.clone(),
            Entity {
                name: name.clone(),
                table: e.table.clone(),
                key: e.key.clone(),
                description: e.description.clone(),
                synonyms: e.synonyms.clone(),
                count_metric: e.count_metric.clone(),
                default_time: e.default_time.clone(),
                default_fields: e.default_fields.clone(),
                fields,
            },
        );
    }
    Ok(entities)
}

fn load_funnels(
    l: &Loader,
    raw: &RawCatalog,
    tables: &BTreeMap<String, Table>,
    metrics: &BTreeMap<String, Metric>,
) -> Result<BTreeMap<String, Funnel>, CatalogError> {
    let mut funnels = BTreeMap::new();
    for (name, f) in &raw.funnels {
        let key = format!("funnels.{name}");
        l.ident(&key, name)?;
        if !(2..=6).contains(&f.steps.len()) {
            return Err(l.err(format!("{key}.steps"), "a funnel has 2 to 6 steps"));
        }
        let distinct: BTreeSet<&String> = f.steps.iter().collect();
        if distinct.len() != f.steps.len() {
            return Err(l.err(format!("{key}.steps"), "a step is listed twice"));
        }
        if !(1..=720).contains(&f.window_hours) {
            return Err(l.err(format!("{key}.window_hours"), "must be 1 to 720"));
        }
        let table = match &f.table {
            Some(t) => tables
                .get(t)
                .ok_or_else(|| l.err(format!("{key}.table"), format!("unknown table `{t}`")))?,
            None => {
                let ready: Vec<&Table> = tables.values().filter(|t| t.event.is_some()).collect();
                match ready.as_slice() {
                    [one] => *one,
                    [] => {
                        return Err(l.err(
                            format!("{key}.table"),
                            "no table declares an `event` column",
                        ))
                    }
                    _ => {
                        return Err(l.err(
                            format!("{key}.table"),
                            "several tables declare an `event` column: name one",
                        ))
                    }
                }
            }
        };
        if !table.funnel_ready() {
            return Err(l.err(
                format!("{key}.table"),
                format!(
                    "`{}` needs {}a `time`, an `entity` and an `event` column for funnels",
                    table.name,
                    if table.tenant == Tenant::Unscoped {
                        ""
                    } else {
                        "a tenant column of its own, "
                    }
                ),
            ));
        }
        funnels.insert(
            name.clone(),
            Funnel {
                name: name.clone(),
                label: f.label.clone().unwrap_or_else(|| name.clone()),
                description: f.description.clone(),
                table: table.name.clone(),
                steps: f.steps.clone(),
                window_hours: f.window_hours,
                synonyms: f.synonyms.clone(),
                metric: match &f.metric {
                    Some(m) if !metrics.contains_key(m) => {
                        return Err(l.err(format!("{key}.metric"), format!("unknown metric `{m}`")))
                    }
                    other => other.clone(),
                },
            },
        );
    }
    Ok(funnels)
}

/// `[retention.NAME]`: both tables known, each with a time column and the same tenancy (each
/// scoped by a tenant column of its own, or neither), and an entity column to match them on.
fn load_retention(
    l: &Loader,
    raw: &RawCatalog,
    tables: &BTreeMap<String, Table>,
) -> Result<BTreeMap<String, Retention>, CatalogError> {
    let mut out = BTreeMap::new();
    for (name, r) in &raw.retention {
        let key = format!("retention.{name}");
        l.ident(&key, name)?;
        let side = |part: &str, s: &super::raw::RawRetentionSide| {
            let table = tables.get(&s.table).ok_or_else(|| {
                l.err(
                    format!("{key}.{part}.table"),
                    format!("unknown table `{}`", s.table),
                )
            })?;
            let time = s
                .time
                .clone()
                .or_else(|| table.time.clone())
                .ok_or_else(|| {
                    l.err(
                        format!("{key}.{part}.time"),
                        format!("`{}` has no `time`: name the column", table.name),
                    )
                })?;
            match &table.tenant {
                Tenant::Via(_) => Err(l.err(
                    format!("{key}.{part}.table"),
                    format!(
                        "`{}` is scoped through a join; retention needs a tenant column of its own",
                        table.name
                    ),
                )),
                _ => Ok((
                    table,
                    TableTime {
                        table: table.name.clone(),
                        time,
                    },
                )),
            }
        };
        let (cohort_table, cohort) = side("cohort", &r.cohort)?;
        let (activity_table, activity) = side("activity", &r.activity)?;
        if (cohort_table.tenant == Tenant::Unscoped) != (activity_table.tenant == Tenant::Unscoped)
        {
            return Err(l.err(
                format!("{key}.activity.table"),
                "the cohort and activity tables must both be scoped by a tenant column, or neither",
            ));
        }
        let entity = r
            .entity
            .clone()
            .or_else(|| cohort_table.entity.clone())
            .ok_or_else(|| {
                l.err(
                    format!("{key}.entity"),
                    format!(
                        "`{}` names no `entity`: give the column both tables share",
                        cohort_table.name
                    ),
                )
            })?;
        out.insert(
            name.clone(),
            Retention {
                name: name.clone(),
                label: r.label.clone().unwrap_or_else(|| name.clone()),
                description: r.description.clone(),
                cohort,
                activity,
                entity,
                synonyms: r.synonyms.clone(),
            },
        );
    }
    Ok(out)
}

fn load_roles(
    l: &Loader,
    raw: &RawCatalog,
    metrics: &BTreeMap<String, Metric>,
    dimensions: &BTreeMap<String, Dimension>,
) -> Result<BTreeMap<String, std::sync::Arc<Role>>, CatalogError> {
    let allow = |key: String, a: &RawAllow, known: &dyn Fn(&str) -> bool| match a {
        RawAllow::All(s) if s == "*" => Ok(Allow::All),
        RawAllow::All(s) => Err(l.err(key, format!("`{s}`: give \"*\" or a list of names"))),
        RawAllow::Some(list) => {
            for n in list {
                if !known(n) {
                    return Err(l.err(key, format!("unknown name `{n}`")));
                }
            }
            Ok(Allow::Only(list.iter().cloned().collect()))
        }
    };
    let mut roles = BTreeMap::new();
    for (name, r) in &raw.roles {
        let key = format!("roles.{name}");
        l.ident(&key, name)?;
        let mut kinds = BTreeSet::new();
        for k in &r.kinds {
            let kind: Kind =
                serde_json::from_value(serde_json::Value::String(k.clone())).map_err(|_| {
                    l.err(
                        format!("{key}.kinds"),
                        format!("unknown kind `{k}` (metric, overview, list, funnel, explain or retention)"),
                    )
                })?;
            kinds.insert(kind);
        }
        let metrics_allow = allow(format!("{key}.metrics"), &r.metrics, &|n| {
            metrics.contains_key(n)
        })?;
        let dimensions_allow = allow(format!("{key}.dimensions"), &r.dimensions, &|n| {
            dimensions.contains_key(n)
        })?;
        let max_sensitivity =
            l.sensitivity(&format!("{key}.max_sensitivity"), &r.max_sensitivity)?;
        for m in &r.overview {
            let Some(metric) = metrics.get(m) else {
                return Err(l.err(format!("{key}.overview"), format!("unknown metric `{m}`")));
            };
            if !metrics_allow.allows(m) || metric.sensitivity > max_sensitivity {
                return Err(l.err(
                    format!("{key}.overview"),
                    format!("the role may not see `{m}` itself"),
                ));
            }
        }
        roles.insert(
            name.clone(),
            std::sync::Arc::new(Role {
                name: name.clone(),
                description: r.description.clone(),
                kinds,
                metrics: metrics_allow,
                dimensions: dimensions_allow,
                max_sensitivity,
                record_level: r.record_level,
                see_sql: r.see_sql,
                min_group_size: r.min_group_size,
                overview: r.overview.clone(),
                admin: r.admin,
            }),
        );
    }
    if roles.is_empty() {
        return Err(l.err("roles", "the catalog declares no roles"));
    }
    Ok(roles)
}
