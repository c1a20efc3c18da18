//! The meta table: named values stored with a database, such as the KEK check value that makes
//! a server started with another key-encryption key refuse to run on it.

use std::marker::PhantomData;

use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Type};

use super::StoreError;

/// Reads and writes the meta table on database `DB`.
pub struct MetaTable<DB>(PhantomData<DB>);

impl<DB> MetaTable<DB>
where
    DB: Database,
    for<'e> &'e mut DB::Connection: Executor<'e, Database = DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Decode<'q, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
    DB::Arguments: IntoArguments<DB>,
{
    /// The value named `name` in the meta table.
    pub async fn meta(
        connection: &mut DB::Connection,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT value FROM fieldstream_meta WHERE name = $1")
                .bind(name)
                .fetch_optional(&mut *connection)
                .await?,
        )
    }

    /// Stores `value` under `name` unless a value is there; returns the stored one.
    pub async fn meta_once(
        tx: &mut DB::Connection,
        name: &str,
        value: &str,
    ) -> Result<String, StoreError> {
        sqlx::query(
            "INSERT INTO fieldstream_meta (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(value)
        .execute(&mut *tx)
        .await?;
        Ok(Self::meta(tx, name).await?.unwrap_or_default())
    }
}
