//! Warm aggregates: the state of the aggregates this engine decided on lately, kept in memory
//! after a command commits, so that the next command on one of them reads nothing it knows.
//!
//! An entry names the stream's head it was folded to (version and event id). The store checks
//! that head in the command's own write before the state is used; anything that changed the
//! stream since (another tab's command, a sync that dropped, replaced or added events) moved
//! or replaced the head, and the command folds the stream as usual. Event ids are never
//! reused: events decided again get new ids, so an unchanged head means an unchanged stream.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::core::aggregate::State;
use crate::core::event::EventEnvelope;
use crate::core::stream::{StreamHead, StreamId};

/// The most events a warm state keeps unfolded: a command with more leaves its aggregate cold.
pub(super) const MAX_UNFOLDED: usize = 100;

/// One aggregate's state at a head: `state` folded up to before `unfolded`, the events of the
/// last command, which are folded in only when the next command uses the state (a command on
/// a new aggregate, never followed by another, then costs nothing more).
pub(super) struct WarmState {
    pub(super) head: StreamHead,
    pub(super) state: State,
    pub(super) unfolded: Vec<EventEnvelope>,
}

/// The warm states of one engine, at most `capacity` of them.
pub(super) struct WarmCache {
    capacity: usize,
    entries: RefCell<HashMap<StreamId, WarmState>>,
}

impl WarmCache {
    /// A cache of at most `capacity` aggregates (0 keeps none).
    pub(super) fn new(capacity: usize) -> Self {
        WarmCache {
            capacity,
            entries: RefCell::default(),
        }
    }

    /// Takes the warm state of `stream` out of the cache (it comes back after the command).
    pub(super) fn take(&self, stream: &StreamId) -> Option<WarmState> {
        self.entries.borrow_mut().remove(stream)
    }

    /// Keeps `warm` as the state of `stream`.
    pub(super) fn keep(&self, stream: &StreamId, warm: WarmState) {
        if self.capacity == 0 || warm.unfolded.len() > MAX_UNFOLDED {
            return;
        }
        let mut entries = self.entries.borrow_mut();
        if entries.len() >= self.capacity && !entries.contains_key(stream) {
            // Any entry may go: a miss costs one fold, as without the cache.
            if let Some(evicted) = entries.keys().next().cloned() {
                entries.remove(&evicted);
            }
        }
        entries.insert(stream.clone(), warm);
    }

    /// Forgets every warm state.
    pub(super) fn clear(&self) {
        self.entries.borrow_mut().clear();
    }
}
