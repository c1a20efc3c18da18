//! The key store of personal data: one `meta` record (`keys`) holding every subject key and
//! forgotten subject, read and updated within one readwrite transaction, so that tabs adding
//! keys at once never lose one. Its body is JSON text; with no awaits but IndexedDB requests
//! inside the transaction (the keys are made before it opens).
//!
//! Encryption at rest: opened with a key-store key (derived from a user secret at `open`,
//! outside any transaction), the body is one sealed value (AES-256-GCM, as personal fields), so
//! a copied profile holds no usable subject key and so no readable personal field. A plain key
//! store is sealed at its next write; a sealed one opened without the key (or with another)
//! fails with a crypto error.

use rexie::TransactionMode;
use wasm_bindgen::JsValue;

use super::IndexedDbStore;
use super::errors::storage_error;
use super::records::{from_body, keyed_record};
use super::schema::META;
use crate::core::personal::{KeyStore, KeyUpdate, Sealed, SubjectKey};
use crate::core::{Error, Result};

const RECORD: &str = "keys";
const AAD: &str = "fieldstream-key-store";

/// The key that seals the key store, as a subject key (the same cipher).
fn wrapping(key: &[u8; 32]) -> SubjectKey {
    use base64::Engine as _;
    SubjectKey {
        subject: "key-store".into(),
        id: "secret".into(),
        key: base64::engine::general_purpose::STANDARD.encode(key),
    }
}

/// The key store a record holds, opened with `key` when sealed.
fn decode(record: &JsValue, key: Option<&[u8; 32]>) -> Result<KeyStore> {
    let body: serde_json::Value = from_body(record)?;
    match (Sealed::parse(&body)?, key) {
        (None, _) => Ok(serde_json::from_value(body)?),
        (Some(sealed), Some(key)) => Ok(serde_json::from_value(wrapping(key).open(AAD, &sealed)?)?),
        (Some(_), None) => Err(Error::Crypto(
            "the key store is sealed with a secret: open the store with it".into(),
        )),
    }
}

/// A record holding `keys`, sealed under `key` when there is one.
fn encode(keys: &KeyStore, key: Option<&[u8; 32]>) -> Result<JsValue> {
    let name = JsValue::from_str(RECORD);
    match key {
        Some(key) => keyed_record(
            "key",
            name,
            &wrapping(key).seal(AAD, &serde_json::to_value(keys)?)?,
        ),
        None => keyed_record("key", name, keys),
    }
}

fn fail(context: &'static str) -> impl Fn(rexie::Error) -> Error {
    move |error| storage_error(context, &error)
}

/// The key store (empty when none was written yet).
pub async fn read(store: &IndexedDbStore) -> Result<KeyStore> {
    let fail = fail("reading the key store");
    let tx = store.transaction(&[META], TransactionMode::ReadOnly)?;
    let meta = tx.store(META).map_err(&fail)?;
    match meta.get(JsValue::from_str(RECORD)).await.map_err(&fail)? {
        Some(record) => decode(&record, store.inner.key_store_key.as_ref()),
        None => Ok(KeyStore::default()),
    }
}

/// Applies `update` to the key store in one readwrite transaction.
pub async fn update(store: &IndexedDbStore, update: &KeyUpdate) -> Result<()> {
    let fail = fail("writing the key store");
    let tx = store.transaction(&[META], TransactionMode::ReadWrite)?;
    let meta = tx.store(META).map_err(&fail)?;
    let key = store.inner.key_store_key.as_ref();
    let mut keys: KeyStore = match meta.get(JsValue::from_str(RECORD)).await.map_err(&fail)? {
        Some(record) => decode(&record, key)?,
        None => KeyStore::default(),
    };
    keys.apply(update);
    let record = encode(&keys, key)?;
    meta.put(&record, None).await.map_err(&fail)?;
    tx.done().await.map_err(&fail)?;
    Ok(())
}
