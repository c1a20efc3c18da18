//! One command commit: one readwrite transaction over every object store it touches.
//!
//! Everything is computed before the transaction opens. Inside it, only IndexedDB requests are
//! awaited: the idempotency record and the stream head are read, then every write is issued
//! without waiting for each, and the transaction's own end says whether all of it landed.
//! An `add` of a version already taken aborts the transaction with `ConstraintError`: the
//! conflict. A full disk aborts it with `QuotaExceededError`: `storage_full`. Either way
//! nothing of the commit remains.

use std::collections::HashSet;

use idb::{CursorDirection, ObjectStore, Query};
use wasm_bindgen::JsValue;

use super::records::{
    MAX_KEY_NUMBER, event_key, event_record, from_body, keyed_record, number, stream_range,
};
use super::schema::{EVENTS, IDEMPOTENCY, META, OUTBOX, SNAPSHOTS, meta_record};
use super::writer::{Watch, failed};
use super::{IndexedDbStore, errors};
use crate::core::{Error, ExpectedVersion, IdempotencyRecord, Result};
use crate::store::{Commit, CommitOutcome};

const STORES: [&str; 5] = [EVENTS, OUTBOX, SNAPSHOTS, IDEMPOTENCY, META];

struct Stores {
    events: ObjectStore,
    outbox: ObjectStore,
    snapshots: ObjectStore,
    idempotency: ObjectStore,
    meta: ObjectStore,
}

/// Checks what can be checked without the database.
fn check_shape(commit: &Commit) -> Result<()> {
    if commit.events.is_empty() && commit.idempotency.is_none() {
        return Err(Error::invalid(
            "a commit needs events or an idempotency record",
        ));
    }
    if commit.outbox.is_some() && commit.events.is_empty() {
        return Err(Error::invalid("an outbox entry needs at least one event"));
    }
    let mut ids = HashSet::new();
    if let Some(event) = commit.events.iter().find(|event| !ids.insert(event.id)) {
        return Err(Error::InvalidInput(format!(
            "event id {} appears twice in one commit",
            event.id
        )));
    }
    Ok(())
}

/// Writes `commit` in one transaction. `abort_after` (a test hook) aborts it after that many events.
pub(super) async fn write(
    store: &IndexedDbStore,
    commit: Commit,
    abort_after: Option<usize>,
) -> Result<CommitOutcome> {
    check_shape(&commit)?;
    let context = "committing";
    let fail = |error: idb::Error| failed(context, &error);
    let transaction = store.writer()?.begin(&STORES, store.durability())?;
    let watch = Watch::new(&transaction);
    store.note_durability(&transaction);
    let handle = idb::Transaction::from(transaction.clone());
    let stores = Stores {
        events: handle.object_store(EVENTS).map_err(fail)?,
        outbox: handle.object_store(OUTBOX).map_err(fail)?,
        snapshots: handle.object_store(SNAPSHOTS).map_err(fail)?,
        idempotency: handle.object_store(IDEMPOTENCY).map_err(fail)?,
        meta: handle.object_store(META).map_err(fail)?,
    };

    if let Some(record) = &commit.idempotency {
        let existing = stores
            .idempotency
            .get(JsValue::from_str(&record.key))
            .map_err(fail)?
            .await
            .map_err(fail)?;
        if let Some(existing) = existing {
            let existing: IdempotencyRecord = from_body(&existing)?;
            if existing.is_live(record.created_at) {
                return Ok(CommitOutcome::DuplicateIdempotencyKey(existing));
            }
        }
    }
    let stream_id = commit.stream.clone();
    let stream = stream_id.as_str();
    let base = match commit.expected {
        ExpectedVersion::NoStream | ExpectedVersion::Exact(0) => 0,
        ExpectedVersion::Exact(n) => {
            let present = stores
                .events
                .get_key(event_key(stream, n))
                .map_err(fail)?
                .await
                .map_err(fail)?;
            if present.is_none() {
                let actual = head(&stores.events, stream).await?;
                return Err(Error::Conflict {
                    stream: stream.into(),
                    expected: commit.expected,
                    actual,
                });
            }
            n
        }
        ExpectedVersion::Any | ExpectedVersion::StreamExists => {
            let actual = head(&stores.events, stream).await?;
            if !commit.expected.admits(actual) {
                return Err(Error::Conflict {
                    stream: stream.into(),
                    expected: commit.expected,
                    actual,
                });
            }
            actual
        }
    };
    let last = base + commit.events.len() as u64;
    if let Some(snapshot) = &commit.snapshot {
        if snapshot.stream != commit.stream || snapshot.version != last {
            return Err(Error::InvalidInput(format!(
                "snapshot of {} at version {} does not match the commit's last version {last} of {stream}",
                snapshot.stream, snapshot.version
            )));
        }
    }
    let last_seq = match stores
        .meta
        .get(JsValue::from_str("seq"))
        .map_err(fail)?
        .await
        .map_err(fail)?
    {
        Some(record) => number(&record, "value")?,
        None => 0,
    };

    let expected = commit.expected;
    let Commit {
        events,
        snapshot,
        idempotency,
        outbox,
        ..
    } = commit;
    let mut stored = Vec::with_capacity(events.len());
    for (offset, mut event) in events.into_iter().enumerate() {
        if abort_after == Some(offset) {
            break;
        }
        event.stream = stream_id.clone();
        event.version = base + 1 + offset as u64;
        stores
            .events
            .add(&event_record(&event, last_seq + 1 + offset as u64)?, None)
            .map_err(fail)?;
        stored.push(event);
    }
    if abort_after.is_some() {
        handle.abort().map_err(fail)?;
        let _ = watch.ended().await;
        return Err(Error::Storage(format!(
            "{context}: aborted by the test hook"
        )));
    }
    let new_last_seq = last_seq + stored.len() as u64;
    stores
        .meta
        .put(
            &meta_record("seq", JsValue::from_f64(new_last_seq as f64)),
            None,
        )
        .map_err(fail)?;
    if let Some(snapshot) = &snapshot {
        let record = keyed_record("stream", JsValue::from_str(stream), snapshot)?;
        stores.snapshots.put(&record, None).map_err(fail)?;
    }
    if let Some(mut entry) = outbox {
        entry.seq = last_seq + 1;
        entry.stream = stream_id.clone();
        let record = keyed_record("seq", JsValue::from_f64(entry.seq as f64), &entry)?;
        stores.outbox.add(&record, None).map_err(fail)?;
    }
    if let Some(mut record) = idempotency {
        record.stream = stream_id.clone();
        (record.first_version, record.last_version) = match stored.len() {
            0 => (0, 0),
            _ => (base + 1, last),
        };
        let record = keyed_record("key", JsValue::from_str(&record.key), &record)?;
        stores.idempotency.put(&record, None).map_err(fail)?;
    }

    match watch.ended().await {
        Ok(()) => {
            if let Some(notices) = store.notices() {
                notices.announce(new_last_seq);
            }
            Ok(CommitOutcome::Committed(stored))
        }
        Err(error) => Err(explain_abort(store, &stream_id, &expected, &stored, error).await),
    }
}

/// Turns an aborted commit into the error it stands for.
async fn explain_abort(
    store: &IndexedDbStore,
    stream: &crate::core::StreamId,
    expected: &ExpectedVersion,
    written: &[crate::core::EventEnvelope],
    error: Option<web_sys::DomException>,
) -> Error {
    let name = error.as_ref().map(|e| e.name());
    let detail = error
        .as_ref()
        .map_or("the transaction was aborted".to_owned(), |e| e.message());
    if name.as_deref() != Some("ConstraintError") {
        return errors::classify("committing", name.as_deref(), &detail);
    }
    // A taken key is either a version another writer took first (the conflict) or an event id
    // that is already stored; the stream's head tells which.
    let actual = match store.stream_head(stream).await {
        Ok(actual) => actual,
        Err(error) => return error,
    };
    let first = written.first().map_or(0, |event| event.version);
    if actual >= first {
        return Error::Conflict {
            stream: stream.to_string(),
            expected: *expected,
            actual,
        };
    }
    Error::InvalidInput(format!(
        "an event id of this commit to {stream} is already stored ({detail})"
    ))
}

/// The version of the newest event of `stream`, within the open transaction.
async fn head(events: &ObjectStore, stream: &str) -> Result<u64> {
    let fail = |error: idb::Error| failed("reading the stream head", &error);
    let range = stream_range(stream, 0, MAX_KEY_NUMBER)?;
    let cursor = events
        .open_cursor(Some(Query::from(range)), Some(CursorDirection::Prev))
        .map_err(fail)?
        .await
        .map_err(fail)?;
    match cursor {
        None => Ok(0),
        Some(cursor) => number(&cursor.value().map_err(fail)?, "version"),
    }
}
