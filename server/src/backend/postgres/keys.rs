//! The key service on PostgreSQL: the shared queries of `key_tables`, with every write under
//! a per-tenant advisory lock, so a forget and an added key never interleave and the numbers of
//! forgotten subjects follow commit order. A forget overwrites the key rows before deleting
//! them; PostgreSQL keeps dead row versions (and its WAL) until vacuum and recycling, and those
//! hold only keys sealed under the KEK, which is not in the database.

use fieldstream::protocol::ForgottenSubject;
use sqlx::{PgConnection, Postgres};

use super::PostgresBackend;
use crate::backend::key_export::{KeyRecord, KeyRecords};
use crate::backend::key_tables::{KeyTables, KeyView, NewKey, PutOutcome};
use crate::backend::legacy::LegacyKeys;
use crate::backend::meta::MetaTable;
use crate::backend::{KEK_CHECK, KeyService, StoreError};
use crate::grants::Grant;
use crate::kek::Kek;

type Tables = KeyTables<Postgres>;
type Meta = MetaTable<Postgres>;

/// Serialises the key-service writes of `tenant` until the transaction ends.
async fn lock(tx: &mut PgConnection, tenant: &str) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('fieldstream_keys:' || $1))")
        .bind(tenant)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Counts the table of keys in clear of older versions.
const EXISTS: &str = "SELECT COUNT(*) FROM information_schema.tables \
     WHERE table_schema = current_schema() AND table_name = 'fieldstream_subject_keys'";

impl PostgresBackend {
    /// Moves keys kept in clear by an older version into the sealed table (see
    /// [`crate::backend::legacy`]); how many, when there was such a table.
    pub async fn migrate_plain_keys(&self, kek: &Kek) -> Result<Option<u64>, StoreError> {
        let mut tx = self.pool.begin().await?;
        // One process moves them; the others then find no table.
        sqlx::query("SELECT pg_advisory_xact_lock(7286346518361)")
            .execute(&mut *tx)
            .await?;
        let moved = LegacyKeys::<Postgres>::migrate(&mut tx, EXISTS, kek).await?;
        tx.commit().await?;
        Ok(moved)
    }
}

impl KeyService for PostgresBackend {
    async fn subject_keys(
        &self,
        tenant: &str,
        subject: &str,
        grants: Option<&[Grant]>,
    ) -> Result<KeyView, StoreError> {
        let mut connection = self.pool.acquire().await?;
        Tables::view(&mut connection, tenant, subject, grants).await
    }

    async fn put_subject_keys(
        &self,
        tenant: &str,
        subject: &str,
        keys: &[NewKey],
        stream: Option<&str>,
        grants: Option<&[Grant]>,
    ) -> Result<PutOutcome, StoreError> {
        let mut tx = self.pool.begin().await?;
        lock(&mut tx, tenant).await?;
        let outcome = Tables::put(&mut tx, tenant, subject, keys, stream, grants).await?;
        if matches!(outcome, PutOutcome::Stored(_)) {
            tx.commit().await?;
        }
        Ok(outcome)
    }

    async fn forget_subject(
        &self,
        tenant: &str,
        subject: &str,
        grants: Option<&[Grant]>,
    ) -> Result<Option<KeyView>, StoreError> {
        let mut tx = self.pool.begin().await?;
        lock(&mut tx, tenant).await?;
        let after = Tables::forget(&mut tx, tenant, subject, grants).await?;
        if after.is_some() {
            tx.commit().await?;
        }
        Ok(after)
    }

    async fn forgotten_subjects(
        &self,
        tenant: &str,
        after: u64,
        limit: u32,
        grants: Option<&[Grant]>,
    ) -> Result<Vec<ForgottenSubject>, StoreError> {
        let mut connection = self.pool.acquire().await?;
        Tables::forgotten(&mut connection, tenant, after, limit, grants).await
    }

    async fn kek_check(&self) -> Result<Option<String>, StoreError> {
        let mut connection = self.pool.acquire().await?;
        Meta::meta(&mut connection, KEK_CHECK).await
    }

    async fn store_kek_check(&self, check: &str) -> Result<String, StoreError> {
        let mut tx = self.pool.begin().await?;
        // No tenant is empty: this lock is the meta table's own.
        lock(&mut tx, "").await?;
        let stored = Meta::meta_once(&mut tx, KEK_CHECK, check).await?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn export_key_records(
        &self,
        after: Option<&KeyRecord>,
        limit: u32,
    ) -> Result<Vec<KeyRecord>, StoreError> {
        let mut connection = self.pool.acquire().await?;
        KeyRecords::<Postgres>::page(&mut connection, after, limit).await
    }
}
