//! Loads a demo example into a running PostgreSQL or MySQL/MariaDB database: the same rows as
//! [`write_sqlite`](super::write_sqlite) for the same options, through the same generator thread,
//! channel and batched INSERTs, with each engine's DDL and indexes.
//!
//! Invariants: only the example's own tables are dropped and recreated; nothing else in the
//! database is touched. Timestamps are bound as timestamps (`TIMESTAMP`, `DATETIME`), not text.

use std::str::FromStr;

use sea_query::Table;
use sea_query_sqlx::SqlxValues;
use sqlx::mysql::MySqlConnectOptions;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};

use super::{
    create_table_sql, database_error, generate_rows, DemoError, DemoOptions, Dialect,
    GenerateReport, Generator, TableDef,
};

/// Loads `generator`'s rows into the database at `url` (`postgres://…`, `postgresql://…`,
/// `mysql://…` or `mariadb://…`), replacing its tables if they exist.
///
/// Each table is loaded in one transaction and indexed afterwards, then analysed so the planner
/// knows its size. `progress(table, rows_so_far)` is called as by `write_sqlite`.
pub async fn load_demo(
    url: &str,
    generator: &Generator,
    opts: &DemoOptions,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<GenerateReport, DemoError> {
    opts.validate()?;
    let declared = (generator.tables)();
    let invalid_url = |reason: String| DemoError::InvalidOptions {
        reason: format!("warehouse url: {reason}"),
    };
    match url.split_once("://") {
        Some(("postgres" | "postgresql", _)) => {
            let connection = PgConnectOptions::from_str(url)
                .map_err(|e| invalid_url(e.to_string()))?
                .connect()
                .await
                .map_err(database_error("connecting to PostgreSQL"))?;
            load_into::<sqlx::Postgres>(
                connection,
                generator,
                opts,
                &declared,
                Dialect::Postgres,
                progress,
            )
            .await
        }
        Some((scheme @ ("mysql" | "mariadb"), rest)) => {
            let url = if scheme == "mariadb" {
                format!("mysql://{rest}")
            } else {
                url.to_owned()
            };
            let connection = MySqlConnectOptions::from_str(&url)
                .map_err(|e| invalid_url(e.to_string()))?
                .connect()
                .await
                .map_err(database_error("connecting to MySQL"))?;
            load_into::<sqlx::MySql>(
                connection,
                generator,
                opts,
                &declared,
                Dialect::Mysql,
                progress,
            )
            .await
        }
        _ => Err(invalid_url(format!(
            "expected postgres://… or mysql://…, got `{}`",
            url.split("://").next().unwrap_or("")
        ))),
    }
}

/// Drops one table if it exists and creates it empty, without its secondary indexes (those are
/// built after the rows are in).
/// Drops and recreates the generator's tables, loads the generated rows, refreshes the planner's
/// statistics and closes the connection: the same steps on every engine.
async fn load_into<DB>(
    mut connection: DB::Connection,
    generator: &Generator,
    opts: &DemoOptions,
    declared: &[TableDef],
    backend: Dialect,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<GenerateReport, DemoError>
where
    DB: sqlx::Database,
    SqlxValues: sqlx::IntoArguments<DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    for def in declared {
        let drop = Table::drop().table(def.name).if_exists().to_owned();
        let drop = backend.schema(&drop);
        recreate::<DB>(&mut connection, def, drop, backend).await?;
    }
    let report = generate_rows::<DB>(
        &mut connection,
        generator,
        opts,
        declared,
        backend,
        progress,
    )
    .await?;
    for def in declared {
        let analyze = match backend {
            Dialect::Mysql => format!("ANALYZE TABLE `{}`", def.name),
            Dialect::Postgres | Dialect::Sqlite => format!("ANALYZE \"{}\"", def.name),
        };
        sqlx::query(sqlx::AssertSqlSafe(analyze))
            .execute(&mut connection)
            .await
            .map_err(database_error(format!("analysing table {}", def.name)))?;
    }
    connection
        .close()
        .await
        .map_err(database_error("closing the warehouse connection"))?;
    Ok(report)
}

async fn recreate<DB>(
    connection: &mut DB::Connection,
    def: &TableDef,
    drop: String,
    backend: Dialect,
) -> Result<(), DemoError>
where
    DB: sqlx::Database,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    sqlx::query(sqlx::AssertSqlSafe(drop))
        .execute(&mut *connection)
        .await
        .map_err(database_error(format!("dropping table {}", def.name)))?;
    sqlx::query(sqlx::AssertSqlSafe(create_table_sql(def, backend)))
        .execute(&mut *connection)
        .await
        .map_err(database_error(format!("creating table {}", def.name)))?;
    Ok(())
}
