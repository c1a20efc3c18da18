//! The outbox as a sync push sends it: the oldest entries and their events, read in one
//! transaction over the outbox and the events (one `getAll` for the entries, one over the runs
//! of the local log's page that holds their events, and a stream read only for an entry that
//! page misses).

use std::collections::{HashMap, HashSet};

use idb::{ObjectStore, Query};
use uuid::Uuid;
use wasm_bindgen::JsValue;

use super::records::{from_body, number};
use super::run_reads::{self, RunKey};
use super::schema::{BY_SEQ, EVENTS, OUTBOX};
use super::writer::failed;
use super::{IndexedDbStore, page_limit};
use crate::core::storage::queue::{checked, found, log_page};
use crate::core::{EventEnvelope, OutboxEntry, Result};
use crate::store::QueuedCommand;

fn read_failed(error: idb::Error) -> crate::core::Error {
    failed("reading the outbox", &error)
}

/// The oldest `limit` outbox entries not in `skip`, with their events, in one readonly
/// transaction.
pub async fn read_queue(
    store: &IndexedDbStore,
    limit: usize,
    skip: &HashSet<u64>,
) -> Result<Vec<QueuedCommand>> {
    let tx = store.writer()?.read(&[OUTBOX, EVENTS])?;
    let outbox = tx.object_store(OUTBOX).map_err(read_failed)?;
    let events = tx.object_store(EVENTS).map_err(read_failed)?;
    read_in(store, &outbox, &events, limit, skip).await
}

/// The oldest `limit` outbox entries not in `skip`, with their events, read in the transaction
/// that holds `outbox` and `events` (a sync batch's own, when it reads the next push with its
/// write). Skipped entries are known by their keys only: their records are never read.
pub async fn read_in(
    store: &IndexedDbStore,
    outbox: &ObjectStore,
    events: &ObjectStore,
    limit: usize,
    skip: &HashSet<u64>,
) -> Result<Vec<QueuedCommand>> {
    let query = match skip.is_empty() {
        true => None,
        false => match unskipped_range(outbox, limit, skip).await? {
            Some(range) => Some(Query::from(range)),
            None => return Ok(Vec::new()),
        },
    };
    let mut outbox: Vec<OutboxEntry> = outbox
        .get_all(query, Some(page_limit(limit.saturating_add(skip.len()))))
        .map_err(read_failed)?
        .await
        .map_err(read_failed)?
        .iter()
        .filter(|record| number(record, "seq").map_or(true, |seq| !skip.contains(&seq)))
        .map(from_body)
        .collect::<Result<_>>()?;
    outbox.truncate(limit);
    let mut read: HashMap<Uuid, EventEnvelope> = HashMap::new();
    if let Some((after, count)) = log_page(&outbox) {
        let by_seq = events.index(BY_SEQ).map_err(read_failed)?;
        let page = run_reads::read_after(&by_seq, RunKey::Seq, after, count).await?;
        store.count(|stats| stats.page(page.len()));
        for stored in page {
            read.insert(stored.event.id, stored.event);
        }
    }
    let mut queue = Vec::with_capacity(outbox.len());
    for entry in outbox {
        let events = match found(&entry, &mut read) {
            Some(events) => events,
            None => {
                let from = entry.expected_version + 1;
                let stream = run_reads::read_stream(
                    events,
                    entry.stream.as_str(),
                    from,
                    entry.event_ids.len(),
                )
                .await?;
                checked(&entry, stream)?
            }
        };
        queue.push(QueuedCommand { entry, events });
    }
    Ok(queue)
}

/// The key range from the first to the `limit`-th outbox key not in `skip`, read from the keys
/// alone; `None` when every key is skipped.
async fn unskipped_range(
    outbox: &ObjectStore,
    limit: usize,
    skip: &HashSet<u64>,
) -> Result<Option<idb::KeyRange>> {
    let keys = outbox
        .get_all_keys(None, Some(page_limit(limit.saturating_add(skip.len()))))
        .map_err(read_failed)?
        .await
        .map_err(read_failed)?;
    let mut wanted = keys
        .iter()
        .filter_map(JsValue::as_f64)
        .filter(|key| !skip.contains(&(*key as u64)))
        .take(limit.max(1));
    let Some(first) = wanted.next() else {
        return Ok(None);
    };
    let last = wanted.last().unwrap_or(first);
    idb::KeyRange::bound(
        &JsValue::from_f64(first),
        &JsValue::from_f64(last),
        None,
        None,
    )
    .map(Some)
    .map_err(read_failed)
}
