//! The projector: runs projections over a store's transaction ([`DocTx`]), keeping the
//! consistency model of the module above (a confirmed base in server order, pending events on
//! top with undo records).

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::rc::Rc;

use serde::Serialize;

use super::fold::{Flow, Run};
use super::storage::{DocTx, Fold};
use super::warm::WarmDocCache;
use super::{Projection, ProjectionMode, ProjectionOptions, ProjectionState, namespace};
use crate::core::error::{Error, Result};
use crate::core::event::EventEnvelope;
use crate::core::event::StoredEvent;
use crate::core::personal::Shredder;
use crate::core::runtime::Clock;
use crate::core::stream::check_aggregate_type;
use crate::core::upcast::Upcasters;

/// A registered projection.
pub struct Registered {
    /// The projection.
    pub projection: Rc<dyn Projection>,
    /// How it runs.
    pub options: ProjectionOptions,
    indexes: Vec<String>,
}

impl Registered {
    /// The declared indexes.
    pub fn indexes(&self) -> &[String] {
        &self.indexes
    }
}

/// What a catch-up step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CatchUp {
    /// Events processed in this step.
    pub processed: u64,
    /// Whether there is nothing more to do now: the projection is up to date, stopped, or
    /// waits to retry a failed event (then `retry_at` says when).
    pub finished: bool,
    /// When a failed event (or, in the engine, a failed step) is tried next, in milliseconds
    /// since the epoch.
    pub retry_at: Option<i64>,
}

/// The projections of an engine.
pub struct Projector {
    registered: Vec<Registered>,
    shredder: Option<Rc<Shredder>>,
    upcasters: RefCell<Rc<Upcasters>>,
    clock: RefCell<Rc<dyn Clock>>,
    pub(super) forced_rebuilds: RefCell<HashSet<String>>,
    left_behind: Cell<bool>,
    /// The documents kept in memory between steps.
    pub(super) warm: WarmDocCache,
}

impl std::fmt::Debug for Projector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.registered.iter().map(|r| r.projection.name()))
            .finish()
    }
}

impl Projector {
    /// No projections; retries are timed by `clock`.
    pub fn new(clock: Rc<dyn Clock>) -> Self {
        Projector {
            registered: Vec::new(),
            shredder: None,
            upcasters: RefCell::default(),
            clock: RefCell::new(clock),
            forced_rebuilds: RefCell::default(),
            left_behind: Cell::new(false),
            warm: WarmDocCache::default(),
        }
    }

    /// Opens sealed personal data with `shredder` before projections see events.
    pub fn set_shredder(&mut self, shredder: Rc<Shredder>) {
        self.shredder = Some(shredder);
    }

    /// Shows projections events through `upcasters` (the engine's own, shared).
    pub fn set_upcasters(&self, upcasters: Rc<Upcasters>) {
        *self.upcasters.borrow_mut() = upcasters;
    }

    /// The upcasters events go through before projections see them.
    pub fn upcasters(&self) -> Rc<Upcasters> {
        self.upcasters.borrow().clone()
    }

    /// Takes the time of retries from `clock` (the engine's own).
    pub fn set_clock(&self, clock: Rc<dyn Clock>) {
        *self.clock.borrow_mut() = clock;
    }

    /// The current time, in milliseconds since the epoch.
    pub(super) fn now(&self) -> i64 {
        self.clock.borrow().now().millis()
    }

    /// `event` as projections see it: its personal data opened (or redacted).
    pub(super) fn reveal(&self, event: &EventEnvelope) -> Result<Option<EventEnvelope>> {
        match &self.shredder {
            Some(shredder) => shredder.reveal(event),
            None => Ok(None),
        }
    }

    /// Makes the next catch-up step of every projection start over from an empty read model
    /// (after a subject was forgotten, so no decrypted value of theirs stays behind).
    pub fn force_rebuilds(&self) {
        let mut forced = self.forced_rebuilds.borrow_mut();
        forced.extend(
            self.registered
                .iter()
                .map(|r| r.projection.name().to_owned()),
        );
    }

    /// Whether a forced rebuild of `name` waits for its first step.
    pub fn rebuild_forced(&self, name: &str) -> bool {
        self.forced_rebuilds.borrow().contains(name)
    }

    /// Registers a projection; names are unique and follow the aggregate type rule.
    pub fn add(
        &mut self,
        projection: Rc<dyn Projection>,
        options: ProjectionOptions,
    ) -> Result<()> {
        let name = projection.name().to_owned();
        check_aggregate_type(&name).map_err(|_| {
            Error::InvalidInput(format!(
                "projection name {name:?} must be 1-200 characters of A-Z a-z 0-9 . _ : @"
            ))
        })?;
        if self.get(&name).is_some() {
            return Err(Error::InvalidInput(format!(
                "projection {name} is already registered"
            )));
        }
        if projection.version() == 0 {
            return Err(Error::invalid("projection versions start at 1"));
        }
        if let ProjectionMode::Background { batch_size: 0 } = options.mode {
            return Err(Error::invalid(
                "a background projection's batch size must be at least 1",
            ));
        }
        let indexes = projection.indexes();
        self.registered.push(Registered {
            projection,
            options,
            indexes,
        });
        Ok(())
    }

    /// A registered projection by name.
    pub fn get(&self, name: &str) -> Option<&Registered> {
        self.registered.iter().find(|r| r.projection.name() == name)
    }

    /// A registered projection by name; `InvalidInput` naming the known ones otherwise.
    pub fn registered(&self, name: &str) -> Result<&Registered> {
        self.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.all().map(|r| r.projection.name()).collect();
            Error::InvalidInput(format!(
                "unknown projection {name:?} (known: {})",
                known.join(", ")
            ))
        })
    }

    /// Every registered projection.
    pub fn all(&self) -> impl Iterator<Item = &Registered> {
        self.registered.iter()
    }

    /// Whether any projection runs inline with commits.
    pub fn has_inline(&self) -> bool {
        self.registered
            .iter()
            .any(|r| r.options.mode == ProjectionMode::Inline)
    }

    /// Applies a commit's new pending events to every inline projection that is up to date and
    /// has seen every pending event before them. A projection that is rebuilding, waits to retry
    /// a failed event, or would be handed events out of order is left to the catch-up path
    /// (see [`Projector::take_left_behind`]); so is the rest of a commit after an event fails.
    /// Nothing here waits for anything but the store: it runs inside the commit's write.
    pub async fn on_commit<T: DocTx>(&self, tx: &T, events: &[StoredEvent]) -> Result<()> {
        let Some(first) = events.first() else {
            return Ok(());
        };
        for registered in self
            .registered
            .iter()
            .filter(|r| r.options.mode == ProjectionMode::Inline)
        {
            let name = registered.projection.name();
            let Some(mut state) = tx.state(name).await? else {
                self.left_behind.set(true);
                continue;
            };
            if state.stopped_at.is_some() {
                continue;
            }
            let current = state.version == registered.projection.version() && state.retry.is_none();
            if !current || !self.follows(tx, &state, first).await? {
                self.left_behind.set(true);
                continue;
            }
            let mut fold = state.fold();
            let page = self.prepare(events)?;
            let ns = namespace(name, state.version);
            let warm = self.warm.take(&ns, &state);
            let mut run = Run::new(registered, ns.clone(), &mut state, warm);
            run.base_empty = fold.checkpoint == 0;
            let mut looked_ahead = false;
            for index in 0..page.len() {
                match self
                    .process(tx, &mut run, &page, index, true, &mut looked_ahead)
                    .await?
                {
                    Flow::Next => {
                        fold.pending_upto = page[index].stored.seq;
                        fold.pending_applied += 1;
                    }
                    Flow::Halt => {
                        self.left_behind.set(true);
                        break;
                    }
                }
            }
            run.flush(tx)?;
            let warm = run.into_warm();
            state.set_fold(fold);
            self.warm.store(tx, &mut state, Some((ns, warm)))?;
        }
        Ok(())
    }

    /// Whether `first` is the next pending event the fold of `state` should see: no pending
    /// event between the last one it processed and `first` waits unprocessed.
    async fn follows<T: DocTx>(
        &self,
        tx: &T,
        state: &ProjectionState,
        first: &StoredEvent,
    ) -> Result<bool> {
        if first.seq <= state.pending_upto {
            return Ok(false);
        }
        if first.seq == state.pending_upto + 1 {
            return Ok(true);
        }
        Ok(tx.pending_count_upto(first.seq - 1).await? == state.pending_applied)
    }

    /// Whether a commit left events to the catch-up path since the last call (an inline
    /// projection that failed on one, was rebuilding, or waits to retry); resets the flag.
    pub fn take_left_behind(&self) -> bool {
        self.left_behind.replace(false)
    }

    /// Brings the inline projections up to date after confirmed events arrived or pending ones
    /// were removed, all within the same write.
    pub async fn after_sync<T: DocTx>(&self, tx: &T) -> Result<()> {
        for registered in self
            .registered
            .iter()
            .filter(|r| r.options.mode == ProjectionMode::Inline)
        {
            loop {
                let step = self
                    .catch_up(tx, registered.projection.name(), usize::MAX)
                    .await?;
                if step.finished {
                    break;
                }
            }
        }
        Ok(())
    }
}

impl ProjectionState {
    /// The fold of the version queries read.
    pub fn fold(&self) -> Fold {
        Fold {
            checkpoint: self.checkpoint,
            pending_upto: self.pending_upto,
            pending_applied: self.pending_applied,
        }
    }

    /// A projection that has built nothing yet.
    pub fn named(name: &str) -> Self {
        ProjectionState {
            name: name.to_owned(),
            ..Default::default()
        }
    }

    pub(super) fn set_fold(&mut self, fold: Fold) {
        self.checkpoint = fold.checkpoint;
        self.pending_upto = fold.pending_upto;
        self.pending_applied = fold.pending_applied;
    }
}
