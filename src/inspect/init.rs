//! `tally catalog init`: a commented starter catalog from what the warehouse holds — one table
//! entry per table, joins from foreign keys, a count metric per dated table, a sum metric per
//! numeric measure, a dimension per low-cardinality text column (values discovered at start),
//! personal-data columns marked `pii`, and two roles.
//!
//! Invariants: reads only, and boundedly (`sample_values` reads at most `SAMPLE_ROWS` rows of a
//! column); never writes a sampled value into the file (dimensions say `values = "discover"`),
//! and never samples a column whose name marks it as personal data. `render` is pure: the same
//! warehouse gives the same file, byte for byte.

use std::collections::{BTreeMap, BTreeSet};

use crate::exec::{ColumnShape, ColumnType, ExecError, Limits, TableShape, Warehouse};
use crate::sql::Dialect;

/// Rows read per sampled column.
pub const SAMPLE_ROWS: u64 = 10_000;
/// A text column with at most this many distinct values in the sample is a dimension.
pub const MAX_DIMENSION_VALUES: u64 = 50;
/// Columns of one table considered at most (a wider table keeps its first ones, and says so).
pub const MAX_COLUMNS: usize = 200;

/// Column names that name a tenant, tried in order when neither `--tenant-column` nor
/// `--single-tenant` is given.
const TENANT_NAMES: &[&str] = &[
    "workspace_id",
    "tenant_id",
    "org_id",
    "organization_id",
    "organisation_id",
    "account_id",
    "company_id",
];

/// Column names that say whom a row is about.
const ENTITY_NAMES: &[&str] = &[
    "user_id",
    "customer_id",
    "client_id",
    "member_id",
    "person_id",
    "visitor_id",
    "account_id",
];

/// Words in a column name that make a summed column money.
const CURRENCY_WORDS: &[&str] = &[
    "amount", "price", "revenue", "cost", "spend", "fee", "fees", "total", "sales", "payment",
    "balance", "salary", "income", "profit", "gmv", "mrr", "arr", "value", "usd", "eur", "gbp",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tenancy {
    /// `--tenant-column COL`.
    Column(String),
    /// `--single-tenant`.
    Single,
    /// Neither: a column from `TENANT_NAMES` present on most tables, else an error.
    Detect,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub schema: Option<String>,
    pub tenancy: Tenancy,
    /// The catalog's `name`.
    pub name: String,
    /// Where the facts came from, for the header comment (a redacted URL).
    pub source: String,
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Warehouse(#[from] ExecError),
    #[error("{0}")]
    Empty(String),
    #[error("{0}")]
    Tenancy(String),
}

impl InitError {
    pub fn code(&self) -> &'static str {
        match self {
            InitError::Warehouse(e) => e.code(),
            InitError::Empty(_) => "no_tables",
            InitError::Tenancy(_) => "tenancy_unclear",
        }
    }
}

/// What the warehouse holds, as `render` needs it.
#[derive(Debug, Clone)]
pub struct Facts {
    pub dialect: Dialect,
    pub tables: Vec<TableFacts>,
}

#[derive(Debug, Clone)]
pub struct TableFacts {
    pub name: String,
    pub view: bool,
    pub shape: TableShape,
    /// Columns beyond `MAX_COLUMNS`, left out.
    pub dropped_columns: usize,
    /// Sampled text columns: distinct values seen (capped at `MAX_DIMENSION_VALUES + 1`) and
    /// whether they look like personal data. Never the values themselves.
    pub samples: BTreeMap<String, Sample>,
    /// Non-null values seen in the sample of the first sampled column (0: empty table).
    pub rows_seen: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub distinct: u64,
    pub rows: i64,
    pub personal: bool,
    pub dates: bool,
}

/// Reads the warehouse: tables and views, columns, keys, and a bounded sample of each text
/// column that is not named as personal data. `progress` hears each table as it is read.
pub async fn gather(
    warehouse: &Warehouse,
    schema: Option<&str>,
    limits: &Limits,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Facts, InitError> {
    let entries = warehouse.table_names(schema, limits).await?;
    if entries.is_empty() {
        return Err(InitError::Empty(match schema {
            Some(s) => format!("schema `{s}` holds no tables or views (or does not exist)"),
            None => "the warehouse holds no tables or views".into(),
        }));
    }
    let mut tables = Vec::new();
    for entry in entries {
        progress(&entry.name);
        let Some(mut shape) = warehouse.describe(schema, &entry.name, limits).await? else {
            continue;
        };
        let dropped_columns = shape.columns.len().saturating_sub(MAX_COLUMNS);
        shape.columns.truncate(MAX_COLUMNS);
        let mut samples = BTreeMap::new();
        let mut rows_seen = None;
        for c in &shape.columns {
            let sampled = !entry.view
                && c.ty == ColumnType::Text
                && !c.primary_key
                && !personal_name(&c.name);
            if !sampled {
                continue;
            }
            let statement = crate::sql::sample_values(
                schema,
                &entry.name,
                &c.name,
                SAMPLE_ROWS,
                MAX_DIMENSION_VALUES + 1,
                warehouse.dialect(),
            );
            let seen = super::value_counts(warehouse, statement, limits).await?;
            let rows: i64 = seen.iter().map(|(_, n)| n).sum();
            rows_seen.get_or_insert(rows);
            samples.insert(
                c.name.clone(),
                Sample {
                    distinct: seen.len() as u64,
                    rows,
                    personal: personal_values(&seen),
                    dates: !seen.is_empty() && seen.iter().all(|(v, _)| date_like(v)),
                },
            );
        }
        tables.push(TableFacts {
            name: entry.name,
            view: entry.view,
            shape,
            dropped_columns,
            samples,
            rows_seen: rows_seen.unwrap_or(-1),
        });
    }
    Ok(Facts {
        dialect: warehouse.dialect(),
        tables,
    })
}

/// The words of a column name, lower case: `customerEmail` and `customer_email` both give
/// `customer`, `email`.
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for ch in name.chars() {
        if ch == '_' || ch == '-' || ch == ' ' || ch == '$' {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if ch.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = ch.is_ascii_lowercase() || ch.is_ascii_digit();
        cur.push(ch.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `lower_snake_case` of a warehouse name, as a catalog identifier (`OrderItems` → `order_items`).
pub fn snake(name: &str) -> String {
    let mut s = words(name).join("_");
    s.retain(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert_str(0, "c_");
    }
    s.truncate(63);
    s
}

/// Whether a column's name marks it as personal data (an email, a phone, a person's name, an
/// address, an IP address, a birth date, an id document).
pub fn personal_name(name: &str) -> bool {
    let w = words(name);
    let has = |k: &str| w.iter().any(|x| x == k);
    let person_name = w.iter().enumerate().any(|(i, x)| {
        matches!(
            x.as_str(),
            "firstname" | "lastname" | "fullname" | "surname" | "username"
        ) || (x == "name"
            && (i == 0 && w.len() == 1
                || i > 0
                    && matches!(
                        w[i - 1].as_str(),
                        "first"
                            | "last"
                            | "full"
                            | "given"
                            | "family"
                            | "middle"
                            | "display"
                            | "user"
                            | "customer"
                            | "contact"
                            | "person"
                            | "client"
                            | "member"
                            | "employee"
                            | "owner"
                            | "billing"
                            | "shipping"
                    )))
    });
    person_name
        || [
            "email",
            "mail",
            "phone",
            "mobile",
            "telephone",
            "tel",
            "fax",
            "address",
            "street",
            "postcode",
            "zip",
            "zipcode",
            "ip",
            "ssn",
            "passport",
            "birthday",
            "dob",
            "iban",
        ]
        .iter()
        .any(|k| has(k))
        || (has("birth") && (has("date") || has("day")))
}

/// Whether most sampled values look like emails, phone numbers or IP addresses.
fn personal_values(seen: &[(String, i64)]) -> bool {
    if seen.is_empty() {
        return false;
    }
    let personal = seen
        .iter()
        .filter(|(v, _)| email_like(v) || phone_like(v) || ip_like(v))
        .count();
    personal * 2 > seen.len()
}

fn email_like(v: &str) -> bool {
    match v.split_once('@') {
        Some((user, domain)) => {
            !user.is_empty() && domain.contains('.') && !v.contains(char::is_whitespace)
        }
        None => false,
    }
}

fn phone_like(v: &str) -> bool {
    let digits = v.chars().filter(char::is_ascii_digit).count();
    digits >= 7
        && v.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '.'))
        && v.chars().any(|c| matches!(c, '+' | ' ' | '-' | '('))
}

fn ip_like(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    (parts.len() == 4 && parts.iter().all(|p| p.parse::<u8>().is_ok()))
        || (v.matches(':').count() >= 2 && v.chars().all(|c| c.is_ascii_hexdigit() || c == ':'))
}

/// `YYYY-MM-DD`, optionally followed by a time.
fn date_like(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
}

/// A TOML basic string.
fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A TOML key: bare when it can be, quoted otherwise.
fn key(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        s.to_string()
    } else {
        q(s)
    }
}

fn label(words_of: &str) -> String {
    let w = words(words_of).join(" ");
    let mut c = w.chars();
    match c.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
        None => w,
    }
}

/// What `render` decided about one table.
struct Plan<'a> {
    facts: &'a TableFacts,
    /// The catalog's key for the table (its warehouse name; schema-qualified by `schema`).
    tenant: TablePlanTenant,
    time: Option<&'a ColumnShape>,
    other_times: Vec<&'a str>,
    /// Joined table (warehouse name) → (this column, their column).
    joins: BTreeMap<&'a str, (&'a str, String)>,
    entity: Option<&'a str>,
}

#[derive(Clone, PartialEq, Eq)]
enum TablePlanTenant {
    Column(String),
    Via(String),
    Unscoped,
    /// Left out: the reason.
    Omitted(String),
}

fn is_time(c: &ColumnShape, sample: Option<&Sample>, dialect: Dialect) -> bool {
    match c.ty {
        ColumnType::Timestamp | ColumnType::Date => true,
        // SQLite keeps timestamps as text: a text column whose sampled values are all dates.
        ColumnType::Text => dialect == Dialect::Sqlite && sample.is_some_and(|s| s.dates),
        _ => false,
    }
}

fn key_like(name: &str) -> bool {
    let w = words(name);
    w.last()
        .is_some_and(|l| l == "id" || l == "key" || l == "uuid" || l == "code")
}

/// `base`, or `base_2`, `base_3`, … when taken; then taken.
fn fresh(used: &mut BTreeSet<String>, base: String) -> String {
    let mut name = base.clone();
    let mut n = 2;
    while used.contains(&name) {
        name = format!("{base}_{n}");
        n += 1;
    }
    used.insert(name.clone());
    name
}

/// The starter catalog for `facts`.
pub fn render(facts: &Facts, opts: &Options) -> Result<String, InitError> {
    let tenant_column = match &opts.tenancy {
        Tenancy::Column(c) => {
            if !facts.tables.iter().any(|t| t.shape.column(c).is_some()) {
                return Err(InitError::Tenancy(format!(
                    "no table has a column `{c}`: give the tenant column's exact name, or --single-tenant if the warehouse holds one organisation's data"
                )));
            }
            Some(c.clone())
        }
        Tenancy::Single => None,
        Tenancy::Detect => {
            let found = TENANT_NAMES.iter().find(|name| {
                let with = facts
                    .tables
                    .iter()
                    .filter(|t| t.shape.column(name).is_some())
                    .count();
                with * 2 >= facts.tables.len() && with > 0
            });
            match found {
                Some(c) => Some(c.to_string()),
                None => {
                    return Err(InitError::Tenancy(
                        "found no tenant column (tried workspace_id, tenant_id, org_id, account_id, …): pass --tenant-column COL if rows belong to different organisations, or --single-tenant if the warehouse holds one organisation's data".into(),
                    ))
                }
            }
        }
    };
    // Columns whose names a catalog cannot hold are left out (and named in a comment).
    let mut odd_columns: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let usable: Vec<TableFacts> = facts
        .tables
        .iter()
        .map(|t| {
            let mut t = t.clone();
            let (ok, odd): (Vec<ColumnShape>, Vec<ColumnShape>) = t
                .shape
                .columns
                .into_iter()
                .partition(|c| crate::catalog::is_warehouse_name(&c.name));
            t.shape.columns = ok;
            if !odd.is_empty() {
                odd_columns.insert(t.name.clone(), odd.into_iter().map(|c| c.name).collect());
            }
            t.shape.foreign_keys.retain(|f| {
                crate::catalog::is_warehouse_name(&f.column)
                    && crate::catalog::is_warehouse_name(&f.table)
                    && (f.references.is_empty() || crate::catalog::is_warehouse_name(&f.references))
            });
            t
        })
        .collect();
    let facts = &Facts {
        dialect: facts.dialect,
        tables: usable,
    };
    let by_name: BTreeMap<&str, &TableFacts> =
        facts.tables.iter().map(|t| (t.name.as_str(), t)).collect();
    let has_tenant = |t: &str| match (&tenant_column, by_name.get(t)) {
        (Some(c), Some(f)) => f.shape.column(c).is_some(),
        _ => false,
    };

    // Tables: tenant, time, joins, entity.
    let mut plans: Vec<Plan> = Vec::new();
    for t in &facts.tables {
        let times: Vec<&ColumnShape> = t
            .shape
            .columns
            .iter()
            .filter(|c| is_time(c, t.samples.get(&c.name), facts.dialect))
            .collect();
        let mut joins = BTreeMap::new();
        for fk in &t.shape.foreign_keys {
            let Some(target) = by_name.get(fk.table.as_str()) else {
                continue;
            };
            if fk.table == t.name || joins.contains_key(fk.table.as_str()) {
                continue;
            }
            if tenant_column.is_some() && !has_tenant(&fk.table) {
                continue; // a join target must be scoped by a tenant column of its own
            }
            let references = if fk.references.is_empty() {
                match target.shape.columns.iter().find(|c| c.primary_key) {
                    Some(pk) => pk.name.clone(),
                    None => continue,
                }
            } else {
                fk.references.clone()
            };
            joins.insert(fk.table.as_str(), (fk.column.as_str(), references));
        }
        let tenant = match &tenant_column {
            None => TablePlanTenant::Unscoped,
            Some(c) if t.shape.column(c).is_some() => TablePlanTenant::Column(c.clone()),
            Some(c) => match joins.keys().next() {
                Some(via) => TablePlanTenant::Via(via.to_string()),
                None => TablePlanTenant::Omitted(format!(
                    "no `{c}` column and no foreign key to a table with one, so its rows cannot be scoped to a workspace"
                )),
            },
        };
        let tenant_name = tenant_column.as_deref().unwrap_or("");
        let referenced = facts
            .tables
            .iter()
            .any(|o| o.name != t.name && o.shape.foreign_keys.iter().any(|fk| fk.table == t.name));
        let pk: Vec<&ColumnShape> = t.shape.columns.iter().filter(|c| c.primary_key).collect();
        let single_pk = match pk.as_slice() {
            [only] => Some(only.name.as_str()),
            _ => None,
        };
        let entity = ENTITY_NAMES
            .iter()
            .find_map(|n| {
                t.shape
                    .columns
                    .iter()
                    .find(|c| c.name.eq_ignore_ascii_case(n) && c.name != tenant_name)
                    .map(|c| c.name.as_str())
            })
            .or(single_pk.filter(|_| referenced))
            .or_else(|| {
                t.shape
                    .foreign_keys
                    .iter()
                    .find(|fk| fk.column != tenant_name)
                    .map(|fk| fk.column.as_str())
            })
            // Else each row is its own entity: `min_group_size` then counts rows.
            .or(single_pk);
        plans.push(Plan {
            facts: t,
            tenant,
            time: times.first().copied(),
            other_times: times.iter().skip(1).map(|c| c.name.as_str()).collect(),
            joins,
            entity,
        });
    }
    // A join whose target is left out goes too; a table scoped through it then is left out.
    let omitted: BTreeSet<String> = plans
        .iter()
        .filter(|p| matches!(p.tenant, TablePlanTenant::Omitted(_)))
        .map(|p| p.facts.name.clone())
        .collect();
    for p in &mut plans {
        p.joins.retain(|to, _| !omitted.contains(*to));
    }

    let mut used: BTreeSet<String> = BTreeSet::new();

    let schema_prefix = |t: &str| match &opts.schema {
        Some(s) => format!("{s}.{t}"),
        None => t.to_string(),
    };
    let mut out = String::new();
    let mut tables_out = String::new();
    let mut metrics_out = String::new();
    let mut dims_out = String::new();
    let mut metric_names: Vec<String> = Vec::new();
    let mut examples: Vec<String> = Vec::new();
    let mut dimension_names: Vec<String> = Vec::new();

    for p in &plans {
        let t = p.facts;
        let tkey = key(&schema_prefix(&t.name));
        if !crate::catalog::is_warehouse_name(&t.name) {
            tables_out.push_str(&format!(
                "# Left out {}: a table name Tally can use has only letters, digits, _ and $ (rename it, or add a view with such a name).\n\n",
                q(&t.name)
            ));
            continue;
        }
        if t.view {
            tables_out.push_str(&format!(
                "# Left out the view `{}`: its numbers repeat its tables'. Describe it by hand as a [tables] entry to query it.\n\n",
                t.name
            ));
            continue;
        }
        if let TablePlanTenant::Omitted(why) = &p.tenant {
            tables_out.push_str(&format!("# Left out `{}`: {why}.\n\n", t.name));
            continue;
        }
        tables_out.push_str(&format!("[tables.{tkey}]\n"));
        let odd: Vec<String> = odd_columns
            .get(&t.name)
            .map(|v| v.iter().map(|c| q(c)).collect())
            .unwrap_or_default();
        if !odd.is_empty() {
            tables_out.push_str(&format!(
                "# Columns left out (names with characters other than letters, digits, _ and $): {}\n",
                odd.join(", ")
            ));
        }
        if t.rows_seen == 0 {
            tables_out.push_str(
                "# Empty when this was written: no column could be sampled, so no dimensions were guessed.\n",
            );
        }
        if t.dropped_columns > 0 {
            tables_out.push_str(&format!(
                "# {} more columns were not considered (only the first {MAX_COLUMNS} are).\n",
                t.dropped_columns
            ));
        }
        match &p.tenant {
            TablePlanTenant::Column(c) => tables_out.push_str(&format!("tenant = {}\n", q(c))),
            TablePlanTenant::Via(v) => {
                tables_out.push_str(&format!("tenant_via = {}\n", q(&schema_prefix(v))))
            }
            _ => {}
        }
        match p.time {
            Some(c) => {
                tables_out.push_str(&format!("time = {}", q(&c.name)));
                if !p.other_times.is_empty() {
                    tables_out.push_str(&format!(
                        "  # other date/time columns: {}",
                        p.other_times.join(", ")
                    ));
                }
                tables_out.push('\n');
            }
            None => tables_out
                .push_str("# No date or timestamp column: no metric was made for this table.\n"),
        }
        match p.entity {
            Some(e) => tables_out.push_str(&format!(
                "entity = {}  # whom a row is about: min_group_size counts these\n",
                q(e)
            )),
            None => tables_out.push_str(
                "# No entity column (whom a row is about): roles with min_group_size see none of this table's numbers until you name one.\n",
            ),
        }
        for (to, (column, references)) in &p.joins {
            let to_key = key(&schema_prefix(to));
            if column == references {
                tables_out.push_str(&format!("joins.{to_key} = {}\n", q(column)));
            } else {
                tables_out.push_str(&format!(
                    "joins.{to_key} = {{ column = {}, references = {} }}\n",
                    q(column),
                    q(references)
                ));
            }
        }
        tables_out.push('\n');

        let tenant_name = tenant_column.as_deref().unwrap_or("");
        let fk_columns: BTreeSet<&str> = t
            .shape
            .foreign_keys
            .iter()
            .map(|f| f.column.as_str())
            .collect();
        // Metrics: a count per dated table, a sum per numeric measure.
        if let Some(time) = p.time {
            let name = fresh(&mut used, snake(&t.name));
            metrics_out.push_str(&format!(
                "[metrics.{name}]\nlabel = {}\ntype = \"count\"\ntable = {}\n\n",
                q(&label(&t.name)),
                q(&schema_prefix(&t.name))
            ));
            examples.push(format!("How many {} last month?", words(&t.name).join(" ")));
            metric_names.push(name);
            for c in &t.shape.columns {
                let measure = c.ty.is_numeric()
                    && !c.primary_key
                    && !fk_columns.contains(c.name.as_str())
                    && c.name != tenant_name
                    && !key_like(&c.name)
                    && c.name != time.name;
                if !measure {
                    continue;
                }
                let w = words(&c.name);
                let format = if w.iter().any(|x| CURRENCY_WORDS.contains(&x.as_str())) {
                    "currency"
                } else if c.ty == ColumnType::Real {
                    "decimal"
                } else {
                    "integer"
                };
                let name = fresh(&mut used, format!("total_{}", snake(&c.name)));
                metrics_out.push_str(&format!(
                    "[metrics.{name}]\nlabel = {}\ntype = \"sum\"\ntable = {}\ncolumn = {}\nformat = \"{format}\"\n\n",
                    q(&format!("Total {}", w.join(" "))),
                    q(&schema_prefix(&t.name)),
                    q(&c.name),
                ));
                metric_names.push(name);
            }
        }
        // Dimensions: low-cardinality text columns; personal data marked, never sampled.
        for c in &t.shape.columns {
            if c.name == tenant_name || c.primary_key || fk_columns.contains(c.name.as_str()) {
                continue;
            }
            if p.time.is_some_and(|tc| tc.name == c.name) {
                continue;
            }
            let sample = t.samples.get(&c.name);
            let personal = personal_name(&c.name) || sample.is_some_and(|s| s.personal);
            let low = sample.is_some_and(|s| {
                s.distinct >= 1
                    && s.distinct <= MAX_DIMENSION_VALUES
                    && (s.distinct as i64) * 2 <= s.rows.max(2)
                    && !s.dates
            });
            if !(low || personal && c.ty == ColumnType::Text) {
                continue;
            }
            let base = snake(&c.name);
            let name = if used.contains(&base) {
                fresh(&mut used, format!("{}_{base}", snake(&t.name)))
            } else {
                fresh(&mut used, base)
            };
            dims_out.push_str(&format!(
                "[dimensions.{name}]\nbindings = [{}]\n",
                q(&format!("{}.{}", schema_prefix(&t.name), c.name))
            ));
            if personal {
                dims_out.push_str(
                    "sensitivity = \"pii\"  # looks like personal data: no role below pii sees it, and its values are never read\n\n",
                );
            } else {
                let s = sample.expect("low-cardinality columns were sampled");
                dims_out.push_str(&format!(
                    "values = \"discover\"  # {} distinct value(s) in a sample of {} row(s)\n\n",
                    s.distinct, s.rows
                ));
                if dimension_names.len() < 3 {
                    dimension_names.push(name.clone());
                }
            }
        }
    }

    if metric_names.is_empty() {
        return Err(InitError::Empty(
            "no table has a date or timestamp column, so no metric could be made: a catalog measures things over time".into(),
        ));
    }
    examples.truncate(3);
    if let (Some(m), Some(d)) = (metric_names.first(), dimension_names.first()) {
        examples.push(format!(
            "{} by {} last quarter",
            label(m),
            d.replace('_', " ")
        ));
    }

    out.push_str(&format!(
        "# A starter catalog written by `tally catalog init` from {} ({} table(s)).\n",
        opts.source,
        facts.tables.len()
    ));
    out.push_str(
        "# Read it through: rename metrics and dimensions as your people say them, add synonyms,\n\
         # and check it against the warehouse:  tally catalog check --catalog FILE --warehouse URL\n\
         # Every key is described in dsl-spec/catalog.md.\n\n",
    );
    out.push_str("[catalog]\n");
    out.push_str(&format!("name = {}\n", q(&opts.name)));
    out.push_str("version = \"1\"\n");
    out.push_str(&format!(
        "description = {}\n",
        q(&format!("Starter catalog for {}", opts.name))
    ));
    if tenant_column.is_none() {
        out.push_str(
            "# One organisation's data: nothing is scoped, and one workspace is served.\ntenancy = \"single\"\n",
        );
    }
    out.push_str("example_questions = [\n");
    for e in &examples {
        out.push_str(&format!("  {},\n", q(e)));
    }
    out.push_str("]\n\n");
    out.push_str(&tables_out);
    out.push_str(&metrics_out);
    out.push_str(&dims_out);
    let overview: Vec<String> = metric_names.iter().take(4).map(|m| q(m)).collect();
    out.push_str(&format!(
        "[roles.analyst]\n\
         description = \"Every metric and dimension except personal data, single-record breakdowns, and the SQL\"\n\
         kinds = [\"metric\", \"overview\", \"explain\"]\n\
         metrics = \"*\"\n\
         dimensions = \"*\"\n\
         max_sensitivity = \"confidential\"\n\
         record_level = true\n\
         see_sql = true\n\
         overview = [{}]\n\n",
        overview.join(", ")
    ));
    out.push_str(&format!(
        "[roles.viewer]\n\
         description = \"Aggregates of business data: no single record, no group of fewer than 5\"\n\
         kinds = [\"metric\", \"overview\"]\n\
         metrics = \"*\"\n\
         dimensions = \"*\"\n\
         max_sensitivity = \"business\"\n\
         record_level = false\n\
         see_sql = false\n\
         min_group_size = 5\n\
         overview = [{}]\n",
        overview.join(", ")
    ));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_into_words_and_snake_case() {
        assert_eq!(snake("OrderItems"), "order_items");
        assert_eq!(snake("customer_email"), "customer_email");
        assert_eq!(snake("HTTPStatus"), "httpstatus");
        assert_eq!(snake("2024_sales"), "c_2024_sales");
        assert_eq!(label("total_amount"), "Total amount");
    }

    #[test]
    fn personal_data_by_name() {
        for n in [
            "email",
            "customerEmail",
            "phone_number",
            "first_name",
            "name",
            "ip_address",
            "billing_address",
            "date_of_birth",
            "birth_date",
            "zip",
        ] {
            assert!(personal_name(n), "{n}");
        }
        for n in [
            "event_name",
            "campaign_name",
            "status",
            "country",
            "plan",
            "amount",
            "shipping_method",
        ] {
            assert!(!personal_name(n), "{n}");
        }
    }

    #[test]
    fn personal_data_by_value() {
        let seen =
            |vs: &[&str]| -> Vec<(String, i64)> { vs.iter().map(|v| (v.to_string(), 1)).collect() };
        assert!(personal_values(&seen(&["a@b.io", "c@d.com", "x"])));
        assert!(personal_values(&seen(&[
            "+44 20 7946 0958",
            "(555) 123-4567"
        ])));
        assert!(personal_values(&seen(&["10.0.0.1", "192.168.1.20"])));
        assert!(!personal_values(&seen(&["paid", "refunded", "open"])));
        assert!(!personal_values(&seen(&["1234567", "7654321"])));
    }

    fn col(name: &str, ty: ColumnType) -> ColumnShape {
        ColumnShape {
            name: name.into(),
            declared: format!("{ty:?}"),
            ty,
            primary_key: name == "id",
        }
    }

    fn table(name: &str, columns: Vec<ColumnShape>) -> TableFacts {
        let mut samples = BTreeMap::new();
        for c in &columns {
            if c.ty == ColumnType::Text && !personal_name(&c.name) {
                samples.insert(
                    c.name.clone(),
                    Sample {
                        distinct: 3,
                        rows: 100,
                        personal: false,
                        dates: false,
                    },
                );
            }
        }
        TableFacts {
            name: name.into(),
            view: false,
            shape: TableShape {
                columns,
                indexes: vec![],
                foreign_keys: vec![],
            },
            dropped_columns: 0,
            samples,
            rows_seen: 100,
        }
    }

    fn opts(tenancy: Tenancy) -> Options {
        Options {
            schema: None,
            tenancy,
            name: "t".into(),
            source: "test".into(),
        }
    }

    /// The awkward shapes a real warehouse has: each gets a clear comment, and the file loads.
    #[test]
    fn awkward_tables_are_described_or_left_out_with_the_reason() {
        use ColumnType::*;
        let mut wide = table("wide", vec![col("id", Integer), col("at", Timestamp)]);
        wide.dropped_columns = 300;
        let mut empty = table(
            "empty",
            vec![col("id", Integer), col("at", Timestamp), col("kind", Text)],
        );
        empty.rows_seen = 0;
        empty.samples.clear();
        let mut view = table("recent", vec![col("at", Timestamp)]);
        view.view = true;
        let facts = Facts {
            dialect: Dialect::Postgres,
            tables: vec![
                table(
                    "Orders",
                    vec![
                        col("id", Integer),
                        col("OrderedAt", Timestamp),
                        col("group", Text),
                        col("unit price", Real),
                        col("Amount", Real),
                    ],
                ),
                table("lookup", vec![col("id", Integer), col("label", Text)]),
                table(
                    "order items",
                    vec![col("id", Integer), col("at", Timestamp)],
                ),
                wide,
                empty,
                view,
            ],
        };
        let text = render(&facts, &opts(Tenancy::Single)).unwrap();
        let catalog = crate::catalog::Catalog::from_toml(&text, "t.toml")
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert!(text.contains("# No date or timestamp column: no metric was made for this table."));
        assert!(text.contains("# Empty when this was written"));
        assert!(text.contains("# 300 more columns were not considered"));
        assert!(text.contains("# Left out the view `recent`"));
        assert!(text.contains("# Left out \"order items\""));
        assert!(text.contains("# Columns left out (names with characters other than letters, digits, _ and $): \"unit price\""));
        assert_eq!(catalog.tables["Orders"].time.as_deref(), Some("OrderedAt"));
        assert!(catalog.metrics.contains_key("orders"));
        assert!(catalog.metrics.contains_key("total_amount"));
        assert_eq!(
            catalog.dimensions["group"].bindings,
            [("Orders".to_string(), "group".to_string())]
        );
        assert!(!catalog.metrics.contains_key("lookup"));
        assert!(!catalog.tables.contains_key("recent"));
        assert_eq!(text, render(&facts, &opts(Tenancy::Single)).unwrap());
    }

    #[test]
    fn tenancy_must_be_said_or_found() {
        use ColumnType::*;
        let facts = Facts {
            dialect: Dialect::Sqlite,
            tables: vec![table(
                "orders",
                vec![col("id", Integer), col("at", Timestamp)],
            )],
        };
        let e = render(&facts, &opts(Tenancy::Detect)).unwrap_err();
        assert_eq!(e.code(), "tenancy_unclear");
        assert!(e.to_string().contains("--single-tenant"), "{e}");
        let e = render(&facts, &opts(Tenancy::Column("org".into()))).unwrap_err();
        assert!(e.to_string().contains("no table has a column `org`"), "{e}");
        let scoped = Facts {
            dialect: Dialect::Sqlite,
            tables: vec![table(
                "orders",
                vec![
                    col("id", Integer),
                    col("tenant_id", Text),
                    col("at", Timestamp),
                ],
            )],
        };
        let text = render(&scoped, &opts(Tenancy::Detect)).unwrap();
        assert!(text.contains("tenant = \"tenant_id\""), "{text}");
        let undated = Facts {
            dialect: Dialect::Sqlite,
            tables: vec![table("things", vec![col("id", Integer)])],
        };
        assert_eq!(
            render(&undated, &opts(Tenancy::Single)).unwrap_err().code(),
            "no_tables"
        );
    }
}
