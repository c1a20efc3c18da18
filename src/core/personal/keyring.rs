//! The key ring: the subject keys a client holds in memory, which are not stored yet, and which
//! subjects were forgotten.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::cipher::SubjectKey;

/// What a store's key store holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyStore {
    /// Every key held.
    pub keys: Vec<SubjectKey>,
    /// The subjects forgotten here.
    pub forgotten: Vec<String>,
    /// Subjects forgotten on this device that the server has not been told of yet.
    #[serde(default)]
    pub unsent: Vec<String>,
}

/// One write to a key store: keys to add, then subjects to forget (their keys deleted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyUpdate {
    /// Keys to add (a key of a subject already forgotten is not kept).
    pub put: Vec<SubjectKey>,
    /// Subjects to forget.
    pub forget: Vec<String>,
    /// Whether the forgets were made on this device (then queued for the server).
    pub announce: bool,
    /// Subjects the server has now been told of.
    pub sent: Vec<String>,
}

impl KeyStore {
    /// Applies an update, as every store does.
    pub fn apply(&mut self, update: &KeyUpdate) {
        for key in &update.put {
            let known = self
                .keys
                .iter()
                .any(|held| held.subject == key.subject && held.id == key.id);
            if !known && !self.forgotten.contains(&key.subject) {
                self.keys.push(key.clone());
            }
        }
        for subject in &update.forget {
            self.keys.retain(|key| &key.subject != subject);
            if !self.forgotten.contains(subject) {
                self.forgotten.push(subject.clone());
            }
            if update.announce && !self.unsent.contains(subject) {
                self.unsent.push(subject.clone());
            }
        }
        self.unsent.retain(|subject| !update.sent.contains(subject));
    }
}

/// The keys in memory.
#[derive(Debug, Default)]
pub struct KeyRing {
    keys: HashMap<String, Vec<SubjectKey>>,
    unsaved: Vec<SubjectKey>,
    forgotten: HashSet<String>,
    loaded: bool,
    missing: bool,
}

impl KeyRing {
    /// Replaces what the ring holds with a store's key store (keys not yet saved stay).
    pub fn load(&mut self, stored: KeyStore) {
        self.keys.clear();
        self.forgotten = stored.forgotten.into_iter().collect();
        for key in stored.keys.into_iter().chain(self.unsaved.clone()) {
            self.insert(key);
        }
        self.loaded = true;
        self.missing = false;
    }

    /// Whether the store's keys were loaded.
    pub fn is_loaded(&self) -> bool {
        self.loaded
    }

    /// Adds a key (from another device); a forgotten subject's key is not kept.
    pub fn insert(&mut self, key: SubjectKey) {
        if self.forgotten.contains(&key.subject) {
            return;
        }
        let held = self.keys.entry(key.subject.clone()).or_default();
        if !held.iter().any(|k| k.id == key.id) {
            held.push(key);
        }
    }

    /// The key to seal new values of `subject` with, made (and remembered as unsaved) when the
    /// subject has none. A forgotten subject stays forgotten: no new personal data of it is
    /// written (an app gives a returning person a new subject id).
    pub fn key_for(&mut self, subject: &str) -> crate::core::Result<SubjectKey> {
        if let Some(key) = self.keys.get(subject).and_then(|keys| keys.first()) {
            return Ok(key.clone());
        }
        if self.forgotten.contains(subject) {
            return Err(crate::core::Error::InvalidInput(format!(
                "data subject {subject:?} was forgotten: no personal data of it is written again"
            )));
        }
        let key = SubjectKey::generate(subject)?;
        self.unsaved.push(key.clone());
        self.insert(key.clone());
        Ok(key)
    }

    /// The key `key_id` of `subject`, if held.
    pub fn get(&self, subject: &str, key_id: &str) -> Option<&SubjectKey> {
        self.keys.get(subject)?.iter().find(|key| key.id == key_id)
    }

    /// Whether `subject` was forgotten here.
    pub fn is_forgotten(&self, subject: &str) -> bool {
        self.forgotten.contains(subject)
    }

    /// Forgets `subject`: its keys leave the ring.
    pub fn forget(&mut self, subject: &str) {
        self.keys.remove(subject);
        self.unsaved.retain(|key| key.subject != subject);
        self.forgotten.insert(subject.to_owned());
    }

    /// Keys made here and not yet written to the store.
    pub fn unsaved(&self) -> &[SubjectKey] {
        &self.unsaved
    }

    /// Marks `keys` as written to the store.
    pub fn saved(&mut self, keys: &[SubjectKey]) {
        self.unsaved
            .retain(|key| !keys.iter().any(|saved| saved.id == key.id));
    }

    /// Notes that a read met a key the ring lacks (another tab may have made it).
    pub fn note_missing(&mut self) {
        self.missing = true;
    }

    /// Whether a read met a missing key since the last call; clears the note.
    pub fn take_missing(&mut self) -> bool {
        std::mem::take(&mut self.missing)
    }

    /// Whether the ring holds key `key_id` of `subject` or knows the subject is forgotten.
    pub fn knows(&self, subject: &str, key_id: &str) -> bool {
        self.get(subject, key_id).is_some() || self.is_forgotten(subject)
    }
}
