//! Encryption at rest of what holds decrypted personal data in a [`SqlStore`](super::SqlStore):
//! the key store, read-model documents and their undo records.
//!
//! A store opened with a key ([`SqlStore::open_sealed`](super::SqlStore::open_sealed), a
//! 256-bit key the host derives from its secret and the database's salt,
//! [`SqlStore::at_rest_salt`](super::SqlStore::at_rest_salt)) seals those bodies with
//! AES-256-GCM (the core's cipher) inside the transaction that writes them, each bound to its
//! place (`doc:<ns>:<key>`, `undo:<ns>:<seq>:<key>`, the key store's name) as the IndexedDB
//! store binds them. A body written plain still reads and is sealed at its next write; a
//! sealed body read without the key, or with another, fails with a crypto error. Index
//! entries stay plain: SQLite ranges on them. Events keep their personal fields sealed under
//! subject keys, which the sealed key store protects.

use base64::Engine as _;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::connection::SqlConnection;
use super::schema;
use crate::core::personal::{Sealed, SubjectKey};
use crate::core::{Error, Result};

/// The place of the key store.
pub const KEY_STORE: &str = "fieldstream-key-store";

/// The key that seals bodies at rest, or none (bodies stay plain JSON text).
#[derive(Default)]
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
                    "this store is encrypted at rest: open it with its key".into(),
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

/// The database's salt for its at-rest key: 16 random bytes, made and kept in `meta` by the
/// first call.
pub fn salt<C: SqlConnection>(conn: &C) -> Result<Vec<u8>> {
    const SALT: &str = "at_rest_salt";
    let engine = base64::engine::general_purpose::STANDARD;
    let text = conn.transaction(|conn| {
        schema::create_meta(conn)?;
        if let Some(text) = schema::get(conn, SALT)? {
            return Ok(text);
        }
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt)
            .map_err(|error| Error::Crypto(format!("no randomness: {error}").into()))?;
        let text = engine.encode(salt);
        schema::set(conn, SALT, &text)?;
        Ok(text)
    })?;
    engine
        .decode(text)
        .map_err(|_| Error::Codec("the at-rest salt is not base64".into()))
}
