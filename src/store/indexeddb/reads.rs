//! Reads of the event log and the outbox, each in a readonly transaction of its own: a
//! stream's head and pages, the whole log in local order, the oldest outbox entries.

use rexie::{Direction, TransactionMode};

use super::errors::storage_error;
use super::records::{MAX_KEY_NUMBER, from_body, number, stream_range};
use super::run_reads::{self, RunKey};
use super::schema::{BY_SEQ, EVENTS, OUTBOX};
use super::writer::failed;
use super::{IndexedDbStore, page_limit};
use crate::core::{EventEnvelope, OutboxEntry, Result, StoredEvent, StreamId};

fn read_failed(error: rexie::Error) -> crate::core::Error {
    storage_error("reading", &error)
}

fn idb_failed(error: idb::Error) -> crate::core::Error {
    failed("reading", &error)
}

/// The version of `stream`'s newest event (0 when it has none): the last of its newest run.
pub async fn stream_version(store: &IndexedDbStore, stream: &StreamId) -> Result<u64> {
    let tx = store.transaction(&[EVENTS], TransactionMode::ReadOnly)?;
    let events = tx.store(EVENTS).map_err(read_failed)?;
    let range = stream_range(stream.as_str(), 0, MAX_KEY_NUMBER)?;
    let last = events
        .scan(Some(range), Some(1), None, Some(Direction::Prev))
        .await
        .map_err(read_failed)?;
    last.first()
        .map_or(Ok(0), |(_, record)| number(record, "last"))
}

/// Up to `limit` events of `stream` from version `from_version` on.
pub async fn stream(
    store: &IndexedDbStore,
    stream: &StreamId,
    from_version: u64,
    limit: usize,
) -> Result<Vec<EventEnvelope>> {
    let tx = store.writer()?.read(&[EVENTS])?;
    let events = tx.object_store(EVENTS).map_err(idb_failed)?;
    let page = run_reads::read_stream(&events, stream.as_str(), from_version, limit).await?;
    store.count(|stats| stats.page(page.len()));
    Ok(page)
}

/// Up to `limit` events with a local sequence number above `after`, in local order: the runs
/// whose last sequence number is above it, without the events at or before it.
pub async fn all(store: &IndexedDbStore, after: u64, limit: usize) -> Result<Vec<StoredEvent>> {
    let tx = store.writer()?.read(&[EVENTS])?;
    let by_seq = tx
        .object_store(EVENTS)
        .and_then(|events| events.index(BY_SEQ))
        .map_err(idb_failed)?;
    run_reads::read_after(&by_seq, RunKey::Seq, after, limit).await
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
