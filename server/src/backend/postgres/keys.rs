//! The key service on PostgreSQL: the shared queries of `key_tables`, with every write under
//! a per-tenant advisory lock, so a forget and an added key never interleave and the numbers of
//! forgotten subjects follow commit order.

use fieldstream::protocol::{ForgottenSubject, KeyEntry, SubjectKeys};
use sqlx::{PgConnection, Postgres};

use super::PostgresBackend;
use crate::backend::key_tables::KeyTables;
use crate::backend::{KeyService, StoreError};

type Tables = KeyTables<Postgres>;

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
        Tables::read(&mut connection, tenant, subject).await
    }

    async fn put_subject_keys(
        &self,
        tenant: &str,
        subject: &str,
        keys: &[KeyEntry],
    ) -> Result<SubjectKeys, StoreError> {
        let mut tx = self.pool.begin().await?;
        lock(&mut tx, tenant).await?;
        let after = Tables::put(&mut tx, tenant, subject, keys).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn forget_subject(&self, tenant: &str, subject: &str) -> Result<SubjectKeys, StoreError> {
        let mut tx = self.pool.begin().await?;
        lock(&mut tx, tenant).await?;
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
