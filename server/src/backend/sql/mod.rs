//! The SQL backends' algorithm, written once for SQLite and PostgreSQL: reads and their paging
//! rules ([`reads`]), the [`Backend`](super::Backend) and [`KeyService`](super::KeyService)
//! flows over them ([`service`]), and event rows in and out ([`events`]).
//!
//! What differs between the two databases is said by two small traits: [`SqlDialect`], on the
//! sqlx database type (how an event id is stored, the few statements whose SQL differs), and
//! [`SqlBackend`], on each backend (its pools, how its writes are serialised, what it does
//! after deleting rows, its durability check and its group-commit writer). Queries are written
//! with `$1` parameters, which SQLite reads too, or with [`sqlx::QueryBuilder`], which writes
//! each database's own.

pub mod events;
pub mod reads;
mod service;

pub use service::migrate_plain_keys;

use std::future::Future;

use sqlx::{Database, Decode, Encode, Pool, Transaction, Type};
use tokio::sync::OwnedMutexGuard;
use uuid::Uuid;

use super::group::{Dialect, GroupCommit};
use super::{Durability, ImportTx, Notifier, StoreError};

/// What differs in SQL between the databases: sqlx's `Sqlite` and `Postgres` implement it.
pub trait SqlDialect: Database {
    /// How the `id` column holds an event id.
    type StoredId: for<'q> Encode<'q, Self> + for<'r> Decode<'r, Self> + Type<Self> + Send;

    /// The statement that starts a stream read, which sees one snapshot (`None`: the
    /// database's plain `BEGIN`).
    const SNAPSHOT_BEGIN: Option<&'static str>;

    /// Raises tenant `$1`'s head to position `$2` (creating the row), never lowering it.
    const RAISE_HEAD: &'static str;

    /// Counts the tables named `fieldstream_subject_keys` (the keys in clear of older versions).
    const LEGACY_KEYS_EXIST: &'static str;

    /// An event id as the `id` column holds it.
    fn store_id(id: Uuid) -> Self::StoredId;

    /// The event id the `id` column held.
    fn load_id(stored: Self::StoredId) -> Result<Uuid, StoreError>;
}

/// A write transaction serialised with the writes it must not interleave with (and the
/// in-process lock that does it, on SQLite); dropped, it rolls back, then lets the lock go.
pub struct SerialWrite<DB: Database> {
    tx: Transaction<'static, DB>,
    _lock: Option<OwnedMutexGuard<()>>,
}

impl<DB: Database> SerialWrite<DB> {
    /// `tx`, serialised by the database alone or also by `lock`.
    pub fn new(tx: Transaction<'static, DB>, lock: Option<OwnedMutexGuard<()>>) -> Self {
        SerialWrite { tx, _lock: lock }
    }

    /// The transaction's connection.
    pub fn connection(&mut self) -> &mut DB::Connection {
        &mut self.tx
    }

    /// Commits, then lets the lock go.
    pub async fn commit(self) -> Result<(), StoreError> {
        let SerialWrite { tx, _lock } = self;
        tx.commit().await?;
        Ok(())
    }
}

/// The per-database part of a SQL backend: its connections, locking and checks. A type that
/// implements it is a [`Backend`](super::Backend) and a [`KeyService`](super::KeyService).
pub trait SqlBackend: Clone + Send + Sync + 'static {
    /// The database.
    type Db: SqlDialect;
    /// Its group-commit writer.
    type Writer: Dialect;

    /// The connections reads use.
    fn readers(&self) -> &Pool<Self::Db>;

    /// The connections writes use (on SQLite one, of its own).
    fn writers(&self) -> &Pool<Self::Db>;

    /// The group-commit writers of appends.
    fn commits(&self) -> &GroupCommit<Self::Writer>;

    /// This process's subscribers.
    fn subscribers(&self) -> &Notifier;

    /// Starts a key-service write of `tenant` (`""`: the meta table's), serialised with every
    /// other key-service write of the tenant.
    fn begin_key_write(
        &self,
        tenant: &str,
    ) -> impl Future<Output = Result<SerialWrite<Self::Db>, StoreError>> + Send;

    /// Starts the move of keys in clear, which one process at a time runs.
    fn begin_key_migration(
        &self,
    ) -> impl Future<Output = Result<SerialWrite<Self::Db>, StoreError>> + Send;

    /// Runs after a commit that deleted keys, so their bytes leave the database's files where it
    /// can (SQLite's WAL); a failure is logged, the commit stands either way.
    fn purge_deleted(&self) -> impl Future<Output = ()> + Send;

    /// How the database makes commits durable; an error unless it does.
    fn check_durability(&self) -> impl Future<Output = Result<Durability, StoreError>> + Send;

    /// Starts an import, which no append or other write interleaves with.
    fn start_import(&self) -> impl Future<Output = Result<ImportTx, StoreError>> + Send;
}
