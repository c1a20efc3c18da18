//! What the projector needs of a store: [`DocTx`], implemented by each store over one atomic
//! write of its own. The projector awaits nothing but its methods, so it can run inside an
//! IndexedDB transaction.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::index::IndexValue;
use super::{DeadLetter, ProjectionState};
use crate::core::error::Result;
use crate::core::event::StoredEvent;

/// A document's value in the confirmed base, kept while pending events change it: one record
/// per document (`seq` 0). Records written by earlier versions have one per pending event and
/// document (`seq` the event's), and are turned into base records when a fold meets them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UndoEntry {
    /// The projection namespace (`name@version`).
    pub ns: String,
    /// 0 for a base record; for a record of an earlier version, the pending event's local
    /// sequence number.
    pub seq: u64,
    /// The document's key.
    pub key: String,
    /// The document before the event; `None` when it did not exist.
    pub before: Option<Value>,
}

/// What the projector needs of a store, inside one atomic write.
#[allow(async_fn_in_trait)]
pub trait DocTx {
    /// A document of namespace `ns`.
    async fn get_doc(&self, ns: &str, key: &str) -> Result<Option<Value>>;
    /// Several documents of namespace `ns`, in the order of `keys`. A store whose reads have
    /// latency issues them all before awaiting any (one round trip instead of one per key).
    async fn get_docs(&self, ns: &str, keys: &[String]) -> Result<Vec<Option<Value>>> {
        let mut docs = Vec::with_capacity(keys.len());
        for key in keys {
            docs.push(self.get_doc(ns, key).await?);
        }
        Ok(docs)
    }
    /// Stores a document with its index entries.
    fn put_doc(
        &self,
        ns: &str,
        key: &str,
        doc: &Value,
        index: &[(String, IndexValue)],
    ) -> Result<()>;
    /// Removes a document.
    fn delete_doc(&self, ns: &str, key: &str) -> Result<()>;
    /// Removes every document of a namespace.
    fn clear_namespace(&self, ns: &str) -> Result<()>;
    /// The undo records of a namespace, by sequence number then key.
    async fn undo_log(&self, ns: &str) -> Result<Vec<UndoEntry>>;
    /// The sequence number and document key of every undo record of a namespace, read without
    /// their bodies.
    async fn undo_keys(&self, ns: &str) -> Result<Vec<(u64, String)>>;
    /// The base records (`seq` 0) of documents `keys` of a namespace, in the order of `keys`.
    async fn undo_bases(&self, ns: &str, keys: &[String]) -> Result<Vec<Option<UndoEntry>>>;
    /// Adds or replaces an undo record.
    fn put_undo(&self, entry: &UndoEntry) -> Result<()>;
    /// Removes every undo record of a namespace.
    fn clear_undo(&self, ns: &str) -> Result<()>;
    /// A projection's stored state.
    async fn state(&self, name: &str) -> Result<Option<ProjectionState>>;
    /// Stores a projection's state.
    fn put_state(&self, state: &ProjectionState) -> Result<()>;
    /// Records a dead letter.
    fn put_dead_letter(&self, letter: &DeadLetter) -> Result<()>;
    /// The dead letters of projection `name`, oldest first.
    async fn dead_letters(&self, name: &str) -> Result<Vec<DeadLetter>>;
    /// Replaces the dead letters of projection `name` with `letters` (none: removes them all).
    async fn replace_dead_letters(&self, name: &str, letters: &[DeadLetter]) -> Result<()>;
    /// Confirmed events with a server position above `position`, in position order.
    async fn confirmed_after(&self, position: u64, limit: usize) -> Result<Vec<StoredEvent>>;
    /// Pending events with a local sequence number above `seq`, in local order.
    async fn pending_after(&self, seq: u64, limit: usize) -> Result<Vec<StoredEvent>>;
    /// How many pending events have a sequence number of at most `seq`.
    async fn pending_count_upto(&self, seq: u64) -> Result<u64>;
    /// The smallest sequence number of a pending event.
    async fn first_pending_seq(&self) -> Result<Option<u64>>;
    /// How many events the store holds.
    async fn event_count(&self) -> Result<u64>;
}

/// How far one fold of a projection got: its base and its pending overlay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fold {
    /// The last server position folded into the base.
    pub checkpoint: u64,
    /// Pending events with a sequence number up to this were processed.
    pub pending_upto: u64,
    /// How many pending events were processed (to notice removed ones).
    pub pending_applied: u64,
}
