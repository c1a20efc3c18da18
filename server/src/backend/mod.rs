//! Storage backends: the [`Backend`] trait, its SQLite and PostgreSQL implementations, and
//! [`AnyBackend`], which picks one from a database URL.
//!
//! Every backend keeps, per tenant, a head row holding the newest position. Appends go through
//! a group-commit writer ([`group`]): the appends waiting for it are decided together
//! ([`plan`]) and written in one transaction that moves the head row, so positions are gap-free
//! and follow commit order. Event ids are unique per tenant, which makes retries exactly-once
//! durably. Reads, the key service and imports are written once for both databases ([`sql`]);
//! `sqlite.rs` and `postgres.rs` keep only their SQL where it differs and their locking.

mod any;
mod appends;
mod decide;
mod group;
pub mod import;
mod key_export;
mod key_model;
mod key_tables;
pub mod legacy;
mod meta;
mod notify;
mod pg_listen;
mod plan;
mod postgres;
mod rows;
mod sql;
mod sqlite;

use std::future::Future;

use fieldstream::core::{ExpectedVersion, StreamId};
use fieldstream::protocol::{
    AppendResponse, ClientEvent, ConflictResponse, ForgottenSubject, ServerEvent,
};
use serde::{Deserialize, Serialize};

use crate::grants::Grant;

pub use any::AnyBackend;
pub use appends::{AppendInput, Appended};
pub use import::ImportTx;
pub use key_export::KeyRecord;
pub use key_model::{KeyView, NewKey, PutOutcome, StoredKey};
pub use notify::{HeadChanged, LiveEvent, Notifier};
pub use postgres::PostgresBackend;
pub use sqlite::SqliteBackend;

/// A backend failure: the database or what it returned went wrong.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database driver failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored value could not be decoded, or an import broke an invariant.
    #[error("data error: {0}")]
    Data(String),
    /// The database is not set up to make a commit durable before it is acknowledged.
    #[error("not durable: {0}")]
    NotDurable(String),
    /// The commit group this append was part of failed.
    #[error("{0}")]
    Writer(std::sync::Arc<StoreError>),
}

/// What an append did.
#[derive(Debug, Clone, PartialEq)]
pub enum AppendOutcome {
    /// The events were written.
    Appended(AppendResponse),
    /// Every event was stored already by the same append: nothing written, same answer.
    Replayed(AppendResponse),
    /// The stream was not at the expected version; nothing written.
    Conflict(Box<ConflictResponse>),
    /// Some event ids are stored already, but not as this exact append; nothing written.
    IdempotencyMismatch(String),
}

/// How much one read may return: at most `limit` events, and no more events once their size
/// reaches `max_bytes` (the first event is always returned).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize {
    /// Most events.
    pub limit: u32,
    /// The byte budget, counted as the characters of each event's `data` and `metadata` plus
    /// [`EVENT_OVERHEAD_BYTES`].
    pub max_bytes: usize,
}

/// What a page counts per event on top of its `data` and `metadata`: the other fields.
pub const EVENT_OVERHEAD_BYTES: usize = 256;

impl PageSize {
    /// `limit` events within `max_bytes`.
    pub fn new(limit: u32, max_bytes: usize) -> Self {
        PageSize { limit, max_bytes }
    }
}

/// A page of a tenant's log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogPage {
    /// The events, in position order.
    pub events: Vec<ServerEvent>,
    /// Whether the read found no further event it could have returned: the page ended neither
    /// at its limit nor at its byte budget.
    pub exhausted: bool,
}

/// One event of an export: a stored event plus its tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedEvent {
    /// The tenant the event belongs to.
    pub tenant: String,
    /// The event as stored.
    #[serde(flatten)]
    pub event: ServerEvent,
}

/// The name of the KEK check value in the meta table.
const KEK_CHECK: &str = "kek_check";

/// How a database makes commits durable, as it reported at startup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Durability(pub String);

/// The stream of events every backend stores, per tenant.
pub trait Backend: Clone + Send + Sync + 'static {
    /// Appends `events` to `stream` of `tenant` if `expected` holds (see [`AppendOutcome`]); a
    /// conflict carries at most one page (`conflict`) of the events after `expected`.
    fn append(
        &self,
        tenant: &str,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[ClientEvent],
        conflict: PageSize,
    ) -> impl Future<Output = Result<AppendOutcome, StoreError>> + Send {
        async move {
            let input = [AppendInput {
                stream,
                expected,
                events,
            }];
            appends::single(self.append_many(tenant, &input, conflict).await?)
        }
    }

    /// Appends several appends of `tenant` in order, as [`Backend::append`] each (a later one
    /// sees the earlier ones); committed one right after the other, possibly together, with
    /// nothing of another caller between them unless a commit group fills up.
    fn append_many(
        &self,
        tenant: &str,
        appends: &[AppendInput<'_>],
        conflict: PageSize,
    ) -> impl Future<Output = Result<Appended, StoreError>> + Send;

    /// The stream's current version and one page of its events from version `from` on.
    fn read_stream(
        &self,
        tenant: &str,
        stream: &StreamId,
        from: u64,
        page: PageSize,
    ) -> impl Future<Output = Result<(u64, Vec<ServerEvent>), StoreError>> + Send;

    /// One page of the events of `tenant` after `after` in position order, restricted to the
    /// granted streams when `grants` is given.
    fn read_all(
        &self,
        tenant: &str,
        after: u64,
        page: PageSize,
        grants: Option<&[Grant]>,
    ) -> impl Future<Output = Result<LogPage, StoreError>> + Send;

    /// The newest position of `tenant`; 0 when it has no events.
    fn head(&self, tenant: &str) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The newest position of `tenant` among the granted streams; 0 when there is none.
    fn readable_head(
        &self,
        tenant: &str,
        grants: &[Grant],
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Wakes up subscribers when a tenant's head moves, in this process or (PostgreSQL) another.
    fn notifier(&self) -> &Notifier;

    /// How this database makes commits durable (checked when it was opened).
    fn durability(&self) -> impl Future<Output = Result<Durability, StoreError>> + Send;

    /// How many events the database holds, all tenants together.
    fn count_events(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Up to `limit` events ordered by tenant, then position, strictly after `after`.
    fn export_page(
        &self,
        after: Option<(&str, u64)>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<ExportedEvent>, StoreError>> + Send;

    /// Starts an import: one transaction that writes nothing unless it is committed.
    fn begin_import(&self) -> impl Future<Output = Result<ImportTx, StoreError>> + Send;
}

/// The key service of personal data, per tenant: subject keys (sealed under the server's KEK;
/// the backend never sees a key in the clear), which streams each key is used in, and forgotten
/// subjects. `grants` restricts what a caller limited to some streams sees (`None`: all).
pub trait KeyService: Clone + Send + Sync + 'static {
    /// The keys of `subject` the caller may see, and whether it was forgotten.
    fn subject_keys(
        &self,
        tenant: &str,
        subject: &str,
        grants: Option<&[Grant]>,
    ) -> impl Future<Output = Result<KeyView, StoreError>> + Send;

    /// Adds keys of `subject` (none once it was forgotten) and notes them as used in `stream`;
    /// refused whole when a key id is held with other key material.
    fn put_subject_keys(
        &self,
        tenant: &str,
        subject: &str,
        keys: &[NewKey],
        stream: Option<&str>,
        grants: Option<&[Grant]>,
    ) -> impl Future<Output = Result<PutOutcome, StoreError>> + Send;

    /// Forgets `subject`: overwrites and deletes its keys and adds it to the forgotten list
    /// (once). `None` (nothing done) when `grants` do not cover every stream its keys are in.
    fn forget_subject(
        &self,
        tenant: &str,
        subject: &str,
        grants: Option<&[Grant]>,
    ) -> impl Future<Output = Result<Option<KeyView>, StoreError>> + Send;

    /// Up to `limit` subjects forgotten after number `after`, in the order they were forgotten.
    fn forgotten_subjects(
        &self,
        tenant: &str,
        after: u64,
        limit: u32,
        grants: Option<&[Grant]>,
    ) -> impl Future<Output = Result<Vec<ForgottenSubject>, StoreError>> + Send;

    /// The KEK check value stored with the database, if any.
    fn kek_check(&self) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Stores the KEK check value (once; an existing one is kept). Returns the stored one.
    fn store_kek_check(
        &self,
        check: &str,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;

    /// One page of the key service's records, for an export, after `after` (`None`: from the
    /// start); the page's last record is where the next page starts.
    fn export_key_records(
        &self,
        after: Option<&KeyRecord>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<KeyRecord>, StoreError>> + Send;
}
