//! Loads a demo example into a running PostgreSQL or MySQL/MariaDB database: the same rows as
//! [`write_sqlite`](super::write_sqlite) for the same options, through the same generator
//! thread and channel, with each engine's DDL and indexes.
//!
//! Every table is loaded under a staging name (`<table>__tally_load`), indexed and analysed,
//! and the staged tables replace the old ones together at the end: on PostgreSQL in one
//! transaction (drop the old tables, rename the new ones, and rename their primary keys and
//! indexes to the names of the documented DDL), on MySQL/MariaDB in one `RENAME TABLE` (the old
//! tables become `<table>__tally_old`, dropped right after). Until then the old tables answer
//! queries as they were, and an interrupted load leaves them so: the staging tables it leaves
//! behind never carry a real table's name, and the next load drops them before it starts.
//!
//! PostgreSQL receives the rows with one `COPY … FROM STDIN` per table (text format, see
//! [`copy_text_row`](super::copy_text_row)), streamed, so the load does not wait on a round
//! trip per batch; MySQL/MariaDB with multi-row INSERTs of up to 65,535 bound values (the
//! protocol's limit) and about half the server's `max_allowed_packet`, in one transaction per
//! table.
//!
//! Invariants: only the example's own tables, under their own, staging and old names, are
//! dropped, created or renamed; nothing else in the database is touched. Timestamps are
//! timestamps (`TIMESTAMP`, `DATETIME`), not text.

use std::str::FromStr;

use sqlx::mysql::MySqlConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection, Row};

use super::{
    create_index_sql, create_table_sql, database_error, generate_rows, Batch, Batches, DemoError,
    DemoOptions, Dialect, Encoding, GenerateReport, Generator, InsertWriter, Naming, Progress,
    TableDef, TableWriter,
};

/// What an old table is renamed to on MySQL/MariaDB while the staged one takes its name.
const OLD_SUFFIX: &str = "__tally_old";

/// The most bound values one MySQL statement may carry (a 16-bit count in the protocol).
const MYSQL_MAX_BOUND_VALUES: usize = 65_535;

/// An INSERT batch's values stay under this many bytes even when `max_allowed_packet` is huge,
/// so that memory stays flat.
const MYSQL_MAX_BATCH_BYTES: usize = 16 << 20;

/// The longest identifier PostgreSQL keeps (longer ones are cut, which would break the swap);
/// MySQL's limit is 64.
const MAX_IDENTIFIER_BYTES: usize = 63;

/// Loads `generator`'s rows into the database at `url` (`postgres://…`, `postgresql://…`,
/// `mysql://…` or `mariadb://…`), replacing its tables once every one is loaded (see the
/// module's documentation). `progress` hears of every table, batch and index build.
pub async fn load_demo(
    url: &str,
    generator: &Generator,
    opts: &DemoOptions,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<GenerateReport, DemoError> {
    opts.validate()?;
    let declared = (generator.tables)();
    check_name_lengths(&declared)?;
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
            load_postgres(connection, generator, opts, &declared, progress).await
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
            load_mysql(connection, generator, opts, &declared, progress).await
        }
        _ => Err(invalid_url(format!(
            "expected postgres://… or mysql://…, got `{}`",
            url.split("://").next().unwrap_or("")
        ))),
    }
}

/// Staging tables, then `COPY` per table, `ANALYZE`, and the swap in one transaction.
async fn load_postgres(
    mut connection: PgConnection,
    generator: &Generator,
    opts: &DemoOptions,
    declared: &[TableDef],
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<GenerateReport, DemoError> {
    let backend = Dialect::Postgres;
    let staged: Vec<String> = declared
        .iter()
        .map(|def| Naming::Staging.table(def))
        .collect();
    execute(
        &mut connection,
        drop_tables_sql(&staged, backend),
        "dropping the staging tables an earlier load left",
    )
    .await?;
    let mut writer = CopyWriter {
        connection: &mut connection,
    };
    let report = generate_rows(&mut writer, generator, opts, Encoding::CopyText, progress).await?;
    progress(Progress::Finishing);
    for table in &staged {
        execute(
            &mut connection,
            format!("ANALYZE {}", quoted(table, backend)),
            format!("analysing table {table}"),
        )
        .await?;
    }
    // One simple-query message, so one round trip: its explicit transaction makes the swap all
    // or nothing, and a failure leaves it open on a connection that is then dropped (rolled back).
    let mut swap = vec!["BEGIN".to_owned()];
    let finals: Vec<String> = declared.iter().map(|def| def.name.to_owned()).collect();
    swap.push(drop_tables_sql(&finals, backend));
    for def in declared {
        let (from, to) = (Naming::Staging, Naming::Final);
        swap.push(format!(
            "ALTER TABLE {} RENAME TO {}",
            quoted(&from.table(def), backend),
            quoted(&to.table(def), backend)
        ));
        swap.push(format!(
            "ALTER TABLE {} RENAME CONSTRAINT {} TO {}",
            quoted(&to.table(def), backend),
            quoted(&from.primary_key(def), backend),
            quoted(&to.primary_key(def), backend)
        ));
        for columns in &def.indexes {
            swap.push(format!(
                "ALTER INDEX {} RENAME TO {}",
                quoted(&from.index(def, columns, backend), backend),
                quoted(&to.index(def, columns, backend), backend)
            ));
        }
    }
    swap.push("COMMIT".to_owned());
    execute(
        &mut connection,
        swap.join(";\n"),
        "swapping the loaded tables in",
    )
    .await?;
    connection
        .close()
        .await
        .map_err(database_error("closing the warehouse connection"))?;
    Ok(report)
}

/// Writes each table with one `COPY … FROM STDIN` into its staging table, then indexes it.
struct CopyWriter<'c> {
    connection: &'c mut PgConnection,
}

impl TableWriter for CopyWriter<'_> {
    async fn write_table(
        &mut self,
        def: &TableDef,
        batches: &mut Batches<'_>,
    ) -> Result<(), DemoError> {
        let backend = Dialect::Postgres;
        let table = Naming::Staging.table(def);
        execute(
            &mut *self.connection,
            create_table_sql(def, Naming::Staging, backend),
            format!("creating table {table}"),
        )
        .await?;
        let columns: Vec<String> = def
            .columns
            .iter()
            .map(|column| quoted(column.name, backend))
            .collect();
        let statement = format!(
            "COPY {} ({}) FROM STDIN",
            quoted(&table, backend),
            columns.join(", ")
        );
        let context = || format!("copying rows into table {table}");
        let mut copy = self
            .connection
            .copy_in_raw(&statement)
            .await
            .map_err(database_error(context()))?;
        // A batch that fails, or an early return, drops `copy`, which ends the COPY with an
        // error: the staging table keeps none of it.
        while let Some(batch) = batches.next().await? {
            let Batch::CopyText(data) = batch else {
                return Err(DemoError::SinkProtocol {
                    reason: format!("an INSERT sent for the COPY into table {table}"),
                });
            };
            copy.send(data).await.map_err(database_error(context()))?;
        }
        copy.finish().await.map_err(database_error(context()))?;
        batches.indexing();
        for sql in create_index_sql(def, Naming::Staging, backend) {
            execute(
                &mut *self.connection,
                sql,
                format!("indexing table {table}"),
            )
            .await?;
        }
        Ok(())
    }
}

/// Staging tables filled by INSERTs (one transaction each), `ANALYZE TABLE`, then one
/// `RENAME TABLE` for every table and the old tables dropped.
async fn load_mysql(
    mut connection: sqlx::MySqlConnection,
    generator: &Generator,
    opts: &DemoOptions,
    declared: &[TableDef],
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<GenerateReport, DemoError> {
    let backend = Dialect::Mysql;
    let staged: Vec<String> = declared
        .iter()
        .map(|def| Naming::Staging.table(def))
        .collect();
    let old: Vec<String> = declared
        .iter()
        .map(|def| format!("{}{OLD_SUFFIX}", def.name))
        .collect();
    let leftovers: Vec<String> = staged.iter().chain(&old).cloned().collect();
    execute(
        &mut connection,
        drop_tables_sql(&leftovers, backend),
        "dropping the tables an earlier load left",
    )
    .await?;
    let max_allowed_packet: i64 = sqlx::query("SELECT CAST(@@max_allowed_packet AS SIGNED)")
        .fetch_one(&mut connection)
        .await
        .and_then(|row| row.try_get(0))
        .map_err(database_error("reading max_allowed_packet"))?;
    let encoding = Encoding::Insert {
        backend,
        naming: Naming::Staging,
        max_rows: usize::MAX,
        max_values: MYSQL_MAX_BOUND_VALUES,
        max_bytes: usize::try_from(max_allowed_packet / 2)
            .unwrap_or(1 << 20)
            .clamp(64 << 10, MYSQL_MAX_BATCH_BYTES),
    };
    let mut writer = InsertWriter::<sqlx::MySql> {
        connection: &mut connection,
        backend,
        naming: Naming::Staging,
    };
    let report = generate_rows(&mut writer, generator, opts, encoding, progress).await?;
    progress(Progress::Finishing);
    let staged_list: Vec<String> = staged.iter().map(|t| quoted(t, backend)).collect();
    execute(
        &mut connection,
        format!("ANALYZE TABLE {}", staged_list.join(", ")),
        "analysing the loaded tables",
    )
    .await?;
    let existing: Vec<String> = sqlx::query(
        "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE()",
    )
    .fetch_all(&mut connection)
    .await
    .and_then(|rows| rows.iter().map(|row| row.try_get(0)).collect())
    .map_err(database_error("listing the database's tables"))?;
    // One statement renames every table at once, old ones out of the way first, so queries
    // see either every old table or every new one.
    let mut renames = Vec::new();
    for ((def, staged), old) in declared.iter().zip(&staged).zip(&old) {
        if existing.iter().any(|name| name == def.name) {
            renames.push(format!(
                "{} TO {}",
                quoted(def.name, backend),
                quoted(old, backend)
            ));
        }
        renames.push(format!(
            "{} TO {}",
            quoted(staged, backend),
            quoted(def.name, backend)
        ));
    }
    execute(
        &mut connection,
        format!("RENAME TABLE {}", renames.join(", ")),
        "swapping the loaded tables in",
    )
    .await?;
    execute(
        &mut connection,
        drop_tables_sql(&old, backend),
        "dropping the replaced tables",
    )
    .await?;
    connection
        .close()
        .await
        .map_err(database_error("closing the warehouse connection"))?;
    Ok(report)
}

/// Every name a load gives a table, index or key must survive the engine's identifier limit.
fn check_name_lengths(declared: &[TableDef]) -> Result<(), DemoError> {
    for def in declared {
        let mut names = vec![
            Naming::Staging.table(def),
            Naming::Staging.primary_key(def),
            format!("{}{OLD_SUFFIX}", def.name),
        ];
        for columns in &def.indexes {
            names.push(Naming::Staging.index(def, columns, Dialect::Postgres));
        }
        if let Some(long) = names.iter().find(|n| n.len() > MAX_IDENTIFIER_BYTES) {
            return Err(DemoError::QueryBuild {
                table: def.name,
                reason: format!(
                    "the name `{long}` is longer than {MAX_IDENTIFIER_BYTES} bytes, the most PostgreSQL keeps"
                ),
            });
        }
    }
    Ok(())
}

/// `DROP TABLE IF EXISTS a, b, …` for tables the load owns.
fn drop_tables_sql(tables: &[String], backend: Dialect) -> String {
    let mut statement = sea_query::Table::drop();
    for table in tables {
        statement.table(table.clone());
    }
    statement.if_exists();
    backend.schema(&statement)
}

/// An identifier quoted for the engine (the generator's names; a quote in one is doubled).
fn quoted(name: &str, backend: Dialect) -> String {
    let quote = match backend {
        Dialect::Mysql => '`',
        Dialect::Postgres | Dialect::Sqlite => '"',
    };
    let doubled = name.replace(quote, &format!("{quote}{quote}"));
    format!("{quote}{doubled}{quote}")
}

/// Runs DDL (one statement, or several separated by `;`) without preparing it.
async fn execute<C>(
    connection: &mut C,
    sql: String,
    context: impl Into<String>,
) -> Result<(), DemoError>
where
    C: Connection,
    for<'c> &'c mut C: sqlx::Executor<'c, Database = C::Database>,
{
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut *connection)
        .await
        .map_err(database_error(context))?;
    Ok(())
}
