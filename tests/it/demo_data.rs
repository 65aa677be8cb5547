//! The Metrica demo warehouse as `write_sqlite` writes it: the same bytes for the same options,
//! the catalog's contract (tables, workspaces, timestamps, dimension values), the data's own
//! invariants (sessions, events, the checkout funnel, customers and tickets) and the planted
//! signup drop. Moved out of `src/demo/`, whose own tests name no domain (issue 19, item 2); it
//! writes a small warehouse of its own, not the shared test warehouse.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Weekday};
use sea_query::{Order, Query, SqliteQueryBuilder};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Row, SqliteConnection};
use tally::demo::{write_sqlite, ColumnType, DemoOptions, GenerateReport, Progress, TableDef};
use tally::examples::{self, Example};

/// The exact text a timestamp is stored as in the demo's SQLite files, which have no timestamp
/// type.
const SQLITE_TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

fn metrica() -> Example {
    examples::metrica()
}

fn metrica_tables() -> Vec<TableDef> {
    (metrica().generator.tables)()
}

/// Where `write_sqlite` writes before renaming: the path with `.tmp` appended.
fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

fn end_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).expect("a valid date")
}

fn small_options() -> DemoOptions {
    DemoOptions {
        scale: 0.2,
        ..DemoOptions::new(end_date())
    }
}

async fn generate_into(path: &Path, opts: &DemoOptions) -> GenerateReport {
    let mut calls = Vec::new();
    let report = write_sqlite(path, &metrica().generator, opts, &mut |event| {
        if let Progress::Done { table, rows } = event {
            calls.push((table.to_owned(), rows))
        }
    })
    .await
    .expect("the demo generates");
    for entry in &report.tables {
        assert!(
            calls.contains(&(entry.table.to_owned(), entry.rows)),
            "progress reports the end of table {}",
            entry.table
        );
    }
    assert!(
        !temporary_path(path).exists(),
        "the temporary file is renamed away"
    );
    report
}

async fn open(path: &Path) -> SqliteConnection {
    SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .connect()
        .await
        .expect("the demo database opens")
}

async fn count(connection: &mut SqliteConnection, sql: &'static str) -> i64 {
    sqlx::query(sql)
        .fetch_one(&mut *connection)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
        .get(0)
}

/// Every value of one column, as text, through a sea-query SELECT.
async fn column_values(
    connection: &mut SqliteConnection,
    table: &'static str,
    column: &'static str,
    distinct: bool,
) -> Vec<Option<String>> {
    let mut select = Query::select();
    select.column(column).from(table);
    if distinct {
        select.distinct().order_by(column, Order::Asc);
    }
    let sql = select.to_string(SqliteQueryBuilder);
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut *connection)
        .await
        .expect("the column can be read")
        .iter()
        .map(|row| row.get::<Option<String>, _>(0))
        .collect()
}

#[tokio::test]
async fn same_options_give_identical_bytes_and_another_seed_does_not() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let first = directory.path().join("first.db");
    let second = directory.path().join("second.db");
    let reseeded = directory.path().join("reseeded.db");
    let opts = small_options();
    let first_report = generate_into(&first, &opts).await;
    // Writing over an existing file replaces it.
    std::fs::write(&second, b"stale").expect("a stale file");
    let second_report = generate_into(&second, &opts).await;
    let reseeded_report = generate_into(&reseeded, &DemoOptions { seed: 7, ..opts }).await;

    assert_eq!(first_report, second_report);
    assert_ne!(first_report, reseeded_report);
    let first_bytes = std::fs::read(&first).expect("first file");
    assert!(first_bytes == std::fs::read(&second).expect("second file"));
    assert!(first_bytes != std::fs::read(&reseeded).expect("reseeded file"));
}

#[tokio::test]
async fn generated_data_keeps_the_catalog_contract_and_its_invariants() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let path = directory.path().join("metrica.db");
    let opts = small_options();
    let report = generate_into(&path, &opts).await;
    let declared: Vec<&str> = metrica_tables().iter().map(|def| def.name).collect();
    let written: Vec<&str> = report.tables.iter().map(|entry| entry.table).collect();
    assert_eq!(written, declared);
    assert!(report.rows("events").expect("events") > report.rows("sessions").expect("sessions"));
    let mut connection = open(&path).await;

    // Three workspaces, and no table knows any other.
    assert_eq!(
        (metrica().generator.workspaces)(),
        ["acme", "globex", "initech"]
    );
    let workspaces = ["acme", "globex", "initech"].map(|id| Some(id.to_owned()));
    for def in metrica_tables() {
        let found = column_values(&mut connection, def.name, "workspace_id", true).await;
        if ["user_profiles", "sessions", "events", "customers"].contains(&def.name) {
            assert_eq!(found, workspaces, "workspaces of {}", def.name);
        } else {
            assert!(found.iter().all(|id| workspaces.contains(id)), "{found:?}");
        }
    }

    // Every timestamp is stored as exactly `YYYY-MM-DD HH:MM:SS` inside the history.
    let first_second = (end_date() - Duration::days(454)).and_time(chrono::NaiveTime::MIN);
    let after_end = (end_date() + Duration::days(1)).and_time(chrono::NaiveTime::MIN);
    for def in metrica_tables() {
        for column in def.columns.iter().filter(|c| c.ty == ColumnType::Timestamp) {
            let values = column_values(&mut connection, def.name, column.name, false).await;
            for value in values.into_iter().flatten() {
                let parsed = NaiveDateTime::parse_from_str(&value, SQLITE_TIMESTAMP_FORMAT)
                    .unwrap_or_else(|_| panic!("{}.{} = {value}", def.name, column.name));
                assert_eq!(parsed.format(SQLITE_TIMESTAMP_FORMAT).to_string(), value);
                assert!(parsed >= first_second && parsed < after_end, "{value}");
            }
        }
    }

    // Every value of a dimension with known values is one of the catalog's.
    let catalog: toml::Table = metrica().catalog_toml.parse().expect("the catalog parses");
    let dimensions = catalog["dimensions"].as_table().expect("dimensions");
    let mut checked = 0;
    for (name, dimension) in dimensions {
        let Some(allowed) = dimension.get("values").and_then(|v| v.as_array()) else {
            continue;
        };
        let allowed: BTreeSet<&str> = allowed.iter().filter_map(|v| v.as_str()).collect();
        for binding in dimension["bindings"].as_array().expect("bindings") {
            let (table, column) = binding
                .as_str()
                .and_then(|b| b.split_once('.'))
                .expect("table.column");
            let def = metrica_tables()
                .into_iter()
                .find(|def| def.name == table)
                .expect("a generated table");
            let column = def
                .columns
                .iter()
                .find(|c| c.name == column)
                .expect("a generated column")
                .name;
            let found = column_values(&mut connection, def.name, column, true).await;
            for value in &found {
                let value = value.as_deref().expect("dimensions are never null");
                assert!(
                    allowed.contains(value),
                    "{name}: {table}.{column} = {value}"
                );
            }
            assert!(found.len() >= 2, "{table}.{column} varies");
            checked += 1;
        }
    }
    assert!(checked >= 9, "only {checked} dimension bindings checked");

    // Sessions last 1–60 minutes; every event lies inside a session of the same user, every
    // session has events and belongs to a user who had signed up.
    let checks: [(&str, &'static str); 9] = [
        (
            "session length outside 1-60 minutes",
            "SELECT COUNT(*) FROM sessions WHERE \
             strftime('%s', end_time) - strftime('%s', start_time) NOT BETWEEN 60 AND 3600",
        ),
        (
            "events outside a session of their user",
            "SELECT COUNT(*) FROM events e LEFT JOIN sessions s \
             ON s.workspace_id = e.workspace_id AND s.session_id = e.session_id \
             WHERE s.session_id IS NULL OR s.user_id <> e.user_id \
             OR e.ts < s.start_time OR e.ts > s.end_time",
        ),
        (
            "sessions without events",
            "SELECT (SELECT COUNT(*) FROM sessions) - (SELECT COUNT(*) FROM \
             (SELECT DISTINCT workspace_id, session_id FROM events))",
        ),
        (
            "sessions of unknown or not yet signed up users",
            "SELECT COUNT(*) FROM sessions s LEFT JOIN user_profiles u \
             ON u.workspace_id = s.workspace_id AND u.user_id = s.user_id \
             WHERE u.user_id IS NULL OR s.start_time < u.signup_at",
        ),
        (
            "checkout steps without the previous step earlier in the session",
            "SELECT COUNT(*) FROM (SELECT \
             MIN(CASE WHEN event_name = 'checkout_started' THEN ts END) AS started, \
             MIN(CASE WHEN event_name = 'payment_submitted' THEN ts END) AS paid, \
             MIN(CASE WHEN event_name = 'order_completed' THEN ts END) AS ordered \
             FROM events GROUP BY workspace_id, session_id) \
             WHERE (paid IS NOT NULL AND (started IS NULL OR started >= paid)) \
             OR (ordered IS NOT NULL AND (paid IS NULL OR paid >= ordered))",
        ),
        (
            "properties that are not JSON",
            "SELECT COUNT(*) FROM events WHERE properties IS NOT NULL AND NOT json_valid(properties)",
        ),
        (
            "emails outside reserved domains",
            "SELECT (SELECT COUNT(*) FROM user_profiles WHERE email NOT LIKE '%@example.com' \
             AND email NOT LIKE '%@example.net' AND email NOT LIKE '%@example.org') + \
             (SELECT COUNT(*) FROM customers WHERE contact_email NOT LIKE '%.example.com')",
        ),
        (
            "customers churned before they were created",
            "SELECT COUNT(*) FROM customers WHERE churned_at <= created_at",
        ),
        (
            "tickets of unknown or inactive customers, or resolved outside 0.5-120 hours",
            "SELECT COUNT(*) FROM support_tickets t LEFT JOIN customers c \
             ON c.workspace_id = t.workspace_id AND c.customer_id = t.customer_id \
             WHERE c.customer_id IS NULL OR t.opened_at <= c.created_at \
             OR t.opened_at >= c.churned_at \
             OR strftime('%s', t.resolved_at) - strftime('%s', t.opened_at) \
             NOT BETWEEN 1800 AND 432000",
        ),
    ];
    for (what, sql) in checks {
        assert_eq!(count(&mut connection, sql).await, 0, "{what}");
    }
    for (what, sql) in [
        (
            "churned customers",
            "SELECT COUNT(*) FROM customers WHERE churned_at IS NOT NULL",
        ),
        (
            "unresolved tickets",
            "SELECT COUNT(*) FROM support_tickets WHERE resolved_at IS NULL",
        ),
        (
            "orders",
            "SELECT COUNT(*) FROM events WHERE event_name = 'order_completed'",
        ),
        (
            "null properties",
            "SELECT COUNT(*) FROM events WHERE properties IS NULL",
        ),
    ] {
        assert!(count(&mut connection, sql).await > 0, "some {what}");
    }

    // The planted anomaly: acme's signups on its Tuesday fall well below the four Tuesdays
    // before, because android + paid_social collapses while the other segments do not.
    // Tuesday of the week before the one holding the day after the end (`planted_anomaly_day` in
    // `examples/metrica/generate.rs`, unit-tested there).
    let anomaly_day = NaiveDate::from_ymd_opt(2026, 11, 17).expect("a valid date");
    assert_eq!(anomaly_day.weekday(), Weekday::Tue);
    let rows = sqlx::query(
        "SELECT substr(signup_at, 1, 10) AS day, COUNT(*) AS signups, \
         SUM(device = 'android' AND acquisition_channel = 'paid_social') AS segment \
         FROM user_profiles WHERE workspace_id = 'acme' GROUP BY day",
    )
    .fetch_all(&mut connection)
    .await
    .expect("signups per day");
    let per_day: BTreeMap<String, (i64, i64)> = rows
        .iter()
        .map(|row| (row.get("day"), (row.get("signups"), row.get("segment"))))
        .collect();
    let on = |day: NaiveDate| per_day.get(&day.to_string()).copied().unwrap_or((0, 0));
    let (total, segment) = on(anomaly_day);
    let before: Vec<(i64, i64)> = (1..=4)
        .map(|weeks| on(anomaly_day - Duration::weeks(weeks)))
        .collect();
    let mean_total = before.iter().map(|(t, _)| *t as f64).sum::<f64>() / 4.0;
    let mean_segment = before.iter().map(|(_, s)| *s as f64).sum::<f64>() / 4.0;
    let mean_others = mean_total - mean_segment;
    assert!(total as f64 <= 0.85 * mean_total, "{total} vs {before:?}");
    assert!(
        segment as f64 <= 0.30 * mean_segment,
        "{segment} vs {before:?}"
    );
    assert!(
        (total - segment) as f64 >= 0.85 * mean_others,
        "{total} vs {before:?}"
    );
}
