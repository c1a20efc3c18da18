//! The key store of personal data: one `meta` record (`keys`) holding every subject key and
//! forgotten subject, read and updated within one readwrite transaction, so that tabs adding
//! keys at once never lose one. Its body is JSON text; with no awaits but IndexedDB requests
//! inside the transaction (the keys are made before it opens).

use rexie::TransactionMode;
use wasm_bindgen::JsValue;

use super::IndexedDbStore;
use super::errors::storage_error;
use super::records::{from_body, keyed_record};
use super::schema::META;
use crate::core::personal::{KeyStore, KeyUpdate};
use crate::core::{Error, Result};

const RECORD: &str = "keys";

fn fail(context: &'static str) -> impl Fn(rexie::Error) -> Error {
    move |error| storage_error(context, &error)
}

/// The key store (empty when none was written yet).
pub async fn read(store: &IndexedDbStore) -> Result<KeyStore> {
    let fail = fail("reading the key store");
    let tx = store.transaction(&[META], TransactionMode::ReadOnly)?;
    let meta = tx.store(META).map_err(&fail)?;
    match meta.get(JsValue::from_str(RECORD)).await.map_err(&fail)? {
        Some(record) => from_body(&record),
        None => Ok(KeyStore::default()),
    }
}

/// Applies `update` to the key store in one readwrite transaction.
pub async fn update(store: &IndexedDbStore, update: &KeyUpdate) -> Result<()> {
    let fail = fail("writing the key store");
    let tx = store.transaction(&[META], TransactionMode::ReadWrite)?;
    let meta = tx.store(META).map_err(&fail)?;
    let mut keys: KeyStore = match meta.get(JsValue::from_str(RECORD)).await.map_err(&fail)? {
        Some(record) => from_body(&record)?,
        None => KeyStore::default(),
    };
    keys.apply(update);
    let record = keyed_record("key", JsValue::from_str(RECORD), &keys)?;
    meta.put(&record, None).await.map_err(&fail)?;
    tx.done().await.map_err(&fail)?;
    Ok(())
}
