//! The memory store's data and its event-side operations: commits and reads (sync batches in
//! [`sync`]).

mod sync;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use uuid::Uuid;

use super::views::Views;
use crate::core::{
    Error, EventEnvelope, IdempotencyRecord, OutboxEntry, RejectedCommand, Result, Snapshot,
    StoredEvent, StreamHead, StreamId,
};
use crate::store::Commit;

/// Everything a memory store holds.
#[derive(Default)]
pub struct Data {
    /// Every event by local sequence number.
    events: BTreeMap<u64, EventEnvelope>,
    last_seq: u64,
    /// For each stream, version → sequence number.
    streams: HashMap<StreamId, BTreeMap<u64, u64>>,
    ids: HashMap<Uuid, u64>,
    /// Confirmed events: server position → sequence number.
    positions: BTreeMap<u64, u64>,
    /// Sequence numbers of pending events.
    pending: BTreeSet<u64>,
    pub snapshots: HashMap<StreamId, Snapshot>,
    pub idempotency: HashMap<String, IdempotencyRecord>,
    pub outbox: BTreeMap<u64, OutboxEntry>,
    pub checkpoint: u64,
    pub views: Views,
    /// The rejected inbox, oldest first.
    pub rejected: Vec<RejectedCommand>,
}

/// What a commit did, with local sequence numbers.
pub enum Written {
    /// The commit landed.
    Events(Vec<StoredEvent>),
    /// A live idempotency record already answers it; nothing was written.
    Duplicate(IdempotencyRecord),
}

impl Data {
    pub fn version_of(&self, stream: &StreamId) -> u64 {
        self.streams
            .get(stream)
            .and_then(|versions| versions.keys().next_back())
            .copied()
            .unwrap_or(0)
    }

    /// The newest event of `stream`: its version and id.
    pub fn head(&self, stream: &StreamId) -> StreamHead {
        let last = self
            .streams
            .get(stream)
            .and_then(|versions| versions.values().next_back())
            .map(|seq| &self.events[seq]);
        StreamHead::of(last)
    }

    pub fn read_stream(
        &self,
        stream: &StreamId,
        from_version: u64,
        limit: usize,
    ) -> Vec<EventEnvelope> {
        let Some(versions) = self.streams.get(stream) else {
            return Vec::new();
        };
        versions
            .range(from_version.max(1)..)
            .take(limit)
            .map(|(_, seq)| self.events[seq].clone())
            .collect()
    }

    pub fn read_all(&self, after: u64, limit: usize) -> Vec<StoredEvent> {
        let range = (std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded);
        self.events
            .range(range)
            .take(limit)
            .map(|(seq, event)| StoredEvent {
                seq: *seq,
                event: event.clone(),
            })
            .collect()
    }

    pub fn confirmed_after(&self, position: u64, limit: usize) -> Vec<StoredEvent> {
        let range = (
            std::ops::Bound::Excluded(position),
            std::ops::Bound::Unbounded,
        );
        self.positions
            .range(range)
            .take(limit)
            .map(|(_, seq)| self.stored(*seq))
            .collect()
    }

    pub fn pending_after(&self, seq: u64, limit: usize) -> Vec<StoredEvent> {
        let range = (std::ops::Bound::Excluded(seq), std::ops::Bound::Unbounded);
        self.pending
            .range(range)
            .take(limit)
            .map(|seq| self.stored(*seq))
            .collect()
    }

    pub fn pending_count_upto(&self, seq: u64) -> u64 {
        self.pending.range(..=seq).count() as u64
    }

    pub fn first_pending_seq(&self) -> Option<u64> {
        self.pending.first().copied()
    }

    pub fn event_count(&self) -> u64 {
        self.events.len() as u64
    }

    pub fn unprocessed(&self, checkpoint: u64, pending_upto: u64) -> u64 {
        let range = (
            std::ops::Bound::Excluded(checkpoint),
            std::ops::Bound::Unbounded,
        );
        let confirmed = self.positions.range(range).count();
        let pending = self
            .pending
            .range((
                std::ops::Bound::Excluded(pending_upto),
                std::ops::Bound::Unbounded,
            ))
            .count();
        (confirmed + pending) as u64
    }

    fn stored(&self, seq: u64) -> StoredEvent {
        StoredEvent {
            seq,
            event: self.events[&seq].clone(),
        }
    }

    /// Every check of a commit, made before anything is written; `Some` when a live
    /// idempotency record already answers it.
    fn check_commit(
        &self,
        commit: &Commit,
        taken_ids: &HashSet<Uuid>,
    ) -> Result<Option<IdempotencyRecord>> {
        commit.check_shape()?;
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
            if self.ids.contains_key(&event.id)
                || taken_ids.contains(&event.id)
                || !ids.insert(event.id)
            {
                return Err(Error::InvalidInput(format!(
                    "event id {} is already stored",
                    event.id
                )));
            }
        }
        commit.check_snapshot(actual)?;
        Ok(None)
    }

    /// Checks and writes a commit.
    pub fn commit(&mut self, commit: &Commit) -> Result<Written> {
        if let Some(existing) = self.check_commit(commit, &HashSet::new())? {
            return Ok(Written::Duplicate(existing));
        }
        Ok(Written::Events(self.write_commit(commit.clone())))
    }

    fn insert(&mut self, event: EventEnvelope) -> StoredEvent {
        self.last_seq += 1;
        let seq = self.last_seq;
        self.streams
            .entry(event.stream.clone())
            .or_default()
            .insert(event.version, seq);
        self.ids.insert(event.id, seq);
        match event.position {
            Some(position) => {
                self.positions.insert(position, seq);
            }
            None => {
                self.pending.insert(seq);
            }
        }
        self.events.insert(seq, event.clone());
        StoredEvent { seq, event }
    }

    fn write_commit(&mut self, commit: Commit) -> Vec<StoredEvent> {
        let Commit {
            stream,
            events,
            snapshot,
            idempotency,
            outbox,
            ..
        } = commit;
        let first = self.version_of(&stream) + 1;
        let stored: Vec<StoredEvent> = events
            .into_iter()
            .zip(first..)
            .map(|(mut event, version)| {
                event.stream = stream.clone();
                event.version = version;
                self.insert(event)
            })
            .collect();
        if let Some(snapshot) = snapshot {
            self.snapshots.insert(stream.clone(), snapshot);
        }
        if let (Some(mut entry), Some(first_stored)) = (outbox, stored.first()) {
            entry.seq = first_stored.seq;
            entry.stream = stream.clone();
            self.outbox.insert(entry.seq, entry);
        }
        if let Some(mut record) = idempotency {
            let now = record.created_at;
            self.idempotency.retain(|_, held| held.is_live(now));
            record.stream = stream;
            (record.first_version, record.last_version) = match (stored.first(), stored.last()) {
                (Some(first), Some(last)) => (first.event.version, last.event.version),
                _ => (0, 0),
            };
            self.idempotency.insert(record.key.clone(), record);
        }
        stored
    }
}
