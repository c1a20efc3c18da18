//! How fieldstream's records look in IndexedDB, and the keys that find them.
//!
//! Every record keeps its key fields as plain properties (for key paths and indexes) and the
//! rest as one JSON text in `body`: one string crosses between wasm and JS instead of a tree of
//! small values, and the structured clone IndexedDB makes of it is cheap.

use js_sys::{Array, Object, Reflect};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;

use crate::core::{Error, IdempotencyRecord, OutboxEntry, Result};

/// The largest integer a JS number holds exactly: the upper bound of version ranges.
pub const MAX_KEY_NUMBER: f64 = 9_007_199_254_740_991.0;

/// The key of event `version` of `stream`: `[stream, version]`.
pub fn event_key(stream: &str, version: u64) -> JsValue {
    Array::of2(
        &JsValue::from_str(stream),
        &JsValue::from_f64(version as f64),
    )
    .into()
}

/// The range of `stream`'s events with version in `from..=to`.
pub fn stream_range(stream: &str, from: u64, to: f64) -> Result<rexie::KeyRange> {
    let lower = event_key(stream, from);
    let upper: JsValue = Array::of2(&JsValue::from_str(stream), &JsValue::from_f64(to)).into();
    rexie::KeyRange::bound(&lower, &upper, Some(false), Some(false))
        .map_err(|error| Error::Storage(format!("key range of {stream}: {error}").into()))
}

/// An object with the given properties.
pub fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (key, value) in fields {
        // Setting a property on a fresh plain object cannot fail.
        let _ = Reflect::set(&object, &JsValue::from_str(key), value);
    }
    object.into()
}

/// A property of a record.
pub fn field(record: &JsValue, key: &str) -> Result<JsValue> {
    Reflect::get(record, &JsValue::from_str(key))
        .map_err(|_| Error::Codec(format!("record without a readable {key:?}").into()))
}

/// JSON text of a value, for a record's `body`.
pub fn body<T: Serialize>(value: &T) -> Result<JsValue> {
    Ok(JsValue::from_str(&serde_json::to_string(value)?))
}

/// A value back from a record's `body`.
pub fn from_body<T: DeserializeOwned>(record: &JsValue) -> Result<T> {
    let text = field(record, "body")?
        .as_string()
        .ok_or_else(|| Error::Codec("record body is not text".into()))?;
    Ok(serde_json::from_str(&text)?)
}

/// A number property of a record.
pub fn number(record: &JsValue, key: &str) -> Result<u64> {
    field(record, key)?
        .as_f64()
        .map(|n| n as u64)
        .ok_or_else(|| Error::Codec(format!("record property {key:?} is not a number").into()))
}

/// `[a, b, …]` as a JS array key.
pub fn array_key(parts: &[JsValue]) -> JsValue {
    parts.iter().collect::<Array>().into()
}

/// The range of array keys that start with `prefix` (`[…prefix]` up to `[…prefix, []]`: an
/// array sorts after every number and string).
pub fn prefix_range(prefix: &[JsValue]) -> Result<idb::KeyRange> {
    let lower = array_key(prefix);
    let mut upper: Vec<JsValue> = prefix.to_vec();
    upper.push(Array::new().into());
    idb::KeyRange::bound(&lower, &array_key(&upper), Some(false), Some(false))
        .map_err(|error| Error::Storage(format!("key range: {error}").into()))
}

/// A record found by `key` in a store whose key path is `key_name`, holding `value` as its body.
pub fn keyed_record<T: Serialize>(key_name: &str, key: JsValue, value: &T) -> Result<JsValue> {
    Ok(object(&[(key_name, key), ("body", body(value)?)]))
}

/// The record of an outbox entry: keyed by `seq`, indexed by `stream`.
pub fn outbox_record(entry: &OutboxEntry) -> Result<JsValue> {
    Ok(object(&[
        ("seq", JsValue::from_f64(entry.seq as f64)),
        ("stream", JsValue::from_str(entry.stream.as_str())),
        ("body", body(entry)?),
    ]))
}

/// The record of an idempotency record: keyed by `key`, indexed by `expiresAt` (so expired
/// records are found without reading the others).
pub fn idempotency_record(record: &IdempotencyRecord) -> Result<JsValue> {
    Ok(object(&[
        ("key", JsValue::from_str(&record.key)),
        (
            "expiresAt",
            JsValue::from_f64(record.expires_at.millis() as f64),
        ),
        ("body", body(record)?),
    ]))
}
