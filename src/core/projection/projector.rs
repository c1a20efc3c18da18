//! The projector: runs projections over a store's transaction ([`DocTx`]), keeping the
//! consistency model of the module above (a confirmed base in server order, pending events on
//! top with undo records).

use std::collections::HashSet;
use std::rc::Rc;

use serde::Serialize;
use serde_json::Value;

use super::index::index_entries;
use super::storage::{DocTx, Fold, UndoEntry};
use super::view::{Known, View};
use super::{
    DeadLetter, OnFailure, Projection, ProjectionMode, ProjectionOptions, ProjectionState, Rebuild,
    namespace,
};
use crate::core::error::{Error, Result};
use crate::core::event::StoredEvent;
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
}

impl std::fmt::Debug for Projector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.registered.iter().map(|r| r.projection.name()))
            .finish()
    }
}

enum Applied {
    Done,
    Failed(Error),
}

impl Projector {
    /// No projections.
    pub fn new() -> Self {
        Self::default()
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
            for event in events {
                if let Some(stop) = self
                    .process(tx, registered, &ns, event, true, &mut known)
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

    async fn fold_step<T: DocTx>(
        &self,
        tx: &T,
        registered: &Registered,
        ns: &str,
        fold: &mut Fold,
        limit: usize,
    ) -> Result<(CatchUp, Option<u64>)> {
        let mut processed = 0usize;
        let mut known = Known::new();
        while processed < limit {
            let confirmed = tx
                .confirmed_after(fold.checkpoint, limit - processed)
                .await?;
            let Some(last) = confirmed.last() else { break };
            let last_position = last.event.position.unwrap_or(fold.checkpoint);
            if self.is_acknowledgement(tx, fold, &confirmed).await? {
                for event in &confirmed {
                    tx.delete_undo_of(ns, event.seq)?;
                }
                fold.pending_applied -= confirmed.len() as u64;
                processed += confirmed.len();
            } else {
                self.revert_pending(tx, registered, ns, fold, &mut known)
                    .await?;
                for event in &confirmed {
                    if let Some(stop) = self
                        .process(tx, registered, ns, event, false, &mut known)
                        .await?
                    {
                        return Ok((
                            CatchUp {
                                processed: processed as u64,
                                finished: true,
                            },
                            Some(stop),
                        ));
                    }
                    fold.checkpoint = event.event.position.unwrap_or(fold.checkpoint);
                    processed += 1;
                }
            }
            fold.checkpoint = last_position;
        }
        if fold.pending_applied != tx.pending_count_upto(fold.pending_upto).await? {
            self.revert_pending(tx, registered, ns, fold, &mut known)
                .await?;
        }
        while processed < limit {
            let pending = tx
                .pending_after(fold.pending_upto, limit - processed)
                .await?;
            if pending.is_empty() {
                return Ok((
                    CatchUp {
                        processed: processed as u64,
                        finished: true,
                    },
                    None,
                ));
            }
            for event in &pending {
                if let Some(stop) = self
                    .process(tx, registered, ns, event, true, &mut known)
                    .await?
                {
                    return Ok((
                        CatchUp {
                            processed: processed as u64,
                            finished: true,
                        },
                        Some(stop),
                    ));
                }
                fold.pending_upto = event.seq;
                fold.pending_applied += 1;
                processed += 1;
            }
        }
        Ok((
            CatchUp {
                processed: processed as u64,
                finished: false,
            },
            None,
        ))
    }

    /// Whether `confirmed` are exactly the oldest pending events this fold applied, in order:
    /// then their effects are already in place and only their undo records go.
    async fn is_acknowledgement<T: DocTx>(
        &self,
        tx: &T,
        fold: &Fold,
        confirmed: &[StoredEvent],
    ) -> Result<bool> {
        let seqs: Vec<u64> = confirmed.iter().map(|event| event.seq).collect();
        let ascending = seqs.windows(2).all(|pair| pair[0] < pair[1]);
        let applied = seqs.iter().all(|seq| *seq <= fold.pending_upto);
        if !ascending || !applied || fold.pending_applied < seqs.len() as u64 {
            return Ok(false);
        }
        let last = *seqs.last().unwrap_or(&0);
        let older_pending_remains = tx
            .first_pending_seq()
            .await?
            .is_some_and(|first| first < last);
        let none_removed = fold.pending_applied - seqs.len() as u64
            == tx.pending_count_upto(fold.pending_upto).await?;
        Ok(!older_pending_remains && none_removed)
    }

    /// Undoes every pending effect of the fold, newest first, leaving the confirmed base.
    async fn revert_pending<T: DocTx>(
        &self,
        tx: &T,
        registered: &Registered,
        ns: &str,
        fold: &mut Fold,
        known: &mut Known,
    ) -> Result<()> {
        let log = tx.undo_log(ns).await?;
        for entry in log.iter().rev() {
            self.write(tx, registered, ns, &entry.key, entry.before.as_ref())?;
        }
        tx.clear_undo(ns)?;
        known.clear();
        fold.pending_upto = 0;
        fold.pending_applied = 0;
        Ok(())
    }

    /// Applies one event; returns the sequence number it stopped at, if the projection stops.
    async fn process<T: DocTx>(
        &self,
        tx: &T,
        registered: &Registered,
        ns: &str,
        stored: &StoredEvent,
        pending: bool,
        known: &mut Known,
    ) -> Result<Option<u64>> {
        match self
            .apply(tx, registered, ns, stored, pending, known)
            .await?
        {
            Applied::Done => Ok(None),
            Applied::Failed(error) => {
                let skipped = registered.options.on_failure == OnFailure::Skip;
                tx.put_dead_letter(&DeadLetter {
                    projection: registered.projection.name().to_owned(),
                    seq: stored.seq,
                    event: stored.event.clone(),
                    code: match &error {
                        Error::Domain(domain) => domain.code.clone(),
                        other => other.code().to_owned(),
                    },
                    message: error.to_string(),
                    skipped,
                })?;
                Ok((!skipped).then_some(stored.seq))
            }
        }
    }

    async fn apply<T: DocTx>(
        &self,
        tx: &T,
        registered: &Registered,
        ns: &str,
        stored: &StoredEvent,
        pending: bool,
        known: &mut Known,
    ) -> Result<Applied> {
        let writes = loop {
            let mut view = View::new(known);
            let outcome = registered.projection.apply(&stored.event, &mut view);
            if view.misses().is_empty() {
                match outcome {
                    Ok(()) => break view.into_writes(),
                    Err(error) => return Ok(Applied::Failed(error)),
                }
            }
            let misses = view.misses().to_vec();
            for key in misses {
                let doc = tx.get_doc(ns, &key).await?;
                known.insert(key, doc);
            }
        };
        let unknown: Vec<String> = writes
            .keys()
            .filter(|key| !known.contains_key(*key))
            .cloned()
            .collect();
        for key in unknown {
            let doc = tx.get_doc(ns, &key).await?;
            known.insert(key, doc);
        }
        let mut written = HashSet::new();
        for (key, doc) in writes {
            if pending && written.insert(key.clone()) {
                let before = known.get(&key).cloned().flatten();
                tx.put_undo(&UndoEntry {
                    ns: ns.to_owned(),
                    seq: stored.seq,
                    key: key.clone(),
                    before,
                })?;
            }
            self.write(tx, registered, ns, &key, doc.as_ref())?;
            known.insert(key, doc);
        }
        Ok(Applied::Done)
    }

    fn write<T: DocTx>(
        &self,
        tx: &T,
        registered: &Registered,
        ns: &str,
        key: &str,
        doc: Option<&Value>,
    ) -> Result<()> {
        match doc {
            Some(doc) => tx.put_doc(ns, key, doc, &index_entries(&registered.indexes, doc)),
            None => tx.delete_doc(ns, key),
        }
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
