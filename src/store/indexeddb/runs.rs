//! The records of the `events` store: one record per run of events.
//!
//! A run is what one commit writes to one stream: consecutive versions, consecutive local
//! sequence numbers, all pending or all confirmed at consecutive server positions with one
//! `recordedAt`. IndexedDB's cost is per record far more than per byte, so a command of 100
//! events writes one record, not 100. A run record keeps as plain properties:
//!
//! - `stream` and `version` (its first version): the key, so the first run of a stream, at
//!   version 1, is taken by whichever writer adds it first (a stream created twice conflicts);
//! - `last`: its last version; `seq`: its last local sequence number (index `by_seq`);
//! - `ids`: its events' ids (the multi-entry unique index `by_id`: an event id is stored once);
//! - `pending` (its last local sequence number) while pending, or `position` (its last server
//!   position) and `recordedAt` once confirmed, each with its own sparse index;
//! - `body`: the JSON text of its events as written; a confirmation sets `position` and
//!   `recordedAt` beside it and leaves it as it was.
//!
//! Every index is keyed by a run's last value, so "after x" ranges find every run that holds an
//! event after x, in order; the first such run may also hold events at or before x, which
//! [`events_after`] leaves out (the reads are in `run_reads.rs`). A run that only part of an operation concerns (a confirmation of
//! some of its events, a drop from a version inside it) is split into runs that each hold one
//! state ([`split`]).

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use super::records::{field, number, object};
use crate::core::{Error, EventEnvelope, Result, StoredEvent, StreamHead, Timestamp};

/// The record of `events`: consecutive versions of one stream with consecutive local sequence
/// numbers, in one state (see [`split`]).
pub fn run_record(events: &[StoredEvent]) -> Result<JsValue> {
    let (Some(first), Some(last)) = (events.first(), events.last()) else {
        return Err(Error::Storage("an empty run of events".into()));
    };
    let ids: Array = events
        .iter()
        .map(|stored| JsValue::from_str(&stored.event.id.to_string()))
        .collect();
    let bodies: Vec<&EventEnvelope> = events.iter().map(|stored| &stored.event).collect();
    let mut fields = vec![
        ("stream", JsValue::from_str(first.event.stream.as_str())),
        ("version", JsValue::from_f64(first.event.version as f64)),
        ("last", JsValue::from_f64(last.event.version as f64)),
        ("seq", JsValue::from_f64(last.seq as f64)),
        ("ids", ids.into()),
        ("body", JsValue::from_str(&serde_json::to_string(&bodies)?)),
    ];
    match last.event.position {
        Some(position) => {
            fields.push(("position", JsValue::from_f64(position as f64)));
            if let Some(at) = last.event.recorded_at {
                fields.push(("recordedAt", JsValue::from_f64(at.0 as f64)));
            }
        }
        None => fields.push(("pending", JsValue::from_f64(last.seq as f64))),
    }
    Ok(object(&fields))
}

/// A run record's first and last version.
pub fn bounds(record: &JsValue) -> Result<(u64, u64)> {
    Ok((number(record, "version")?, number(record, "last")?))
}

/// How many events a run record holds.
pub fn len(record: &JsValue) -> Result<u64> {
    let (first, last) = bounds(record)?;
    Ok(last + 1 - first)
}

/// The local sequence number of a run record's first event.
pub fn first_seq(record: &JsValue) -> Result<u64> {
    Ok(number(record, "seq")? + 1 - len(record)?)
}

/// Whether a run record is still pending (not confirmed by a server).
pub fn is_pending(record: &JsValue) -> Result<bool> {
    Ok(field(record, "pending")?.as_f64().is_some())
}

/// The event ids of a run record, in version order.
pub fn ids(record: &JsValue) -> Result<Vec<String>> {
    let ids = field(record, "ids")?;
    let ids: &Array = ids
        .dyn_ref()
        .ok_or_else(|| Error::Codec("an event run without its ids".into()))?;
    ids.iter()
        .map(|id| {
            id.as_string()
                .ok_or_else(|| Error::Codec("an event id that is not text".into()))
        })
        .collect()
}

/// The events a run record holds, each with its local sequence number, and with the server's
/// position and time from the record's own properties when it was confirmed in place.
pub fn events(record: &JsValue) -> Result<Vec<StoredEvent>> {
    let text = field(record, "body")?
        .as_string()
        .ok_or_else(|| Error::Codec("event run body is not text".into()))?;
    let events: Vec<EventEnvelope> = serde_json::from_str(&text)?;
    let count = events.len() as u64;
    if count != len(record)? {
        return Err(Error::Codec(
            "an event run whose body and bounds differ".into(),
        ));
    }
    let first_seq = number(record, "seq")? + 1 - count;
    let last_position = field(record, "position")?.as_f64().map(|p| p as u64);
    let recorded_at = field(record, "recordedAt")?
        .as_f64()
        .map(|at| Timestamp(at as i64));
    Ok(events
        .into_iter()
        .enumerate()
        .map(|(offset, mut event)| {
            let offset = offset as u64;
            if let Some(last) = last_position {
                event.position = Some(last + 1 - count + offset);
                if recorded_at.is_some() {
                    event.recorded_at = recorded_at;
                }
            }
            StoredEvent {
                seq: first_seq + offset,
                event,
            }
        })
        .collect())
}

/// The events of `records` whose `key` (the local sequence number, or the server position) is
/// above `after`, at most `limit` of them, in the records' order.
pub fn events_after(
    records: &[JsValue],
    after: u64,
    limit: usize,
    key: impl Fn(&StoredEvent) -> Option<u64>,
) -> Result<Vec<StoredEvent>> {
    let mut found = Vec::new();
    for record in records {
        for stored in events(record)? {
            if found.len() == limit {
                return Ok(found);
            }
            if key(&stored).is_some_and(|value| value > after) {
                found.push(stored);
            }
        }
    }
    Ok(found)
}

/// The events of `records` (runs of one stream in version order) from version `from` on, at
/// most `limit` of them.
pub fn stream_events(records: &[JsValue], from: u64, limit: usize) -> Result<Vec<EventEnvelope>> {
    let mut found = Vec::new();
    for record in records {
        for stored in events(record)? {
            if found.len() == limit {
                return Ok(found);
            }
            if stored.event.version >= from {
                found.push(stored.event);
            }
        }
    }
    Ok(found)
}

/// The head of a stream whose newest run record is `record` (read from its properties only).
pub fn head(record: Option<&JsValue>) -> Result<StreamHead> {
    let Some(record) = record else {
        return Ok(StreamHead::of(None));
    };
    let id = ids(record)?
        .pop()
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| Error::Codec("an event run without a valid last id".into()))?;
    Ok(StreamHead {
        version: number(record, "last")?,
        event_id: Some(id),
    })
}

/// Confirms a pending run record in place, all its events at once: the server's last position
/// and time become its properties and `pending` goes; the body stays as it was written.
pub fn confirm_whole(record: &JsValue, last_position: u64, recorded_at: Option<Timestamp>) {
    // Setting and deleting properties of a record read from IndexedDB (a plain object) cannot
    // fail.
    let _ = Reflect::set(
        record,
        &JsValue::from_str("position"),
        &JsValue::from_f64(last_position as f64),
    );
    let _ = Reflect::delete_property(
        record.unchecked_ref::<Object>(),
        &JsValue::from_str("pending"),
    );
    if let Some(recorded_at) = recorded_at {
        let _ = Reflect::set(
            record,
            &JsValue::from_str("recordedAt"),
            &JsValue::from_f64(recorded_at.0 as f64),
        );
    }
}

/// Splits consecutive events of one stream into runs that each hold one state: pending, or
/// confirmed at consecutive positions with one `recordedAt`.
pub fn split(events: Vec<StoredEvent>) -> Vec<Vec<StoredEvent>> {
    let mut runs: Vec<Vec<StoredEvent>> = Vec::new();
    for stored in events {
        let joins = runs
            .last()
            .and_then(|run| run.last())
            .is_some_and(|previous| continues(previous, &stored));
        match runs.last_mut() {
            Some(run) if joins => run.push(stored),
            _ => runs.push(vec![stored]),
        }
    }
    runs
}

/// Whether `next` can follow `previous` in one run.
pub fn continues(previous: &StoredEvent, next: &StoredEvent) -> bool {
    let (a, b) = (&previous.event, &next.event);
    let state = match (a.position, b.position) {
        (None, None) => true,
        (Some(p), Some(q)) => q == p + 1 && a.recorded_at == b.recorded_at,
        _ => false,
    };
    state && a.stream == b.stream && b.version == a.version + 1 && next.seq == previous.seq + 1
}

/// The primary key of a run record, as text (to recognise one record read twice).
pub fn key_text(record: &JsValue) -> Result<String> {
    let stream = field(record, "stream")?
        .as_string()
        .ok_or_else(|| Error::Codec("an event run without its stream".into()))?;
    Ok(format!("{}\u{0}{}", stream, number(record, "version")?))
}
