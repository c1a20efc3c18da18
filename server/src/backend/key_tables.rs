//! The key service's tables and queries, written once for both databases (the SQL is the same;
//! SQLite reads `$1`-style parameters too). Each backend only says how a write is serialised
//! per tenant and on which connection it runs.

use std::marker::PhantomData;

use fieldstream::protocol::{ForgottenSubject, KeyEntry, SubjectKeys};
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Row, Type};

use super::StoreError;
use super::rows::{signed, unsigned};

/// The tables of the key service.
pub const SCHEMA: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS fieldstream_subject_keys (
        tenant TEXT NOT NULL,
        subject TEXT NOT NULL,
        key_id TEXT NOT NULL,
        key TEXT NOT NULL,
        PRIMARY KEY (tenant, subject, key_id))",
    "CREATE TABLE IF NOT EXISTS fieldstream_forgotten (
        tenant TEXT NOT NULL,
        seq BIGINT NOT NULL,
        subject TEXT NOT NULL,
        PRIMARY KEY (tenant, seq),
        UNIQUE (tenant, subject))",
];

/// The key service's queries on database `DB` (SQLite or PostgreSQL).
pub struct KeyTables<DB>(PhantomData<DB>);

impl<DB> KeyTables<DB>
where
    DB: Database,
    for<'e> &'e mut DB::Connection: Executor<'e, Database = DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    DB::Arguments: IntoArguments<DB>,
{
    /// The keys of `subject` and whether it was forgotten.
    pub async fn read(
        connection: &mut DB::Connection,
        tenant: &str,
        subject: &str,
    ) -> Result<SubjectKeys, StoreError> {
        let forgotten: Option<i64> = sqlx::query_scalar(
            "SELECT seq FROM fieldstream_forgotten WHERE tenant = $1 AND subject = $2",
        )
        .bind(tenant)
        .bind(subject)
        .fetch_optional(&mut *connection)
        .await?;
        let rows = sqlx::query(
            "SELECT key_id, key FROM fieldstream_subject_keys WHERE tenant = $1 AND subject = $2 \
             ORDER BY key_id",
        )
        .bind(tenant)
        .bind(subject)
        .fetch_all(&mut *connection)
        .await?;
        let keys = rows
            .iter()
            .map(|row| {
                Ok(KeyEntry {
                    id: row.try_get("key_id")?,
                    key: row.try_get("key")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(SubjectKeys {
            subject: subject.to_owned(),
            keys,
            forgotten: forgotten.is_some(),
        })
    }

    /// Adds `keys` of `subject` unless it was forgotten; its keys after. Runs inside the
    /// caller's serialised write transaction.
    pub async fn put(
        tx: &mut DB::Connection,
        tenant: &str,
        subject: &str,
        keys: &[KeyEntry],
    ) -> Result<SubjectKeys, StoreError> {
        if !Self::read(tx, tenant, subject).await?.forgotten {
            for key in keys {
                sqlx::query(
                    "INSERT INTO fieldstream_subject_keys (tenant, subject, key_id, key) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                )
                .bind(tenant)
                .bind(subject)
                .bind(key.id.as_str())
                .bind(key.key.as_str())
                .execute(&mut *tx)
                .await?;
            }
        }
        Self::read(tx, tenant, subject).await
    }

    /// Deletes the keys of `subject` and adds it to the forgotten list (once); its keys after.
    /// Runs inside the caller's serialised write transaction.
    pub async fn forget(
        tx: &mut DB::Connection,
        tenant: &str,
        subject: &str,
    ) -> Result<SubjectKeys, StoreError> {
        sqlx::query("DELETE FROM fieldstream_subject_keys WHERE tenant = $1 AND subject = $2")
            .bind(tenant)
            .bind(subject)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO fieldstream_forgotten (tenant, seq, subject) \
             SELECT $1, COALESCE(MAX(seq), 0) + 1, $2 FROM fieldstream_forgotten WHERE tenant = $1 \
             ON CONFLICT (tenant, subject) DO NOTHING",
        )
        .bind(tenant)
        .bind(subject)
        .execute(&mut *tx)
        .await?;
        Self::read(tx, tenant, subject).await
    }

    /// Up to `limit` subjects forgotten after number `after`, in the order they were forgotten.
    pub async fn forgotten(
        connection: &mut DB::Connection,
        tenant: &str,
        after: u64,
        limit: u32,
    ) -> Result<Vec<ForgottenSubject>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, subject FROM fieldstream_forgotten WHERE tenant = $1 AND seq > $2 \
             ORDER BY seq LIMIT $3",
        )
        .bind(tenant)
        .bind(signed(after)?)
        .bind(i64::from(limit))
        .fetch_all(&mut *connection)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ForgottenSubject {
                    subject: row.try_get("subject")?,
                    seq: unsigned(row.try_get("seq")?, "forgotten seq")?,
                })
            })
            .collect()
    }
}
