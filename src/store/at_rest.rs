//! Encryption at rest of what holds decrypted personal data in a local store: the key store,
//! read-model documents and their undo records. Shared by the IndexedDB and SQL stores.
//!
//! A store given a 256-bit key (derived from a user's secret and the database's salt) seals
//! those bodies with AES-256-GCM (the core's cipher), synchronously, inside the transaction that
//! writes them; each sealed body is bound to its place (`doc:<ns>:<key>`,
//! `undo:<ns>:<seq>:<key>`, the key store's name), so it cannot be moved to another record. A
//! body written plain (before the store had a key) still reads, and is sealed at its next write;
//! a sealed body read without the key, or with another, fails with a crypto error. Index entries
//! stay plain: the stores range on them. Events keep their personal fields sealed under subject
//! keys, whose key store this seals too, so the events need no second layer.

use base64::Engine as _;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::core::personal::{Sealed, SubjectKey};
use crate::core::{Cause, Detail, Error, Result};

/// The key that seals bodies at rest, or none (bodies stay plain JSON text).
#[derive(Clone, Default)]
pub struct AtRest {
    key: Option<SubjectKey>,
}

impl AtRest {
    /// Sealing under `key`, or plain without one.
    pub fn new(key: Option<&[u8; 32]>) -> AtRest {
        AtRest {
            key: key.map(|key| SubjectKey {
                subject: "at-rest".into(),
                id: "secret".into(),
                key: base64::engine::general_purpose::STANDARD.encode(key),
            }),
        }
    }

    /// The body text of `value` for the place `place` names: sealed when there is a key.
    pub fn seal<T: Serialize>(&self, place: &str, value: &T) -> Result<String> {
        Ok(match &self.key {
            Some(key) => serde_json::to_string(&key.seal(place, &serde_json::to_value(value)?)?)?,
            None => serde_json::to_string(value)?,
        })
    }

    /// The value body `text` holds, opened when sealed; `place` names where it was read.
    pub fn open<T: DeserializeOwned>(&self, place: &str, text: &str) -> Result<T> {
        let body: Value = serde_json::from_str(text)?;
        let plain = match (Sealed::parse(&body)?, &self.key) {
            (None, _) => body,
            (Some(sealed), Some(key)) => key.open(place, &sealed)?,
            (Some(_), None) => {
                return Err(Error::Crypto(
                    "this store is encrypted at rest: open it with its secret".into(),
                ));
            }
        };
        Ok(serde_json::from_value(plain)?)
    }
}

/// The place of a read-model document.
pub fn doc_place(ns: &str, key: &str) -> String {
    format!("doc:{ns}:{key}")
}

/// The place of an undo record.
pub fn undo_place(ns: &str, seq: u64, key: &str) -> String {
    format!("undo:{ns}:{seq}:{key}")
}

/// A new salt for a database's at-rest key: 16 random bytes as base64 text (a salt is not
/// secret, only unique).
pub fn new_salt() -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|error| {
        let cause = Cause::Described(error.to_string());
        Error::Crypto(Detail::described("no randomness for a salt", cause))
    })?;
    Ok(base64::engine::general_purpose::STANDARD.encode(salt))
}

/// The bytes of a salt kept as base64 text.
pub fn salt_bytes(text: &str) -> Result<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| Error::Codec("the at-rest salt is not base64".into()))
}
