//! The key store of personal data: one `meta` record (`keys`) holding every subject key and
//! forgotten subject, read and updated within one readwrite transaction, so that tabs adding
//! keys at once never lose one. Its body is JSON text; with no awaits but IndexedDB requests
//! inside the transaction (the keys are made before it opens).
//!
//! Encryption at rest ([`super::at_rest`]): with a secret the body is one sealed value, so a
//! copied profile holds no usable subject key and so no readable personal field of an event.

use rexie::TransactionMode;
use wasm_bindgen::JsValue;

use super::IndexedDbStore;
use super::errors::storage_error;
use super::records::object;
use super::schema::META;
use crate::core::personal::{KeyStore, KeyUpdate};
use crate::core::{Error, Result};

const RECORD: &str = "keys";
const AAD: &str = "fieldstream-key-store";

/// A record holding `keys`, sealed when the store is encrypted at rest.
fn encode(store: &IndexedDbStore, keys: &KeyStore) -> Result<JsValue> {
    Ok(object(&[
        ("key", JsValue::from_str(RECORD)),
        ("body", store.at_rest().seal(AAD, keys)?),
    ]))
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
        Some(record) => store.at_rest().open(&record, AAD),
        None => Ok(KeyStore::default()),
    }
}

/// Applies `update` to the key store in one readwrite transaction.
pub async fn update(store: &IndexedDbStore, update: &KeyUpdate) -> Result<()> {
    let fail = fail("writing the key store");
    let tx = store.transaction(&[META], TransactionMode::ReadWrite)?;
    let meta = tx.store(META).map_err(&fail)?;
    let mut keys: KeyStore = match meta.get(JsValue::from_str(RECORD)).await.map_err(&fail)? {
        Some(record) => store.at_rest().open(&record, AAD)?,
        None => KeyStore::default(),
    };
    keys.apply(update);
    let record = encode(store, &keys)?;
    meta.put(&record, None).await.map_err(&fail)?;
    tx.done().await.map_err(&fail)?;
    Ok(())
}
