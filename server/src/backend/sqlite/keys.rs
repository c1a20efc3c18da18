//! The key service on SQLite: the shared queries of `key_tables`, with writes under the
//! backend's writer lock and `BEGIN IMMEDIATE` (so that a second server process on the same
//! file waits for the lock instead of failing with "database is locked"). After a forget, the
//! WAL is checkpointed and truncated, so the forgotten key's old pages leave the WAL file too
//! (and so do keys in clear once an older database's are moved).

use fieldstream::protocol::ForgottenSubject;
use sqlx::Sqlite;

use super::SqliteBackend;
use crate::backend::key_export::{KeyRecord, KeyRecords};
use crate::backend::key_tables::{KeyTables, KeyView, NewKey, PutOutcome};
use crate::backend::legacy::LegacyKeys;
use crate::backend::meta::MetaTable;
use crate::backend::{KEK_CHECK, KeyService, StoreError};
use crate::grants::Grant;
use crate::kek::Kek;

type Tables = KeyTables<Sqlite>;

/// Counts the table of keys in clear of older versions.
const EXISTS: &str =
    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'fieldstream_subject_keys'";
type Meta = MetaTable<Sqlite>;

impl SqliteBackend {
    /// Moves keys kept in clear by an older version into the sealed table (see
    /// [`crate::backend::legacy`]); how many, when there was such a table.
    pub async fn migrate_plain_keys(&self, kek: &Kek) -> Result<Option<u64>, StoreError> {
        let moved = {
            let _lock = self.write_lock.lock().await;
            let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
            let moved = LegacyKeys::<Sqlite>::migrate(&mut tx, EXISTS, kek).await?;
            tx.commit().await?;
            moved
        };
        if moved.is_some() && !self.in_memory {
            self.checkpoint().await;
        }
        Ok(moved)
    }

    /// Copies the WAL into the database file and truncates it (waiting for readers up to the
    /// busy timeout). A failure is logged: the forget itself is committed either way.
    async fn checkpoint(&self) {
        let result: Result<(i64, i64, i64), sqlx::Error> =
            sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                .fetch_one(&self.writer)
                .await;
        match result {
            Ok((0, _, _)) => {}
            Ok(_) => tracing::warn!("the WAL checkpoint after a forget was blocked by a reader"),
            Err(error) => tracing::warn!(%error, "the WAL checkpoint after a forget failed"),
        }
    }
}

impl KeyService for SqliteBackend {
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
        let _lock = self.write_lock.lock().await;
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
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
        let after = {
            let _lock = self.write_lock.lock().await;
            let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
            let after = Tables::forget(&mut tx, tenant, subject, grants).await?;
            if after.is_some() {
                tx.commit().await?;
            }
            after
        };
        if after.is_some() && !self.in_memory {
            self.checkpoint().await;
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
        let mut connection = self.writer.acquire().await?;
        Meta::meta(&mut connection, KEK_CHECK).await
    }

    async fn store_kek_check(&self, check: &str) -> Result<String, StoreError> {
        let _lock = self.write_lock.lock().await;
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
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
        KeyRecords::<Sqlite>::page(&mut connection, after, limit).await
    }
}
