//! Event stores: where events, snapshots and idempotency records live.
//!
//! [`EventStore`] is what the engine needs of storage. Every store passes the same conformance
//! suite (`tests/conformance/`). A [`Commit`] is all or nothing: its events, its snapshot and its
//! idempotency record land together or not at all.
//!
//! The trait is async without a `Send` bound: WebAssembly in the browser is single-threaded, and
//! the IndexedDB store's futures are not `Send`.

#[cfg(target_arch = "wasm32")]
pub mod indexeddb;
mod memory;

#[cfg(target_arch = "wasm32")]
pub use indexeddb::{Durability, IndexedDbOptions, IndexedDbStore};
pub use memory::MemoryStore;

use crate::core::{
    EventEnvelope, ExpectedVersion, IdempotencyRecord, OutboxEntry, Result, Snapshot, StreamId,
    Timestamp,
};

/// An event with its place in the store's local order.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// The store's local sequence number: 1, 2, 3… in commit order on this device.
    pub seq: u64,
    /// The event.
    pub event: EventEnvelope,
}

/// One atomic write: a command's events with their expected version, and what goes with them.
///
/// An outbox entry needs at least one event.
#[derive(Debug, Clone)]
pub struct Commit {
    /// The stream appended to.
    pub stream: StreamId,
    /// The version the stream must be at before the append.
    pub expected: ExpectedVersion,
    /// The events, in order; the store sets their stream and versions (the stream's version + 1, + 2…).
    pub events: Vec<EventEnvelope>,
    /// A snapshot to store with them; it must be of this stream at the last new version.
    pub snapshot: Option<Snapshot>,
    /// An idempotency record to store with them; its versions are set by the store.
    pub idempotency: Option<IdempotencyRecord>,
    /// The command's outbox entry; the store sets its `seq` to its first event's.
    pub outbox: Option<OutboxEntry>,
}

impl Commit {
    /// A commit of `events` alone.
    pub fn events(stream: StreamId, expected: ExpectedVersion, events: Vec<EventEnvelope>) -> Self {
        Commit {
            stream,
            expected,
            events,
            snapshot: None,
            idempotency: None,
            outbox: None,
        }
    }
}

/// What a [`Commit`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum CommitOutcome {
    /// The commit landed; these are its events as stored.
    Committed(Vec<EventEnvelope>),
    /// Another command with the same live idempotency key committed first; nothing was written.
    DuplicateIdempotencyKey(IdempotencyRecord),
}

/// What the engine needs of storage.
#[allow(async_fn_in_trait)]
pub trait EventStore {
    /// The id of this client (device and database), made once when the store was created.
    fn client_id(&self) -> &str;

    /// The number of events in `stream` (0 when it does not exist).
    async fn stream_version(&self, stream: &StreamId) -> Result<u64>;

    /// Up to `limit` events of `stream` with version ≥ `from_version`, in version order.
    async fn read_stream(
        &self,
        stream: &StreamId,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<EventEnvelope>>;

    /// Up to `limit` events with local sequence number > `after`, in local order.
    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>>;

    /// The latest snapshot of `stream`, if any.
    async fn latest_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>>;

    /// The idempotency record for `key` if it is still live at `now`.
    async fn idempotency_record(
        &self,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<IdempotencyRecord>>;

    /// Up to `limit` outbox entries, oldest first.
    async fn read_outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>>;

    /// Writes a commit atomically.
    ///
    /// Fails with [`Error::Conflict`](crate::core::Error::Conflict) when the stream is not at
    /// the expected version, with `InvalidInput` when the commit is malformed (no events and
    /// no idempotency record, an event id already stored, a snapshot at the wrong version),
    /// and in every failure writes nothing.
    async fn commit(&self, commit: Commit) -> Result<CommitOutcome>;
}
