//! The key service's tables in SQLite: subject keys and forgotten subjects, written under the
//! backend's writer lock so that a forget and an added key never interleave.

use fieldstream::protocol::{ForgottenSubject, KeyEntry, SubjectKeys};
use sqlx::{Row, SqliteConnection};

use super::SqliteBackend;
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
        seq INTEGER NOT NULL,
        subject TEXT NOT NULL,
        PRIMARY KEY (tenant, seq),
        UNIQUE (tenant, subject))",
];

async fn read(
    connection: &mut SqliteConnection,
    tenant: &str,
    subject: &str,
) -> Result<SubjectKeys, StoreError> {
    let forgotten: Option<i64> = sqlx::query_scalar(
        "SELECT seq FROM fieldstream_forgotten WHERE tenant = ? AND subject = ?",
    )
    .bind(tenant)
    .bind(subject)
    .fetch_optional(&mut *connection)
    .await?;
    let rows = sqlx::query(
        "SELECT key_id, key FROM fieldstream_subject_keys WHERE tenant = ? AND subject = ? \
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

impl KeyService for SqliteBackend {
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
        let _lock = self.write_lock.lock().await;
        let mut tx = self.writer.begin().await?;
        if !read(&mut tx, tenant, subject).await?.forgotten {
            for key in keys {
                sqlx::query(
                    "INSERT INTO fieldstream_subject_keys (tenant, subject, key_id, key) \
                     VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
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
        let _lock = self.write_lock.lock().await;
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM fieldstream_subject_keys WHERE tenant = ? AND subject = ?")
            .bind(tenant)
            .bind(subject)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO fieldstream_forgotten (tenant, seq, subject) \
             SELECT ?1, COALESCE(MAX(seq), 0) + 1, ?2 FROM fieldstream_forgotten WHERE tenant = ?1 \
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
            "SELECT seq, subject FROM fieldstream_forgotten WHERE tenant = ? AND seq > ? \
             ORDER BY seq LIMIT ?",
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
