//! Reads of the `events` store's runs (`runs.rs`) inside a transaction: a stream from a version
//! that may lie inside a run, and the events after a local sequence number or a server position
//! through an index of runs by their last one.

use idb::{CursorDirection, ObjectStore, Query};
use js_sys::Array;
use wasm_bindgen::JsValue;

use super::records::{MAX_KEY_NUMBER, number, stream_range};
use super::runs::{events_after, stream_events};
use super::writer::failed;
use crate::core::{Error, EventEnvelope, Result, StoredEvent};

fn read_failed(error: idb::Error) -> Error {
    failed("reading events", &error)
}

/// Reads up to `limit` events of `stream` from version `from` on, in the transaction that holds
/// `events`: the run that holds `from` when it starts before it, and the runs from `from` on,
/// both asked for before either answer is awaited.
pub async fn read_stream(
    events: &ObjectStore,
    stream: &str,
    from: u64,
    limit: usize,
) -> Result<Vec<EventEnvelope>> {
    let from = from.max(1);
    let to = from.saturating_add(limit.saturating_sub(1) as u64);
    let records = read_runs(events, stream, from, Some(to)).await?;
    stream_events(&records, from, limit)
}

/// The run records of `stream` that hold its events from version `from` to `to` (to its end
/// without `to`): the one that holds `from` when it starts before it, and those that start
/// within the range (a stream's versions have no gaps, so these hold every event of it), both
/// asked for before either answer is awaited.
pub async fn read_runs(
    events: &ObjectStore,
    stream: &str,
    from: u64,
    to: Option<u64>,
) -> Result<Vec<JsValue>> {
    let before = match from {
        0 | 1 => None,
        _ => {
            let key = |version: u64| -> JsValue {
                Array::of2(
                    &JsValue::from_str(stream),
                    &JsValue::from_f64(version as f64),
                )
                .into()
            };
            let range = idb::KeyRange::bound(&key(0), &key(from), Some(false), Some(true))
                .map_err(read_failed)?;
            Some(
                events
                    .open_cursor(Some(Query::from(range)), Some(CursorDirection::Prev))
                    .map_err(read_failed)?
                    .into_future(),
            )
        }
    };
    let upper = to.map_or(MAX_KEY_NUMBER, |to| (to as f64).min(MAX_KEY_NUMBER));
    let range = stream_range(stream, from.max(1), upper)?;
    let after = events
        .get_all(Some(Query::from(range)), None)
        .map_err(read_failed)?
        .into_future();
    let mut records = Vec::new();
    if let Some(before) = before {
        if let Some(cursor) = before.await.map_err(read_failed)? {
            let record = cursor.value().map_err(read_failed)?;
            if number(&record, "last")? >= from {
                records.push(record);
            }
        }
    }
    records.extend(after.await.map_err(read_failed)?);
    Ok(records)
}

/// Reads up to `limit` events whose `key` (the local sequence number for `by_seq` and
/// `by_pending`, the server position for `by_position`) is above `after`, in key order,
/// through `index`, an index of runs by their last key. Each round asks for the runs that end
/// within the next `limit` keys and the first run that ends past them (it may start within
/// them), so no more runs are read than hold the wanted events, however long the runs.
pub async fn read_after(
    index: &idb::Index,
    by: RunKey,
    after: u64,
    limit: usize,
) -> Result<Vec<StoredEvent>> {
    let key = |stored: &StoredEvent| by.of(stored);
    let mut found = Vec::new();
    let mut from = after;
    while found.len() < limit {
        let need = limit - found.len();
        let upper = from.saturating_add(need as u64);
        let within = idb::KeyRange::bound(
            &JsValue::from_f64(from as f64),
            &JsValue::from_f64(upper as f64),
            Some(true),
            Some(false),
        )
        .map_err(read_failed)?;
        let past = idb::KeyRange::lower_bound(&JsValue::from_f64(upper as f64), Some(true))
            .map_err(read_failed)?;
        let within = index
            .get_all(Some(Query::from(within)), None)
            .map_err(read_failed)?
            .into_future();
        let past = index
            .get_all(Some(Query::from(past)), Some(1))
            .map_err(read_failed)?
            .into_future();
        let mut records = within.await.map_err(read_failed)?;
        let past = past.await.map_err(read_failed)?;
        let next = match past.first() {
            Some(record) => Some(number(record, by.property())?),
            None => None,
        };
        records.extend(past);
        found.extend(events_after(&records, from, need, key)?);
        match next {
            Some(next) => from = next,
            None => break,
        }
    }
    Ok(found)
}

/// What an index of runs is keyed by: each run's last local sequence number, or its last
/// server position.
#[derive(Debug, Clone, Copy)]
pub enum RunKey {
    /// The last local sequence number (`by_seq`: property `seq`).
    Seq,
    /// The last local sequence number of a pending run (`by_pending`: property `pending`).
    Pending,
    /// The last server position of a confirmed run (`by_position`: property `position`).
    Position,
}

impl RunKey {
    /// The record property the index is on.
    fn property(self) -> &'static str {
        match self {
            RunKey::Seq => "seq",
            RunKey::Pending => "pending",
            RunKey::Position => "position",
        }
    }

    /// The key of one event.
    fn of(self, stored: &StoredEvent) -> Option<u64> {
        match self {
            RunKey::Seq | RunKey::Pending => Some(stored.seq),
            RunKey::Position => stored.event.position,
        }
    }
}
