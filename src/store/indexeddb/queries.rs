//! Reads of read models and bookkeeping, each in a readonly transaction of its own.

use rexie::TransactionMode;
use serde_json::Value;
use wasm_bindgen::JsValue;

use super::IndexedDbStore;
use super::at_rest::doc_place;
use super::errors::{idb_error, storage_error};
use super::records::{array_key, field, from_body, number};
use super::runs;
use super::schema::{
    BY_COMMAND, BY_PENDING, BY_POSITION, BY_PROJECTION, BY_STREAM, DEAD_LETTERS, DOCS, EVENTS, IX,
    META, OUTBOX, REJECTED,
};
use crate::core::projection::{Condition, Cursor, DeadLetter, Doc, IndexValue, Page, Query};
use crate::core::{Error, OutboxEntry, RejectedCommand, Result, StreamId};
use crate::store::QueueSizes;

fn read(error: rexie::Error) -> Error {
    storage_error("reading", &error)
}

/// A number kept in `meta` (0 when absent).
pub async fn meta_number(store: &IndexedDbStore, key: &str) -> Result<u64> {
    let tx = store.transaction(&[META], TransactionMode::ReadOnly)?;
    let meta = tx.store(META).map_err(read)?;
    match meta.get(JsValue::from_str(key)).await.map_err(read)? {
        Some(record) => number(&record, "value"),
        None => Ok(0),
    }
}

/// The dead letters of projection `name`.
pub async fn dead_letters(store: &IndexedDbStore, name: &str) -> Result<Vec<DeadLetter>> {
    let tx = store.transaction(&[DEAD_LETTERS], TransactionMode::ReadOnly)?;
    let index = tx
        .store(DEAD_LETTERS)
        .and_then(|s| s.index(BY_PROJECTION))
        .map_err(read)?;
    let only =
        rexie::KeyRange::only(&JsValue::from_str(name)).map_err(|e| idb_error("reading", &e))?;
    let records = index.get_all(Some(only), None).await.map_err(read)?;
    records.iter().map(from_body).collect()
}

/// Events a fold at `checkpoint` and `pending_upto` has not processed, counted from the runs
/// that hold them (a read as long as the fold's lag, in runs).
pub async fn unprocessed(
    store: &IndexedDbStore,
    checkpoint: u64,
    pending_upto: u64,
) -> Result<u64> {
    let tx = store.transaction(&[EVENTS], TransactionMode::ReadOnly)?;
    let events = tx.store(EVENTS).map_err(read)?;
    let mut total = 0;
    for (index, key, after) in [
        (BY_POSITION, "position", checkpoint),
        (BY_PENDING, "pending", pending_upto),
    ] {
        let range = rexie::KeyRange::lower_bound(&JsValue::from_f64(after as f64), Some(true))
            .map_err(|e| idb_error("reading", &e))?;
        // Each run's keys are consecutive: those above `after` are counted from its last one.
        for record in events
            .index(index)
            .map_err(read)?
            .get_all(Some(range), None)
            .await
            .map_err(read)?
        {
            let last = number(&record, key)?;
            let first = last + 1 - runs::len(&record)?;
            total += last - after.max(first - 1);
        }
    }
    Ok(total)
}

fn js(value: &IndexValue) -> JsValue {
    match value {
        IndexValue::Number(n) => JsValue::from_f64(*n),
        IndexValue::Text(text) => JsValue::from_str(text),
    }
}

/// Document `key` of namespace `ns`.
pub async fn get_doc(store: &IndexedDbStore, ns: &str, key: &str) -> Result<Option<Value>> {
    let tx = store.transaction(&[DOCS], TransactionMode::ReadOnly)?;
    let docs = tx.store(DOCS).map_err(read)?;
    let id = array_key(&[JsValue::from_str(ns), JsValue::from_str(key)]);
    match docs.get(id).await.map_err(read)? {
        Some(record) => Ok(Some(store.at_rest().open(&record, &doc_place(ns, key))?)),
        None => Ok(None),
    }
}

/// The documents of namespace `ns` an index query selects, read through the `ix` index only.
pub async fn query_docs(store: &IndexedDbStore, ns: &str, query: &Query) -> Result<Page> {
    let (ns_js, index_js) = (JsValue::from_str(ns), JsValue::from_str(&query.index));
    let beyond: JsValue = js_sys::Array::new().into();
    let (lower, lower_open) = match (&query.after, &query.condition) {
        (Some(Cursor { value, key }), _) => (vec![js(value), JsValue::from_str(key)], true),
        (None, Condition::Equals(value)) => (vec![js(value)], false),
        (
            None,
            Condition::Range {
                lower: Some(value), ..
            },
        ) => (vec![js(value)], false),
        (None, Condition::Range { lower: None, .. }) => (vec![], false),
    };
    let upper = match &query.condition {
        Condition::Equals(value) => vec![js(value), beyond.clone()],
        Condition::Range {
            upper: Some(value), ..
        } => vec![js(value), beyond.clone()],
        Condition::Range { upper: None, .. } => vec![beyond],
    };
    let with_prefix = |rest: Vec<JsValue>| {
        let mut parts = vec![ns_js.clone(), index_js.clone()];
        parts.extend(rest);
        array_key(&parts)
    };
    let range = rexie::KeyRange::bound(
        &with_prefix(lower),
        &with_prefix(upper),
        Some(lower_open),
        Some(false),
    )
    .map_err(|e| idb_error("querying", &e))?;
    let tx = store.transaction(&[DOCS], TransactionMode::ReadOnly)?;
    let ix = tx
        .store(DOCS)
        .and_then(|docs| docs.index(IX))
        .map_err(read)?;
    let limit = u32::try_from(query.limit + 1).unwrap_or(u32::MAX);
    let records = ix.get_all(Some(range), Some(limit)).await.map_err(read)?;
    let mut docs = Vec::with_capacity(records.len().min(query.limit));
    for record in records.iter().take(query.limit) {
        let key = field(record, "key")?
            .as_string()
            .ok_or_else(|| Error::Codec("document key is not text".into()))?;
        let doc = store.at_rest().open(record, &doc_place(ns, &key))?;
        docs.push(Doc { key, doc });
    }
    store.count_docs_read(docs.len());
    let next = match (records.len() > query.limit, docs.last()) {
        (true, Some(last)) => {
            let value = last.doc.get(&query.index).and_then(IndexValue::from_json);
            value.map(|value| {
                Cursor {
                    value,
                    key: last.key.clone(),
                }
                .encode()
            })
        }
        _ => None,
    };
    Ok(Page { docs, next })
}

/// The rejected inbox, oldest first.
pub async fn rejected(store: &IndexedDbStore) -> Result<Vec<RejectedCommand>> {
    let tx = store.transaction(&[REJECTED], TransactionMode::ReadOnly)?;
    let records = tx
        .store(REJECTED)
        .map_err(read)?
        .get_all(None, None)
        .await
        .map_err(read)?;
    records.iter().map(from_body).collect()
}

/// The sizes of the outbox and the rejected inbox, by `count` requests.
pub async fn queue_sizes(store: &IndexedDbStore) -> Result<QueueSizes> {
    let tx = store.transaction(&[OUTBOX, REJECTED], TransactionMode::ReadOnly)?;
    let outbox = tx
        .store(OUTBOX)
        .map_err(read)?
        .count(None)
        .await
        .map_err(read)?;
    let rejected = tx
        .store(REJECTED)
        .map_err(read)?
        .count(None)
        .await
        .map_err(read)?;
    Ok(QueueSizes {
        outbox: outbox as usize,
        rejected: rejected as usize,
    })
}

/// The outbox entries of `streams`, oldest first, through the outbox's index by stream.
pub async fn outbox_of(store: &IndexedDbStore, streams: &[StreamId]) -> Result<Vec<OutboxEntry>> {
    let tx = store.transaction(&[OUTBOX], TransactionMode::ReadOnly)?;
    let by_stream = tx
        .store(OUTBOX)
        .and_then(|outbox| outbox.index(BY_STREAM))
        .map_err(read)?;
    let ranges = streams
        .iter()
        .map(|stream| rexie::KeyRange::only(&JsValue::from_str(stream.as_str())))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| idb_error("reading the outbox", &e))?;
    // Every request is issued before the first answer is awaited: one round trip, not one per
    // stream.
    let pages = futures::future::try_join_all(
        ranges
            .into_iter()
            .map(|only| by_stream.get_all(Some(only), None)),
    )
    .await
    .map_err(read)?;
    let mut entries = pages
        .iter()
        .flatten()
        .map(from_body)
        .collect::<Result<Vec<OutboxEntry>>>()?;
    entries.sort_by_key(|entry| entry.seq);
    entries.dedup_by_key(|entry| entry.seq);
    Ok(entries)
}

/// Removes a command from the rejected inbox.
pub async fn dismiss_rejected(store: &IndexedDbStore, command_id: &str) -> Result<bool> {
    let tx = store.transaction(&[REJECTED], TransactionMode::ReadWrite)?;
    let rejected = tx.store(REJECTED).map_err(read)?;
    let only = rexie::KeyRange::only(&JsValue::from_str(command_id))
        .map_err(|e| idb_error("dismissing", &e))?;
    let keys = rejected
        .index(BY_COMMAND)
        .map_err(read)?
        .get_all_keys(Some(only), Some(1))
        .await
        .map_err(read)?;
    let Some(key) = keys.into_iter().next() else {
        return Ok(false);
    };
    rejected.delete(key).await.map_err(read)?;
    tx.done().await.map_err(read)?;
    Ok(true)
}
