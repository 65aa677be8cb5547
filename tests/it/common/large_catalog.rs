//! A large catalog for retrieval tests and the rule translator's bench: Metrica's real catalog
//! plus generated distractors sharing its vocabulary ("mobile_signups", "partner_revenue",
//! "weekly_active_teams", "trial_country"), up to `METRICS` metrics and `DIMENSIONS` dimensions.
//! Deterministic: the same text every time, no randomness. Every distractor is on a real table
//! and column of Metrica, so the catalog loads and its queries compile.
//!
//! Shared by `tests/it/llm_large.rs` and `benches/translate.rs` (through `#[path]`).

use tally::catalog::Catalog;

/// Metrics in the large catalog (Metrica's own included).
pub const METRICS: usize = 500;
/// Dimensions in the large catalog (Metrica's own included).
pub const DIMENSIONS: usize = 200;

/// Qualifiers a distractor's name starts with: (name word, label word, how the description
/// says it).
const QUALIFIERS: &[(&str, &str, &str)] = &[
    ("mobile", "Mobile", "from the mobile apps"),
    ("web", "Web", "from the web app in a browser"),
    (
        "partner",
        "Partner",
        "through reseller and partner accounts",
    ),
    ("trial", "Trial", "of workspaces still on a free trial"),
    ("enterprise", "Enterprise", "of enterprise plan customers"),
    ("weekly", "Weekly", "counted per calendar week"),
    ("monthly", "Monthly", "counted per calendar month"),
    ("daily", "Daily", "counted per day"),
    ("paid", "Paid", "attributed to paid campaigns"),
    (
        "organic",
        "Organic",
        "from organic search and direct traffic",
    ),
    ("referral", "Referral", "from referral links"),
    ("email", "Email", "from email campaigns and newsletters"),
    ("api", "API", "made through the public API"),
    ("desktop", "Desktop", "from the desktop client"),
    ("emea", "EMEA", "in Europe, the Middle East and Africa"),
    ("apac", "APAC", "in Asia and the Pacific"),
    ("americas", "Americas", "in North and South America"),
    (
        "self_serve",
        "Self-serve",
        "of self-serve accounts without a sales contact",
    ),
    (
        "sales_led",
        "Sales-led",
        "of accounts closed by the sales team",
    ),
    (
        "returning",
        "Returning",
        "of users who came back after a week away",
    ),
    ("first_time", "First-time", "of users on their first visit"),
    (
        "reactivated",
        "Reactivated",
        "of users active again after a month away",
    ),
    ("internal", "Internal", "of staff and test accounts"),
    ("beta", "Beta", "of workspaces in the beta programme"),
    ("annual", "Annual", "of customers billed yearly"),
    ("team", "Team", "of workspaces with more than one member"),
    ("campaign", "Campaign", "attributed to a marketing campaign"),
    ("holiday", "Holiday", "during the holiday promotion"),
    (
        "student",
        "Student",
        "of accounts on the education discount",
    ),
    ("startup", "Startup", "of accounts in the startup programme"),
];

/// What a distractor counts: (name, label, table, what it measures, synonyms of the base).
/// Counts of a table's rows, distinct users, or a sum of `mrr`, as the base's kind says.
const BASES: &[BaseMetric] = &[
    (
        "signups",
        "signups",
        "user_profiles",
        Base::Count,
        "users who signed up",
        &["sign ups", "registrations"],
    ),
    (
        "orders",
        "orders",
        "events",
        Base::Count,
        "orders completed",
        &["purchases"],
    ),
    (
        "checkouts",
        "checkouts",
        "events",
        Base::Count,
        "checkouts started",
        &["checkout starts"],
    ),
    (
        "sessions",
        "sessions",
        "sessions",
        Base::Count,
        "sessions started",
        &["visits"],
    ),
    (
        "active_users",
        "active users",
        "sessions",
        Base::Users,
        "distinct users with a session",
        &["actives", "users"],
    ),
    (
        "active_teams",
        "active teams",
        "customers",
        Base::Count,
        "teams with activity",
        &["teams"],
    ),
    (
        "customers",
        "customers",
        "customers",
        Base::Count,
        "customer accounts",
        &["accounts"],
    ),
    (
        "revenue",
        "revenue",
        "customers",
        Base::Mrr,
        "monthly recurring revenue",
        &["recurring revenue", "sales"],
    ),
    (
        "tickets",
        "tickets",
        "support_tickets",
        Base::Count,
        "support tickets opened",
        &["support tickets", "cases"],
    ),
    (
        "churned_accounts",
        "churned accounts",
        "customers",
        Base::Count,
        "accounts that churned",
        &["churn", "cancellations"],
    ),
    (
        "page_views",
        "page views",
        "events",
        Base::Count,
        "pages viewed",
        &["views"],
    ),
    (
        "trials_started",
        "trials started",
        "customers",
        Base::Count,
        "trials started",
        &["trial starts"],
    ),
    (
        "refunds",
        "refunds",
        "events",
        Base::Count,
        "payments refunded",
        &["chargebacks"],
    ),
    (
        "invites",
        "invites",
        "events",
        Base::Count,
        "invitations sent",
        &["invitations"],
    ),
    (
        "logins",
        "logins",
        "sessions",
        Base::Count,
        "sign-ins",
        &["sign ins"],
    ),
    (
        "searches",
        "searches",
        "events",
        Base::Count,
        "searches run",
        &["queries"],
    ),
    (
        "upgrades",
        "upgrades",
        "customers",
        Base::Count,
        "plan upgrades",
        &["plan upgrades"],
    ),
];

/// The `where` a distractor on each table has, cycling through real values by qualifier, so
/// a table's unfiltered count ("events", "signups") stays the only one of its kind.
const FILTERS: &[(&str, &str, &[&str])] = &[
    (
        "events",
        "event_name",
        &[
            "page_view",
            "feature_used",
            "search",
            "checkout_started",
            "payment_submitted",
            "order_completed",
        ],
    ),
    (
        "user_profiles",
        "acquisition_channel",
        &["organic", "paid_search", "paid_social", "referral", "email"],
    ),
    ("sessions", "device", &["ios", "android", "web"]),
    (
        "customers",
        "plan_tier",
        &["free", "starter", "pro", "enterprise"],
    ),
    (
        "support_tickets",
        "category",
        &["billing", "bug", "how_to", "account", "feature_request"],
    ),
];

/// (name, label, table, what it aggregates, what it measures, synonyms).
type BaseMetric = (
    &'static str,
    &'static str,
    &'static str,
    Base,
    &'static str,
    &'static [&'static str],
);

#[derive(Clone, Copy)]
enum Base {
    Count,
    Users,
    Mrr,
}

/// What a distractor dimension groups by: (name, label, bindings, synonyms).
const DIMENSION_BASES: &[(&str, &str, &str, &[&str])] = &[
    (
        "country",
        "country",
        r#"["sessions.country", "user_profiles.country"]"#,
        &["geo", "market"],
    ),
    (
        "device",
        "device",
        r#"["sessions.device", "user_profiles.device"]"#,
        &["platform"],
    ),
    (
        "channel",
        "channel",
        r#"["user_profiles.acquisition_channel"]"#,
        &["source"],
    ),
    ("plan", "plan", r#"["customers.plan_tier"]"#, &["tier"]),
    (
        "priority",
        "priority",
        r#"["support_tickets.priority"]"#,
        &["urgency"],
    ),
    (
        "category",
        "category",
        r#"["support_tickets.category"]"#,
        &["topic"],
    ),
    (
        "event_type",
        "event type",
        r#"["events.event_name"]"#,
        &["action"],
    ),
];

/// The catalog's TOML: Metrica's file with the distractors appended.
pub fn large_catalog_toml() -> String {
    let base = include_str!("../../../examples/metrica/catalog.toml");
    let real = Catalog::from_toml(base, "catalog.toml").expect("metrica loads");
    let mut out = String::from(base);
    out.push_str("\n# ---------------------------------------------------------------- generated distractors\n");
    // A distractor never says what a real metric says (no "daily active users" beside `dau`):
    // the right answer to every question stays the one its expected DSL names.
    let taken: std::collections::BTreeSet<String> = real
        .metrics
        .values()
        .flat_map(|m| {
            [m.name.replace('_', " "), m.label.to_lowercase()]
                .into_iter()
                .chain(m.synonyms.iter().map(|s| s.to_lowercase()))
        })
        .collect();
    let mut metrics = real.metrics.len();
    'metrics: for (qi, (q, q_label, q_says)) in QUALIFIERS.iter().enumerate() {
        for (b, b_label, table, kind, measures, synonyms) in BASES {
            if metrics == METRICS {
                break 'metrics;
            }
            let name = format!("{q}_{b}");
            let synonyms: Vec<String> = synonyms
                .iter()
                .map(|s| format!("{} {s}", q.replace('_', " ")))
                .chain(std::iter::once(format!(
                    "{} {b_label}",
                    q.replace('_', "-")
                )))
                .collect();
            let label = format!("{q_label} {b_label}");
            let says = [name.replace('_', " "), label.to_lowercase()];
            if says.iter().chain(&synonyms).any(|s| taken.contains(s)) {
                continue;
            }
            metrics += 1;
            let synonyms: Vec<String> = synonyms.iter().map(|s| format!("\"{s}\"")).collect();
            let (_, column, values) = FILTERS.iter().find(|f| f.0 == *table).expect("a filter");
            let value = values[qi % values.len()];
            out.push_str(&format!(
                "\n[metrics.{name}]\nlabel = \"{label}\"\ndescription = \"Number of {measures} {q_says}\"\ntable = \"{table}\"\nwhere = {{ {column} = \"{value}\" }}\nsynonyms = [{}]\n",
                synonyms.join(", ")
            ));
            out.push_str(match kind {
                Base::Count => "type = \"count\"\nformat = \"integer\"\n",
                Base::Users => "type = \"count_distinct\"\ncolumn = \"user_id\"\nformat = \"integer\"\n",
                Base::Mrr => "type = \"sum\"\ncolumn = \"mrr\"\nformat = \"currency\"\nsensitivity = \"confidential\"\n",
            });
        }
    }
    assert_eq!(metrics, METRICS, "not enough combinations for the metrics");
    let mut dimensions = real.dimensions.len();
    'dimensions: for (q, q_label, q_says) in QUALIFIERS {
        for (d, d_label, bindings, synonyms) in DIMENSION_BASES {
            if dimensions == DIMENSIONS {
                break 'dimensions;
            }
            let name = format!("{q}_{d}");
            if real.dimensions.contains_key(&name) {
                continue;
            }
            dimensions += 1;
            let synonyms: Vec<String> = synonyms
                .iter()
                .map(|s| format!("\"{} {s}\"", q.replace('_', " ")))
                .collect();
            out.push_str(&format!(
                "\n[dimensions.{name}]\nbindings = {bindings}\ndescription = \"{q_label} {d_label}, {q_says}\"\nsensitivity = \"public\"\nsynonyms = [{}]\n",
                synonyms.join(", ")
            ));
        }
    }
    assert_eq!(
        dimensions, DIMENSIONS,
        "not enough combinations for the dimensions"
    );
    out
}

/// The large catalog, loaded (no docs).
pub fn large_catalog() -> Catalog {
    Catalog::from_toml(&large_catalog_toml(), "large-catalog.toml")
        .expect("the large catalog loads")
}
