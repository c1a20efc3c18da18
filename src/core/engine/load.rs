//! Loading aggregates: the latest snapshot plus the events after it, and the state at any version.

use serde_json::Value;

use super::Engine;
use crate::core::aggregate::{Aggregate, AggregateHandler, State};
use crate::core::error::{Error, Result};
use crate::core::event::EventEnvelope;
use crate::core::storage::{EventLog, KeyVault, ReadModelStore};
use crate::core::stream::StreamId;

/// An aggregate's state and the version it includes.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Loaded<T> {
    /// The state after events 1..=version.
    pub state: T,
    /// The stream's version the state includes (0 for an aggregate with no events).
    pub version: u64,
}

impl<S: EventLog + ReadModelStore + KeyVault> Engine<S> {
    /// Loads a Rust aggregate's current state.
    pub async fn load<A: Aggregate>(&self, id: &str) -> Result<Loaded<A>> {
        let (handler, stream) = self.resolve(A::TYPE, id)?;
        let (state, version) = self.load_state(handler.as_ref(), &stream, None).await?;
        Ok(Loaded {
            state: downcast::<A>(state)?,
            version,
        })
    }

    /// Loads an aggregate's current state as JSON.
    pub async fn load_json(&self, aggregate_type: &str, id: &str) -> Result<Loaded<Value>> {
        let (handler, stream) = self.resolve(aggregate_type, id)?;
        let (state, version) = self.load_state(handler.as_ref(), &stream, None).await?;
        Ok(Loaded {
            state: handler.state_to_json(&state)?,
            version,
        })
    }

    /// The state of a Rust aggregate after version `version` (temporal query).
    pub async fn state_at<A: Aggregate>(&self, id: &str, version: u64) -> Result<Loaded<A>> {
        let (handler, stream) = self.resolve(A::TYPE, id)?;
        let (state, reached) = self
            .load_state(handler.as_ref(), &stream, Some(version))
            .await?;
        check_reached(&stream, version, reached)?;
        Ok(Loaded {
            state: downcast::<A>(state)?,
            version: reached,
        })
    }

    /// The state of an aggregate after version `version`, as JSON (temporal query).
    pub async fn state_at_json(
        &self,
        aggregate_type: &str,
        id: &str,
        version: u64,
    ) -> Result<Loaded<Value>> {
        let (handler, stream) = self.resolve(aggregate_type, id)?;
        let (state, reached) = self
            .load_state(handler.as_ref(), &stream, Some(version))
            .await?;
        check_reached(&stream, version, reached)?;
        Ok(Loaded {
            state: handler.state_to_json(&state)?,
            version: reached,
        })
    }

    /// Every event of an aggregate's stream, upcast, in version order.
    pub async fn history(&self, aggregate_type: &str, id: &str) -> Result<Vec<EventEnvelope>> {
        let (_, stream) = self.resolve(aggregate_type, id)?;
        self.ensure_keys().await?;
        let result = self.history_once(&stream).await;
        if self.retry_with_new_keys(&result).await? {
            return self.history_once(&stream).await;
        }
        result
    }

    async fn history_once(&self, stream: &StreamId) -> Result<Vec<EventEnvelope>> {
        let mut events = Vec::new();
        self.for_each_page(stream, 1, None, |page| {
            events.extend_from_slice(page);
            Ok(true)
        })
        .await?;
        Ok(events)
    }

    /// Folds an aggregate from its latest usable snapshot, up to `until` when given.
    pub(super) async fn load_state(
        &self,
        handler: &dyn AggregateHandler,
        stream: &StreamId,
        until: Option<u64>,
    ) -> Result<(State, u64)> {
        self.ensure_keys().await?;
        let result = self.load_state_once(handler, stream, until).await;
        if self.retry_with_new_keys(&result).await? {
            return self.load_state_once(handler, stream, until).await;
        }
        result
    }

    async fn load_state_once(
        &self,
        handler: &dyn AggregateHandler,
        stream: &StreamId,
        until: Option<u64>,
    ) -> Result<(State, u64)> {
        // State holds decrypted personal data: such aggregates neither take nor use snapshots.
        let snapshot = match self.store.latest_snapshot(stream).await? {
            _ if self.shredder.declares(handler.aggregate_type()) => None,
            Some(snapshot)
                if snapshot.state_version == handler.state_version()
                    && snapshot.version > 0
                    && until.is_none_or(|until| snapshot.version <= until) =>
            {
                Some(snapshot)
            }
            _ => None,
        };
        if let Some(snapshot) = snapshot {
            // The snapshot's own last event is read again: the fold starts from the snapshot
            // only while the log still holds that very event at that version.
            let mut state = handler.state_from_json(&snapshot.state)?;
            let mut version = snapshot.version;
            let mut first = true;
            let mut stale = false;
            self.for_each_page(stream, snapshot.version, until, |page| {
                let page = match first {
                    true => {
                        first = false;
                        match page.split_first() {
                            Some((head, rest)) if snapshot.matches(head) => rest,
                            _ => {
                                stale = true;
                                return Ok(false);
                            }
                        }
                    }
                    false => page,
                };
                handler.evolve(&mut state, page)?;
                version = page.last().map_or(version, |event| event.version);
                Ok(true)
            })
            .await?;
            if !stale {
                return Ok((state, version));
            }
        }
        let mut state = handler.initial_state()?;
        let mut version = 0;
        self.for_each_page(stream, 1, until, |page| {
            handler.evolve(&mut state, page)?;
            version = page.last().map_or(version, |event| event.version);
            Ok(true)
        })
        .await?;
        Ok((state, version))
    }

    /// Reads `stream` from `from` (up to `until`) in pages, upcasting each page, while `visit`
    /// answers `true`.
    async fn for_each_page(
        &self,
        stream: &StreamId,
        mut from: u64,
        until: Option<u64>,
        mut visit: impl FnMut(&[EventEnvelope]) -> Result<bool>,
    ) -> Result<()> {
        let page_size = self.config.read_page_size.max(1);
        loop {
            let limit = match until {
                Some(until) if until < from => return Ok(()),
                Some(until) => page_size.min((until - from + 1) as usize),
                None => page_size,
            };
            let page = self.store.read_stream(stream, from, limit).await?;
            let count = page.len();
            let page = self.upcast_all(page)?;
            if !visit(&page)? || count < limit {
                return Ok(());
            }
            from += count as u64;
        }
    }

    /// Opens the personal data of `events`, then upcasts them.
    pub(super) fn upcast_all(&self, events: Vec<EventEnvelope>) -> Result<Vec<EventEnvelope>> {
        let events = self.shredder.reveal_all(events)?;
        if self.upcasters.is_empty() {
            return Ok(events);
        }
        events
            .into_iter()
            .map(|event| self.upcasters.upcast(event))
            .collect()
    }
}

fn check_reached(stream: &StreamId, asked: u64, reached: u64) -> Result<()> {
    if reached < asked {
        return Err(Error::NotFound(format!(
            "stream {stream} has {reached} events; version {asked} does not exist"
        )));
    }
    Ok(())
}

fn downcast<A: Aggregate>(state: State) -> Result<A> {
    state.downcast::<A>().map(|state| *state).map_err(|_| {
        Error::InvalidInput(format!(
            "aggregate {} is registered with another handler",
            A::TYPE
        ))
    })
}
