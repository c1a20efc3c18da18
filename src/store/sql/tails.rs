//! The tails a sync batch works on: for each stream it touches, the events from the first
//! version it names, one slot per event, with indexes by event id and by outbox entry so that
//! a batch of many events finds each in constant time.

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

use super::chunks::Chunk;
use crate::core::{EventEnvelope, OutboxEntry, Snapshot, StreamId};

/// One event of a tail.
pub struct Slot {
    /// Its local sequence number.
    pub seq: u64,
    /// The event.
    pub event: EventEnvelope,
    /// The outbox entry of the command it is the first event of.
    pub outbox: Option<OutboxEntry>,
    /// The snapshot taken at this event.
    pub snapshot: Option<Snapshot>,
    /// Whether a row started here (kept, so that a row confirmed whole stays one row).
    pub starts: bool,
    /// Whether this batch added it.
    pub added: bool,
}

/// A stream's events from some version on, and the rows they were read from.
pub struct Tail {
    /// How many events lie before the first slot.
    pub base: u64,
    /// The rows read.
    pub old: Vec<Chunk>,
    /// The events, in version order.
    pub slots: Vec<Slot>,
}

impl Tail {
    /// The tail of the rows `old`, the stream having `head` events when `old` is empty.
    pub fn read(old: Vec<Chunk>, head: u64) -> Tail {
        let base = old.first().map_or(head, |chunk| chunk.first_version - 1);
        let slots = old
            .iter()
            .flat_map(|chunk| {
                (chunk.first_seq..)
                    .zip(&chunk.events)
                    .enumerate()
                    .map(|(i, (seq, event))| Slot {
                        seq,
                        event: event.clone(),
                        outbox: chunk.outbox.clone().filter(|_| i == 0),
                        snapshot: chunk
                            .snapshot
                            .clone()
                            .filter(|_| i + 1 == chunk.events.len()),
                        starts: i == 0,
                        added: false,
                    })
            })
            .collect();
        Tail { base, old, slots }
    }

    /// The stream's version at the tail's end.
    pub fn head(&self) -> u64 {
        self.base + self.slots.len() as u64
    }
}

/// The tails of a batch, by stream.
#[derive(Default)]
pub struct Tails {
    streams: BTreeMap<StreamId, Tail>,
    ids: HashMap<Uuid, (StreamId, u64)>,
    entries: HashMap<u64, StreamId>,
}

impl Tails {
    /// Adds the tail of `stream`.
    pub fn insert(&mut self, stream: StreamId, tail: Tail) {
        for slot in &tail.slots {
            self.index(&stream, slot);
        }
        self.streams.insert(stream, tail);
    }

    fn index(&mut self, stream: &StreamId, slot: &Slot) {
        self.ids
            .insert(slot.event.id, (stream.clone(), slot.event.version));
        if slot.outbox.is_some() {
            self.entries.insert(slot.seq, stream.clone());
        }
    }

    /// The tail of `stream` (loaded for every stream the batch names).
    pub fn get(&self, stream: &StreamId) -> Option<&Tail> {
        self.streams.get(stream)
    }

    /// Where event `id` is in the tails: its stream and version.
    pub fn find(&self, id: &Uuid) -> Option<&(StreamId, u64)> {
        self.ids.get(id)
    }

    /// The slot of `stream` at `version`.
    pub fn slot_mut(&mut self, stream: &StreamId, version: u64) -> Option<&mut Slot> {
        let tail = self.streams.get_mut(stream)?;
        let index = version.checked_sub(tail.base + 1)?;
        tail.slots.get_mut(index as usize)
    }

    /// Appends a slot to the tail of `stream`.
    pub fn push(&mut self, stream: &StreamId, slot: Slot) {
        self.index(stream, &slot);
        if let Some(tail) = self.streams.get_mut(stream) {
            tail.slots.push(slot);
        }
    }

    /// Removes the slots of `stream` from version `from` on.
    pub fn truncate(&mut self, stream: &StreamId, from: u64) {
        let Some(tail) = self.streams.get_mut(stream) else {
            return;
        };
        let cut = from.saturating_sub(tail.base + 1) as usize;
        for slot in tail.slots.drain(cut.min(tail.slots.len())..) {
            self.ids.remove(&slot.event.id);
            self.entries.remove(&slot.seq);
        }
    }

    /// Removes the outbox entry of sequence number `seq`; `false` when no slot holds it.
    pub fn drop_entry(&mut self, seq: u64) -> bool {
        let Some(stream) = self.entries.remove(&seq) else {
            return false;
        };
        let slot = self
            .streams
            .get_mut(&stream)
            .and_then(|tail| tail.slots.iter_mut().find(|slot| slot.seq == seq));
        match slot {
            Some(slot) => slot.outbox.take().is_some(),
            None => false,
        }
    }

    /// The tails, to write.
    pub fn into_tails(self) -> impl Iterator<Item = Tail> {
        self.streams.into_values()
    }
}
