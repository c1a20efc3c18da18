//! The key service on SQLite: the shared queries of `key_tables`, with writes under the
//! backend's writer lock so that a forget and an added key never interleave.

use fieldstream::protocol::{ForgottenSubject, KeyEntry, SubjectKeys};
use sqlx::Sqlite;

use super::SqliteBackend;
use crate::backend::key_tables::KeyTables;
use crate::backend::{KeyService, StoreError};

type Tables = KeyTables<Sqlite>;

impl KeyService for SqliteBackend {
    async fn subject_keys(&self, tenant: &str, subject: &str) -> Result<SubjectKeys, StoreError> {
        let mut connection = self.pool.acquire().await?;
        Tables::read(&mut connection, tenant, subject).await
    }

    async fn put_subject_keys(
        &self,
        tenant: &str,
        subject: &str,
        keys: &[KeyEntry],
    ) -> Result<SubjectKeys, StoreError> {
        let _lock = self.write_lock.lock().await;
        let mut tx = self.writer.begin().await?;
        let after = Tables::put(&mut tx, tenant, subject, keys).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn forget_subject(&self, tenant: &str, subject: &str) -> Result<SubjectKeys, StoreError> {
        let _lock = self.write_lock.lock().await;
        let mut tx = self.writer.begin().await?;
        let after = Tables::forget(&mut tx, tenant, subject).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn forgotten_subjects(
        &self,
        tenant: &str,
        after: u64,
        limit: u32,
    ) -> Result<Vec<ForgottenSubject>, StoreError> {
        let mut connection = self.pool.acquire().await?;
        Tables::forgotten(&mut connection, tenant, after, limit).await
    }
}
