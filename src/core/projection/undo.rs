//! The undo log of a read model: for each document that pending events changed, its value in
//! the confirmed base, kept once (the first pending write records it; later ones write
//! nothing). A correction restores the bases; an acknowledgement of every applied pending event
//! drops them; an acknowledgement of the oldest few folds those events into the bases, applied
//! to the bases exactly as they were applied on top (they were the oldest, so nothing pending
//! came before them).
//!
//! Records written by earlier versions (one per pending event and document) are turned into
//! base records the first time a fold reads the log: the oldest record of a document holds its
//! base.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

use super::fold::{Run, write};
use super::projector::Projector;
use super::storage::{DocTx, Fold, UndoEntry};
use super::view::{Known, View};
use crate::core::error::Result;
use crate::core::event::StoredEvent;

/// The sequence number of base records.
pub(super) const UNDO_BASE: u64 = 0;

/// The sequence number of the record (with an empty key) saying that every document without a
/// base record had none: written instead of a base record per document while the base is
/// empty (no confirmed event folded in), and kept true by the rules below. The largest integer
/// JavaScript numbers hold exactly.
pub(super) const ABSENT_BY_DEFAULT: u64 = (1 << 53) - 1;

impl Projector {
    /// The keys of the documents with an undo record, read once per fold (and kept warm).
    async fn undone<'a, T: DocTx>(
        &self,
        tx: &T,
        run: &'a mut Run<'_>,
    ) -> Result<&'a mut HashSet<String>> {
        if run.undone.is_none() {
            let keys = tx.undo_keys(&run.ns).await?;
            if (keys.iter()).any(|(seq, _)| ![UNDO_BASE, ABSENT_BY_DEFAULT].contains(seq)) {
                upgrade_log(tx, &run.ns).await?;
            }
            run.absent_by_default = keys.iter().any(|(seq, _)| *seq == ABSENT_BY_DEFAULT);
            let bases = keys
                .into_iter()
                .filter(|(seq, _)| *seq != ABSENT_BY_DEFAULT);
            run.undone = Some(bases.map(|(_, key)| key).collect());
        }
        Ok(run.undone.get_or_insert_with(HashSet::new))
    }

    /// Records the base of every document of `keys` a pending event is about to change that
    /// has none yet: its value now, before the event's write (read first when not known: a
    /// document written without being read). While the base is empty, one record says so for
    /// every document instead. The records are stored with the documents (see
    /// [`Run::flush`]).
    pub(super) async fn keep_bases<'k, T: DocTx>(
        &self,
        tx: &T,
        run: &mut Run<'_>,
        keys: impl Iterator<Item = &'k String>,
    ) -> Result<()> {
        let mut fresh = Vec::new();
        {
            let undone = self.undone(tx, run).await?;
            if undone.is_empty() && run.base_empty && !run.absent_by_default {
                run.absent_by_default = true;
                run.absent_unstored = true;
            }
            if run.absent_by_default {
                // A document without a base record had none: nothing to record.
                return Ok(());
            }
            let undone = run.undone.get_or_insert_with(HashSet::new);
            for key in keys {
                if undone.insert(key.clone()) {
                    fresh.push(key.clone());
                }
            }
        }
        let unknown: Vec<String> = (fresh.iter())
            .filter(|key| !run.known.borrow().contains_key(*key))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            run.learn(tx, unknown).await?;
        }
        for key in fresh {
            let before = run.known.borrow().get(&key).cloned().flatten();
            run.bases.insert(key, before);
        }
        Ok(())
    }

    /// Takes `confirmed`, the oldest pending events the fold applied, into the base: drops the
    /// log when no applied pending event is left, or else folds them into the bases. Answers
    /// `false`, having written nothing, when they cannot be folded into the bases as they
    /// were applied on top (then the caller corrects the read model instead).
    pub(super) async fn acknowledge<T: DocTx>(
        &self,
        tx: &T,
        run: &mut Run<'_>,
        fold: &Fold,
        confirmed: &[StoredEvent],
    ) -> Result<bool> {
        // The log is read and changed in the store below: everything recorded goes there first.
        run.store_now(tx)?;
        if fold.pending_applied == confirmed.len() as u64 {
            tx.clear_undo(&run.ns)?;
            run.undone = Some(HashSet::new());
            run.absent_by_default = false;
            return Ok(true);
        }
        let undone = self.undone(tx, run).await?.clone();
        let Some(bases) = self.rebase(tx, run, &undone, confirmed).await? else {
            return Ok(false);
        };
        for (key, before) in bases {
            tx.put_undo(&UndoEntry {
                ns: run.ns.clone(),
                seq: UNDO_BASE,
                key: key.clone(),
                before,
            })?;
            run.undone.get_or_insert_with(HashSet::new).insert(key);
        }
        Ok(true)
    }

    /// The new bases of the documents `confirmed` change, applied to the bases in order;
    /// `None` when an event reaches a document without a base, or fails where it did not.
    async fn rebase<T: DocTx>(
        &self,
        tx: &T,
        run: &Run<'_>,
        undone: &HashSet<String>,
        confirmed: &[StoredEvent],
    ) -> Result<Option<BTreeMap<String, Option<Value>>>> {
        let page = self.prepare(confirmed)?;
        let mut bases = Known::new();
        let mut changed = BTreeMap::new();
        for prepared in &page {
            if run.state.passed.contains(&prepared.stored.event.id) {
                continue;
            }
            let Ok(event) = &prepared.seen else {
                return Ok(None);
            };
            let writes = loop {
                let mut view = View::new(&bases);
                let outcome = run.registered.projection.apply(event, &mut view);
                let misses = view.misses().to_vec();
                if misses.is_empty() {
                    match outcome {
                        Ok(()) => break view.into_writes(),
                        Err(_) => return Ok(None),
                    }
                }
                let (recorded, unrecorded): (Vec<String>, Vec<String>) =
                    misses.into_iter().partition(|key| undone.contains(key));
                if !unrecorded.is_empty() && !run.absent_by_default {
                    return Ok(None);
                }
                bases.extend(unrecorded.into_iter().map(|key| (key, None)));
                let records = tx.undo_bases(&run.ns, &recorded).await?;
                for (key, record) in recorded.into_iter().zip(records) {
                    let Some(record) = record else {
                        return Ok(None);
                    };
                    bases.insert(key, record.before);
                }
            };
            for (key, doc) in writes {
                if !undone.contains(&key) && !run.absent_by_default {
                    return Ok(None);
                }
                bases.insert(key.clone(), doc.clone());
                changed.insert(key, doc);
            }
        }
        Ok(Some(changed))
    }

    /// Undoes every pending effect of the fold, leaving the confirmed base.
    pub(super) async fn revert_pending<T: DocTx>(
        &self,
        tx: &T,
        run: &mut Run<'_>,
        fold: &mut Fold,
    ) -> Result<()> {
        let nothing_pending = fold.pending_upto == 0 && fold.pending_applied == 0;
        let no_log = run.undone.as_ref().is_some_and(HashSet::is_empty) && !run.absent_by_default;
        if nothing_pending && no_log {
            // Nothing pending was applied and no document has a base: nothing to undo.
            return Ok(());
        }
        run.store_now(tx)?;
        let (markers, log): (Vec<UndoEntry>, Vec<UndoEntry>) = (tx.undo_log(&run.ns).await?)
            .into_iter()
            .partition(|entry| entry.seq == ABSENT_BY_DEFAULT);
        if !markers.is_empty() {
            // Every document without a base record had none.
            tx.clear_namespace(&run.ns)?;
        }
        // Newest first: with records of earlier versions, the oldest of a document is written last.
        for entry in log.iter().rev() {
            write(tx, run, &entry.key, entry.before.as_ref())?;
        }
        tx.clear_undo(&run.ns)?;
        run.known.borrow_mut().clear();
        run.complete = false;
        run.absent_by_default = false;
        run.undone = Some(HashSet::new());
        fold.pending_upto = 0;
        fold.pending_applied = 0;
        Ok(())
    }
}

/// Turns the per-event records of namespace `ns` into one base record per document: the
/// oldest of each.
async fn upgrade_log<T: DocTx>(tx: &T, ns: &str) -> Result<()> {
    let mut oldest: HashMap<String, UndoEntry> = HashMap::new();
    let (markers, log): (Vec<UndoEntry>, Vec<UndoEntry>) =
        (tx.undo_log(ns).await?.into_iter()).partition(|entry| entry.seq == ABSENT_BY_DEFAULT);
    for entry in log {
        let keep = oldest
            .get(&entry.key)
            .is_none_or(|kept| entry.seq < kept.seq);
        if keep {
            oldest.insert(entry.key.clone(), entry);
        }
    }
    tx.clear_undo(ns)?;
    for (_, entry) in oldest {
        tx.put_undo(&UndoEntry {
            seq: UNDO_BASE,
            ..entry
        })?;
    }
    for marker in markers {
        tx.put_undo(&marker)?;
    }
    Ok(())
}
