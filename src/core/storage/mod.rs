//! What the engine needs of storage, defined here in the core and implemented by the stores
//! (the `store` module): the [`EventStore`] trait, the [`Commit`] of one command, the [`SyncBatch`]
//! of one sync round and the [`Decision`] a store runs inside its write.
//!
//! A [`Commit`] is all or nothing: its events, its outbox entry, its snapshot, its idempotency
//! record and its effect on inline projections land together or not at all; so is a
//! [`SyncBatch`]. The trait is async without a `Send` bound: WebAssembly in the browser is
//! single-threaded, and the IndexedDB store's futures are not `Send`.

mod decision;
pub(crate) mod queue;
mod sync;

pub use decision::{Decided, Decision};
pub use sync::{SyncBatch, check_no_orphans};

use std::collections::HashSet;
use std::rc::Rc;

use serde_json::Value;

use crate::core::personal::{KeyStore, KeyUpdate};
use crate::core::projection::{CatchUp, DeadLetter, Page, ProjectionOperation, Projector, Query};
use crate::core::{
    EventEnvelope, ExpectedVersion, IdempotencyRecord, OutboxEntry, ProjectionState,
    RejectedCommand, Result, Snapshot, StreamId, Timestamp,
};

use crate::core::event::StoredEvent;

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
    /// The projections whose inline ones apply the events in the same write.
    pub projector: Option<Rc<Projector>>,
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
            projector: None,
        }
    }
}

/// Counters of what a store has read and tried, for tests and diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Pages of stream events read.
    pub stream_pages: u64,
    /// Stream events read.
    pub events_read: u64,
    /// The largest page of stream events read.
    pub largest_page: u64,
    /// Read-model documents read by queries and gets.
    pub docs_read: u64,
    /// Commits tried.
    pub commits: u64,
}

impl ReadStats {
    /// Counts a page of `events` stream events.
    pub fn page(&mut self, events: usize) {
        self.stream_pages += 1;
        self.events_read += events as u64;
        self.largest_page = self.largest_page.max(events as u64);
    }
}

/// The sizes of the outbox and the rejected inbox.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueSizes {
    /// Commands waiting to be pushed.
    pub outbox: usize,
    /// Commands in the rejected inbox.
    pub rejected: usize,
}

/// A command waiting in the outbox, with its stored events, as a sync push sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedCommand {
    /// The outbox entry.
    pub entry: OutboxEntry,
    /// Its events, in order (their ids are the entry's `event_ids`).
    pub events: Vec<EventEnvelope>,
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

    /// What this store has read and tried so far.
    fn read_stats(&self) -> ReadStats;

    /// Milliseconds this store has spent waiting out a server's rate limit (`429` with
    /// `Retry-After`) since it was made: time a command's conflict budget does not count.
    fn rate_limited_ms(&self) -> u64 {
        0
    }

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

    /// The outbox entries of `streams`, oldest first, read without the other streams' entries.
    async fn read_outbox_of(&self, streams: &[StreamId]) -> Result<Vec<OutboxEntry>>;

    /// Up to `limit` outbox entries, oldest first, each with its events, leaving out the entries
    /// whose `seq` is in `skip` (those a sync has in flight: it knows them already); fails with
    /// `Storage` when an entry's events are not the ones it names. A store should read them
    /// together (one transaction over the outbox and the events) and read nothing of a skipped
    /// entry but its key; the default reads the outbox, then the events from the first entry's
    /// local sequence number on in one page (each command's events follow its entry's `seq`),
    /// and each entry that page misses from its stream.
    async fn read_queue(&self, limit: usize, skip: &HashSet<u64>) -> Result<Vec<QueuedCommand>> {
        queue::read_queue(self, limit, skip).await
    }

    /// Applies `batch` as [`EventStore::apply_sync`] does, then reads the queue as
    /// [`EventStore::read_queue`] does: a sync writes a round's confirmations and reads its next
    /// push together. A store should do both in one transaction; the default does one after
    /// the other.
    async fn apply_sync_and_read_queue(
        &self,
        batch: SyncBatch,
        projector: Option<&Projector>,
        limit: usize,
        skip: &HashSet<u64>,
    ) -> Result<Vec<QueuedCommand>> {
        self.apply_sync(batch, projector).await?;
        self.read_queue(limit, skip).await
    }

    /// How many commands wait in the outbox and in the rejected inbox, counted without reading
    /// them.
    async fn queue_sizes(&self) -> Result<QueueSizes>;

    /// Writes a commit atomically, applying it to the inline projections of its projector.
    ///
    /// Fails with [`Error::Conflict`](crate::core::Error::Conflict) when the stream is not at
    /// the expected version, with `InvalidInput` when the commit is malformed (no events and
    /// no idempotency record, an event id already stored, a snapshot at the wrong version),
    /// and in every failure writes nothing.
    async fn commit(&self, commit: Commit) -> Result<CommitOutcome>;

    /// Loads `stream` (its latest snapshot, then its events after the version
    /// [`Decision::start`] answers) into `decision` and commits what it decides, all in one
    /// atomic write that no other write interleaves; fails as [`EventStore::commit`] does, or
    /// with the decision's own error, and then writes nothing. The default answers
    /// [`Decided::InSteps`] without reading.
    async fn decide_and_commit(
        &self,
        stream: &StreamId,
        decision: &mut dyn Decision,
    ) -> Result<Decided> {
        let _ = (stream, decision);
        Ok(Decided::InSteps)
    }

    /// Applies what a sync round learned, atomically, then brings the inline projections of
    /// `projector` up to date in the same write. See [`SyncBatch`] for the rules.
    async fn apply_sync(&self, batch: SyncBatch, projector: Option<&Projector>) -> Result<()>;

    /// The rejected inbox, oldest first.
    async fn rejected(&self) -> Result<Vec<RejectedCommand>>;

    /// Removes a command from the rejected inbox; `false` when it was not there.
    async fn dismiss_rejected(&self, command_id: &str) -> Result<bool>;

    /// The server position up to which this store has pulled (0 before the first pull).
    async fn pull_checkpoint(&self) -> Result<u64>;

    /// Runs one catch-up step of projection `name` (at most `limit` events) in one write.
    async fn run_projection(
        &self,
        projector: &Projector,
        name: &str,
        limit: usize,
    ) -> Result<CatchUp>;

    /// Carries out an operator's `operation` on projection `name` (retry its failed events, or
    /// skip one) in one write; fails with `InvalidInput` for an unknown projection and
    /// `NotFound` for an event it has no dead letter for, and then writes nothing.
    async fn operate_projection(
        &self,
        projector: &Projector,
        name: &str,
        operation: ProjectionOperation,
    ) -> Result<()>;

    /// The stored state of projection `name`.
    async fn projection_state(&self, name: &str) -> Result<Option<ProjectionState>>;

    /// The events projection `name` failed on.
    async fn dead_letters(&self, name: &str) -> Result<Vec<DeadLetter>>;

    /// A document of projection namespace `ns`.
    async fn get_doc(&self, ns: &str, key: &str) -> Result<Option<Value>>;

    /// A page of the documents of namespace `ns` an index query selects, reading only those.
    async fn query_docs(&self, ns: &str, query: &Query) -> Result<Page>;

    /// How many events a fold at `checkpoint` and `pending_upto` has not processed yet.
    async fn unprocessed(&self, checkpoint: u64, pending_upto: u64) -> Result<u64>;

    /// The subject keys held and the subjects forgotten (personal data).
    async fn keys(&self) -> Result<KeyStore>;

    /// Adds keys and forgets subjects (deleting their keys), in one write.
    async fn update_keys(&self, update: &KeyUpdate) -> Result<()>;
}
