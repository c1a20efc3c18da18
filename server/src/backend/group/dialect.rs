//! What a group commit hands a database and gets back: encoded events, the rows a plan
//! placed, the writer's answers, and the [`Dialect`] each database implements.

use fieldstream::core::{ExpectedVersion, StreamId, Timestamp};
use fieldstream::protocol::{AppendResponse, ClientEvent};
use uuid::Uuid;

use crate::backend::plan::Known;
use crate::backend::{Notifier, StoreError};

/// An event ready to be written: its fields as the database stores them.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// The event id.
    pub id: Uuid,
    /// Its type.
    pub event_type: String,
    /// Its schema version.
    pub schema_version: i64,
    /// Its data as compact JSON text.
    pub data: String,
    /// Its metadata as compact JSON text.
    pub metadata: String,
}

impl NewEvent {
    /// Encodes a checked client event (outside the writer, in the caller's task).
    pub fn encode(event: &ClientEvent) -> Result<Self, StoreError> {
        let json = |value: &serde_json::Value| {
            serde_json::to_string(value).map_err(|e| StoreError::Data(e.to_string()))
        };
        Ok(NewEvent {
            id: event.id,
            event_type: event.event_type.clone(),
            schema_version: i64::from(event.schema_version),
            data: json(&event.data)?,
            metadata: json(&event.metadata)?,
        })
    }
}

/// One append handed to the writer.
#[derive(Debug, Clone)]
pub struct NewAppend {
    /// The stream appended to.
    pub stream: StreamId,
    /// The optimistic-concurrency check.
    pub expected: ExpectedVersion,
    /// The events, encoded.
    pub events: Vec<NewEvent>,
}

/// A row the plan placed: `offset` is its place after the head (1 for the group's first event).
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    /// Place after the head before the group.
    pub offset: u64,
    /// Its stream.
    pub stream: &'a str,
    /// Its version.
    pub version: u64,
    /// The event.
    pub event: &'a NewEvent,
}

/// What the writer did with one append.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    /// Written now.
    Appended(AppendResponse),
    /// Stored before by the same append.
    Replayed(AppendResponse),
    /// The stream was at `current`; nothing written.
    Conflict {
        /// The stream's version when the append was tried.
        current: u64,
    },
    /// Some ids are stored, not as this append; nothing written.
    Mismatch(String),
}

/// The writer's answer to one append, and the tenant's head as the writer knows it then.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// What it did.
    pub written: Written,
    /// The tenant's head right after the group's commit, when the writer learnt it.
    pub head: Option<u64>,
}

/// Why a write did not happen.
#[derive(Debug)]
pub enum WriteError {
    /// Another process wrote one of the ids or versions since the group's read: decide again,
    /// under the lock.
    Race,
    /// The database failed.
    Store(StoreError),
}

impl From<sqlx::Error> for WriteError {
    fn from(error: sqlx::Error) -> Self {
        WriteError::Store(StoreError::Database(error))
    }
}

impl From<StoreError> for WriteError {
    fn from(error: StoreError) -> Self {
        WriteError::Store(error)
    }
}

/// The per-database part of a group commit.
pub trait Dialect: Send + Sync + 'static {
    /// What a group writes through: SQLite's exclusive transaction; on PostgreSQL nothing
    /// (each statement commits on its own) until a race makes it take the head lock.
    type Session: Send;
    /// One lane per tenant (`true`), or one for the whole database.
    const PER_TENANT: bool;
    /// Whether a group may write on the versions this process last committed without reading
    /// them: the write must fail with [`WriteError::Race`] on a version or id stored already.
    const GUESSES: bool;

    /// Starts a group's writing.
    fn open(&self) -> impl Future<Output = Result<Self::Session, StoreError>> + Send;

    /// Makes the session's later reads and writes of `tenant` exclusive: no other process
    /// writes the tenant's events until the group commits, so a write after a read cannot race.
    fn lock(
        &self,
        session: &mut Self::Session,
        tenant: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Where `ids` are stored already and the versions of `streams`, in `tenant`.
    fn lookup(
        &self,
        session: &mut Self::Session,
        tenant: &str,
        ids: &[Uuid],
        streams: &[&str],
    ) -> impl Future<Output = Result<Known, StoreError>> + Send;

    /// Writes `rows` (`count` of them) after the tenant's head, moves the head past them and
    /// tells the other processes; returns the head before them. Positions follow commit order.
    fn write(
        &self,
        session: &mut Self::Session,
        tenant: &str,
        rows: &[Row<'_>],
        count: u64,
        recorded_at: Timestamp,
    ) -> impl Future<Output = Result<u64, WriteError>> + Send;

    /// Commits the group.
    fn close(&self, session: Self::Session) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// This process's subscribers, told of each commit.
    fn notifier(&self) -> &Notifier;
}
