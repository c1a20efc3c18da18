//! The memory store's read models: documents, their index entries, undo records, projection
//! states and dead letters, and the [`DocTx`] the projector runs on.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

use serde_json::Value;

use super::data::Data;
use crate::core::projection::query::{Condition, Cursor, Doc, Page, Query};
use crate::core::projection::{DeadLetter, DocTx, IndexValue, UndoEntry};
use crate::core::{ProjectionState, Result, StoredEvent};

type IndexKey = (String, String, IndexValue, String);

/// Read models in memory.
#[derive(Default)]
pub struct Views {
    docs: BTreeMap<(String, String), Value>,
    /// (namespace, index, value, key) for every indexed field of every document.
    index: BTreeSet<IndexKey>,
    /// The index entries each document has, to remove them when it changes.
    entries: HashMap<(String, String), Vec<(String, IndexValue)>>,
    undo: BTreeMap<(String, u64, String), Option<Value>>,
    pub states: HashMap<String, ProjectionState>,
    pub dead: Vec<DeadLetter>,
}

impl Views {
    /// A document.
    pub fn doc(&self, ns: &str, key: &str) -> Option<Value> {
        self.docs.get(&(ns.to_owned(), key.to_owned())).cloned()
    }

    fn put(&mut self, ns: &str, key: &str, doc: &Value, entries: &[(String, IndexValue)]) {
        self.delete(ns, key);
        let id = (ns.to_owned(), key.to_owned());
        for (index, value) in entries {
            self.index
                .insert((ns.to_owned(), index.clone(), value.clone(), key.to_owned()));
        }
        self.entries.insert(id.clone(), entries.to_vec());
        self.docs.insert(id, doc.clone());
    }

    fn delete(&mut self, ns: &str, key: &str) {
        let id = (ns.to_owned(), key.to_owned());
        for (index, value) in self.entries.remove(&id).unwrap_or_default() {
            self.index
                .remove(&(ns.to_owned(), index, value, key.to_owned()));
        }
        self.docs.remove(&id);
    }

    fn clear(&mut self, ns: &str) {
        let keys: Vec<String> = self
            .docs
            .keys()
            .filter(|(n, _)| n == ns)
            .map(|(_, key)| key.clone())
            .collect();
        for key in keys {
            self.delete(ns, &key);
        }
    }

    /// The dead letters of projection `name`, oldest first.
    pub fn dead_letters(&self, name: &str) -> Vec<DeadLetter> {
        self.dead
            .iter()
            .filter(|letter| letter.projection == name)
            .cloned()
            .collect()
    }

    /// The documents an index query selects, reading only index entries in its range.
    pub fn query(&self, ns: &str, query: &Query) -> Page {
        let entry =
            |value: IndexValue, key: String| (ns.to_owned(), query.index.clone(), value, key);
        let lower = match (&query.after, &query.condition) {
            (Some(Cursor { value, key }), _) => Bound::Excluded(entry(value.clone(), key.clone())),
            (None, Condition::Equals(value)) => {
                Bound::Included(entry(value.clone(), String::new()))
            }
            (
                None,
                Condition::Range {
                    lower: Some(value), ..
                },
            ) => Bound::Included(entry(value.clone(), String::new())),
            (None, Condition::Range { lower: None, .. }) => {
                Bound::Included(entry(IndexValue::Number(f64::NEG_INFINITY), String::new()))
            }
        };
        let mut docs = Vec::new();
        let mut last = None;
        for (entry_ns, index, value, key) in self.index.range((lower, Bound::Unbounded)) {
            if entry_ns != ns || index != &query.index || !query.condition.selects(value) {
                if entry_ns != ns || index != &query.index || beyond(&query.condition, value) {
                    break;
                }
                continue;
            }
            if docs.len() == query.limit {
                return Page {
                    docs,
                    next: last.map(|cursor: Cursor| cursor.encode()),
                };
            }
            docs.push(Doc {
                key: key.clone(),
                doc: self.docs[&(ns.to_owned(), key.clone())].clone(),
            });
            last = Some(Cursor {
                value: value.clone(),
                key: key.clone(),
            });
        }
        Page { docs, next: None }
    }
}

/// Whether `value` lies past everything `condition` selects (index entries are in order).
fn beyond(condition: &Condition, value: &IndexValue) -> bool {
    match condition {
        Condition::Equals(wanted) => value > wanted,
        Condition::Range { upper, .. } => upper.as_ref().is_some_and(|upper| value > upper),
    }
}

/// One write of the memory store, as the projector sees it.
pub struct MemoryTx(RefCell<Data>);

impl MemoryTx {
    /// Wraps the data taken out of the store.
    pub fn new(data: Data) -> Self {
        MemoryTx(RefCell::new(data))
    }

    /// The data, to put back.
    pub fn into_data(self) -> Data {
        self.0.into_inner()
    }

    /// Runs `work` on the data (no borrow outlives the call).
    pub fn with<R>(&self, work: impl FnOnce(&mut Data) -> R) -> R {
        work(&mut self.0.borrow_mut())
    }
}

impl DocTx for MemoryTx {
    async fn get_doc(&self, ns: &str, key: &str) -> Result<Option<Value>> {
        Ok(self.with(|data| data.views.doc(ns, key)))
    }

    fn put_doc(
        &self,
        ns: &str,
        key: &str,
        doc: &Value,
        index: &[(String, IndexValue)],
    ) -> Result<()> {
        self.with(|data| data.views.put(ns, key, doc, index));
        Ok(())
    }

    fn delete_doc(&self, ns: &str, key: &str) -> Result<()> {
        self.with(|data| data.views.delete(ns, key));
        Ok(())
    }

    fn clear_namespace(&self, ns: &str) -> Result<()> {
        self.with(|data| data.views.clear(ns));
        Ok(())
    }

    async fn undo_log(&self, ns: &str) -> Result<Vec<UndoEntry>> {
        Ok(self.with(|data| {
            let range = (ns.to_owned(), 0, String::new())
                ..=(ns.to_owned(), u64::MAX, String::from("\u{10FFFF}"));
            data.views
                .undo
                .range(range)
                .map(|((ns, seq, key), before)| UndoEntry {
                    ns: ns.clone(),
                    seq: *seq,
                    key: key.clone(),
                    before: before.clone(),
                })
                .collect()
        }))
    }

    fn put_undo(&self, entry: &UndoEntry) -> Result<()> {
        self.with(|data| {
            data.views.undo.insert(
                (entry.ns.clone(), entry.seq, entry.key.clone()),
                entry.before.clone(),
            )
        });
        Ok(())
    }

    async fn undo_keys(&self, ns: &str) -> Result<Vec<(u64, String)>> {
        Ok(self
            .undo_log(ns)
            .await?
            .into_iter()
            .map(|entry| (entry.seq, entry.key))
            .collect())
    }

    async fn undo_bases(&self, ns: &str, keys: &[String]) -> Result<Vec<Option<UndoEntry>>> {
        Ok(self.with(|data| {
            keys.iter()
                .map(|key| {
                    let id = (ns.to_owned(), 0, key.clone());
                    data.views.undo.get(&id).map(|before| UndoEntry {
                        ns: ns.to_owned(),
                        seq: 0,
                        key: key.clone(),
                        before: before.clone(),
                    })
                })
                .collect()
        }))
    }

    fn clear_undo(&self, ns: &str) -> Result<()> {
        self.with(|data| data.views.undo.retain(|(n, _, _), _| n != ns));
        Ok(())
    }

    async fn state(&self, name: &str) -> Result<Option<ProjectionState>> {
        Ok(self.with(|data| data.views.states.get(name).cloned()))
    }

    fn put_state(&self, state: &ProjectionState) -> Result<()> {
        self.with(|data| data.views.states.insert(state.name.clone(), state.clone()));
        Ok(())
    }

    fn put_dead_letter(&self, letter: &DeadLetter) -> Result<()> {
        self.with(|data| data.views.dead.push(letter.clone()));
        Ok(())
    }

    async fn dead_letters(&self, name: &str) -> Result<Vec<DeadLetter>> {
        Ok(self.with(|data| data.views.dead_letters(name)))
    }

    async fn replace_dead_letters(&self, name: &str, letters: &[DeadLetter]) -> Result<()> {
        self.with(|data| {
            data.views.dead.retain(|letter| letter.projection != name);
            data.views.dead.extend_from_slice(letters);
        });
        Ok(())
    }

    async fn confirmed_after(&self, position: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        Ok(self.with(|data| data.confirmed_after(position, limit)))
    }

    async fn pending_after(&self, seq: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        Ok(self.with(|data| data.pending_after(seq, limit)))
    }

    async fn pending_count_upto(&self, seq: u64) -> Result<u64> {
        Ok(self.with(|data| data.pending_count_upto(seq)))
    }

    async fn first_pending_seq(&self) -> Result<Option<u64>> {
        Ok(self.with(|data| data.first_pending_seq()))
    }

    async fn event_count(&self) -> Result<u64> {
        Ok(self.with(|data| data.event_count()))
    }
}
