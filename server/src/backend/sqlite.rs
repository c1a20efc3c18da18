//! The SQLite backend: one embedded file in WAL mode with `synchronous=FULL`.
//!
//! Every write (appends, key-service writes, imports) takes an in-process lock and
//! `BEGIN IMMEDIATE`, so one writer at a time holds the database (also across processes, through
//! SQLite's own lock and a busy timeout) and no transaction fails upgrading a read lock. Appends
//! go through one group-commit writer ([`write`]): what waits is committed together. Writes run
//! on a connection of their own, so readers never hold up a writer that waits for a pooled
//! connection. `secure_delete` is on, so deleted
//! rows (forgotten keys) are overwritten with zeros in the file.

mod keys;
mod reads;
mod write;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use fieldstream::core::StreamId;
use fieldstream::protocol::ServerEvent;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite};
use tokio::sync::Mutex;
use uuid::Uuid;

use super::appends::append_many;
use super::group::GroupCommit;
use super::rows::{EncodedEvent, RawEvent, unsigned};
use super::{
    AppendInput, Appended, Backend, Durability, ExportedEvent, ImportTx, LogPage, Notifier,
    PageSize, StoreError,
};
use crate::grants::Grant;
use write::SqliteWriter;

const SCHEMA: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS fieldstream_heads (
        tenant TEXT PRIMARY KEY NOT NULL,
        position INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS fieldstream_events (
        tenant TEXT NOT NULL,
        position INTEGER NOT NULL,
        id TEXT NOT NULL,
        stream TEXT NOT NULL,
        version INTEGER NOT NULL,
        type TEXT NOT NULL,
        schema_version INTEGER NOT NULL,
        data TEXT NOT NULL,
        metadata TEXT NOT NULL,
        recorded_at INTEGER NOT NULL,
        PRIMARY KEY (tenant, position),
        UNIQUE (tenant, id),
        UNIQUE (tenant, stream, version))",
];

/// Events in an SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteBackend {
    pool: SqlitePool,
    writer: SqlitePool,
    write_lock: Arc<Mutex<()>>,
    notifier: Notifier,
    in_memory: bool,
    commits: GroupCommit<SqliteWriter>,
}

impl SqliteBackend {
    /// Opens `location` (a path, or a `sqlite:` URL), creating the file (mode 0600) and tables
    /// if needed; fails unless the database is durable (WAL, `synchronous=FULL`).
    /// `:memory:` (or `sqlite::memory:`) gives a private in-memory database, for tests.
    pub async fn open(location: &str) -> Result<Self, StoreError> {
        let options = if location.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(location)?
        } else {
            SqliteConnectOptions::new().filename(location)
        };
        let in_memory = options.get_filename() == std::path::Path::new(":memory:");
        if !in_memory {
            crate::files::ensure_private(options.get_filename()).map_err(|error| {
                StoreError::Data(format!(
                    "cannot create {}: {error}",
                    options.get_filename().display()
                ))
            })?;
        }
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .pragma("secure_delete", "ON")
            .busy_timeout(Duration::from_secs(10));
        // Each connection to `:memory:` is its own database: keep exactly one, forever.
        let (pool, writer) = if in_memory {
            let pool = SqlitePoolOptions::new()
                .min_connections(1)
                .max_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await?;
            (pool.clone(), pool)
        } else {
            let writer = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options.clone())
                .await?;
            let readers = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(options)
                .await?;
            (readers, writer)
        };
        {
            let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
            for statement in SCHEMA.iter().chain(&super::key_tables::SCHEMA) {
                sqlx::query(*statement).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        }
        let write_lock: Arc<Mutex<()>> = Arc::default();
        let notifier = Notifier::default();
        let commits = GroupCommit::new(SqliteWriter {
            writer: writer.clone(),
            lock: write_lock.clone(),
            notifier: notifier.clone(),
        });
        let backend = SqliteBackend {
            pool,
            writer,
            write_lock,
            notifier,
            in_memory,
            commits,
        };
        backend.durability().await?;
        Ok(backend)
    }
}

/// Decodes an event row (selected with [`super::rows::COLUMNS`]).
fn event_from_row(row: &SqliteRow) -> Result<ServerEvent, StoreError> {
    let id: String = row.try_get("id")?;
    RawEvent {
        id: Uuid::parse_str(&id).map_err(|e| StoreError::Data(format!("stored id: {e}")))?,
        stream: row.try_get("stream")?,
        version: row.try_get("version")?,
        position: row.try_get("position")?,
        event_type: row.try_get("type")?,
        schema_version: row.try_get("schema_version")?,
        data: row.try_get("data")?,
        metadata: row.try_get("metadata")?,
        recorded_at: row.try_get("recorded_at")?,
    }
    .decode()
}

/// Inserts encoded event rows.
pub(super) async fn insert_all(
    tx: &mut sqlx::SqliteConnection,
    rows: Vec<EncodedEvent>,
) -> Result<(), StoreError> {
    // 10 variables per row; SQLite allows 32,766 per statement.
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<EncodedEvent> = rows.by_ref().take(1_000).collect();
        let mut builder = QueryBuilder::<Sqlite>::new(
            "INSERT INTO fieldstream_events (tenant, position, id, stream, version, type, \
             schema_version, data, metadata, recorded_at) ",
        );
        builder.push_values(chunk, |mut values, row| {
            values
                .push_bind(row.tenant)
                .push_bind(row.position)
                .push_bind(row.id.to_string())
                .push_bind(row.stream)
                .push_bind(row.version)
                .push_bind(row.event_type)
                .push_bind(row.schema_version)
                .push_bind(row.data)
                .push_bind(row.metadata)
                .push_bind(row.recorded_at);
        });
        builder.build().execute(&mut *tx).await?;
    }
    Ok(())
}

impl Backend for SqliteBackend {
    async fn append_many(
        &self,
        tenant: &str,
        appends: &[AppendInput<'_>],
        conflict: PageSize,
    ) -> Result<Appended, StoreError> {
        append_many(&self.commits, self, tenant, appends, conflict).await
    }

    async fn read_stream(
        &self,
        tenant: &str,
        stream: &StreamId,
        from: u64,
        page: PageSize,
    ) -> Result<(u64, Vec<ServerEvent>), StoreError> {
        let mut tx = self.pool.begin().await?;
        let current = reads::stream_version(&mut tx, tenant, stream).await?;
        let events = reads::stream_page(&mut tx, tenant, stream, from, page).await?;
        tx.commit().await?;
        Ok((current, events))
    }

    async fn read_all(
        &self,
        tenant: &str,
        after: u64,
        page: PageSize,
        grants: Option<&[Grant]>,
    ) -> Result<LogPage, StoreError> {
        let mut connection = self.pool.acquire().await?;
        reads::log_page(&mut connection, tenant, after, page, grants).await
    }

    async fn head(&self, tenant: &str) -> Result<u64, StoreError> {
        let head: Option<i64> =
            sqlx::query_scalar("SELECT position FROM fieldstream_heads WHERE tenant = ?")
                .bind(tenant.to_owned())
                .fetch_optional(&self.pool)
                .await?;
        unsigned(head.unwrap_or(0), "position")
    }

    async fn readable_head(&self, tenant: &str, grants: &[Grant]) -> Result<u64, StoreError> {
        let mut connection = self.pool.acquire().await?;
        reads::readable_head(&mut connection, tenant, grants).await
    }

    fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    async fn durability(&self) -> Result<Durability, StoreError> {
        let mut connection = self.writer.acquire().await?;
        let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut *connection)
            .await?;
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut *connection)
            .await?;
        let secure_delete: i64 = sqlx::query_scalar("PRAGMA secure_delete")
            .fetch_one(&mut *connection)
            .await?;
        let text = format!(
            "sqlite: journal_mode={journal} synchronous={synchronous} (2 = FULL) \
             secure_delete={secure_delete}"
        );
        let wal = journal.eq_ignore_ascii_case("wal") || self.in_memory;
        if !wal || synchronous < 2 || secure_delete != 1 {
            return Err(StoreError::NotDurable(text));
        }
        Ok(Durability(text))
    }

    async fn count_events(&self) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM fieldstream_events")
            .fetch_one(&self.pool)
            .await?;
        unsigned(count, "count")
    }

    async fn export_page(
        &self,
        after: Option<(&str, u64)>,
        limit: u32,
    ) -> Result<Vec<ExportedEvent>, StoreError> {
        let mut connection = self.pool.acquire().await?;
        reads::export_page(&mut connection, after, limit).await
    }

    async fn begin_import(&self) -> Result<ImportTx, StoreError> {
        let lock = self.write_lock.clone().lock_owned().await;
        let tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        Ok(ImportTx::sqlite(tx, lock))
    }
}
