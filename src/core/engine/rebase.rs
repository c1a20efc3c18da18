//! Deciding pending commands again after another device changed their aggregate first.
//!
//! Pure and synchronous: given the stream's confirmed history (the server's, as pulled) and the
//! stream's pending commands in order, each command is decided on the state the history and the
//! commands before it built. One that still holds gets new events — their ids derived from the
//! command id and the attempt, so a retry of the same rebase produces the same ids — and one
//! that no longer holds comes back with its domain error.

use serde_json::Value;

use super::Engine;
use crate::core::aggregate::ConflictPolicy;
use crate::core::error::{DomainError, Error, Result};
use crate::core::event::{EventEnvelope, EventMetadata};
use crate::core::outbox::OutboxEntry;
use crate::core::personal::REDACTED;
use crate::core::runtime::derived_event_id;
use crate::core::storage::{EventLog, KeyVault, ReadModelStore};
use crate::core::stream::check_event_type;

/// What deciding a pending command again gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Redecision {
    /// It still holds: its outbox entry for the new decision and its new events (none when on
    /// the new state it has nothing left to do).
    Holds {
        /// The entry, with its new expected version, event ids and attempt.
        entry: OutboxEntry,
        /// The new events, at the versions after the new base.
        events: Vec<EventEnvelope>,
    },
    /// It no longer holds.
    Refused {
        /// The entry as it was.
        entry: OutboxEntry,
        /// Why.
        error: DomainError,
    },
}

impl<S: EventLog + ReadModelStore + KeyVault> Engine<S> {
    /// What the aggregate of `entry` wants done with it after a conflict with `server_events`
    /// (handed to it opened and upcast, as every read path shows events).
    pub fn conflict_policy(
        &self,
        entry: &OutboxEntry,
        server_events: &[EventEnvelope],
    ) -> Result<ConflictPolicy> {
        let command = self
            .shredder
            .reveal_command(&entry.command_id, &entry.command)?;
        let server_events = self.upcast_all(server_events.to_vec())?;
        Ok(self
            .handler(&entry.aggregate_type)?
            .on_conflict(&command, &server_events))
    }

    /// Decides `pending` (one stream's commands, oldest first) again on top of `history` (the
    /// stream's confirmed events, in version order).
    pub fn redecide(
        &self,
        history: &[EventEnvelope],
        pending: &[OutboxEntry],
    ) -> Result<Vec<Redecision>> {
        let Some(first) = pending.first() else {
            return Ok(Vec::new());
        };
        let handler = self.handler(&first.aggregate_type)?.clone();
        let mut state = handler.initial_state()?;
        handler.evolve(&mut state, &self.upcast_all(history.to_vec())?)?;
        let mut version = history.last().map_or(0, |event| event.version);
        let now = self.clock.now();
        let mut outcomes = Vec::with_capacity(pending.len());
        for entry in pending {
            if entry.stream != first.stream {
                return Err(Error::invalid("redecide takes the commands of one stream"));
            }
            let command = self
                .shredder
                .reveal_command(&entry.command_id, &entry.command)?;
            if command == Value::String(REDACTED.to_owned()) {
                outcomes.push(Redecision::Refused {
                    entry: entry.clone(),
                    error: DomainError::new(
                        "subject_forgotten",
                        "the command's personal data was forgotten",
                    ),
                });
                continue;
            }
            let decided = match handler.decide(&state, &command) {
                Ok(decided) => decided,
                Err(Error::Domain(error)) => {
                    outcomes.push(Redecision::Refused {
                        entry: entry.clone(),
                        error,
                    });
                    continue;
                }
                Err(other) => return Err(other),
            };
            let attempt = entry.attempt + 1;
            let metadata = EventMetadata {
                correlation_id: entry.correlation_id.clone(),
                causation_id: entry.causation_id.clone(),
                command_id: Some(entry.command_id.clone()),
                client_id: Some(self.store.client_id().to_owned()),
                occurred_at: now,
            };
            let mut events = Vec::with_capacity(decided.len());
            for (index, event) in decided.into_iter().enumerate() {
                check_event_type(&event.event_type)?;
                events.push(EventEnvelope {
                    id: derived_event_id(&entry.command_id, attempt, index),
                    stream: entry.stream.clone(),
                    version: version + 1 + index as u64,
                    position: None,
                    event_type: event.event_type,
                    schema_version: event.schema_version,
                    data: event.data,
                    metadata: metadata.clone(),
                    recorded_at: None,
                });
            }
            handler.evolve(&mut state, &self.upcast_all(events.clone())?)?;
            self.shredder
                .seal_events(&entry.aggregate_type, &mut events)?;
            let redecided = OutboxEntry {
                expected_version: version,
                event_ids: events.iter().map(|event| event.id).collect(),
                attempt,
                ..entry.clone()
            };
            version += events.len() as u64;
            outcomes.push(Redecision::Holds {
                entry: redecided,
                events,
            });
        }
        Ok(outcomes)
    }
}
