//! What the engine needs of storage, defined here in the core and implemented by the stores
//! (the `store` module), split by concern so that a store implements what it supports:
//! [`EventLog`] (streams, snapshots, idempotency records, commits), [`CommandQueue`] (the outbox
//! and rejected inbox of a store that syncs), [`ReadModelStore`] (projections and their
//! documents) and [`KeyVault`] (subject keys of personal data). [`EventStore`] is all four, for
//! code that needs everything. Also here: the [`Commit`] of one command, the [`SyncBatch`] of one
//! sync round and the [`Decision`] a store runs inside its write.
//!
//! A [`Commit`] is all or nothing: its events, its outbox entry, its snapshot, its idempotency
//! record and its effect on inline projections land together or not at all; so is a
//! [`SyncBatch`]. The traits are async without a `Send` bound: WebAssembly in the browser is
//! single-threaded, and the IndexedDB store's futures are not `Send`.

mod command_queue;
mod decision;
mod keys;
mod log;
pub(crate) mod queue;
mod read_models;
mod sync;

pub use command_queue::CommandQueue;
pub use decision::{Decided, Decision};
pub use keys::KeyVault;
pub use log::EventLog;
pub use read_models::ReadModelStore;
pub use sync::{SyncBatch, check_no_orphans};

use std::rc::Rc;

use crate::core::projection::Projector;
use crate::core::{
    EventEnvelope, ExpectedVersion, IdempotencyRecord, OutboxEntry, Snapshot, StreamId,
};

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

    /// Checks what a commit must hold whatever the store: events or an idempotency record, and
    /// events with an outbox entry; fails with `InvalidInput` otherwise.
    pub fn check_shape(&self) -> crate::core::Result<()> {
        if self.events.is_empty() && self.idempotency.is_none() {
            return Err(crate::core::Error::invalid(
                "a commit needs events or an idempotency record",
            ));
        }
        if self.outbox.is_some() && self.events.is_empty() {
            return Err(crate::core::Error::invalid(
                "an outbox entry needs at least one event",
            ));
        }
        Ok(())
    }

    /// Checks the commit's snapshot, if it has one, against where its events end when they
    /// follow version `base`: it must be of the commit's stream at its last version; fails with
    /// `InvalidInput` otherwise.
    pub fn check_snapshot(&self, base: u64) -> crate::core::Result<()> {
        let last = base + self.events.len() as u64;
        match &self.snapshot {
            Some(snapshot) if snapshot.stream != self.stream || snapshot.version != last => {
                Err(crate::core::Error::InvalidInput(format!(
                    "snapshot of {} at version {} does not match the commit's last version {last} of {}",
                    snapshot.stream, snapshot.version, self.stream
                )))
            }
            _ => Ok(()),
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

/// Everything the engine can ask of storage: the four traits together, for code that needs
/// them all (a store that syncs). Every type that implements the four implements this.
pub trait EventStore: EventLog + CommandQueue + ReadModelStore + KeyVault {}

impl<S: EventLog + CommandQueue + ReadModelStore + KeyVault + ?Sized> EventStore for S {}
