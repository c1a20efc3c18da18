//! Encryption at rest in an [`IndexedDbStore`] (`crate::store::at_rest`): a store opened with a
//! secret (`open({ secret })`: a 256-bit key derived in WebCrypto before any transaction) seals
//! its key store, documents and undo records, each record's `body` the sealed text; the salt
//! is kept in `meta`, made in the same readwrite transaction that finds none.

use rexie::TransactionMode;
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;

use super::IndexedDbStore;
use super::errors::storage_error;
use super::records::{field, object};
use super::schema::META;
use crate::core::{Error, Result};
use crate::store::at_rest::{self as shared, new_salt, salt_bytes};

pub use crate::store::at_rest::{doc_place, undo_place};

/// The key that seals bodies at rest, or none (bodies stay plain JSON text).
#[derive(Clone, Default)]
pub struct AtRest(shared::AtRest);

impl AtRest {
    /// Sealing under `key` (the key derived from the user's secret), or plain without one.
    pub fn new(key: Option<&[u8; 32]>) -> AtRest {
        AtRest(shared::AtRest::new(key))
    }

    /// The body text of `value` for the place `aad` names: sealed when there is a key.
    pub fn seal<T: Serialize>(&self, aad: &str, value: &T) -> Result<JsValue> {
        Ok(JsValue::from_str(&self.0.seal(aad, value)?))
    }

    /// The value a record's `body` holds, opened when sealed; `aad` names the record's place.
    pub fn open<T: DeserializeOwned>(&self, record: &JsValue, aad: &str) -> Result<T> {
        let text = field(record, "body")?
            .as_string()
            .ok_or_else(|| Error::Codec("record body is not text".into()))?;
        self.0.open(aad, &text)
    }
}

const SALT: &str = "at-rest-salt";

/// The database's salt for its at-rest key, made (16 random bytes) in the same readwrite
/// transaction that finds none, so tabs opening a new database at once agree on one.
pub async fn salt(store: &IndexedDbStore) -> Result<Vec<u8>> {
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
            let text = new_salt()?;
            let record = object(&[
                ("key", JsValue::from_str(SALT)),
                ("value", JsValue::from_str(&text)),
            ]);
            meta.put(&record, None).await.map_err(fail)?;
            text
        }
    };
    tx.done().await.map_err(fail)?;
    salt_bytes(&text)
}
