//! Storage backends: the [`Backend`] trait, its SQLite and PostgreSQL implementations, and
//! [`AnyBackend`], which picks one from a database URL.
//!
//! Every backend keeps, per tenant, a head row holding the newest position. An append locks that
//! row inside its transaction, so appends of one tenant are serialised and positions are
//! gap-free and follow commit order. Event ids are unique per tenant, which makes retries
//! exactly-once durably.

mod decide;
mod key_tables;
mod notify;
mod pg_listen;
mod postgres;
mod rows;
mod sqlite;

use std::future::Future;

use fieldstream::core::{ExpectedVersion, StreamId};
use fieldstream::protocol::{
    AppendResponse, ClientEvent, ConflictResponse, ForgottenSubject, KeyEntry, ServerEvent,
    SubjectKeys,
};
use serde::{Deserialize, Serialize};

pub use notify::{HeadChanged, Notifier};
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

/// One event of an export: a stored event plus its tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedEvent {
    /// The tenant the event belongs to.
    pub tenant: String,
    /// The event as stored.
    #[serde(flatten)]
    pub event: ServerEvent,
}

/// The stream of events every backend stores, per tenant.
pub trait Backend: Clone + Send + Sync + 'static {
    /// Appends `events` to `stream` of `tenant` if `expected` holds (see [`AppendOutcome`]).
    fn append(
        &self,
        tenant: &str,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[ClientEvent],
    ) -> impl Future<Output = Result<AppendOutcome, StoreError>> + Send;

    /// The stream's current version and up to `limit` of its events from version `from` on.
    fn read_stream(
        &self,
        tenant: &str,
        stream: &StreamId,
        from: u64,
        limit: u32,
    ) -> impl Future<Output = Result<(u64, Vec<ServerEvent>), StoreError>> + Send;

    /// Up to `limit` events of `tenant` after `after` in position order, restricted to streams
    /// starting with one of `prefixes` when given.
    fn read_all(
        &self,
        tenant: &str,
        after: u64,
        limit: u32,
        prefixes: Option<&[String]>,
    ) -> impl Future<Output = Result<Vec<ServerEvent>, StoreError>> + Send;

    /// The newest position of `tenant`; 0 when it has no events.
    fn head(&self, tenant: &str) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Wakes up subscribers when a tenant's head moves, in this process or (PostgreSQL) another.
    fn notifier(&self) -> &Notifier;

    /// How many events the database holds, all tenants together.
    fn count_events(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Up to `limit` events ordered by tenant, then position, strictly after `after`.
    fn export_page(
        &self,
        after: Option<(&str, u64)>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<ExportedEvent>, StoreError>> + Send;

    /// Stores exported events as they are (ids, versions, positions, times) and moves heads.
    fn import_chunk(
        &self,
        events: &[ExportedEvent],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The key service of personal data, per tenant: subject keys and forgotten subjects. Keys are
/// kept apart from events, never exported, logged or counted.
pub trait KeyService: Clone + Send + Sync + 'static {
    /// The keys of `subject`, and whether it was forgotten.
    fn subject_keys(
        &self,
        tenant: &str,
        subject: &str,
    ) -> impl Future<Output = Result<SubjectKeys, StoreError>> + Send;

    /// Adds keys of `subject` (none once it was forgotten); the subject's keys after.
    fn put_subject_keys(
        &self,
        tenant: &str,
        subject: &str,
        keys: &[KeyEntry],
    ) -> impl Future<Output = Result<SubjectKeys, StoreError>> + Send;

    /// Forgets `subject`: deletes its keys and adds it to the forgotten list (once).
    fn forget_subject(
        &self,
        tenant: &str,
        subject: &str,
    ) -> impl Future<Output = Result<SubjectKeys, StoreError>> + Send;

    /// Up to `limit` subjects forgotten after number `after`, in the order they were forgotten.
    fn forgotten_subjects(
        &self,
        tenant: &str,
        after: u64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<ForgottenSubject>, StoreError>> + Send;
}

/// The backend a database URL names: PostgreSQL for `postgres://` or `postgresql://`, else SQLite.
#[derive(Debug, Clone)]
pub enum AnyBackend {
    /// An embedded SQLite file.
    Sqlite(SqliteBackend),
    /// A PostgreSQL database shared by any number of server processes.
    Postgres(PostgresBackend),
}

impl AnyBackend {
    /// Opens (and creates or migrates) the database `url` names.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(AnyBackend::Postgres(PostgresBackend::connect(url).await?))
        } else {
            Ok(AnyBackend::Sqlite(SqliteBackend::open(url).await?))
        }
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn kind(&self) -> &'static str {
        match self {
            AnyBackend::Sqlite(_) => "sqlite",
            AnyBackend::Postgres(_) => "postgres",
        }
    }
}

impl From<SqliteBackend> for AnyBackend {
    fn from(backend: SqliteBackend) -> Self {
        AnyBackend::Sqlite(backend)
    }
}

impl From<PostgresBackend> for AnyBackend {
    fn from(backend: PostgresBackend) -> Self {
        AnyBackend::Postgres(backend)
    }
}

macro_rules! delegate {
    ($self:ident, $backend:ident => $call:expr) => {
        match $self {
            AnyBackend::Sqlite($backend) => $call,
            AnyBackend::Postgres($backend) => $call,
        }
    };
}

impl Backend for AnyBackend {
    async fn append(
        &self,
        tenant: &str,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[ClientEvent],
    ) -> Result<AppendOutcome, StoreError> {
        delegate!(self, b => b.append(tenant, stream, expected, events).await)
    }

    async fn read_stream(
        &self,
        tenant: &str,
        stream: &StreamId,
        from: u64,
        limit: u32,
    ) -> Result<(u64, Vec<ServerEvent>), StoreError> {
        delegate!(self, b => b.read_stream(tenant, stream, from, limit).await)
    }

    async fn read_all(
        &self,
        tenant: &str,
        after: u64,
        limit: u32,
        prefixes: Option<&[String]>,
    ) -> Result<Vec<ServerEvent>, StoreError> {
        delegate!(self, b => b.read_all(tenant, after, limit, prefixes).await)
    }

    async fn head(&self, tenant: &str) -> Result<u64, StoreError> {
        delegate!(self, b => b.head(tenant).await)
    }

    fn notifier(&self) -> &Notifier {
        delegate!(self, b => b.notifier())
    }

    async fn count_events(&self) -> Result<u64, StoreError> {
        delegate!(self, b => b.count_events().await)
    }

    async fn export_page(
        &self,
        after: Option<(&str, u64)>,
        limit: u32,
    ) -> Result<Vec<ExportedEvent>, StoreError> {
        delegate!(self, b => b.export_page(after, limit).await)
    }

    async fn import_chunk(&self, events: &[ExportedEvent]) -> Result<(), StoreError> {
        delegate!(self, b => b.import_chunk(events).await)
    }
}

impl KeyService for AnyBackend {
    async fn subject_keys(&self, tenant: &str, subject: &str) -> Result<SubjectKeys, StoreError> {
        delegate!(self, b => b.subject_keys(tenant, subject).await)
    }

    async fn put_subject_keys(
        &self,
        tenant: &str,
        subject: &str,
        keys: &[KeyEntry],
    ) -> Result<SubjectKeys, StoreError> {
        delegate!(self, b => b.put_subject_keys(tenant, subject, keys).await)
    }

    async fn forget_subject(&self, tenant: &str, subject: &str) -> Result<SubjectKeys, StoreError> {
        delegate!(self, b => b.forget_subject(tenant, subject).await)
    }

    async fn forgotten_subjects(
        &self,
        tenant: &str,
        after: u64,
        limit: u32,
    ) -> Result<Vec<ForgottenSubject>, StoreError> {
        delegate!(self, b => b.forgotten_subjects(tenant, after, limit).await)
    }
}
