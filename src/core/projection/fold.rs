//! How the projector folds events into one projection namespace: newly confirmed events onto
//! the base (or only dropping undo records when they are our own acknowledged events), then
//! pending events on top with undo records, dead-lettering what fails.

use std::collections::HashSet;

use serde_json::Value;

use super::index::index_entries;
use super::projector::{Applied, CatchUp, Projector, Registered};
use super::storage::{DocTx, Fold, UndoEntry};
use super::view::{Known, View};
use super::{DeadLetter, OnFailure};
use crate::core::error::{Error, Result};
use crate::core::event::StoredEvent;

/// What one fold step reports: how far it got, whether it caught up, and where a dead letter
/// stopped it.
fn step_outcome(processed: usize, finished: bool, stop: Option<u64>) -> (CatchUp, Option<u64>) {
    let processed = processed as u64;
    (
        CatchUp {
            processed,
            finished,
        },
        stop,
    )
}

impl Projector {
    /// Folds up to `limit` events into namespace `ns`: newly confirmed ones onto the base, then
    /// pending ones on top; returns the progress and the position of a dead letter that stopped it.
    pub(super) async fn fold_step<T: DocTx>(
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
                let mut ahead = Some(&confirmed[..]);
                for event in &confirmed {
                    if let Some(stop) = self
                        .process(tx, registered, ns, event, false, &mut known, &mut ahead)
                        .await?
                    {
                        return Ok(step_outcome(processed, true, Some(stop)));
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
                return Ok(step_outcome(processed, true, None));
            }
            let mut ahead = Some(&pending[..]);
            for event in &pending {
                if let Some(stop) = self
                    .process(tx, registered, ns, event, true, &mut known, &mut ahead)
                    .await?
                {
                    return Ok(step_outcome(processed, true, Some(stop)));
                }
                fold.pending_upto = event.seq;
                fold.pending_applied += 1;
                processed += 1;
            }
        }
        Ok(step_outcome(processed, false, None))
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

    /// Undoes every pending effect of the fold, newest first, leaving the confirmed base.
    pub(super) async fn revert_pending<T: DocTx>(
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
    /// `ahead` is the page `stored` belongs to, until a look-ahead used it (see [`Self::apply`]).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn process<T: DocTx>(
        &self,
        tx: &T,
        registered: &Registered,
        ns: &str,
        stored: &StoredEvent,
        pending: bool,
        known: &mut Known,
        ahead: &mut Option<&[StoredEvent]>,
    ) -> Result<Option<u64>> {
        match self
            .apply(tx, registered, ns, stored, pending, known, ahead)
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

    /// Applies one event. The first time an event of a page misses documents, the rest of the
    /// page is looked ahead once (its events applied to throwaway views) and every document
    /// they miss is fetched with the event's own, in one batch: a rebuild then pays one read
    /// round trip per page instead of one per event.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn apply<T: DocTx>(
        &self,
        tx: &T,
        registered: &Registered,
        ns: &str,
        stored: &StoredEvent,
        pending: bool,
        known: &mut Known,
        ahead: &mut Option<&[StoredEvent]>,
    ) -> Result<Applied> {
        let revealed = self.reveal(&stored.event)?;
        let event = revealed.as_ref().unwrap_or(&stored.event);
        let writes = loop {
            let mut view = View::new(known);
            let outcome = registered.projection.apply(event, &mut view);
            if view.misses().is_empty() {
                match outcome {
                    Ok(()) => break view.into_writes(),
                    Err(error) => return Ok(Applied::Failed(error)),
                }
            }
            let mut misses = view.misses().to_vec();
            if let Some(page) = ahead.take() {
                let more = look_ahead(registered, page, stored, known, &misses);
                misses.extend(more);
            }
            let docs = tx.get_docs(ns, &misses).await?;
            known.extend(misses.into_iter().zip(docs));
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

    pub(super) fn write<T: DocTx>(
        &self,
        tx: &T,
        registered: &Registered,
        ns: &str,
        key: &str,
        doc: Option<&Value>,
    ) -> Result<()> {
        match doc {
            Some(doc) => tx.put_doc(ns, key, doc, &index_entries(registered.indexes(), doc)),
            None => tx.delete_doc(ns, key),
        }
    }
}

/// The documents the events of `page` after `stored` would miss, other than `missed`, each once,
/// in order of first miss (documents a later event only reaches through an earlier one's
/// writes are fetched when that event runs, as before).
fn look_ahead(
    registered: &Registered,
    page: &[StoredEvent],
    stored: &StoredEvent,
    known: &Known,
    missed: &[String],
) -> Vec<String> {
    let from = page
        .iter()
        .position(|event| std::ptr::eq(event, stored))
        .map_or(page.len(), |index| index + 1);
    let mut seen: HashSet<String> = missed.iter().cloned().collect();
    let mut misses = Vec::new();
    for event in &page[from..] {
        let mut view = View::new(known);
        // Only the keys it asks for matter; a failure shows up when the event really runs.
        let _ = registered.projection.apply(&event.event, &mut view);
        for key in view.misses() {
            if seen.insert(key.clone()) {
                misses.push(key.clone());
            }
        }
    }
    misses
}
