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
const BASE: u64 = 0;

impl Projector {
    /// The keys of the documents with an undo record, read once per fold (and kept warm).
    async fn undone<'a, T: DocTx>(
        &self,
        tx: &T,
        run: &'a mut Run<'_>,
    ) -> Result<&'a mut HashSet<String>> {
        if run.undone.is_none() {
            let keys = tx.undo_keys(&run.ns).await?;
            if keys.iter().any(|(seq, _)| *seq != BASE) {
                upgrade_log(tx, &run.ns).await?;
            }
            run.undone = Some(keys.into_iter().map(|(_, key)| key).collect());
        }
        Ok(run.undone.get_or_insert_with(HashSet::new))
    }

    /// Records the base of every document of `keys` a pending event is about to change that
    /// has none yet: its value now, before the event's write (read first when not known: a
    /// document written without being read).
    pub(super) async fn keep_bases<'k, T: DocTx>(
        &self,
        tx: &T,
        run: &mut Run<'_>,
        keys: impl Iterator<Item = &'k String>,
    ) -> Result<()> {
        let ns = run.ns.clone();
        let mut fresh = Vec::new();
        {
            let undone = self.undone(tx, run).await?;
            for key in keys {
                if undone.insert(key.clone()) {
                    fresh.push(key.clone());
                }
            }
        }
        let unknown: Vec<String> = (fresh.iter())
            .filter(|key| !run.known.contains_key(*key))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            let docs = tx.get_docs(&ns, &unknown).await?;
            run.known.extend(unknown.into_iter().zip(docs));
        }
        for key in fresh {
            let before = run.known.get(&key).cloned().flatten();
            tx.put_undo(&UndoEntry {
                ns: ns.clone(),
                seq: BASE,
                key,
                before,
            })?;
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
        if fold.pending_applied == confirmed.len() as u64 {
            tx.clear_undo(&run.ns)?;
            run.undone = Some(HashSet::new());
            return Ok(true);
        }
        let undone = self.undone(tx, run).await?.clone();
        let Some(bases) = self.rebase(tx, run, &undone, confirmed).await? else {
            return Ok(false);
        };
        for (key, before) in bases {
            tx.put_undo(&UndoEntry {
                ns: run.ns.clone(),
                seq: BASE,
                key,
                before,
            })?;
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
                if misses.iter().any(|key| !undone.contains(key)) {
                    return Ok(None);
                }
                let records = tx.undo_bases(&run.ns, &misses).await?;
                for (key, record) in misses.into_iter().zip(records) {
                    let Some(record) = record else {
                        return Ok(None);
                    };
                    bases.insert(key, record.before);
                }
            };
            for (key, doc) in writes {
                if !undone.contains(&key) {
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
        run.flush(tx)?;
        // Newest first: with records of earlier versions, the oldest of a document is written last.
        let log = tx.undo_log(&run.ns).await?;
        for entry in log.iter().rev() {
            write(tx, run, &entry.key, entry.before.as_ref())?;
        }
        tx.clear_undo(&run.ns)?;
        run.known.clear();
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
    for entry in tx.undo_log(ns).await? {
        let keep = oldest
            .get(&entry.key)
            .is_none_or(|kept| entry.seq < kept.seq);
        if keep {
            oldest.insert(entry.key.clone(), entry);
        }
    }
    tx.clear_undo(ns)?;
    for (_, entry) in oldest {
        tx.put_undo(&UndoEntry { seq: BASE, ..entry })?;
    }
    Ok(())
}
