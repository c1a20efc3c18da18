//! The PostgreSQL backend: one database shared by any number of server processes.
//!
//! Appends lock their tenant's head row (`SELECT … FOR UPDATE`), so positions follow commit order
//! with no gaps; `NOTIFY` (see [`pg_listen`](super::pg_listen)) wakes every process's subscribers.

use std::sync::Arc;
use std::time::Duration;

use fieldstream::core::{ExpectedVersion, StreamId};
use fieldstream::protocol::{
    AppendResponse, ClientEvent, ConflictResponse, MAX_CONFLICT_EVENTS, ServerEvent,
};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use super::decide::{Prior, StoredId, classify};
use super::pg_listen::{self, CHANNEL, Listening};
use super::rows::{COLUMNS, EncodedEvent, RawEvent, chunk_heads, place, signed, unsigned};
use super::{AppendOutcome, Backend, ExportedEvent, Notifier, StoreError};

mod keys;

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
}

impl PostgresBackend {
    /// Connects to `url`, creates the tables if needed and starts listening for other processes.
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
        let listener = Arc::new(pg_listen::listen(&pool, notifier.clone()).await?);
        Ok(PostgresBackend {
            pool,
            notifier,
            _listener: listener,
        })
    }
}

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

async fn insert_all(tx: &mut PgConnection, rows: Vec<EncodedEvent>) -> Result<(), StoreError> {
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

async fn stream_version(
    connection: &mut PgConnection,
    tenant: &str,
    stream: &StreamId,
) -> Result<u64, StoreError> {
    let current: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(version), 0)::BIGINT FROM fieldstream_events \
         WHERE tenant = $1 AND stream = $2",
    )
    .bind(tenant.to_owned())
    .bind(stream.to_string())
    .fetch_one(connection)
    .await?;
    unsigned(current, "version")
}

impl Backend for PostgresBackend {
    async fn append(
        &self,
        tenant: &str,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[ClientEvent],
    ) -> Result<AppendOutcome, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO fieldstream_heads (tenant, position) VALUES ($1, 0) \
             ON CONFLICT (tenant) DO NOTHING",
        )
        .bind(tenant.to_owned())
        .execute(&mut *tx)
        .await?;
        // Holding this row lock until commit serialises the tenant's appends.
        let head: i64 = sqlx::query_scalar(
            "SELECT position FROM fieldstream_heads WHERE tenant = $1 FOR UPDATE",
        )
        .bind(tenant.to_owned())
        .fetch_one(&mut *tx)
        .await?;

        let ids: Vec<Uuid> = events.iter().map(|event| event.id).collect();
        let rows = sqlx::query(
            "SELECT id, stream, version, position FROM fieldstream_events \
             WHERE tenant = $1 AND id = ANY($2)",
        )
        .bind(tenant.to_owned())
        .bind(ids.clone())
        .fetch_all(&mut *tx)
        .await?;
        let mut found = Vec::with_capacity(rows.len());
        for row in rows {
            found.push(StoredId {
                id: row.try_get("id")?,
                stream: row.try_get("stream")?,
                version: unsigned(row.try_get("version")?, "version")?,
                position: unsigned(row.try_get("position")?, "position")?,
            });
        }
        match classify(stream, &ids, &found) {
            Prior::New => {}
            Prior::Replay(response) => return Ok(AppendOutcome::Replayed(response)),
            Prior::Mismatch(reason) => return Ok(AppendOutcome::IdempotencyMismatch(reason)),
        }

        let current = stream_version(&mut tx, tenant, stream).await?;
        if !expected.admits(current) {
            let mut after = Vec::new();
            if let Some(known) = expected.exact() {
                let sql = format!(
                    "SELECT {COLUMNS} FROM fieldstream_events WHERE tenant = $1 AND stream = $2 \
                     AND version > $3 ORDER BY version LIMIT $4"
                );
                for row in sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(tenant.to_owned())
                    .bind(stream.to_string())
                    .bind(signed(known)?)
                    .bind(i64::from(MAX_CONFLICT_EVENTS))
                    .fetch_all(&mut *tx)
                    .await?
                {
                    after.push(event_from_row(&row)?);
                }
            }
            let conflict = ConflictResponse::new(stream.clone(), expected, current, after);
            return Ok(AppendOutcome::Conflict(Box::new(conflict)));
        }

        let head = unsigned(head, "position")?;
        let rows = place(tenant, stream, current, head, events)?;
        insert_all(&mut tx, rows).await?;
        let count = events.len() as u64;
        let last_position = head + count;
        sqlx::query("UPDATE fieldstream_heads SET position = $2 WHERE tenant = $1")
            .bind(tenant.to_owned())
            .bind(signed(last_position)?)
            .execute(&mut *tx)
            .await?;
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(pg_listen::payload(tenant, last_position)?)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.notifier.notify(Some(tenant), last_position);
        Ok(AppendOutcome::Appended(AppendResponse {
            stream: stream.clone(),
            first_version: current + 1,
            last_version: current + count,
            first_position: head + 1,
            last_position,
        }))
    }

    async fn read_stream(
        &self,
        tenant: &str,
        stream: &StreamId,
        from: u64,
        limit: u32,
    ) -> Result<(u64, Vec<ServerEvent>), StoreError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?;
        let current = stream_version(&mut tx, tenant, stream).await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM fieldstream_events WHERE tenant = $1 AND stream = $2 \
             AND version >= $3 ORDER BY version LIMIT $4"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.to_owned())
            .bind(stream.to_string())
            .bind(signed(from)?)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let events = rows.iter().map(event_from_row).collect::<Result<_, _>>()?;
        Ok((current, events))
    }

    async fn read_all(
        &self,
        tenant: &str,
        after: u64,
        limit: u32,
        prefixes: Option<&[String]>,
    ) -> Result<Vec<ServerEvent>, StoreError> {
        if prefixes.is_some_and(|prefixes| prefixes.is_empty()) {
            return Ok(Vec::new());
        }
        let mut query = QueryBuilder::<Postgres>::new(format!(
            "SELECT {COLUMNS} FROM fieldstream_events WHERE tenant = "
        ));
        query
            .push_bind(tenant.to_owned())
            .push(" AND position > ")
            .push_bind(signed(after)?);
        if let Some(prefixes) = prefixes {
            query.push(" AND (");
            let mut any = query.separated(" OR ");
            for prefix in prefixes {
                any.push("starts_with(stream, ")
                    .push_bind_unseparated(prefix.clone())
                    .push_unseparated(")");
            }
            query.push(")");
        }
        query
            .push(" ORDER BY position LIMIT ")
            .push_bind(i64::from(limit));
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn head(&self, tenant: &str) -> Result<u64, StoreError> {
        let head: Option<i64> =
            sqlx::query_scalar("SELECT position FROM fieldstream_heads WHERE tenant = $1")
                .bind(tenant.to_owned())
                .fetch_optional(&self.pool)
                .await?;
        unsigned(head.unwrap_or(0), "position")
    }

    fn notifier(&self) -> &Notifier {
        &self.notifier
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
        let (tenant, position) = after.unwrap_or(("", 0));
        let sql = format!(
            "SELECT tenant, {COLUMNS} FROM fieldstream_events \
             WHERE (tenant, position) > ($1, $2) ORDER BY tenant, position LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.to_owned())
            .bind(signed(position)?)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(ExportedEvent {
                    tenant: row.try_get("tenant")?,
                    event: event_from_row(row)?,
                })
            })
            .collect()
    }

    async fn import_chunk(&self, events: &[ExportedEvent]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let rows = events
            .iter()
            .map(EncodedEvent::new)
            .collect::<Result<Vec<_>, _>>()?;
        insert_all(&mut tx, rows).await?;
        for (tenant, head) in chunk_heads(events) {
            sqlx::query(
                "INSERT INTO fieldstream_heads (tenant, position) VALUES ($1, $2) \
                 ON CONFLICT (tenant) DO UPDATE \
                 SET position = GREATEST(fieldstream_heads.position, excluded.position)",
            )
            .bind(tenant.to_owned())
            .bind(signed(head)?)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
