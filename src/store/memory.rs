//! `MemoryStore`: an [`EventStore`] in memory, for tests, simulations, Node.js and edge workers.
//!
//! Cloning a `MemoryStore` gives another handle on the same data, so a simulated client can
//! "restart" by building a new engine on the store it had.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

use uuid::Uuid;

use super::{Commit, CommitOutcome, EventStore, StoredEvent};
use crate::core::{
    Error, EventEnvelope, IdempotencyRecord, OutboxEntry, Result, Snapshot, StreamId, Timestamp,
};

/// An event store held in memory.
#[derive(Clone)]
pub struct MemoryStore {
    client_id: Rc<str>,
    data: Rc<RefCell<Data>>,
}

#[derive(Default)]
struct Data {
    /// Every event in local order; an event's local sequence number is its index + 1.
    log: Vec<EventEnvelope>,
    /// For each stream, the log indexes of its events in version order.
    streams: HashMap<StreamId, Vec<usize>>,
    event_ids: HashSet<Uuid>,
    snapshots: HashMap<StreamId, Snapshot>,
    idempotency: HashMap<String, IdempotencyRecord>,
    outbox: BTreeMap<u64, OutboxEntry>,
}

impl MemoryStore {
    /// An empty store with a fresh random client id.
    pub fn new() -> Self {
        Self::with_client_id(Uuid::new_v4().to_string())
    }

    /// An empty store with the given client id.
    pub fn with_client_id(client_id: impl Into<String>) -> Self {
        MemoryStore {
            client_id: client_id.into().into(),
            data: Rc::new(RefCell::new(Data::default())),
        }
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl Data {
    fn version_of(&self, stream: &StreamId) -> u64 {
        self.streams
            .get(stream)
            .map_or(0, |indexes| indexes.len() as u64)
    }

    /// Every check of a commit, made before anything is written.
    fn check(&self, commit: &Commit) -> Result<Option<IdempotencyRecord>> {
        if commit.events.is_empty() && commit.idempotency.is_none() {
            return Err(Error::invalid(
                "a commit needs events or an idempotency record",
            ));
        }
        if let Some(record) = &commit.idempotency {
            if let Some(existing) = self.idempotency.get(&record.key) {
                if existing.is_live(record.created_at) {
                    return Ok(Some(existing.clone()));
                }
            }
        }
        let actual = self.version_of(&commit.stream);
        if !commit.expected.admits(actual) {
            return Err(Error::Conflict {
                stream: commit.stream.to_string(),
                expected: commit.expected,
                actual,
            });
        }
        let mut ids = HashSet::new();
        for event in &commit.events {
            if self.event_ids.contains(&event.id) || !ids.insert(event.id) {
                return Err(Error::InvalidInput(format!(
                    "event id {} is already stored",
                    event.id
                )));
            }
        }
        if commit.outbox.is_some() && commit.events.is_empty() {
            return Err(Error::invalid("an outbox entry needs at least one event"));
        }
        if let Some(snapshot) = &commit.snapshot {
            let last = actual + commit.events.len() as u64;
            if snapshot.stream != commit.stream || snapshot.version != last {
                return Err(Error::InvalidInput(format!(
                    "snapshot of {} at version {} does not match the commit's last version {last} of {}",
                    snapshot.stream, snapshot.version, commit.stream
                )));
            }
        }
        Ok(None)
    }
}

impl EventStore for MemoryStore {
    fn client_id(&self) -> &str {
        &self.client_id
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<u64> {
        Ok(self.data.borrow().version_of(stream))
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<EventEnvelope>> {
        let data = self.data.borrow();
        let Some(indexes) = data.streams.get(stream) else {
            return Ok(Vec::new());
        };
        let skip = from_version.saturating_sub(1) as usize;
        Ok(indexes
            .iter()
            .skip(skip)
            .take(limit)
            .map(|&i| data.log[i].clone())
            .collect())
    }

    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        let data = self.data.borrow();
        let start = (after as usize).min(data.log.len());
        Ok(data.log[start..]
            .iter()
            .take(limit)
            .enumerate()
            .map(|(offset, event)| StoredEvent {
                seq: (start + offset + 1) as u64,
                event: event.clone(),
            })
            .collect())
    }

    async fn latest_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>> {
        Ok(self.data.borrow().snapshots.get(stream).cloned())
    }

    async fn idempotency_record(
        &self,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<IdempotencyRecord>> {
        let data = self.data.borrow();
        Ok(data
            .idempotency
            .get(key)
            .filter(|record| record.is_live(now))
            .cloned())
    }

    async fn read_outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>> {
        Ok(self
            .data
            .borrow()
            .outbox
            .values()
            .take(limit)
            .cloned()
            .collect())
    }

    async fn commit(&self, commit: Commit) -> Result<CommitOutcome> {
        let mut data = self.data.borrow_mut();
        if let Some(existing) = data.check(&commit)? {
            return Ok(CommitOutcome::DuplicateIdempotencyKey(existing));
        }
        let Commit {
            stream,
            events,
            snapshot,
            idempotency,
            outbox,
            ..
        } = commit;
        let first = data.version_of(&stream) + 1;
        let first_seq = data.log.len() as u64 + 1;
        let mut stored = Vec::with_capacity(events.len());
        for (offset, mut event) in events.into_iter().enumerate() {
            event.stream = stream.clone();
            event.version = first + offset as u64;
            data.event_ids.insert(event.id);
            let index = data.log.len();
            data.log.push(event.clone());
            data.streams.entry(stream.clone()).or_default().push(index);
            stored.push(event);
        }
        if let Some(snapshot) = snapshot {
            data.snapshots.insert(stream.clone(), snapshot);
        }
        if let Some(mut entry) = outbox {
            entry.seq = first_seq;
            entry.stream = stream.clone();
            data.outbox.insert(first_seq, entry);
        }
        if let Some(mut record) = idempotency {
            record.stream = stream;
            (record.first_version, record.last_version) = match stored.len() {
                0 => (0, 0),
                n => (first, first + n as u64 - 1),
            };
            data.idempotency.insert(record.key.clone(), record);
        }
        Ok(CommitOutcome::Committed(stored))
    }
}
