//! The projector: runs projections over a store's transaction ([`DocTx`]), keeping the
//! consistency model of the module above (a confirmed base in server order, pending events on
//! top with undo records).

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

use serde::Serialize;

use super::storage::{DocTx, Fold};
use super::view::Known;
use super::{Projection, ProjectionMode, ProjectionOptions, ProjectionState, Rebuild, namespace};
use crate::core::error::{Error, Result};
use crate::core::event::EventEnvelope;
use crate::core::event::StoredEvent;
use crate::core::personal::Shredder;
use crate::core::stream::check_aggregate_type;

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
    /// Whether the projection is now up to date (or stopped).
    pub finished: bool,
}

/// The projections of an engine.
#[derive(Default)]
pub struct Projector {
    registered: Vec<Registered>,
    shredder: Option<Rc<Shredder>>,
    forced_rebuilds: RefCell<HashSet<String>>,
}

impl std::fmt::Debug for Projector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.registered.iter().map(|r| r.projection.name()))
            .finish()
    }
}

/// The outcome of applying one event.
pub(super) enum Applied {
    Done,
    Failed(Error),
}

impl Projector {
    /// No projections.
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens sealed personal data with `shredder` before projections see events.
    pub fn set_shredder(&mut self, shredder: Rc<Shredder>) {
        self.shredder = Some(shredder);
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

    /// Applies a commit's new pending events to every inline projection that is up to date.
    pub async fn on_commit<T: DocTx>(&self, tx: &T, events: &[StoredEvent]) -> Result<()> {
        for registered in self
            .registered
            .iter()
            .filter(|r| r.options.mode == ProjectionMode::Inline)
        {
            let name = registered.projection.name();
            let Some(mut state) = tx.state(name).await? else {
                continue;
            };
            let current =
                state.version == registered.projection.version() && state.stopped_at.is_none();
            let in_order = events
                .first()
                .is_some_and(|first| first.seq > state.fold().pending_upto);
            if !current || !in_order {
                continue;
            }
            let ns = namespace(name, state.version);
            let mut fold = state.fold();
            let mut known = Known::new();
            let mut ahead = Some(events);
            for event in events {
                if let Some(stop) = self
                    .process(tx, registered, &ns, event, true, &mut known, &mut ahead)
                    .await?
                {
                    state.stopped_at = Some(stop);
                    break;
                }
                fold.pending_upto = event.seq;
                fold.pending_applied += 1;
            }
            state.set_fold(fold);
            tx.put_state(&state)?;
        }
        Ok(())
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

    /// One step of catching up projection `name` (up to `limit` events): starts or continues a
    /// rebuild when its version changed, folds newly confirmed events, then applies pending ones.
    pub async fn catch_up<T: DocTx>(&self, tx: &T, name: &str, limit: usize) -> Result<CatchUp> {
        let registered = self
            .get(name)
            .ok_or_else(|| Error::InvalidInput(format!("unknown projection {name:?}")))?;
        let version = registered.projection.version();
        let mut state = match tx.state(name).await? {
            Some(state) => state,
            None => ProjectionState {
                name: name.to_owned(),
                version: 0,
                ..Default::default()
            },
        };
        if self.forced_rebuilds.borrow_mut().remove(name) {
            for ns in std::iter::once(state.version)
                .chain(state.rebuild.as_ref().map(|rebuild| rebuild.version))
                .map(|version| namespace(name, version))
            {
                tx.clear_namespace(&ns)?;
                tx.clear_undo(&ns)?;
            }
            state = ProjectionState {
                name: name.to_owned(),
                version: 0,
                ..Default::default()
            };
        }
        if state.stopped_at.is_some() {
            return Ok(CatchUp {
                processed: 0,
                finished: true,
            });
        }
        let rebuilding = state.version != version;
        if rebuilding
            && state
                .rebuild
                .as_ref()
                .is_none_or(|rebuild| rebuild.version != version)
        {
            let stale = state
                .rebuild
                .take()
                .map(|rebuild| namespace(name, rebuild.version));
            if let Some(stale) = stale {
                tx.clear_namespace(&stale)?;
                tx.clear_undo(&stale)?;
            }
            state.rebuild = Some(Rebuild {
                version,
                total: tx.event_count().await?,
                ..Default::default()
            });
        }
        let target_version = if rebuilding { version } else { state.version };
        let ns = namespace(name, target_version);
        let mut fold = if rebuilding {
            state.rebuild.as_ref().map(|r| r.fold).unwrap_or_default()
        } else {
            state.fold()
        };
        let (step, stopped_at) = self
            .fold_step(tx, registered, &ns, &mut fold, limit)
            .await?;
        state.stopped_at = stopped_at;
        if rebuilding {
            let rebuild = state.rebuild.as_mut().expect("a rebuild was started above");
            rebuild.fold = fold;
            rebuild.done += step.processed;
            if step.finished && stopped_at.is_none() {
                let old = namespace(name, state.version);
                tx.clear_namespace(&old)?;
                tx.clear_undo(&old)?;
                state.version = version;
                state.rebuild = None;
                state.set_fold(fold);
            }
        } else {
            state.set_fold(fold);
        }
        tx.put_state(&state)?;
        Ok(CatchUp {
            processed: step.processed,
            finished: step.finished && !rebuilding_left(&state, version),
        })
    }
}

fn rebuilding_left(state: &ProjectionState, version: u32) -> bool {
    state.version != version && state.stopped_at.is_none()
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

    fn set_fold(&mut self, fold: Fold) {
        self.checkpoint = fold.checkpoint;
        self.pending_upto = fold.pending_upto;
        self.pending_applied = fold.pending_applied;
    }
}
