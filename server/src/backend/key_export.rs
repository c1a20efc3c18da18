//! The key service's records in an export (one JSON line each, with a `kind`), read page by
//! page, and written back by an import. Keys stay sealed under the KEK on the way.

use std::marker::PhantomData;

use serde::{Deserialize, Serialize};
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Row, Type};

use super::StoreError;
use super::rows::{signed, unsigned};

/// A record of the key service in an export.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum KeyRecord {
    /// A subject key, sealed under the KEK, with its creation number within the subject.
    Key {
        /// The tenant.
        tenant: String,
        /// The data subject.
        subject: String,
        /// The key's id.
        id: String,
        /// Its creation number within the subject, from 1.
        seq: u64,
        /// The key, sealed under the KEK for this tenant, subject and id.
        sealed: String,
    },
    /// Key `id` of `subject` is used in `stream`.
    KeyStream {
        /// The tenant.
        tenant: String,
        /// The data subject.
        subject: String,
        /// The key's id.
        id: String,
        /// The stream.
        stream: String,
    },
    /// `subject` was forgotten, as number `seq` of its tenant.
    Forgotten {
        /// The tenant.
        tenant: String,
        /// The data subject.
        subject: String,
        /// Its place in the tenant's forgotten list, from 1.
        seq: u64,
    },
}

impl std::fmt::Debug for KeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyRecord::Key {
                tenant,
                subject,
                id,
                seq,
                ..
            } => write!(f, "Key({tenant:?}, {subject:?}, {id:?}, {seq})"),
            KeyRecord::KeyStream {
                tenant,
                subject,
                id,
                stream,
            } => write!(f, "KeyStream({tenant:?}, {subject:?}, {id:?}, {stream:?})"),
            KeyRecord::Forgotten {
                tenant,
                subject,
                seq,
            } => write!(f, "Forgotten({tenant:?}, {subject:?}, {seq})"),
        }
    }
}

/// The export order of the kinds: keys, then their streams, then forgotten subjects.
fn phase(record: Option<&KeyRecord>) -> u8 {
    match record {
        None | Some(KeyRecord::Key { .. }) => 0,
        Some(KeyRecord::KeyStream { .. }) => 1,
        Some(KeyRecord::Forgotten { .. }) => 2,
    }
}

/// Reads and writes [`KeyRecord`]s on database `DB`.
pub struct KeyRecords<DB>(PhantomData<DB>);

impl<DB> KeyRecords<DB>
where
    DB: Database,
    for<'e> &'e mut DB::Connection: Executor<'e, Database = DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    DB::Arguments: IntoArguments<DB>,
{
    /// Up to `limit` records after `after`, in export order.
    pub async fn page(
        connection: &mut DB::Connection,
        after: Option<&KeyRecord>,
        limit: u32,
    ) -> Result<Vec<KeyRecord>, StoreError> {
        let mut records = Vec::new();
        let mut cursor = after.cloned();
        for kind in phase(after)..3 {
            let want = i64::from(limit) - records.len() as i64;
            if want <= 0 {
                break;
            }
            // The cursor belongs to the first kind read; the next kinds start at their start.
            let found = match (kind, cursor.take()) {
                (
                    0,
                    Some(KeyRecord::Key {
                        tenant,
                        subject,
                        id,
                        ..
                    }),
                ) => Self::keys(connection, Some((&tenant, &subject, &id)), want).await?,
                (0, _) => Self::keys(connection, None, want).await?,
                (
                    1,
                    Some(KeyRecord::KeyStream {
                        tenant,
                        subject,
                        id,
                        stream,
                    }),
                ) => {
                    let at = (
                        tenant.as_str(),
                        subject.as_str(),
                        id.as_str(),
                        stream.as_str(),
                    );
                    Self::streams(connection, Some(at), want).await?
                }
                (1, _) => Self::streams(connection, None, want).await?,
                (_, Some(KeyRecord::Forgotten { tenant, seq, .. })) => {
                    Self::forgotten(connection, Some((&tenant, signed(seq)?)), want).await?
                }
                _ => Self::forgotten(connection, None, want).await?,
            };
            records.extend(found);
        }
        Ok(records)
    }

    async fn keys(
        connection: &mut DB::Connection,
        after: Option<(&str, &str, &str)>,
        limit: i64,
    ) -> Result<Vec<KeyRecord>, StoreError> {
        let (tenant, subject, id) = after.unwrap_or_default();
        let rows = sqlx::query(
            "SELECT tenant, subject, key_id, seq, sealed FROM fieldstream_keys \
             WHERE $1 = 0 OR (tenant, subject, key_id) > ($2, $3, $4) \
             ORDER BY tenant, subject, key_id LIMIT $5",
        )
        .bind(i64::from(after.is_some()))
        .bind(tenant)
        .bind(subject)
        .bind(id)
        .bind(limit)
        .fetch_all(&mut *connection)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(KeyRecord::Key {
                    tenant: row.try_get("tenant")?,
                    subject: row.try_get("subject")?,
                    id: row.try_get("key_id")?,
                    seq: unsigned(row.try_get("seq")?, "key seq")?,
                    sealed: row.try_get("sealed")?,
                })
            })
            .collect()
    }

    async fn streams(
        connection: &mut DB::Connection,
        after: Option<(&str, &str, &str, &str)>,
        limit: i64,
    ) -> Result<Vec<KeyRecord>, StoreError> {
        let (tenant, subject, id, stream) = after.unwrap_or_default();
        let rows = sqlx::query(
            "SELECT tenant, subject, key_id, stream FROM fieldstream_key_streams \
             WHERE $1 = 0 OR (tenant, subject, key_id, stream) > ($2, $3, $4, $5) \
             ORDER BY tenant, subject, key_id, stream LIMIT $6",
        )
        .bind(i64::from(after.is_some()))
        .bind(tenant)
        .bind(subject)
        .bind(id)
        .bind(stream)
        .bind(limit)
        .fetch_all(&mut *connection)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(KeyRecord::KeyStream {
                    tenant: row.try_get("tenant")?,
                    subject: row.try_get("subject")?,
                    id: row.try_get("key_id")?,
                    stream: row.try_get("stream")?,
                })
            })
            .collect()
    }

    async fn forgotten(
        connection: &mut DB::Connection,
        after: Option<(&str, i64)>,
        limit: i64,
    ) -> Result<Vec<KeyRecord>, StoreError> {
        let (tenant, seq) = after.unwrap_or_default();
        let rows = sqlx::query(
            "SELECT tenant, subject, seq FROM fieldstream_forgotten \
             WHERE $1 = 0 OR (tenant, seq) > ($2, $3) ORDER BY tenant, seq LIMIT $4",
        )
        .bind(i64::from(after.is_some()))
        .bind(tenant)
        .bind(seq)
        .bind(limit)
        .fetch_all(&mut *connection)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(KeyRecord::Forgotten {
                    tenant: row.try_get("tenant")?,
                    subject: row.try_get("subject")?,
                    seq: unsigned(row.try_get("seq")?, "forgotten seq")?,
                })
            })
            .collect()
    }

    /// Writes one record as it is (a key with the `fingerprint` the importer computed).
    pub async fn insert(
        tx: &mut DB::Connection,
        record: &KeyRecord,
        fingerprint: &str,
    ) -> Result<(), StoreError> {
        match record {
            KeyRecord::Key {
                tenant,
                subject,
                id,
                seq,
                sealed,
            } => {
                sqlx::query(
                    "INSERT INTO fieldstream_keys \
                     (tenant, subject, key_id, seq, sealed, fingerprint) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(tenant.as_str())
                .bind(subject.as_str())
                .bind(id.as_str())
                .bind(signed(*seq)?)
                .bind(sealed.as_str())
                .bind(fingerprint)
                .execute(&mut *tx)
                .await?;
            }
            KeyRecord::KeyStream {
                tenant,
                subject,
                id,
                stream,
            } => {
                sqlx::query(
                    "INSERT INTO fieldstream_key_streams (tenant, subject, key_id, stream) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(tenant.as_str())
                .bind(subject.as_str())
                .bind(id.as_str())
                .bind(stream.as_str())
                .execute(&mut *tx)
                .await?;
            }
            KeyRecord::Forgotten {
                tenant,
                subject,
                seq,
            } => {
                sqlx::query(
                    "INSERT INTO fieldstream_forgotten (tenant, seq, subject) VALUES ($1, $2, $3)",
                )
                .bind(tenant.as_str())
                .bind(signed(*seq)?)
                .bind(subject.as_str())
                .execute(&mut *tx)
                .await?;
            }
        }
        Ok(())
    }

    /// Whether the key service holds anything at all (an import needs it empty).
    pub async fn is_empty(connection: &mut DB::Connection) -> Result<bool, StoreError> {
        let any: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(1 AS BIGINT) FROM fieldstream_keys \
             UNION ALL SELECT CAST(1 AS BIGINT) FROM fieldstream_forgotten \
             UNION ALL SELECT CAST(1 AS BIGINT) FROM fieldstream_key_streams LIMIT 1",
        )
        .fetch_optional(&mut *connection)
        .await?;
        Ok(any.is_none())
    }
}
