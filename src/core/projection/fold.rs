//! How the projector folds events into one projection namespace: newly confirmed events onto
//! the base (or only dropping undo records when they are our own acknowledged events), then
//! pending events on top with undo records; a failing event halts the fold (see `failure.rs`).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde_json::Value;

use super::ProjectionState;
use super::index::index_entries;
use super::prepare::Prepared;
use super::projector::{Projector, Registered};
use super::storage::{DocTx, Fold, UndoEntry};
use super::undo::{ABSENT_BY_DEFAULT, UNDO_BASE};
use super::view::{SharedKnown, View};
use super::warm::Warm;
use crate::core::error::{Error, Result};
use crate::core::event::{EventEnvelope, StoredEvent};

/// One fold's working set: the projection, the namespace it writes, its stored state (which
/// failures change: `retry`, `passed`, `stopped_at`), the documents read so far, and the keys
/// of the documents with an undo record (once read).
pub(super) struct Run<'r> {
    pub registered: &'r Registered,
    pub ns: String,
    pub state: &'r mut ProjectionState,
    pub known: SharedKnown,
    pub undone: Option<HashSet<String>>,
    /// Documents written in `known` and not stored yet: a step stores each once, at its end.
    pub dirty: BTreeSet<String>,
    /// Undo bases recorded and not stored yet (stored with the documents).
    pub bases: BTreeMap<String, Option<Value>>,
    /// Set when the fold wrote to the store itself or changed the state: its step must store.
    pub must_store: bool,
    /// Whether `known` holds every document of the namespace (a key it lacks is absent).
    pub complete: bool,
    /// Whether the namespace's base is empty (no confirmed event folded in).
    pub base_empty: bool,
    /// Whether the undo log says that every document without a base record had none.
    pub absent_by_default: bool,
    /// Whether that record is still to be stored.
    pub absent_unstored: bool,
}

impl<'r> Run<'r> {
    /// A fold of `registered` into namespace `ns`, knowing what `warm` knows already.
    pub fn new(
        registered: &'r Registered,
        ns: String,
        state: &'r mut ProjectionState,
        warm: Warm,
    ) -> Self {
        Run {
            registered,
            ns,
            state,
            known: warm.known,
            undone: warm.undone,
            dirty: warm.dirty,
            bases: warm.bases,
            must_store: false,
            complete: warm.complete,
            base_empty: false,
            absent_by_default: warm.absent_by_default,
            absent_unstored: warm.absent_unstored,
        }
    }

    /// Learns documents `keys` (an absent one as `None`): read together from the store, unless
    /// `known` holds every document of the namespace already.
    pub async fn learn<T: DocTx>(&mut self, tx: &T, keys: Vec<String>) -> Result<()> {
        let docs = if self.complete {
            vec![None; keys.len()]
        } else {
            tx.get_docs(&self.ns, &keys).await?
        };
        self.known.borrow_mut().extend(keys.into_iter().zip(docs));
        Ok(())
    }

    /// Stores every document written and every undo base recorded since the last call, each
    /// once.
    pub fn flush<T: DocTx>(&mut self, tx: &T) -> Result<()> {
        for key in std::mem::take(&mut self.dirty) {
            let doc = self.known.borrow().get(&key).cloned().flatten();
            write(tx, self, &key, doc.as_ref())?;
        }
        if std::mem::take(&mut self.absent_unstored) {
            tx.put_undo(&UndoEntry {
                ns: self.ns.clone(),
                seq: ABSENT_BY_DEFAULT,
                key: String::new(),
                before: None,
            })?;
        }
        for (key, before) in std::mem::take(&mut self.bases) {
            tx.put_undo(&UndoEntry {
                ns: self.ns.clone(),
                seq: UNDO_BASE,
                key,
                before,
            })?;
        }
        Ok(())
    }

    /// Stores what is recorded so far (see [`Run::flush`]) because the fold is about to read or
    /// change the store's undo log itself; its step then stores its state too.
    pub fn store_now<T: DocTx>(&mut self, tx: &T) -> Result<()> {
        self.must_store = true;
        self.flush(tx)
    }

    /// What this fold knows, for the next one, with its writes not stored yet (none after
    /// [`Run::flush`]).
    pub fn into_warm(self) -> Warm {
        Warm {
            known: self.known,
            undone: self.undone,
            dirty: self.dirty,
            bases: self.bases,
            build: None,
            complete: self.complete,
            absent_by_default: self.absent_by_default,
            absent_unstored: self.absent_unstored,
        }
    }
}

/// Whether a fold goes on after an event.
pub(super) enum Flow {
    /// The event was applied, or passed over: go on with the next.
    Next,
    /// The event failed: the fold stops there (stopped, or waiting for a retry).
    Halt,
}

/// How a fold step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    /// Every event is in.
    CaughtUp,
    /// It reached its limit with events left.
    More,
    /// An event failed (see the state's `retry` and `stopped_at`).
    Halted,
}

/// The outcome of applying one event.
enum Applied {
    Done,
    Failed(Error),
}

impl Projector {
    /// Folds up to `limit` events into the run's namespace: newly confirmed ones onto the base,
    /// then pending ones on top; returns how many it processed and how it ended.
    pub(super) async fn fold_step<T: DocTx>(
        &self,
        tx: &T,
        run: &mut Run<'_>,
        fold: &mut Fold,
        limit: usize,
    ) -> Result<(u64, End)> {
        let mut processed = 0usize;
        while processed < limit {
            let confirmed = tx
                .confirmed_after(fold.checkpoint, limit - processed)
                .await?;
            let Some(last) = confirmed.last() else { break };
            let last_position = last.event.position.unwrap_or(fold.checkpoint);
            if self.is_acknowledgement(tx, fold, &confirmed).await?
                && self.acknowledge(tx, run, fold, &confirmed).await?
            {
                fold.pending_applied -= confirmed.len() as u64;
                processed += confirmed.len();
            } else {
                self.revert_pending(tx, run, fold).await?;
                let page = self.prepare(&confirmed)?;
                let mut looked_ahead = false;
                for index in 0..page.len() {
                    let flow = self
                        .process(tx, run, &page, index, false, &mut looked_ahead)
                        .await?;
                    if let Flow::Halt = flow {
                        return Ok((processed as u64, End::Halted));
                    }
                    let position = page[index].stored.event.position;
                    fold.checkpoint = position.unwrap_or(fold.checkpoint);
                    processed += 1;
                }
            }
            fold.checkpoint = last_position;
        }
        if fold.pending_applied != tx.pending_count_upto(fold.pending_upto).await? {
            self.revert_pending(tx, run, fold).await?;
        }
        run.base_empty = fold.checkpoint == 0;
        while processed < limit {
            let pending = tx
                .pending_after(fold.pending_upto, limit - processed)
                .await?;
            if pending.is_empty() {
                return Ok((processed as u64, End::CaughtUp));
            }
            let page = self.prepare(&pending)?;
            let mut looked_ahead = false;
            for index in 0..page.len() {
                let flow = self
                    .process(tx, run, &page, index, true, &mut looked_ahead)
                    .await?;
                if let Flow::Halt = flow {
                    return Ok((processed as u64, End::Halted));
                }
                fold.pending_upto = page[index].stored.seq;
                fold.pending_applied += 1;
                processed += 1;
            }
        }
        Ok((processed as u64, End::More))
    }

    /// Whether `confirmed` are exactly the oldest pending events this fold applied, in order:
    /// then their effects are already in place and only their undo records go.
    pub(super) async fn is_acknowledgement<T: DocTx>(
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

    /// Processes event `index` of `page`: passes it over when an operator skipped it, applies
    /// it otherwise, and on a failure records a retry or a dead letter. `looked_ahead` tells
    /// whether this page's look-ahead was used (see [`Self::apply`]).
    pub(super) async fn process<T: DocTx>(
        &self,
        tx: &T,
        run: &mut Run<'_>,
        page: &[Prepared<'_>],
        index: usize,
        pending: bool,
        looked_ahead: &mut bool,
    ) -> Result<Flow> {
        let prepared = &page[index];
        let id = prepared.stored.event.id;
        if run.state.passed.contains(&id) {
            return Ok(Flow::Next);
        }
        let applied = match &prepared.seen {
            Ok(event) => {
                self.apply(tx, run, page, index, event, pending, looked_ahead)
                    .await?
            }
            Err(error) => Applied::Failed(error.clone()),
        };
        match applied {
            Applied::Done => {
                if run.state.retry.as_ref().is_some_and(|r| r.event_id == id) {
                    run.state.retry = None;
                }
                Ok(Flow::Next)
            }
            Applied::Failed(error) => self.failed(tx, run, prepared.stored, &error),
        }
    }

    /// Applies one event. The first time an event of a page misses documents, the rest of the
    /// page is looked ahead once (its events applied to throwaway views) and every document
    /// they miss is fetched with the event's own, in one batch: a rebuild then pays one read
    /// round trip per page instead of one per event.
    #[allow(clippy::too_many_arguments)]
    async fn apply<T: DocTx>(
        &self,
        tx: &T,
        run: &mut Run<'_>,
        page: &[Prepared<'_>],
        index: usize,
        event: &EventEnvelope,
        pending: bool,
        looked_ahead: &mut bool,
    ) -> Result<Applied> {
        let registered = run.registered;
        let writes = loop {
            let mut view = View::shared(&run.known, run.complete);
            let outcome = registered.projection.apply(event, &mut view);
            if view.misses().is_empty() {
                match outcome {
                    Ok(()) => break view.into_writes(),
                    Err(error) => return Ok(Applied::Failed(error)),
                }
            }
            let mut misses = view.misses().to_vec();
            if !std::mem::replace(looked_ahead, true) {
                let more = look_ahead(registered, &page[index + 1..], &run.known, &misses);
                misses.extend(more);
            }
            run.learn(tx, misses).await?;
        };
        if pending {
            self.keep_bases(tx, run, writes.keys()).await?;
        }
        for (key, doc) in writes {
            run.dirty.insert(key.clone());
            run.known.borrow_mut().insert(key, doc);
        }
        Ok(Applied::Done)
    }
}

/// Stores (or with `None` removes) document `key` of the run's namespace with its index entries.
pub(super) fn write<T: DocTx>(tx: &T, run: &Run<'_>, key: &str, doc: Option<&Value>) -> Result<()> {
    match doc {
        Some(doc) => tx.put_doc(
            &run.ns,
            key,
            doc,
            &index_entries(run.registered.indexes(), doc),
        ),
        None => tx.delete_doc(&run.ns, key),
    }
}

/// The documents the events of `rest` (the page after the event that missed) would miss, other
/// than `missed`, each once, in order of first miss (documents a later event only reaches
/// through an earlier one's writes are fetched when that event runs, as before). Events are
/// looked at as projections see them, upcast.
fn look_ahead(
    registered: &Registered,
    rest: &[Prepared<'_>],
    known: &SharedKnown,
    missed: &[String],
) -> Vec<String> {
    let mut seen: HashSet<String> = missed.iter().cloned().collect();
    let mut misses = Vec::new();
    for prepared in rest {
        let Ok(event) = &prepared.seen else { continue };
        let mut view = View::shared(known, false);
        // Only the keys it asks for matter; a failure shows up when the event really runs.
        let _ = registered.projection.apply(event, &mut view);
        for key in view.misses() {
            if seen.insert(key.clone()) {
                misses.push(key.clone());
            }
        }
    }
    misses
}
