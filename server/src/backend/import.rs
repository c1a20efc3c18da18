//! [`ImportTx`]: one transaction that an import fills and then commits, so that an import
//! writes everything or nothing. On SQLite it holds the writer lock and `BEGIN IMMEDIATE`; on
//! PostgreSQL it locks the event tables against appends until it ends. What it writes is
//! written once for both ([`ImportWrites`]).

use std::marker::PhantomData;

use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Postgres, Sqlite, Type};

use super::key_export::{KeyRecord, KeyRecords};
use super::meta::MetaTable;
use super::rows::{EncodedEvent, chunk_heads};
use super::sql::events::EventRows;
use super::sql::{SerialWrite, SqlDialect};
use super::{ExportedEvent, StoreError};

/// An import in progress: nothing it wrote is visible until [`ImportTx::commit`]; dropped, it
/// rolls back.
pub enum ImportTx {
    /// On SQLite, holding the backend's writer lock until the end.
    Sqlite(SerialWrite<Sqlite>),
    /// On PostgreSQL.
    Postgres(SerialWrite<Postgres>),
}

impl std::fmt::Debug for ImportTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImportTx::Sqlite(_) => f.write_str("ImportTx::Sqlite"),
            ImportTx::Postgres(_) => f.write_str("ImportTx::Postgres"),
        }
    }
}

/// Runs `$call` with `$write` bound to the import's [`SerialWrite`] and `$db` to its database.
macro_rules! on_write {
    ($self:expr, $write:ident, $db:ident => $call:expr) => {
        match $self {
            ImportTx::Sqlite($write) => {
                type $db = Sqlite;
                $call
            }
            ImportTx::Postgres($write) => {
                type $db = Postgres;
                $call
            }
        }
    };
}

impl ImportTx {
    /// How many events and key-service records the database holds (an import needs none).
    pub async fn existing(&mut self) -> Result<(u64, bool), StoreError> {
        on_write!(self, write, Db => ImportWrites::<Db>::existing(write.connection()).await)
    }

    /// Writes exported events as they are (ids, versions, positions, times) and moves heads.
    pub async fn events(&mut self, events: &[ExportedEvent]) -> Result<(), StoreError> {
        on_write!(self, write, Db => ImportWrites::<Db>::events(write.connection(), events).await)
    }

    /// Writes one key-service record as it is; a key with the `fingerprint` the importer
    /// computed under the KEK.
    pub async fn key_record(
        &mut self,
        record: &KeyRecord,
        fingerprint: &str,
    ) -> Result<(), StoreError> {
        on_write!(self, write, Db => {
            KeyRecords::<Db>::insert(write.connection(), record, fingerprint).await
        })
    }

    /// Stores the KEK check value with the import, unless the database has one already.
    pub async fn store_kek_check(&mut self, check: &str) -> Result<String, StoreError> {
        on_write!(self, write, Db => {
            MetaTable::<Db>::meta_once(write.connection(), super::KEK_CHECK, check).await
        })
    }

    /// Makes everything written visible, at once.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            ImportTx::Sqlite(write) => write.commit().await,
            ImportTx::Postgres(write) => write.commit().await,
        }
    }
}

/// What an import writes, on database `DB`.
struct ImportWrites<DB>(PhantomData<DB>);

impl<DB> ImportWrites<DB>
where
    DB: SqlDialect,
    for<'e> &'e mut DB::Connection: Executor<'e, Database = DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    DB::Arguments: IntoArguments<DB>,
{
    /// How many events and key-service records the database holds.
    async fn existing(tx: &mut DB::Connection) -> Result<(u64, bool), StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM fieldstream_events")
            .fetch_one(&mut *tx)
            .await?;
        let empty = KeyRecords::<DB>::is_empty(tx).await?;
        Ok((u64::try_from(count).unwrap_or(0), empty))
    }

    /// Writes `events` as they are and raises each tenant's head to its newest one.
    async fn events(tx: &mut DB::Connection, events: &[ExportedEvent]) -> Result<(), StoreError> {
        let rows = events
            .iter()
            .map(EncodedEvent::new)
            .collect::<Result<Vec<_>, _>>()?;
        EventRows::<DB>::insert_all(tx, rows).await?;
        EventRows::<DB>::raise_heads(tx, chunk_heads(events)).await
    }
}
