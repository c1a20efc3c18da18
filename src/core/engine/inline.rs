//! A command decided inside the store's write: the load, the decision and the commit in one
//! atomic step (one IndexedDB transaction), where the store can.
//!
//! The store hands [`InlineCommand`] the latest snapshot and the events after it; the fold and
//! the decision are synchronous, so nothing but the store's own requests is awaited while its
//! write is open. Commands with an idempotency key, and engines holding personal data (whose
//! keys are read and saved with awaits of their own), go in steps instead.
//!
//! An aggregate the engine decided on lately is warm (see [`super::warm`]): the command offers
//! its state and head, and a store that finds the stream still ending there reads nothing
//! more. After the decision, the state it leads to is kept warm for the next command.

use super::Engine;
use super::execute::CommandContext;
use super::warm::WarmState;
use crate::core::aggregate::{AggregateHandler, State};
use crate::core::error::{Error, Result};
use crate::core::event::EventEnvelope;
use crate::core::snapshot::Snapshot;
use crate::core::storage::{Commit, Decision, EventLog, KeyVault, ReadModelStore};
use crate::core::stream::{StreamHead, StreamId};

/// One command's load and decision, as a [`Decision`] a store runs inside its write.
pub(super) struct InlineCommand<'a, 'c, S: EventLog + ReadModelStore + KeyVault> {
    engine: &'a Engine<S>,
    handler: &'a dyn AggregateHandler,
    context: &'a CommandContext<'c>,
    state: Option<State>,
    /// The stream's version the folded state includes.
    pub(super) version: u64,
    /// The newest event folded into the state.
    head: StreamHead,
    /// The state the engine kept warm for this stream, until the store resumes or starts.
    warm: Option<WarmState>,
    /// Whether the decision was made on the warm state.
    pub(super) resumed: bool,
    /// The state after the decision, to keep warm once the commit landed.
    after: Option<WarmState>,
    /// The snapshot started from, until the first page shows the log still holds its event.
    unchecked: Option<Snapshot>,
    /// Set when the log no longer holds the snapshot's event: the command then goes in steps,
    /// which fold from the first event.
    pub(super) stale_snapshot: bool,
}

impl<'a, 'c, S: EventLog + ReadModelStore + KeyVault> InlineCommand<'a, 'c, S> {
    /// A command of `context` on the aggregate of `handler`.
    pub(super) fn new(
        engine: &'a Engine<S>,
        handler: &'a dyn AggregateHandler,
        context: &'a CommandContext<'c>,
    ) -> Self {
        InlineCommand {
            engine,
            handler,
            context,
            state: None,
            version: 0,
            head: StreamHead::of(None),
            warm: engine.warm.take(&context.stream),
            resumed: false,
            after: None,
            unchecked: None,
            stale_snapshot: false,
        }
    }

    /// Keeps the state the decision led to warm for the next command: call it once the
    /// decision's outcome stands (committed, nothing to write, or refused by the aggregate).
    pub(super) fn keep_warm(&mut self) {
        if let Some(warm) = self.after.take() {
            self.engine.warm.keep(&self.context.stream, warm);
        }
    }

    /// Whether `engine` can run this command inside the store's write.
    pub(super) fn fits(engine: &Engine<S>, context: &CommandContext<'_>) -> bool {
        context.options.idempotency_key.is_none() && !engine.shredder.is_active()
    }
}

fn stale(stream: &StreamId) -> Error {
    Error::Storage(
        format!(
            "the snapshot of {stream} no longer matches its log; it is folded from the first event"
        )
        .into(),
    )
}

fn not_started() -> Error {
    Error::Storage("the store folded events before handing over the snapshot".into())
}

impl<S: EventLog + ReadModelStore + KeyVault> Decision for InlineCommand<'_, '_, S> {
    fn page_size(&self) -> usize {
        self.engine.config.read_page_size.max(1)
    }

    fn runs_projections(&self) -> bool {
        self.engine.projector.has_inline()
    }

    fn warm_head(&self) -> Option<StreamHead> {
        self.warm.as_ref().map(|warm| warm.head)
    }

    fn resume(&mut self) -> Result<()> {
        let WarmState {
            head,
            mut state,
            unfolded,
        } = self.warm.take().ok_or_else(not_started)?;
        if !unfolded.is_empty() {
            self.handler
                .evolve(&mut state, &self.engine.upcast_all(unfolded)?)?;
        }
        self.head = head;
        self.version = head.version;
        self.state = Some(state);
        self.resumed = true;
        Ok(())
    }

    fn start(&mut self, snapshot: Option<Snapshot>) -> Result<u64> {
        self.warm = None;
        let usable = snapshot.filter(|snapshot| {
            snapshot.state_version == self.handler.state_version() && snapshot.version > 0
        });
        let (state, version) = match &usable {
            Some(snapshot) => (
                self.handler.state_from_json(&snapshot.state)?,
                snapshot.version,
            ),
            None => (self.handler.initial_state()?, 0),
        };
        self.state = Some(state);
        self.version = version;
        // The snapshot's own last event is read again, to check that the log still holds it.
        let from = usable.as_ref().map_or(0, |snapshot| snapshot.version - 1);
        self.unchecked = usable;
        Ok(from)
    }

    fn fold(&mut self, page: Vec<EventEnvelope>) -> Result<()> {
        let mut page = self.engine.upcast_all(page)?;
        if let Some(snapshot) = self.unchecked.take() {
            if !page.first().is_some_and(|head| snapshot.matches(head)) {
                self.stale_snapshot = true;
                return Err(stale(&snapshot.stream));
            }
            self.head = StreamHead::of(Some(&page.remove(0)));
        }
        let state = self.state.as_mut().ok_or_else(not_started)?;
        self.handler.evolve(state, &page)?;
        if let Some(last) = page.last() {
            self.version = last.version;
            self.head = StreamHead::of(Some(last));
        }
        Ok(())
    }

    fn decide(&mut self) -> Result<Option<Commit>> {
        let mut state = self.state.take().ok_or_else(not_started)?;
        let context = self.context;
        if let Some(expected) = context.options.expected_version {
            if !expected.admits(self.version) {
                return Err(Error::Conflict {
                    stream: context.stream.to_string(),
                    expected,
                    actual: self.version,
                });
            }
        }
        let decided = match self.handler.decide(&state, context.command) {
            Ok(decided) => decided,
            Err(error) => {
                self.after = Some(WarmState {
                    head: self.head,
                    state,
                    unfolded: Vec::new(),
                });
                return Err(error);
            }
        };
        let commit =
            self.engine
                .prepare(self.handler, context, &mut state, self.version, decided)?;
        self.after = Some(match &commit {
            Some(commit) if !commit.events.is_empty() => WarmState {
                head: StreamHead::of(commit.events.last()),
                state,
                // A snapshot's state already folds the new events in.
                unfolded: match commit.snapshot {
                    Some(_) => Vec::new(),
                    None => commit.events.clone(),
                },
            },
            _ => WarmState {
                head: self.head,
                state,
                unfolded: Vec::new(),
            },
        });
        Ok(commit)
    }
}
