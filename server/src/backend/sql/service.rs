//! The [`Backend`] and [`KeyService`] of every [`SqlBackend`]: which connection each call
//! takes, which calls run in a serialised write and when it commits, written once over the
//! shared queries ([`Reads`], [`KeyTables`], [`KeyRecords`], [`MetaTable`]).

use fieldstream::core::StreamId;
use fieldstream::protocol::{ForgottenSubject, ServerEvent};
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Type};

use super::reads::Reads;
use super::{SqlBackend, SqlDialect};
use crate::backend::appends::append_many;
use crate::backend::key_export::KeyRecords;
use crate::backend::key_tables::KeyTables;
use crate::backend::legacy::LegacyKeys;
use crate::backend::meta::MetaTable;
use crate::backend::{
    AppendInput, Appended, Backend, Durability, ExportedEvent, ImportTx, KEK_CHECK, KeyRecord,
    KeyService, KeyView, LogPage, NewKey, Notifier, PageSize, PutOutcome, StoreError,
};
use crate::grants::Grant;
use crate::kek::Kek;

type Connection<B> = <<B as SqlBackend>::Db as Database>::Connection;
type DbRow<B> = <<B as SqlBackend>::Db as Database>::Row;
type Arguments<B> = <<B as SqlBackend>::Db as Database>::Arguments;

impl<B> Backend for B
where
    B: SqlBackend,
    for<'e> &'e mut Connection<B>: Executor<'e, Database = B::Db>,
    for<'q> &'q str: Encode<'q, B::Db> + Type<B::Db>,
    for<'q> String: Encode<'q, B::Db> + Decode<'q, B::Db> + Type<B::Db>,
    for<'q> i64: Encode<'q, B::Db> + Decode<'q, B::Db> + Type<B::Db>,
    for<'a> &'a str: ColumnIndex<DbRow<B>>,
    usize: ColumnIndex<DbRow<B>>,
    Arguments<B>: IntoArguments<B::Db>,
{
    async fn append_many(
        &self,
        tenant: &str,
        appends: &[AppendInput<'_>],
        conflict: PageSize,
    ) -> Result<Appended, StoreError> {
        append_many(self.commits(), self, tenant, appends, conflict).await
    }

    async fn read_stream(
        &self,
        tenant: &str,
        stream: &StreamId,
        from: u64,
        page: PageSize,
    ) -> Result<(u64, Vec<ServerEvent>), StoreError> {
        let mut tx = match B::Db::SNAPSHOT_BEGIN {
            Some(begin) => self.readers().begin_with(begin).await?,
            None => self.readers().begin().await?,
        };
        let current = Reads::<B::Db>::stream_version(&mut tx, tenant, stream).await?;
        let events = Reads::<B::Db>::stream_page(&mut tx, tenant, stream, from, page).await?;
        tx.commit().await?;
        Ok((current, events))
    }

    async fn read_all(
        &self,
        tenant: &str,
        after: u64,
        page: PageSize,
        grants: Option<&[Grant]>,
    ) -> Result<LogPage, StoreError> {
        let mut connection = self.readers().acquire().await?;
        Reads::<B::Db>::log_page(&mut connection, tenant, after, page, grants).await
    }

    async fn head(&self, tenant: &str) -> Result<u64, StoreError> {
        Reads::<B::Db>::head(self.readers(), tenant).await
    }

    async fn readable_head(&self, tenant: &str, grants: &[Grant]) -> Result<u64, StoreError> {
        let mut connection = self.readers().acquire().await?;
        Reads::<B::Db>::readable_head(&mut connection, tenant, grants).await
    }

    fn notifier(&self) -> &Notifier {
        self.subscribers()
    }

    async fn durability(&self) -> Result<Durability, StoreError> {
        self.check_durability().await
    }

    async fn count_events(&self) -> Result<u64, StoreError> {
        Reads::<B::Db>::count_events(self.readers()).await
    }

    async fn export_page(
        &self,
        after: Option<(&str, u64)>,
        limit: u32,
    ) -> Result<Vec<ExportedEvent>, StoreError> {
        let mut connection = self.readers().acquire().await?;
        Reads::<B::Db>::export_page(&mut connection, after, limit).await
    }

    async fn begin_import(&self) -> Result<ImportTx, StoreError> {
        self.start_import().await
    }
}

impl<B> KeyService for B
where
    B: SqlBackend,
    for<'e> &'e mut Connection<B>: Executor<'e, Database = B::Db>,
    for<'q> &'q str: Encode<'q, B::Db> + Type<B::Db>,
    for<'q> String: Encode<'q, B::Db> + Decode<'q, B::Db> + Type<B::Db>,
    for<'q> i64: Encode<'q, B::Db> + Decode<'q, B::Db> + Type<B::Db>,
    for<'a> &'a str: ColumnIndex<DbRow<B>>,
    usize: ColumnIndex<DbRow<B>>,
    Arguments<B>: IntoArguments<B::Db>,
{
    async fn subject_keys(
        &self,
        tenant: &str,
        subject: &str,
        grants: Option<&[Grant]>,
    ) -> Result<KeyView, StoreError> {
        let mut connection = self.readers().acquire().await?;
        KeyTables::<B::Db>::view(&mut connection, tenant, subject, grants).await
    }

    async fn put_subject_keys(
        &self,
        tenant: &str,
        subject: &str,
        keys: &[NewKey],
        stream: Option<&str>,
        grants: Option<&[Grant]>,
    ) -> Result<PutOutcome, StoreError> {
        let mut write = self.begin_key_write(tenant).await?;
        let outcome =
            KeyTables::<B::Db>::put(write.connection(), tenant, subject, keys, stream, grants)
                .await?;
        if matches!(outcome, PutOutcome::Stored(_)) {
            write.commit().await?;
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
            let mut write = self.begin_key_write(tenant).await?;
            let after =
                KeyTables::<B::Db>::forget(write.connection(), tenant, subject, grants).await?;
            if after.is_some() {
                write.commit().await?;
            }
            after
        };
        if after.is_some() {
            self.purge_deleted().await;
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
        let mut connection = self.readers().acquire().await?;
        KeyTables::<B::Db>::forgotten(&mut connection, tenant, after, limit, grants).await
    }

    async fn kek_check(&self) -> Result<Option<String>, StoreError> {
        let mut connection = self.writers().acquire().await?;
        MetaTable::<B::Db>::meta(&mut connection, KEK_CHECK).await
    }

    async fn store_kek_check(&self, check: &str) -> Result<String, StoreError> {
        // No tenant is empty: this write is the meta table's own.
        let mut write = self.begin_key_write("").await?;
        let stored = MetaTable::<B::Db>::meta_once(write.connection(), KEK_CHECK, check).await?;
        write.commit().await?;
        Ok(stored)
    }

    async fn export_key_records(
        &self,
        after: Option<&KeyRecord>,
        limit: u32,
    ) -> Result<Vec<KeyRecord>, StoreError> {
        let mut connection = self.readers().acquire().await?;
        KeyRecords::<B::Db>::page(&mut connection, after, limit).await
    }
}

/// Moves keys kept in clear by an older version into the sealed table (see
/// [`crate::backend::legacy`]); how many, when there was such a table.
pub async fn migrate_plain_keys<B>(backend: &B, kek: &Kek) -> Result<Option<u64>, StoreError>
where
    B: SqlBackend,
    for<'e> &'e mut Connection<B>: Executor<'e, Database = B::Db>,
    for<'q> &'q str: Encode<'q, B::Db> + Type<B::Db>,
    for<'q> String: Encode<'q, B::Db> + Decode<'q, B::Db> + Type<B::Db>,
    for<'q> i64: Encode<'q, B::Db> + Decode<'q, B::Db> + Type<B::Db>,
    for<'a> &'a str: ColumnIndex<DbRow<B>>,
    usize: ColumnIndex<DbRow<B>>,
    Arguments<B>: IntoArguments<B::Db>,
{
    let moved = {
        let mut write = backend.begin_key_migration().await?;
        let moved =
            LegacyKeys::<B::Db>::migrate(write.connection(), B::Db::LEGACY_KEYS_EXIST, kek).await?;
        write.commit().await?;
        moved
    };
    if moved.is_some() {
        backend.purge_deleted().await;
    }
    Ok(moved)
}
