//! The outbox as a sync push sends it: the oldest entries and their events, read in one
//! readonly transaction over the outbox and the events (one `getAll` for the entries, one over
//! the local log's page that holds their events, and a stream read only for an entry that page
//! misses).

use std::collections::HashMap;

use rexie::TransactionMode;
use uuid::Uuid;
use wasm_bindgen::JsValue;

use super::errors::{self, storage_error};
use super::records::{MAX_KEY_NUMBER, from_body, stream_range};
use super::schema::{BY_SEQ, EVENTS, OUTBOX};
use super::{IndexedDbStore, page_limit};
use crate::core::{EventEnvelope, OutboxEntry, Result};
use crate::store::QueuedCommand;
use crate::store::queue::{checked, found, log_page};

fn read_failed(error: rexie::Error) -> crate::core::Error {
    storage_error("reading the outbox", &error)
}

/// The oldest `limit` outbox entries with their events, in one transaction.
pub async fn read_queue(store: &IndexedDbStore, limit: usize) -> Result<Vec<QueuedCommand>> {
    let tx = store.transaction(&[OUTBOX, EVENTS], TransactionMode::ReadOnly)?;
    let outbox: Vec<OutboxEntry> = tx
        .store(OUTBOX)
        .map_err(read_failed)?
        .get_all(None, Some(page_limit(limit)))
        .await
        .map_err(read_failed)?
        .iter()
        .map(from_body)
        .collect::<Result<_>>()?;
    let events = tx.store(EVENTS).map_err(read_failed)?;
    let mut read: HashMap<Uuid, EventEnvelope> = HashMap::new();
    if let Some((after, count)) = log_page(&outbox) {
        let range = rexie::KeyRange::lower_bound(&JsValue::from_f64(after as f64), Some(true))
            .map_err(|error| errors::idb_error("reading the outbox", &error))?;
        let page = events
            .index(BY_SEQ)
            .map_err(read_failed)?
            .get_all(Some(range), Some(page_limit(count)))
            .await
            .map_err(read_failed)?;
        store.count(|stats| stats.page(page.len()));
        for record in &page {
            let event: EventEnvelope = from_body(record)?;
            read.insert(event.id, event);
        }
    }
    let mut queue = Vec::with_capacity(outbox.len());
    for entry in outbox {
        let events = match found(&entry, &mut read) {
            Some(events) => events,
            None => {
                let from = entry.expected_version + 1;
                let range = stream_range(entry.stream.as_str(), from, MAX_KEY_NUMBER)?;
                let page = events
                    .get_all(Some(range), Some(page_limit(entry.event_ids.len())))
                    .await
                    .map_err(read_failed)?;
                let stream = page.iter().map(from_body).collect::<Result<Vec<_>>>()?;
                checked(&entry, stream)?
            }
        };
        queue.push(QueuedCommand { entry, events });
    }
    Ok(queue)
}
