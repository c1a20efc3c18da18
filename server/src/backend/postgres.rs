//! The PostgreSQL backend: one database shared by any number of server processes.
//!
//! Appends go through one group-commit writer per tenant ([`write`]): its write statement locks
//! the tenant's head row until it commits, so positions follow commit order with no gaps, and
//! `NOTIFY` (see [`pg_listen`](super::pg_listen)) wakes every process's subscribers.

use std::sync::Arc;
use std::time::Duration;

use fieldstream::core::StreamId;
use fieldstream::protocol::ServerEvent;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};

use super::appends::append_many;
use super::group::GroupCommit;
use super::pg_listen::{self, Listening};
use super::rows::{EncodedEvent, RawEvent, unsigned};
use super::{
    AppendInput, Appended, Backend, Durability, ExportedEvent, ImportTx, LogPage, Notifier,
    PageSize, StoreError,
};
use crate::grants::Grant;
use write::PostgresWriter;

mod keys;
mod reads;
mod write;

const SCHEMA: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS fieldstream_heads (
        tenant TEXT PRIMARY KEY,
        position BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS fieldstream_events (
        tenant TEXT NOT NULL,
        position BIGINT NOT NULL,
        id UUID NOT NULL,
        stream TEXT NOT NULL,
        version BIGINT NOT NULL,
        type TEXT NOT NULL,
        schema_version BIGINT NOT NULL,
        data TEXT NOT NULL,
        metadata TEXT NOT NULL,
        recorded_at BIGINT NOT NULL,
        PRIMARY KEY (tenant, position),
        UNIQUE (tenant, id),
        UNIQUE (tenant, stream, version))",
];

/// Events in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresBackend {
    pool: PgPool,
    notifier: Notifier,
    _listener: Arc<Listening>,
    commits: GroupCommit<PostgresWriter>,
}

impl PostgresBackend {
    /// Connects to `url`, creates the tables if needed and starts listening for other processes;
    /// fails unless commits are durable (`fsync` on, `synchronous_commit` not off).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options: PgConnectOptions = url.parse()?;
        let options = options.options([("synchronous_commit", "on")]);
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        let mut tx = pool.begin().await?;
        // Serialises the CREATEs of processes that start at the same time.
        sqlx::query("SELECT pg_advisory_xact_lock(7286346518361)")
            .execute(&mut *tx)
            .await?;
        for statement in SCHEMA.iter().chain(&super::key_tables::SCHEMA) {
            sqlx::query(*statement).execute(&mut *tx).await?;
        }
        tx.commit().await?;

        let notifier = Notifier::default();
        let origin = pg_listen::new_origin();
        let listener = Arc::new(pg_listen::listen(&pool, notifier.clone(), origin.clone()).await?);
        let commits = GroupCommit::new(PostgresWriter {
            pool: pool.clone(),
            notifier: notifier.clone(),
            origin,
        });
        let backend = PostgresBackend {
            pool,
            notifier,
            _listener: listener,
            commits,
        };
        backend.durability().await?;
        Ok(backend)
    }
}

/// Decodes an event row (selected with [`super::rows::COLUMNS`]).
fn event_from_row(row: &PgRow) -> Result<ServerEvent, StoreError> {
    RawEvent {
        id: row.try_get("id")?,
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
    tx: &mut PgConnection,
    rows: Vec<EncodedEvent>,
) -> Result<(), StoreError> {
    // 10 parameters per row; PostgreSQL allows 65,535 per statement.
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<EncodedEvent> = rows.by_ref().take(1_000).collect();
        let mut builder = QueryBuilder::<Postgres>::new(
            "INSERT INTO fieldstream_events (tenant, position, id, stream, version, type, \
             schema_version, data, metadata, recorded_at) ",
        );
        builder.push_values(chunk, |mut values, row| {
            values
                .push_bind(row.tenant)
                .push_bind(row.position)
                .push_bind(row.id)
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

impl Backend for PostgresBackend {
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
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?;
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
            sqlx::query_scalar("SELECT position FROM fieldstream_heads WHERE tenant = $1")
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
        let mut connection = self.pool.acquire().await?;
        let fsync: String = sqlx::query_scalar("SHOW fsync")
            .fetch_one(&mut *connection)
            .await?;
        let synchronous_commit: String = sqlx::query_scalar("SHOW synchronous_commit")
            .fetch_one(&mut *connection)
            .await?;
        let text = format!("postgres: fsync={fsync} synchronous_commit={synchronous_commit}");
        if fsync != "on" || synchronous_commit == "off" {
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
        let mut tx = self.pool.begin().await?;
        // No append of any tenant runs while the import fills the tables.
        sqlx::query("LOCK TABLE fieldstream_heads, fieldstream_events IN EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
        Ok(ImportTx::postgres(tx))
    }
}
