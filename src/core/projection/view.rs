//! The synchronous view a projection's `apply` reads and writes.
//!
//! `apply` is synchronous (so it can run inside a storage transaction), but documents live in
//! asynchronous storage. A [`View`] answers from the documents already fetched; a document it
//! does not have yet is recorded as a miss. The projector then fetches the misses and runs
//! `apply` again on a fresh view: writes are buffered, so an attempt that saw a miss leaves no
//! trace. Each run fetches at least one more document, so this ends.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use serde_json::Value;

/// Documents known to the projector: `Some(doc)`, or `None` for "known not to exist".
pub type Known = HashMap<String, Option<Value>>;

/// The projector's known documents, shared with the views over them.
pub type SharedKnown = Rc<RefCell<Known>>;

/// Where a view's documents come from.
enum Docs<'a> {
    Borrowed(&'a Known),
    Shared(&'a SharedKnown),
}

/// A projection's window on its documents while it applies one event.
pub struct View<'a> {
    known: Docs<'a>,
    complete: bool,
    writes: BTreeMap<String, Option<Value>>,
    misses: Vec<String>,
}

impl<'a> View<'a> {
    /// A view over the documents in `known`.
    pub fn new(known: &'a Known) -> Self {
        View {
            known: Docs::Borrowed(known),
            complete: false,
            writes: BTreeMap::new(),
            misses: Vec::new(),
        }
    }

    /// A view over the projector's documents; with `complete`, they are every document there
    /// is (a key they lack is absent, not a miss).
    pub fn shared(known: &'a SharedKnown, complete: bool) -> Self {
        View {
            known: Docs::Shared(known),
            complete,
            writes: BTreeMap::new(),
            misses: Vec::new(),
        }
    }

    /// The projector's documents behind this view, if shared, and whether they are complete:
    /// a binding answers another language's `apply` from them directly, reporting a key they
    /// lack through [`View::get`].
    pub fn known_docs(&self) -> Option<(&SharedKnown, bool)> {
        match self.known {
            Docs::Shared(known) => Some((known, self.complete)),
            Docs::Borrowed(_) => None,
        }
    }

    /// The document stored under `key`, if any.
    pub fn get(&mut self, key: &str) -> Option<Value> {
        if let Some(written) = self.writes.get(key) {
            return written.clone();
        }
        let known = match self.known {
            Docs::Borrowed(known) => known.get(key).cloned(),
            Docs::Shared(known) => known.borrow().get(key).cloned(),
        };
        match known {
            Some(doc) => doc,
            None if self.complete => None,
            None => {
                if !self.misses.iter().any(|missed| missed == key) {
                    self.misses.push(key.to_owned());
                }
                None
            }
        }
    }

    /// Stores `doc` under `key`.
    pub fn put(&mut self, key: impl Into<String>, doc: Value) {
        self.writes.insert(key.into(), Some(doc));
    }

    /// Removes the document under `key`.
    pub fn delete(&mut self, key: impl Into<String>) {
        self.writes.insert(key.into(), None);
    }

    /// The keys asked for that were not known.
    pub fn misses(&self) -> &[String] {
        &self.misses
    }

    /// The buffered writes: key → new document, or `None` for a delete.
    pub fn into_writes(self) -> BTreeMap<String, Option<Value>> {
        self.writes
    }
}
