//! The raw-SQL arms of the appends benchmark: sqlx straight into the server's own table, with
//! the same durability settings (SQLite: WAL, `synchronous=FULL`, `BEGIN IMMEDIATE` on one
//! connection like the server's writer; PostgreSQL: `synchronous_commit=on`, a pool of 16).
//!
//! - **raw** (`ordered = false`): `BEGIN`, one multi-row `INSERT` of the append's rows, `COMMIT`.
//!   Positions come from an in-process counter; no version check, no id lookup, no head row. The
//!   physical limit the issue compares against.
//! - **raw-ordered** (`ordered = true`): the same, plus the one thing a correct event store
//!   cannot skip: positions gap-free and in commit order, taken from the tenant's head row, which
//!   is locked (PostgreSQL `FOR UPDATE`; SQLite's single writer) and moved in the transaction.
//!   Still no version check and no id lookup.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Postgres, QueryBuilder, Sqlite};

use crate::arms::{Timed, ms_since, time_writers};
use crate::database::FreshDatabase;
use crate::workload::{TENANT, WriterLoad};
use crate::{BackendKind, Failure};

/// One row as the server's table stores it, minus the position and time given at insert.
struct Row {
    id: uuid::Uuid,
    stream: String,
    version: i64,
    data: String,
    metadata: String,
}

fn rows_of(load: &WriterLoad) -> Vec<Vec<Row>> {
    let mut version = 0i64;
    load.appends
        .iter()
        .map(|events| {
            events
                .iter()
                .map(|event| {
                    version += 1;
                    Row {
                        id: event.id,
                        stream: load.stream.clone(),
                        version,
                        data: event.data.to_string(),
                        metadata: event.metadata.to_string(),
                    }
                })
                .collect()
        })
        .collect()
}

const INSERT: &str = "INSERT INTO fieldstream_events (tenant, position, id, stream, version, \
                      type, schema_version, data, metadata, recorded_at) ";

fn now_millis() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map_or(0, |elapsed| elapsed.as_millis() as i64)
}

/// One repetition of a raw arm on `database` (tables created the way the server creates them).
pub async fn run(
    database: &FreshDatabase,
    loads: Vec<WriterLoad>,
    ordered: bool,
) -> Result<Timed, Failure> {
    database.create_schema().await?;
    match database.kind {
        BackendKind::Sqlite => sqlite(database, loads, ordered).await,
        BackendKind::Postgres => postgres(database, loads, ordered).await,
    }
}

async fn sqlite(
    database: &FreshDatabase,
    loads: Vec<WriterLoad>,
    ordered: bool,
) -> Result<Timed, Failure> {
    let options = SqliteConnectOptions::new()
        .filename(&database.url)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    let counter = Arc::new(AtomicI64::new(0));
    time_writers(loads, |load, barrier| {
        let (pool, counter) = (pool.clone(), counter.clone());
        async move {
            let appends = rows_of(&load);
            barrier.wait().await;
            let mut latencies = Vec::with_capacity(appends.len());
            for rows in appends {
                let start = Instant::now();
                let count = rows.len() as i64;
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let mut position = if ordered {
                    sqlx::query_scalar("SELECT position FROM fieldstream_heads WHERE tenant = ?")
                        .bind(TENANT)
                        .fetch_optional(&mut *tx)
                        .await?
                        .unwrap_or(0)
                } else {
                    counter.fetch_add(count, Ordering::SeqCst)
                };
                let recorded_at = now_millis();
                let mut insert = QueryBuilder::<Sqlite>::new(INSERT);
                insert.push_values(rows, |mut values, row| {
                    position += 1;
                    values
                        .push_bind(TENANT)
                        .push_bind(position)
                        .push_bind(row.id.to_string())
                        .push_bind(row.stream)
                        .push_bind(row.version)
                        .push_bind("ItemAdded")
                        .push_bind(1i64)
                        .push_bind(row.data)
                        .push_bind(row.metadata)
                        .push_bind(recorded_at);
                });
                insert.build().execute(&mut *tx).await?;
                if ordered {
                    sqlx::query(
                        "INSERT INTO fieldstream_heads (tenant, position) VALUES (?, ?) \
                         ON CONFLICT (tenant) DO UPDATE SET position = excluded.position",
                    )
                    .bind(TENANT)
                    .bind(position)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                latencies.push(ms_since(start));
            }
            Ok(latencies)
        }
    })
    .await
}

async fn postgres(
    database: &FreshDatabase,
    loads: Vec<WriterLoad>,
    ordered: bool,
) -> Result<Timed, Failure> {
    let options: PgConnectOptions = database.url.parse()?;
    let options = options.options([("synchronous_commit", "on")]);
    // The server's pool: at most 16 connections, opened as needed.
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .connect_with(options)
        .await?;
    if ordered {
        sqlx::query("INSERT INTO fieldstream_heads (tenant, position) VALUES ($1, 0)")
            .bind(TENANT)
            .execute(&pool)
            .await?;
    }
    let counter = Arc::new(AtomicI64::new(0));
    time_writers(loads, |load, barrier| {
        let (pool, counter) = (pool.clone(), counter.clone());
        async move {
            let appends = rows_of(&load);
            barrier.wait().await;
            let mut latencies = Vec::with_capacity(appends.len());
            for rows in appends {
                let start = Instant::now();
                let count = rows.len() as i64;
                let mut tx = pool.begin().await?;
                let mut position: i64 = if ordered {
                    sqlx::query_scalar(
                        "SELECT position FROM fieldstream_heads WHERE tenant = $1 FOR UPDATE",
                    )
                    .bind(TENANT)
                    .fetch_one(&mut *tx)
                    .await?
                } else {
                    counter.fetch_add(count, Ordering::SeqCst)
                };
                let recorded_at = now_millis();
                let mut insert = QueryBuilder::<Postgres>::new(INSERT);
                insert.push_values(rows, |mut values, row| {
                    position += 1;
                    values
                        .push_bind(TENANT)
                        .push_bind(position)
                        .push_bind(row.id)
                        .push_bind(row.stream)
                        .push_bind(row.version)
                        .push_bind("ItemAdded")
                        .push_bind(1i64)
                        .push_bind(row.data)
                        .push_bind(row.metadata)
                        .push_bind(recorded_at);
                });
                insert.build().execute(&mut *tx).await?;
                if ordered {
                    sqlx::query("UPDATE fieldstream_heads SET position = $2 WHERE tenant = $1")
                        .bind(TENANT)
                        .bind(position)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                latencies.push(ms_since(start));
            }
            Ok(latencies)
        }
    })
    .await
}
