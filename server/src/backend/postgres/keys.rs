//! The key service's tables in PostgreSQL: subject keys and forgotten subjects; every write
//! takes a per-tenant advisory lock, so a forget and an added key never interleave and the
//! numbers of forgotten subjects follow commit order.

use fieldstream::protocol::{ForgottenSubject, KeyEntry, SubjectKeys};
use sqlx::{PgConnection, Row};

use super::PostgresBackend;
use crate::backend::rows::{signed, unsigned};
use crate::backend::{KeyService, StoreError};

/// The tables of the key service.
pub(super) const SCHEMA: [&str; 2] = [
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

async fn read(
    connection: &mut PgConnection,
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

/// Serialises the key-service writes of `tenant` until the transaction ends.
async fn lock(tx: &mut PgConnection, tenant: &str) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('fieldstream_keys:' || $1))")
        .bind(tenant)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

impl KeyService for PostgresBackend {
    async fn subject_keys(&self, tenant: &str, subject: &str) -> Result<SubjectKeys, StoreError> {
        let mut connection = self.pool.acquire().await?;
        read(&mut connection, tenant, subject).await
    }

    async fn put_subject_keys(
        &self,
        tenant: &str,
        subject: &str,
        keys: &[KeyEntry],
    ) -> Result<SubjectKeys, StoreError> {
        let mut tx = self.pool.begin().await?;
        lock(&mut tx, tenant).await?;
        if !read(&mut tx, tenant, subject).await?.forgotten {
            for key in keys {
                sqlx::query(
                    "INSERT INTO fieldstream_subject_keys (tenant, subject, key_id, key) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                )
                .bind(tenant)
                .bind(subject)
                .bind(&key.id)
                .bind(&key.key)
                .execute(&mut *tx)
                .await?;
            }
        }
        let after = read(&mut tx, tenant, subject).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn forget_subject(&self, tenant: &str, subject: &str) -> Result<SubjectKeys, StoreError> {
        let mut tx = self.pool.begin().await?;
        lock(&mut tx, tenant).await?;
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
        let after = read(&mut tx, tenant, subject).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn forgotten_subjects(
        &self,
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
        .fetch_all(&self.pool)
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
