//! Confirming pushed commands from the push's own answers. An answer says where the server
//! placed each accepted command (positions, `recordedAt`), so its events need no pull to become
//! confirmed; they are confirmed once every position from the pull checkpoint up to them is
//! accounted for — by this device's placed commands, or by a pull of the gaps between them
//! (other devices' events) — since confirmed events never lie beyond the checkpoint.
//!
//! Until then they are *held*: in memory, not pushed again. Held commands outlive a failed
//! round (they are on the server whatever happens next); after a restart the memory is gone,
//! the commands are pushed again and the server answers the same places.

use std::collections::{BTreeMap, HashSet};

use crate::core::EventEnvelope;
use crate::protocol::AppendResponse;

/// A command the server accepted, its events as the server placed them.
#[derive(Debug, Clone)]
pub(super) struct Accepted {
    /// Its outbox entry's sequence number.
    pub seq: u64,
    /// Its events, with their positions and commit time.
    pub events: Vec<EventEnvelope>,
}

impl Accepted {
    fn first(&self) -> u64 {
        self.events
            .first()
            .and_then(|event| event.position)
            .unwrap_or(0)
    }

    fn last(&self) -> u64 {
        self.events
            .last()
            .and_then(|event| event.position)
            .unwrap_or(0)
    }
}

/// Accepted commands waiting for the positions below them, by their first position.
#[derive(Debug, Default)]
pub(super) struct Held {
    by_first: BTreeMap<u64, Accepted>,
    seqs: HashSet<u64>,
}

impl Held {
    /// How many events are held.
    pub fn events(&self) -> usize {
        self.by_first.values().map(|a| a.events.len()).sum()
    }

    /// The outbox entries of the held commands.
    pub fn seqs(&self) -> impl Iterator<Item = u64> + '_ {
        self.seqs.iter().copied()
    }

    /// Whether the command of outbox entry `seq` is held.
    pub fn holds(&self, seq: u64) -> bool {
        self.seqs.contains(&seq)
    }

    /// Holds `accepted` until it can be confirmed.
    pub fn insert(&mut self, accepted: Accepted) {
        if accepted.events.is_empty() || !self.seqs.insert(accepted.seq) {
            return;
        }
        self.by_first.insert(accepted.first(), accepted);
    }

    /// The last position reached from `from` through held commands without a gap.
    pub fn reach(&self, from: u64) -> u64 {
        let mut at = from;
        for accepted in self.by_first.values() {
            if accepted.last() <= at {
                continue;
            }
            if accepted.first() > at + 1 {
                break;
            }
            at = accepted.last();
        }
        at
    }

    /// The positions held, as `(first, last)` ranges in order.
    pub fn ranges(&self) -> Vec<(u64, u64)> {
        self.by_first
            .values()
            .map(|accepted| (accepted.first(), accepted.last()))
            .collect()
    }

    /// The highest position held.
    pub fn last(&self) -> Option<u64> {
        self.by_first.values().map(Accepted::last).max()
    }

    /// Takes out the commands whose events all lie at or below `through`.
    pub fn take_through(&mut self, through: u64) -> Vec<Accepted> {
        let keys: Vec<u64> = self
            .by_first
            .iter()
            .filter(|(_, accepted)| accepted.last() <= through)
            .map(|(first, _)| *first)
            .collect();
        let mut taken = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(accepted) = self.by_first.remove(&key) {
                self.seqs.remove(&accepted.seq);
                taken.push(accepted);
            }
        }
        taken
    }

    /// Holds again commands taken out for a write that failed.
    pub fn restore(&mut self, taken: Vec<Accepted>) {
        for accepted in taken {
            self.insert(accepted);
        }
    }
}

/// The events of one command placed where an answer says: the command's events start `skip`
/// events after the answer's first one. `None` when the answer does not say when the events
/// were committed (an older server), or its versions are not the command's.
pub(super) fn place(
    events: &[EventEnvelope],
    response: &AppendResponse,
    skip: u64,
) -> Option<Vec<EventEnvelope>> {
    let recorded_at = response.recorded_at?;
    let mut placed = Vec::with_capacity(events.len());
    for (event, n) in events.iter().zip(skip..) {
        let position = response.first_position + n;
        if event.version != response.first_version + n || position > response.last_position {
            return None;
        }
        let mut event = event.clone();
        event.position = Some(position);
        event.recorded_at = Some(recorded_at);
        placed.push(event);
    }
    Some(placed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{EventMetadata, StreamId, Timestamp};

    fn event(version: u64) -> EventEnvelope {
        EventEnvelope {
            id: uuid::Uuid::from_u128(u128::from(version)),
            stream: StreamId::parse("s").unwrap(),
            version,
            position: None,
            event_type: "E".into(),
            schema_version: 1,
            data: serde_json::Value::Null,
            metadata: EventMetadata::default(),
            recorded_at: None,
        }
    }

    fn accepted(seq: u64, first: u64, n: u64) -> Accepted {
        let events = (0..n)
            .map(|i| {
                let mut event = event(i + 1);
                event.position = Some(first + i);
                event
            })
            .collect();
        Accepted { seq, events }
    }

    #[test]
    fn held_commands_are_confirmed_up_to_the_first_gap() {
        let mut held = Held::default();
        held.insert(accepted(1, 11, 2));
        held.insert(accepted(3, 16, 1));
        held.insert(accepted(2, 13, 2));
        assert_eq!(held.reach(10), 14, "11–14 follow 10; 15 is missing");
        assert_eq!(held.reach(9), 9, "10 is missing");
        assert_eq!(held.reach(15), 16);
        assert_eq!(held.ranges(), vec![(11, 12), (13, 14), (16, 16)]);
        let taken = held.take_through(14);
        assert_eq!(taken.iter().map(|a| a.seq).collect::<Vec<_>>(), vec![1, 2]);
        assert!(held.holds(3) && !held.holds(1));
        held.restore(taken);
        assert_eq!(held.events(), 5);
    }

    #[test]
    fn an_answer_places_a_command_after_the_ones_before_it() {
        let events: Vec<EventEnvelope> = (3..=4).map(event).collect();
        let mut response = AppendResponse {
            stream: StreamId::parse("s").unwrap(),
            first_version: 1,
            last_version: 4,
            first_position: 20,
            last_position: 23,
            recorded_at: Some(Timestamp(9)),
        };
        let placed = place(&events, &response, 2).unwrap();
        assert_eq!(placed[0].position, Some(22));
        assert_eq!(placed[1].position, Some(23));
        assert_eq!(placed[1].recorded_at, Some(Timestamp(9)));
        assert!(place(&events, &response, 1).is_none(), "versions differ");
        response.recorded_at = None;
        assert!(place(&events, &response, 2).is_none(), "an older server");
    }
}
