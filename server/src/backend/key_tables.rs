//! The key service's tables and queries, written once for both databases (SQLite reads `$1`
//! parameters too, and [`QueryBuilder`] writes each database's own). Each backend only says how
//! a write is serialised per tenant and on which connection it runs.
//!
//! Keys are stored sealed under the server's KEK, with a keyed fingerprint to recognise a key
//! sent again, and a creation number per subject (`seq`): answers list a subject's keys oldest
//! first, and a client seals new data with the first. `fieldstream_key_streams` notes in which
//! streams each key is used (a `PUT` that names its stream and holds the same key); a caller
//! restricted to some streams sees only keys used in them.

use std::marker::PhantomData;

use fieldstream::protocol::ForgottenSubject;
use sqlx::{
    ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, QueryBuilder, Row, Type,
};

use super::StoreError;
pub use super::key_model::{KeyView, NewKey, PutOutcome, StoredKey};
use super::rows::{signed, unsigned};
use crate::grants::{Grant, push_filter};

/// The tables of the key service (and the meta table, which holds the KEK check value).
pub const SCHEMA: [&str; 4] = [
    "CREATE TABLE IF NOT EXISTS fieldstream_keys (
        tenant TEXT NOT NULL,
        subject TEXT NOT NULL,
        key_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        sealed TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        PRIMARY KEY (tenant, subject, key_id))",
    "CREATE TABLE IF NOT EXISTS fieldstream_key_streams (
        tenant TEXT NOT NULL,
        subject TEXT NOT NULL,
        key_id TEXT NOT NULL,
        stream TEXT NOT NULL,
        PRIMARY KEY (tenant, subject, key_id, stream))",
    "CREATE TABLE IF NOT EXISTS fieldstream_forgotten (
        tenant TEXT NOT NULL,
        seq BIGINT NOT NULL,
        subject TEXT NOT NULL,
        PRIMARY KEY (tenant, seq),
        UNIQUE (tenant, subject))",
    "CREATE TABLE IF NOT EXISTS fieldstream_meta (
        name TEXT PRIMARY KEY NOT NULL,
        value TEXT NOT NULL)",
];

/// The key service's queries on database `DB` (SQLite or PostgreSQL).
pub struct KeyTables<DB>(PhantomData<DB>);

impl<DB> KeyTables<DB>
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
    /// Appends ` AND EXISTS (a use of key `key_id` of the row's subject in a granted stream)`.
    fn push_key_used(query: &mut QueryBuilder<DB>, grants: &[Grant], key_id: Option<&str>) {
        query.push(
            " AND EXISTS (SELECT 1 FROM fieldstream_key_streams b \
             WHERE b.tenant = t.tenant AND b.subject = t.subject",
        );
        if let Some(column) = key_id {
            query.push(format!(" AND b.key_id = t.{column}"));
        }
        query.push(" AND ");
        push_filter(query, "b.stream", grants);
        query.push(")");
    }

    /// The subject as the caller sees it.
    pub async fn view(
        connection: &mut DB::Connection,
        tenant: &str,
        subject: &str,
        grants: Option<&[Grant]>,
    ) -> Result<KeyView, StoreError> {
        let forgotten: Option<i64> = sqlx::query_scalar(
            "SELECT seq FROM fieldstream_forgotten WHERE tenant = $1 AND subject = $2",
        )
        .bind(tenant)
        .bind(subject)
        .fetch_optional(&mut *connection)
        .await?;
        let mut query = QueryBuilder::<DB>::new(
            "SELECT key_id, sealed FROM fieldstream_keys t WHERE tenant = ",
        );
        query
            .push_bind(tenant.to_owned())
            .push(" AND subject = ")
            .push_bind(subject.to_owned());
        if let Some(grants) = grants {
            Self::push_key_used(&mut query, grants, Some("key_id"));
        }
        query.push(" ORDER BY seq");
        let keys = query
            .build()
            .fetch_all(&mut *connection)
            .await?
            .iter()
            .map(|row| {
                Ok(StoredKey {
                    id: row.try_get("key_id")?,
                    sealed: row.try_get("sealed")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let visible = match grants {
            None => true,
            Some(grants) => {
                let mut query = QueryBuilder::<DB>::new(
                    "SELECT 1 FROM fieldstream_key_streams t WHERE tenant = ",
                );
                query
                    .push_bind(tenant.to_owned())
                    .push(" AND subject = ")
                    .push_bind(subject.to_owned())
                    .push(" AND ");
                push_filter(&mut query, "stream", grants);
                query.push(" LIMIT 1");
                query
                    .build()
                    .fetch_optional(&mut *connection)
                    .await?
                    .is_some()
            }
        };
        Ok(KeyView {
            keys,
            forgotten: forgotten.is_some(),
            visible,
        })
    }

    /// Adds `keys` of `subject` unless it was forgotten, and notes each as used in `stream`;
    /// refused whole when a key id is held with another key. Runs inside the caller's
    /// serialised write transaction (which it leaves to be rolled back on a refusal).
    pub async fn put(
        tx: &mut DB::Connection,
        tenant: &str,
        subject: &str,
        keys: &[NewKey],
        stream: Option<&str>,
        grants: Option<&[Grant]>,
    ) -> Result<PutOutcome, StoreError> {
        let forgotten: Option<i64> = sqlx::query_scalar(
            "SELECT seq FROM fieldstream_forgotten WHERE tenant = $1 AND subject = $2",
        )
        .bind(tenant)
        .bind(subject)
        .fetch_optional(&mut *tx)
        .await?;
        if forgotten.is_none() {
            for key in keys {
                let held: Option<String> = sqlx::query_scalar(
                    "SELECT fingerprint FROM fieldstream_keys \
                     WHERE tenant = $1 AND subject = $2 AND key_id = $3",
                )
                .bind(tenant)
                .bind(subject)
                .bind(key.id.as_str())
                .fetch_optional(&mut *tx)
                .await?;
                match held {
                    Some(fingerprint) if fingerprint != key.fingerprint => {
                        return Ok(PutOutcome::IdTaken(key.id.clone()));
                    }
                    Some(_) => {}
                    None => {
                        sqlx::query(
                            "INSERT INTO fieldstream_keys \
                             (tenant, subject, key_id, seq, sealed, fingerprint) \
                             SELECT $1, $2, $3, COALESCE(MAX(seq), 0) + 1, $4, $5 \
                             FROM fieldstream_keys WHERE tenant = $1 AND subject = $2",
                        )
                        .bind(tenant)
                        .bind(subject)
                        .bind(key.id.as_str())
                        .bind(key.sealed.as_str())
                        .bind(key.fingerprint.as_str())
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                if let Some(stream) = stream {
                    Self::note_use(tx, tenant, subject, &key.id, stream).await?;
                }
            }
        }
        Ok(PutOutcome::Stored(
            Self::view(tx, tenant, subject, grants).await?,
        ))
    }

    /// Notes that key `key_id` of `subject` is used in `stream` (once).
    pub async fn note_use(
        tx: &mut DB::Connection,
        tenant: &str,
        subject: &str,
        key_id: &str,
        stream: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO fieldstream_key_streams (tenant, subject, key_id, stream) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(tenant)
        .bind(subject)
        .bind(key_id)
        .bind(stream)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }

    /// Whether a caller restricted to `grants` may forget `subject`: it has keys noted in
    /// streams, every key is noted in one, and every stream noted is granted.
    async fn may_forget(
        tx: &mut DB::Connection,
        tenant: &str,
        subject: &str,
        grants: &[Grant],
    ) -> Result<bool, StoreError> {
        let mut query = QueryBuilder::<DB>::new(
            "SELECT CAST(COUNT(*) AS BIGINT) AS uses, \
             CAST(COALESCE(SUM(CASE WHEN ",
        );
        push_filter(&mut query, "stream", grants);
        query
            .push(
                " THEN 1 ELSE 0 END), 0) AS BIGINT) AS granted FROM fieldstream_key_streams \
                   WHERE tenant = ",
            )
            .push_bind(tenant.to_owned())
            .push(" AND subject = ")
            .push_bind(subject.to_owned());
        let row = query.build().fetch_one(&mut *tx).await?;
        let (uses, granted): (i64, i64) = (row.try_get("uses")?, row.try_get("granted")?);
        let unnoted: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(1 AS BIGINT) FROM fieldstream_keys k WHERE tenant = $1 AND subject = $2 \
             AND NOT EXISTS (SELECT 1 FROM fieldstream_key_streams b WHERE b.tenant = k.tenant \
             AND b.subject = k.subject AND b.key_id = k.key_id) LIMIT 1",
        )
        .bind(tenant)
        .bind(subject)
        .fetch_optional(&mut *tx)
        .await?;
        Ok(uses > 0 && uses == granted && unnoted.is_none())
    }

    /// Overwrites and deletes the keys of `subject` and adds it to the forgotten list (once);
    /// `None` when `grants` do not allow it. Runs inside the caller's serialised write
    /// transaction.
    pub async fn forget(
        tx: &mut DB::Connection,
        tenant: &str,
        subject: &str,
        grants: Option<&[Grant]>,
    ) -> Result<Option<KeyView>, StoreError> {
        if let Some(grants) = grants
            && !Self::may_forget(tx, tenant, subject, grants).await?
        {
            return Ok(None);
        }
        let held = sqlx::query(
            "SELECT key_id, CAST(length(sealed) AS BIGINT) AS sealed_len, \
             CAST(length(fingerprint) AS BIGINT) AS print_len \
             FROM fieldstream_keys WHERE tenant = $1 AND subject = $2",
        )
        .bind(tenant)
        .bind(subject)
        .fetch_all(&mut *tx)
        .await?;
        for row in held {
            let key_id: String = row.try_get("key_id")?;
            let zeros = |len: i64| "0".repeat(usize::try_from(len).unwrap_or(0));
            // Overwritten in place first, so the deleted row's bytes are not the key's.
            sqlx::query(
                "UPDATE fieldstream_keys SET sealed = $4, fingerprint = $5 \
                 WHERE tenant = $1 AND subject = $2 AND key_id = $3",
            )
            .bind(tenant)
            .bind(subject)
            .bind(key_id.as_str())
            .bind(zeros(row.try_get("sealed_len")?))
            .bind(zeros(row.try_get("print_len")?))
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM fieldstream_keys WHERE tenant = $1 AND subject = $2")
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
        Ok(Some(Self::view(tx, tenant, subject, grants).await?))
    }

    /// Up to `limit` subjects forgotten after number `after` that the caller may see, in the
    /// order they were forgotten.
    pub async fn forgotten(
        connection: &mut DB::Connection,
        tenant: &str,
        after: u64,
        limit: u32,
        grants: Option<&[Grant]>,
    ) -> Result<Vec<ForgottenSubject>, StoreError> {
        let mut query = QueryBuilder::<DB>::new(
            "SELECT seq, subject FROM fieldstream_forgotten t WHERE tenant = ",
        );
        query
            .push_bind(tenant.to_owned())
            .push(" AND seq > ")
            .push_bind(signed(after)?);
        if let Some(grants) = grants {
            Self::push_key_used(&mut query, grants, None);
        }
        query
            .push(" ORDER BY seq LIMIT ")
            .push_bind(i64::from(limit));
        let rows = query.build().fetch_all(&mut *connection).await?;
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
