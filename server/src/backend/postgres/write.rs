//! The PostgreSQL side of group commit: one writer per tenant in each process, two round trips
//! per group, each one statement that commits on its own.
//!
//! 1. **Read** (no lock): where the group's event ids are stored, and each stream's version.
//! 2. **Write**: one statement takes the tenant's head row (an upsert that moves it past the
//!    group's events, so its row lock is held until the statement commits), inserts the events
//!    at the positions after the old head, and notifies the other processes. Positions follow
//!    commit order because the head row is locked from the moment they are assigned to the
//!    commit. If another process wrote one of the ids, or one of the versions, between the two,
//!    a unique constraint refuses the whole statement and the group is decided again.

use fieldstream::core::Timestamp;
use sqlx::Row as _;
use sqlx::postgres::PgPool;
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
    SELECT base, pg_notify($12, json_build_array($1::text, base + $2)::text)::text AS notified \
    FROM head";

/// SQLSTATE `unique_violation`.
const UNIQUE_VIOLATION: &str = "23505";

impl Dialect for PostgresWriter {
    type Session = ();
    const PER_TENANT: bool = true;

    async fn open(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn lookup(
        &self,
        _session: &mut (),
        tenant: &str,
        ids: &[Uuid],
        streams: &[&str],
    ) -> Result<Known, StoreError> {
        let streams: Vec<String> = streams.iter().map(|s| (*s).to_owned()).collect();
        let rows = sqlx::query(LOOKUP)
            .bind(tenant.to_owned())
            .bind(ids.to_vec())
            .bind(streams)
            .fetch_all(&self.pool)
            .await?;
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
        _session: &mut (),
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
        let written = sqlx::query(WRITE)
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
            .fetch_one(&self.pool)
            .await;
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

    async fn close(&self, _session: ()) -> Result<(), StoreError> {
        Ok(())
    }

    fn notifier(&self) -> &Notifier {
        &self.notifier
    }
}
