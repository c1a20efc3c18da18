//! Event rows in and out, on either database: a selected row decoded into a protocol event, and
//! encoded rows inserted in chunks.

use std::marker::PhantomData;

use fieldstream::protocol::ServerEvent;
use sqlx::{
    ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, QueryBuilder, Row, Type,
};

use super::SqlDialect;
use crate::backend::StoreError;
use crate::backend::rows::{EncodedEvent, RawEvent, signed};

/// Rows an insert statement takes: 10 parameters each, within SQLite's 32,766 and PostgreSQL's
/// 65,535 per statement.
const INSERT_CHUNK_ROWS: usize = 1_000;

/// Reads and writes event rows on database `DB`.
pub struct EventRows<DB>(PhantomData<DB>);

impl<DB> EventRows<DB>
where
    DB: SqlDialect,
    for<'e> &'e mut DB::Connection: Executor<'e, Database = DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    DB::Arguments: IntoArguments<DB>,
{
    /// Decodes an event row (selected with [`crate::backend::rows::COLUMNS`]).
    pub fn decode(row: &<DB as Database>::Row) -> Result<ServerEvent, StoreError> {
        RawEvent {
            id: DB::load_id(row.try_get("id")?)?,
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
    pub async fn insert_all(
        tx: &mut DB::Connection,
        rows: Vec<EncodedEvent>,
    ) -> Result<(), StoreError> {
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<EncodedEvent> = rows.by_ref().take(INSERT_CHUNK_ROWS).collect();
            let mut builder = QueryBuilder::<DB>::new(
                "INSERT INTO fieldstream_events (tenant, position, id, stream, version, type, \
                 schema_version, data, metadata, recorded_at) ",
            );
            builder.push_values(chunk, |mut values, row| {
                values
                    .push_bind(row.tenant)
                    .push_bind(row.position)
                    .push_bind(DB::store_id(row.id))
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

    /// Raises each tenant's head to the newest position among `heads` (never lowering it).
    pub async fn raise_heads<'t>(
        tx: &mut DB::Connection,
        heads: impl IntoIterator<Item = (&'t str, u64)>,
    ) -> Result<(), StoreError> {
        for (tenant, head) in heads {
            sqlx::query(DB::RAISE_HEAD)
                .bind(tenant.to_owned())
                .bind(signed(head)?)
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }
}
