//! The PostgreSQL side of group commit: one writer per tenant in each process, at most two round
//! trips per group, each one statement that commits on its own.
//!
//! 1. **Read** (no lock): where the group's event ids are stored, and each stream's version;
//!    skipped when this process remembers the versions (the group's versions module), since
//!    the write's unique keys refuse a wrong guess as they refuse a race.
//! 2. **Write**: one statement takes the tenant's head row (an upsert that moves it past the
//!    group's events, so its row lock is held until the statement commits), inserts the events
//!    at the positions after the old head, and notifies the other processes. Positions follow
//!    commit order because the head row is locked from the moment they are assigned to the
//!    commit. If another process wrote one of the ids, or one of the versions, between the two,
//!    a unique constraint refuses the whole statement.
//!
//! A group refused that way is decided again under the head lock ([`Dialect::lock`]): one
//! transaction takes the tenant's head row first, then reads and writes. Every writer of the
//! tenant's events takes that row before inserting, so nobody can write between this read and
//! this write, and the second decision stands: an append is refused only by a real conflict.

use fieldstream::core::Timestamp;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgPool};
use sqlx::{Postgres, Row as _, Transaction};
use uuid::Uuid;

use crate::backend::decide::StoredId;
use crate::backend::group::{Dialect, Row, WriteError};
use crate::backend::pg_listen::CHANNEL;
use crate::backend::plan::Known;
use crate::backend::rows::{signed, unsigned};
use crate::backend::{Notifier, StoreError};

/// The writers of a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresWriter {
    /// The connections.
    pub pool: PgPool,
    /// This process's subscribers.
    pub notifier: Notifier,
    /// What this process's notifications carry, so that its listener skips them.
    pub origin: String,
}

const LOOKUP: &str = "\
    SELECT 0 AS kind, id, stream, version, position, recorded_at FROM fieldstream_events \
    WHERE tenant = $1 AND id = ANY($2) \
    UNION ALL \
    SELECT 1, NULL::uuid, s.stream, (SELECT MAX(e.version) FROM fieldstream_events e \
        WHERE e.tenant = $1 AND e.stream = s.stream), NULL::bigint, NULL::bigint \
    FROM unnest($3::text[]) AS s(stream)";

const WRITE: &str = "\
    WITH head AS ( \
        INSERT INTO fieldstream_heads AS h (tenant, position) VALUES ($1, $2) \
        ON CONFLICT (tenant) DO UPDATE SET position = h.position + $2 \
        RETURNING h.position - $2 AS base \
    ), written AS ( \
        INSERT INTO fieldstream_events (tenant, position, id, stream, version, type, \
            schema_version, data, metadata, recorded_at) \
        SELECT $1, head.base + r.place, r.id, r.stream, r.version, r.type, r.schema_version, \
            r.data, r.metadata, $3 \
        FROM head, unnest($4::bigint[], $5::uuid[], $6::text[], $7::bigint[], $8::text[], \
            $9::bigint[], $10::text[], $11::text[]) \
            AS r(place, id, stream, version, type, schema_version, data, metadata) \
    ) \
    SELECT base, pg_notify($12, json_build_array($1::text, base + $2, $13::text)::text)::text \
        AS notified \
    FROM head";

/// Takes (creating it if needed) the tenant's head row lock, held to the transaction's end.
const LOCK: &str = "\
    INSERT INTO fieldstream_heads AS h (tenant, position) VALUES ($1, 0) \
    ON CONFLICT (tenant) DO UPDATE SET position = h.position";

/// SQLSTATE `unique_violation`.
const UNIQUE_VIOLATION: &str = "23505";

/// A group's connection: one of the pool, on which each statement commits alone, or, after a
/// race, a transaction holding the tenant's head lock.
pub struct Session {
    plain: Option<PoolConnection<Postgres>>,
    locked: Option<Transaction<'static, Postgres>>,
}

impl Session {
    /// Where the group's next statement runs.
    fn connection(&mut self) -> Result<&mut PgConnection, StoreError> {
        match (&mut self.locked, &mut self.plain) {
            (Some(tx), _) => Ok(&mut **tx),
            (None, Some(connection)) => Ok(&mut **connection),
            (None, None) => Err(StoreError::Data("the group has no connection".into())),
        }
    }
}

impl Dialect for PostgresWriter {
    type Session = Session;
    const PER_TENANT: bool = true;
    const GUESSES: bool = true;

    async fn open(&self) -> Result<Session, StoreError> {
        // One connection for the group's read and write: one acquisition (and its check).
        Ok(Session {
            plain: Some(self.pool.acquire().await?),
            locked: None,
        })
    }

    async fn lock(&self, session: &mut Session, tenant: &str) -> Result<(), StoreError> {
        if session.locked.is_none() {
            // Given back first, so that a group never holds two connections of the pool.
            session.plain = None;
            let mut tx = self.pool.begin().await?;
            sqlx::query(LOCK)
                .bind(tenant.to_owned())
                .execute(&mut *tx)
                .await?;
            session.locked = Some(tx);
        }
        Ok(())
    }

    async fn lookup(
        &self,
        session: &mut Session,
        tenant: &str,
        ids: &[Uuid],
        streams: &[&str],
    ) -> Result<Known, StoreError> {
        let streams: Vec<String> = streams.iter().map(|s| (*s).to_owned()).collect();
        let query = sqlx::query(LOOKUP)
            .bind(tenant.to_owned())
            .bind(ids.to_vec())
            .bind(streams);
        let rows = query.fetch_all(session.connection()?).await?;
        let mut known = Known::default();
        for row in rows {
            let kind: i32 = row.try_get("kind")?;
            let stream: String = row.try_get("stream")?;
            if kind == 0 {
                known.stored.push(StoredId {
                    id: row.try_get("id")?,
                    stream,
                    version: unsigned(row.try_get("version")?, "version")?,
                    position: unsigned(row.try_get("position")?, "position")?,
                    recorded_at: Timestamp(row.try_get("recorded_at")?),
                });
            } else if let Some(version) = row.try_get::<Option<i64>, _>("version")? {
                known.versions.insert(stream, unsigned(version, "version")?);
            }
        }
        Ok(known)
    }

    async fn write(
        &self,
        session: &mut Session,
        tenant: &str,
        rows: &[Row<'_>],
        count: u64,
        recorded_at: Timestamp,
    ) -> Result<u64, WriteError> {
        let mut places = Vec::with_capacity(rows.len());
        let mut ids = Vec::with_capacity(rows.len());
        let mut streams = Vec::with_capacity(rows.len());
        let mut versions = Vec::with_capacity(rows.len());
        let mut types = Vec::with_capacity(rows.len());
        let mut schemas = Vec::with_capacity(rows.len());
        let mut data = Vec::with_capacity(rows.len());
        let mut metadata = Vec::with_capacity(rows.len());
        for row in rows {
            places.push(signed(row.offset)?);
            ids.push(row.event.id);
            streams.push(row.stream.to_owned());
            versions.push(signed(row.version)?);
            types.push(row.event.event_type.clone());
            schemas.push(row.event.schema_version);
            data.push(row.event.data.clone());
            metadata.push(row.event.metadata.clone());
        }
        let query = sqlx::query(WRITE)
            .bind(tenant.to_owned())
            .bind(signed(count)?)
            .bind(recorded_at.millis())
            .bind(places)
            .bind(ids)
            .bind(streams)
            .bind(versions)
            .bind(types)
            .bind(schemas)
            .bind(data)
            .bind(metadata)
            .bind(CHANNEL)
            .bind(self.origin.clone());
        let written = query.fetch_one(session.connection()?).await;
        match written {
            Ok(row) => Ok(unsigned(row.try_get("base")?, "position")?),
            Err(sqlx::Error::Database(error))
                if error.code().as_deref() == Some(UNIQUE_VIOLATION) =>
            {
                Err(WriteError::Race)
            }
            Err(error) => Err(WriteError::from(error)),
        }
    }

    async fn close(&self, session: Session) -> Result<(), StoreError> {
        if let Some(tx) = session.locked {
            tx.commit().await?;
        }
        Ok(())
    }

    fn notifier(&self) -> &Notifier {
        &self.notifier
    }
}
