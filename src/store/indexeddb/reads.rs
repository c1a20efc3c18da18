//! Reads of the event log and the outbox, each in a readonly transaction of its own: a
//! stream's head and pages, the whole log in local order, the oldest outbox entries.

use rexie::{Direction, TransactionMode};
use wasm_bindgen::JsValue;

use super::errors::{self, storage_error};
use super::records::{MAX_KEY_NUMBER, from_body, number, stored_event, stream_range};
use super::schema::{BY_SEQ, EVENTS, OUTBOX};
use super::{IndexedDbStore, page_limit};
use crate::core::{EventEnvelope, OutboxEntry, Result, StoredEvent, StreamId};

fn read_failed(error: rexie::Error) -> crate::core::Error {
    storage_error("reading", &error)
}

/// The version of `stream`'s newest event (0 when it has none).
pub async fn stream_version(store: &IndexedDbStore, stream: &StreamId) -> Result<u64> {
    let tx = store.transaction(&[EVENTS], TransactionMode::ReadOnly)?;
    let events = tx.store(EVENTS).map_err(read_failed)?;
    let range = stream_range(stream.as_str(), 0, MAX_KEY_NUMBER)?;
    let last = events
        .scan(Some(range), Some(1), None, Some(Direction::Prev))
        .await
        .map_err(read_failed)?;
    last.first()
        .map_or(Ok(0), |(_, record)| number(record, "version"))
}

/// Up to `limit` events of `stream` from version `from_version` on.
pub async fn stream(
    store: &IndexedDbStore,
    stream: &StreamId,
    from_version: u64,
    limit: usize,
) -> Result<Vec<EventEnvelope>> {
    let tx = store.transaction(&[EVENTS], TransactionMode::ReadOnly)?;
    let events = tx.store(EVENTS).map_err(read_failed)?;
    let range = stream_range(stream.as_str(), from_version.max(1), MAX_KEY_NUMBER)?;
    let page = events
        .get_all(Some(range), Some(page_limit(limit)))
        .await
        .map_err(read_failed)?;
    store.count(|stats| stats.page(page.len()));
    page.iter().map(stored_event).collect()
}

/// Up to `limit` events with a local sequence number above `after`, in local order.
pub async fn all(store: &IndexedDbStore, after: u64, limit: usize) -> Result<Vec<StoredEvent>> {
    let tx = store.transaction(&[EVENTS], TransactionMode::ReadOnly)?;
    let by_seq = tx
        .store(EVENTS)
        .and_then(|events| events.index(BY_SEQ))
        .map_err(read_failed)?;
    let range = rexie::KeyRange::lower_bound(&JsValue::from_f64(after as f64), Some(true))
        .map_err(|error| errors::idb_error("reading events", &error))?;
    let page = by_seq
        .get_all(Some(range), Some(page_limit(limit)))
        .await
        .map_err(read_failed)?;
    page.iter()
        .map(|record| {
            Ok(StoredEvent {
                seq: number(record, "seq")?,
                event: stored_event(record)?,
            })
        })
        .collect()
}

/// The oldest `limit` outbox entries.
pub async fn outbox(store: &IndexedDbStore, limit: usize) -> Result<Vec<OutboxEntry>> {
    let tx = store.transaction(&[OUTBOX], TransactionMode::ReadOnly)?;
    let outbox = tx.store(OUTBOX).map_err(read_failed)?;
    let page = outbox
        .get_all(None, Some(page_limit(limit)))
        .await
        .map_err(read_failed)?;
    page.iter().map(from_body).collect()
}
