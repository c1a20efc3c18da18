//! [`ImportTx`]: one transaction that an import fills and then commits, so that an import
//! writes everything or nothing. On SQLite it holds the writer lock and `BEGIN IMMEDIATE`; on
//! PostgreSQL it locks the event tables against appends until it ends.

use sqlx::{Postgres, Sqlite, Transaction};
use tokio::sync::OwnedMutexGuard;

use super::key_export::{KeyRecord, KeyRecords};
use super::meta::MetaTable;
use super::rows::{EncodedEvent, chunk_heads, signed};
use super::{ExportedEvent, StoreError, postgres, sqlite};

/// An import in progress: nothing it wrote is visible until [`ImportTx::commit`]; dropped, it
/// rolls back.
pub enum ImportTx {
    /// On SQLite.
    Sqlite {
        /// The transaction.
        tx: Transaction<'static, Sqlite>,
        /// The backend's writer lock, held until the end.
        _lock: OwnedMutexGuard<()>,
    },
    /// On PostgreSQL.
    Postgres {
        /// The transaction.
        tx: Transaction<'static, Postgres>,
    },
}

impl std::fmt::Debug for ImportTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImportTx::Sqlite { .. } => f.write_str("ImportTx::Sqlite"),
            ImportTx::Postgres { .. } => f.write_str("ImportTx::Postgres"),
        }
    }
}

impl ImportTx {
    /// An import on SQLite.
    pub(super) fn sqlite(tx: Transaction<'static, Sqlite>, lock: OwnedMutexGuard<()>) -> Self {
        ImportTx::Sqlite { tx, _lock: lock }
    }

    /// An import on PostgreSQL.
    pub(super) fn postgres(tx: Transaction<'static, Postgres>) -> Self {
        ImportTx::Postgres { tx }
    }

    /// How many events and key-service records the database holds (an import needs none).
    pub async fn existing(&mut self) -> Result<(u64, bool), StoreError> {
        let (count, empty) = match self {
            ImportTx::Sqlite { tx, .. } => {
                let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM fieldstream_events")
                    .fetch_one(&mut **tx)
                    .await?;
                (count, KeyRecords::<Sqlite>::is_empty(tx).await?)
            }
            ImportTx::Postgres { tx } => {
                let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM fieldstream_events")
                    .fetch_one(&mut **tx)
                    .await?;
                (count, KeyRecords::<Postgres>::is_empty(tx).await?)
            }
        };
        Ok((u64::try_from(count).unwrap_or(0), empty))
    }

    /// Writes exported events as they are (ids, versions, positions, times) and moves heads.
    pub async fn events(&mut self, events: &[ExportedEvent]) -> Result<(), StoreError> {
        let rows = events
            .iter()
            .map(EncodedEvent::new)
            .collect::<Result<Vec<_>, _>>()?;
        let heads = chunk_heads(events);
        match self {
            ImportTx::Sqlite { tx, .. } => {
                sqlite::insert_all(tx, rows).await?;
                for (tenant, head) in heads {
                    sqlx::query(
                        "INSERT INTO fieldstream_heads (tenant, position) VALUES (?, ?) \
                         ON CONFLICT (tenant) DO UPDATE \
                         SET position = MAX(position, excluded.position)",
                    )
                    .bind(tenant.to_owned())
                    .bind(signed(head)?)
                    .execute(&mut **tx)
                    .await?;
                }
            }
            ImportTx::Postgres { tx } => {
                postgres::insert_all(tx, rows).await?;
                for (tenant, head) in heads {
                    sqlx::query(
                        "INSERT INTO fieldstream_heads (tenant, position) VALUES ($1, $2) \
                         ON CONFLICT (tenant) DO UPDATE \
                         SET position = GREATEST(fieldstream_heads.position, excluded.position)",
                    )
                    .bind(tenant.to_owned())
                    .bind(signed(head)?)
                    .execute(&mut **tx)
                    .await?;
                }
            }
        }
        Ok(())
    }

    /// Writes one key-service record as it is; a key with the `fingerprint` the importer
    /// computed under the KEK.
    pub async fn key_record(
        &mut self,
        record: &KeyRecord,
        fingerprint: &str,
    ) -> Result<(), StoreError> {
        match self {
            ImportTx::Sqlite { tx, .. } => {
                KeyRecords::<Sqlite>::insert(tx, record, fingerprint).await
            }
            ImportTx::Postgres { tx } => {
                KeyRecords::<Postgres>::insert(tx, record, fingerprint).await
            }
        }
    }

    /// Stores the KEK check value with the import, unless the database has one already.
    pub async fn store_kek_check(&mut self, check: &str) -> Result<String, StoreError> {
        match self {
            ImportTx::Sqlite { tx, .. } => {
                MetaTable::<Sqlite>::meta_once(tx, super::KEK_CHECK, check).await
            }
            ImportTx::Postgres { tx } => {
                MetaTable::<Postgres>::meta_once(tx, super::KEK_CHECK, check).await
            }
        }
    }

    /// Makes everything written visible, at once.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            ImportTx::Sqlite { tx, .. } => tx.commit().await?,
            ImportTx::Postgres { tx } => tx.commit().await?,
        }
        Ok(())
    }
}
