//! Personal data in an immutable log: field-level encryption under a key per data subject, so
//! that deleting the key forgets the subject everywhere (crypto-shredding).
//!
//! An aggregate declares, per event type, which fields are personal and which field names their
//! data subject ([`PersonalData`]). When a command's events are decided, the engine seals those
//! fields ([`cipher`]: AES-256-GCM, synchronous in native code and wasm alike, so it runs in the
//! decide/commit path with no await) under the subject's key from the [`KeyRing`]; the subject
//! field and every other field stay readable so that the server can route and index. Every read
//! path (aggregate state, history, projections, the rejected inbox) opens sealed values through
//! the [`Shredder`]; a value of a forgotten subject reads as [`REDACTED`].
//!
//! Design notes:
//! - A new subject key is made in memory during the decision and written to the store's key
//!   store in its own write just *before* the commit of the events that use it, rather than in
//!   the same write: a committed event never lacks its key (the invariant that matters), a
//!   failed commit leaves an unused key (harmless), and the stores' commit paths stay as they
//!   are. A subject may hold several keys (made on different devices or tabs at once), each
//!   with its own id, so concurrent writers never overwrite each other's key.
//! - Aggregates that declare personal data take no snapshots: a snapshot is state, which holds
//!   decrypted values, and forgetting must not leave them behind.
//! - The outbox keeps a command to decide it again after a conflict; a command whose events
//!   carry personal data is stored sealed under the first subject's key (bound to its command
//!   id), so no plaintext lands in the outbox either.
//! - [`REDACTED`] is a string, so that typed Rust events with `String` fields still decode
//!   after forgetting and decisions keep working on the other fields.

pub mod cipher;
mod keyring;
mod shredder;

pub use cipher::{SEALED_MARKER, SEALED_VERSION, Sealed, SubjectKey};
pub use keyring::{KeyRing, KeyStore, KeyUpdate};
pub use shredder::Shredder;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::error::{Error, Result};

/// What a personal field of a forgotten subject reads as, on every read path.
pub const REDACTED: &str = "[redacted]";

/// The personal fields of one event type, and the field that names their data subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PersonalFields {
    /// The (top-level or dotted) path of the field holding the subject's id; stays readable.
    pub subject: String,
    /// The (top-level or dotted) paths of the personal fields.
    pub fields: Vec<String>,
}

/// An aggregate's personal data: the personal fields of each event type that has some.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PersonalData {
    /// Event type → its personal fields.
    pub events: BTreeMap<String, PersonalFields>,
}

impl PersonalData {
    /// No personal data.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares that events of `event_type` hold `fields` of the subject named by `subject`.
    pub fn event(mut self, event_type: &str, subject: &str, fields: &[&str]) -> Self {
        self.events.insert(
            event_type.to_owned(),
            PersonalFields {
                subject: subject.to_owned(),
                fields: fields.iter().map(|field| (*field).to_owned()).collect(),
            },
        );
        self
    }

    /// Checks the declaration: paths are non-empty, and the subject is not personal itself.
    pub fn check(&self) -> Result<()> {
        for (event_type, declared) in &self.events {
            let bad_path = |path: &str| path.is_empty() || path.split('.').any(str::is_empty);
            if bad_path(&declared.subject) || declared.fields.iter().any(|f| bad_path(f)) {
                return Err(Error::InvalidInput(format!(
                    "personal data of {event_type}: field paths are names joined by dots"
                )));
            }
            if declared.fields.contains(&declared.subject) {
                return Err(Error::InvalidInput(format!(
                    "personal data of {event_type}: the subject field cannot be personal itself"
                )));
            }
        }
        Ok(())
    }
}
