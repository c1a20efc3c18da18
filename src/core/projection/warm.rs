//! The documents a projector keeps in memory between steps, so that a warm read model is
//! folded without reading its documents again and each event is applied once.
//!
//! Every state the projector stores carries a fresh random `stamp`. The documents a step
//! read and wrote are kept under the stamp it stored; the next step of the same namespace uses
//! them only when the stored state still carries that stamp. Any other writer of the read model
//! (another tab, a transaction that did not commit, a restart that cleared it) leaves a
//! different stamp (or none), and the step then reads from the store as before.

use std::cell::RefCell;
use std::collections::HashSet;

use uuid::Uuid;

use super::ProjectionState;
use super::storage::DocTx;
use super::view::Known;
use crate::core::error::Result;

/// At most this many documents are kept; a step that knows more keeps none.
pub const WARM_DOCS_LIMIT: usize = 16_384;

/// At most this many keys of documents with an undo record are kept (keys only: small).
pub const WARM_UNDONE_LIMIT: usize = 65_536;

/// What a fold knows of a namespace's stored documents.
#[derive(Default)]
pub(super) struct Warm {
    /// Documents read or written.
    pub known: Known,
    /// The keys of the documents with an undo record, once read.
    pub undone: Option<HashSet<String>>,
}

/// The documents of one namespace as of one stored state.
struct WarmDocs {
    ns: String,
    stamp: u64,
    docs: Warm,
}

/// The projector's warm documents, one namespace per projection.
#[derive(Default)]
pub(super) struct WarmDocCache {
    entries: RefCell<Vec<WarmDocs>>,
}

impl WarmDocCache {
    /// The documents kept for namespace `ns` if `state` is the state they were kept with;
    /// otherwise (and always after this call) none are kept for it.
    pub fn take(&self, ns: &str, state: &ProjectionState) -> Warm {
        let mut entries = self.entries.borrow_mut();
        let Some(at) = entries.iter().position(|entry| entry.ns == ns) else {
            return Warm::default();
        };
        let entry = entries.swap_remove(at);
        if state.stamp != 0 && entry.stamp == state.stamp {
            entry.docs
        } else {
            Warm::default()
        }
    }

    /// Stores `state` with a fresh stamp, keeping `docs` (the documents of namespace `ns` as
    /// this write leaves them) under it for the next step.
    pub fn store<T: DocTx>(
        &self,
        tx: &T,
        state: &mut ProjectionState,
        kept: Option<(String, Warm)>,
    ) -> Result<()> {
        state.stamp = fresh_stamp();
        tx.put_state(state)?;
        let small = |docs: &Warm| {
            docs.known.len() <= WARM_DOCS_LIMIT
                && docs.undone.as_ref().map_or(0, HashSet::len) <= WARM_UNDONE_LIMIT
        };
        if let Some((ns, docs)) = kept.filter(|(_, docs)| small(docs)) {
            let mut entries = self.entries.borrow_mut();
            entries.retain(|entry| entry.ns != ns);
            entries.push(WarmDocs {
                ns,
                stamp: state.stamp,
                docs,
            });
        }
        Ok(())
    }
}

/// A random nonzero stamp.
fn fresh_stamp() -> u64 {
    Uuid::new_v4().as_u64_pair().0 | 1
}
