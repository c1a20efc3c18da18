//! The documents a projector keeps in memory between steps, so that a warm read model is
//! folded without reading its documents again and each event is applied once.
//!
//! Every state the projector stores carries a fresh random `stamp`. The documents a step
//! read and wrote are kept under the stamp it stored; the next step of the same namespace uses
//! them only when the stored state still carries that stamp. Any other writer of the read model
//! (another tab, a transaction that did not commit, a restart that cleared it) leaves a
//! different stamp (or none), and the step then reads from the store as before.
//!
//! A build of a new version is invisible until it finishes, so its steps may also keep what
//! they wrote (documents, undo bases and the build's progress) in memory and store nothing:
//! the stored state then still carries the stamp of the last write, and the next step goes on
//! from memory. Whatever ends the build's deferral stores everything at once, each document
//! once; a step that finds another stamp starts from the stored progress, which matches the
//! stored documents. A build that lost its steps that way stores each later step, so that it
//! still gets somewhere while another writer (a tab on another version) keeps writing.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde_json::Value;

use uuid::Uuid;

use super::storage::DocTx;
use super::view::SharedKnown;
use super::{ProjectionState, Rebuild};
use crate::core::error::Result;

/// At most this many documents are kept; a step that knows more keeps none.
pub const WARM_DOCS_LIMIT: usize = 16_384;

/// At most this many keys of documents with an undo record are kept (keys only: small).
pub const WARM_UNDONE_LIMIT: usize = 65_536;

/// A build keeps at most this many events' worth of steps in memory before it stores them, so
/// that a reload or a crash repeats at most that much work.
pub const DEFERRED_EVENTS_LIMIT: u64 = 250_000;

/// What a fold knows of a namespace's stored documents.
#[derive(Default)]
pub(super) struct Warm {
    /// Documents read or written.
    pub known: SharedKnown,
    /// The keys of the documents with an undo record (stored or not), once read.
    pub undone: Option<HashSet<String>>,
    /// Documents written in `known` and not stored yet.
    pub dirty: BTreeSet<String>,
    /// Undo bases recorded and not stored yet, by document key.
    pub bases: BTreeMap<String, Option<Value>>,
    /// A build whose progress is ahead of the stored one (its writes are not stored yet).
    pub build: Option<Rebuild>,
    /// Whether `known` holds every document of the namespace (a key it lacks is absent).
    pub complete: bool,
    /// Whether the undo log says that every document without a base record had none.
    pub absent_by_default: bool,
    /// Whether that record is still to be stored.
    pub absent_unstored: bool,
}

impl Warm {
    /// Whether this is small enough to keep in memory.
    fn small(&self) -> bool {
        self.known.borrow().len() <= WARM_DOCS_LIMIT
            && self.undone.as_ref().map_or(0, HashSet::len) <= WARM_UNDONE_LIMIT
    }

    /// Whether it holds writes that are not stored yet.
    pub fn unstored(&self) -> bool {
        !self.dirty.is_empty()
            || !self.bases.is_empty()
            || self.absent_unstored
            || self.build.is_some()
    }
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
    /// Namespaces whose build lost the steps it kept in memory to another writer: their steps
    /// store as they go, so that the build still gets somewhere while others write.
    contended: RefCell<HashSet<String>>,
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
            if entry.docs.build.is_some() {
                self.contended.borrow_mut().insert(ns.to_owned());
            }
            Warm::default()
        }
    }

    /// Whether the build in namespace `ns` lost steps it kept in memory (see `contended`).
    pub fn contended(&self, ns: &str) -> bool {
        self.contended.borrow().contains(ns)
    }

    /// Forgets that the build in namespace `ns` was contended: it ended.
    pub fn settle(&self, ns: &str) {
        self.contended.borrow_mut().remove(ns);
    }

    /// Stores `state` with a fresh stamp, keeping `docs` (the documents of namespace `ns` as
    /// this write leaves them) under it for the next step.
    pub fn store<T: DocTx>(
        &self,
        tx: &T,
        state: &mut ProjectionState,
        kept: Option<(String, Warm)>,
    ) -> Result<()> {
        debug_assert!(
            kept.as_ref().is_none_or(|(_, docs)| !docs.unstored()),
            "a state stored with writes of its step not stored"
        );
        state.stamp = fresh_stamp();
        tx.put_state(state)?;
        if let Some((ns, docs)) = kept.filter(|(_, docs)| docs.small()) {
            self.keep(ns, state.stamp, docs);
        }
        Ok(())
    }

    /// Keeps `docs`, the documents of namespace `ns` (with writes not stored yet), for the next
    /// step, which uses them while the stored state carries `stamp` (nonzero: stored once).
    pub fn defer(&self, ns: String, stamp: u64, docs: Warm) {
        debug_assert!(stamp != 0 && docs.small());
        self.keep(ns, stamp, docs);
    }

    /// The progress of the build in namespace `ns` that is ahead of `state`, the stored one.
    pub fn build_ahead(&self, ns: &str, state: &ProjectionState) -> Option<Rebuild> {
        let entries = self.entries.borrow();
        let entry = entries.iter().find(|entry| entry.ns == ns)?;
        (state.stamp != 0 && entry.stamp == state.stamp)
            .then(|| entry.docs.build.clone())
            .flatten()
    }

    fn keep(&self, ns: String, stamp: u64, docs: Warm) {
        let mut entries = self.entries.borrow_mut();
        entries.retain(|entry| entry.ns != ns);
        entries.push(WarmDocs { ns, stamp, docs });
    }
}

/// Whether a step may leave its writes in memory: within the limits of what is kept, with
/// `unstored` events processed since the build's progress was last stored.
pub(super) fn may_defer(docs: &Warm, unstored: u64) -> bool {
    docs.small() && docs.bases.len() <= WARM_DOCS_LIMIT && unstored < DEFERRED_EVENTS_LIMIT
}

/// A random nonzero stamp.
fn fresh_stamp() -> u64 {
    Uuid::new_v4().as_u64_pair().0 | 1
}
