//! Encryption at rest of what holds decrypted personal data: the key store, read-model
//! documents and their undo records.
//!
//! A store opened with a secret (`open({ secret })`: a 256-bit key derived in WebCrypto before
//! any transaction) seals those bodies with AES-256-GCM, synchronously, inside the transaction
//! that writes them; each sealed body is bound to its place (`doc:<ns>:<key>`,
//! `undo:<ns>:<seq>:<key>`, the key store's name), so it cannot be moved to another record. A
//! body written plain (before the store had a secret) still reads, and is sealed at its next
//! write; a sealed body read without the key, or with another, fails with a crypto error.
//!
//! Index entries of read models stay readable: IndexedDB sorts and ranges on them. Events keep
//! their personal fields sealed under subject keys (`core::personal`), whose key store this
//! seals too, so the events need no second layer.

use rexie::TransactionMode;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use wasm_bindgen::JsValue;

use super::IndexedDbStore;
use super::errors::storage_error;
use super::records::{field, object};
use super::schema::META;
use crate::core::personal::{Sealed, SubjectKey};
use crate::core::{Cause, Detail, Error, Result};

/// The key that seals bodies at rest, or none (bodies stay plain JSON text).
#[derive(Clone, Default)]
pub struct AtRest {
    key: Option<SubjectKey>,
}

impl AtRest {
    /// Sealing under `key` (the key derived from the user's secret), or plain without one.
    pub fn new(key: Option<&[u8; 32]>) -> AtRest {
        use base64::Engine as _;
        AtRest {
            key: key.map(|key| SubjectKey {
                subject: "at-rest".into(),
                id: "secret".into(),
                key: base64::engine::general_purpose::STANDARD.encode(key),
            }),
        }
    }

    /// The body text of `value` for the place `aad` names: sealed when there is a key.
    pub fn seal<T: Serialize>(&self, aad: &str, value: &T) -> Result<JsValue> {
        let text = match &self.key {
            Some(key) => serde_json::to_string(&key.seal(aad, &serde_json::to_value(value)?)?)?,
            None => serde_json::to_string(value)?,
        };
        Ok(JsValue::from_str(&text))
    }

    /// The value a record's `body` holds, opened when sealed; `aad` names the record's place.
    pub fn open<T: DeserializeOwned>(&self, record: &JsValue, aad: &str) -> Result<T> {
        let text = field(record, "body")?
            .as_string()
            .ok_or_else(|| Error::Codec("record body is not text".into()))?;
        let body: Value = serde_json::from_str(&text)?;
        let plain = match (Sealed::parse(&body)?, &self.key) {
            (None, _) => body,
            (Some(sealed), Some(key)) => key.open(aad, &sealed)?,
            (Some(_), None) => {
                return Err(Error::Crypto(
                    "this store is encrypted at rest: open it with its secret".into(),
                ));
            }
        };
        Ok(serde_json::from_value(plain)?)
    }
}

const SALT: &str = "at-rest-salt";

/// The database's salt for its at-rest key, made (16 random bytes) in the same readwrite
/// transaction that finds none, so tabs opening a new database at once agree on one.
pub async fn salt(store: &IndexedDbStore) -> Result<Vec<u8>> {
    use base64::Engine as _;
    let fail = |error: rexie::Error| storage_error("the at-rest salt", &error);
    let tx = store.transaction(&[META], TransactionMode::ReadWrite)?;
    let meta = tx.store(META).map_err(fail)?;
    let kept = match meta.get(JsValue::from_str(SALT)).await.map_err(fail)? {
        Some(record) => field(&record, "value")?.as_string(),
        None => None,
    };
    let text = match kept {
        Some(text) => text,
        None => {
            let mut salt = [0u8; 16];
            getrandom::fill(&mut salt).map_err(|error| {
                let cause = Cause::Described(error.to_string());
                Error::Crypto(Detail::described("no randomness for a salt", cause))
            })?;
            let text = base64::engine::general_purpose::STANDARD.encode(salt);
            let record = object(&[
                ("key", JsValue::from_str(SALT)),
                ("value", JsValue::from_str(&text)),
            ]);
            meta.put(&record, None).await.map_err(fail)?;
            text
        }
    };
    tx.done().await.map_err(fail)?;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| Error::Codec("the at-rest salt is not base64".into()))
}

/// The place of a read-model document.
pub fn doc_place(ns: &str, key: &str) -> String {
    format!("doc:{ns}:{key}")
}

/// The place of an undo record.
pub fn undo_place(ns: &str, seq: u64, key: &str) -> String {
    format!("undo:{ns}:{seq}:{key}")
}
