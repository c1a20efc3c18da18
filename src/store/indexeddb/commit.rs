//! One command commit: one readwrite transaction over every object store it touches.
//!
//! Everything is computed before the transaction opens, or, for a command decided inside it
//! ([`super::decide::decide_and_write`]), synchronously between its requests. Inside it, only IndexedDB
//! requests are awaited: the idempotency record and the stream head are read, then every write is issued
//! without waiting for each, the inline projections apply the new events, and the
//! transaction's own end says whether all of it landed. An `add` of a version already taken
//! aborts the transaction with `ConstraintError`: the conflict. A full disk aborts it with
//! `QuotaExceededError`: `storage_full`. Either way nothing of the commit remains.

use std::collections::HashSet;

use wasm_bindgen::JsValue;

use super::records::{from_body, idempotency_record, outbox_record};
use super::schema::BY_EXPIRY;
use super::txn::WriteTx;
use super::writer::failed;
use super::{IndexedDbStore, errors};
use crate::core::{Error, EventEnvelope, ExpectedVersion, IdempotencyRecord, Result, StreamId};
use crate::store::{Commit, CommitOutcome};

/// Checks what can be checked without the database.
pub fn check_shape(commit: &Commit) -> Result<()> {
    commit.check_shape()?;
    let mut ids = HashSet::new();
    if let Some(event) = commit.events.iter().find(|event| !ids.insert(event.id)) {
        return Err(Error::InvalidInput(format!(
            "event id {} appears twice in one commit",
            event.id
        )));
    }
    Ok(())
}

/// Checks a commit's expected version inside `tx`; returns the version its events follow.
/// `known_head` is the stream's head when `tx` has already read it (the decision folded the
/// stream to its end), which spares the read.
pub async fn base_version(tx: &WriteTx, commit: &Commit, known_head: Option<u64>) -> Result<u64> {
    let stream = commit.stream.as_str();
    let conflict = |actual| Error::Conflict {
        stream: stream.into(),
        expected: commit.expected,
        actual,
    };
    let base = match (commit.expected, known_head) {
        (expected, Some(head)) if expected != ExpectedVersion::NoStream => {
            if !expected.admits(head) {
                return Err(conflict(head));
            }
            head
        }
        // The first run of a stream is keyed by version 1, so a stream created twice fails
        // its `add` with `ConstraintError`: the conflict, with no read.
        (ExpectedVersion::NoStream | ExpectedVersion::Exact(0), _) => 0,
        (ExpectedVersion::Exact(_) | ExpectedVersion::Any | ExpectedVersion::StreamExists, _) => {
            let actual = tx.head(stream).await?;
            if !commit.expected.admits(actual) {
                return Err(conflict(actual));
            }
            actual
        }
    };
    commit.check_snapshot(base)?;
    Ok(base)
}

/// Issues a commit's writes after `base` (its events as one run record); returns its events as
/// stored. `abort_after` (a test hook) keeps only that many events.
pub fn write_commit(
    tx: &WriteTx,
    commit: Commit,
    base: u64,
    abort_after: Option<usize>,
) -> Result<Vec<crate::core::StoredEvent>> {
    let Commit {
        stream,
        events,
        snapshot,
        idempotency,
        outbox,
        ..
    } = commit;
    let placed: Vec<EventEnvelope> = events
        .into_iter()
        .take(abort_after.unwrap_or(usize::MAX))
        .enumerate()
        .map(|(offset, mut event)| {
            event.stream = stream.clone();
            event.version = base + 1 + offset as u64;
            event
        })
        .collect();
    let stored = tx.add_events(placed)?;
    if let Some(snapshot) = &snapshot {
        tx.put_keyed(
            &tx.snapshots,
            "stream",
            JsValue::from_str(stream.as_str()),
            snapshot,
        )?;
    }
    if let (Some(mut entry), Some(first)) = (outbox, stored.first()) {
        entry.seq = first.seq;
        entry.stream = stream.clone();
        tx.outbox
            .put(&outbox_record(&entry)?, None)
            .map_err(|error| failed("writing", &error))?;
    }
    if let Some(mut record) = idempotency {
        record.stream = stream.clone();
        (record.first_version, record.last_version) = match (stored.first(), stored.last()) {
            (Some(first), Some(last)) => (first.event.version, last.event.version),
            _ => (0, 0),
        };
        tx.idempotency
            .put(&idempotency_record(&record)?, None)
            .map_err(|error| failed("writing", &error))?;
    }
    Ok(stored)
}

/// Writes `commit` in one transaction.
pub(super) async fn write(
    store: &IndexedDbStore,
    commit: Commit,
    abort_after: Option<usize>,
) -> Result<CommitOutcome> {
    check_shape(&commit)?;
    let tx = WriteTx::begin(store).await?;
    write_in(store, tx, commit, None, abort_after).await
}

/// A commit's checks and writes inside `tx`, then the transaction's end.
pub(super) async fn write_in(
    store: &IndexedDbStore,
    tx: WriteTx,
    commit: Commit,
    known_head: Option<u64>,
    abort_after: Option<usize>,
) -> Result<CommitOutcome> {
    if let Some(record) = &commit.idempotency {
        let existing = tx
            .idempotency
            .get(JsValue::from_str(&record.key))
            .map_err(|e| failed("committing", &e))?;
        if let Some(existing) = existing.await.map_err(|e| failed("committing", &e))? {
            let existing: IdempotencyRecord = from_body(&existing)?;
            if existing.is_live(record.created_at) {
                return Ok(CommitOutcome::DuplicateIdempotencyKey(existing));
            }
        }
        purge_expired(&tx, record.created_at).await?;
    }
    let base = base_version(&tx, &commit, known_head).await?;
    let (stream, expected, projector) = (
        commit.stream.clone(),
        commit.expected,
        commit.projector.clone(),
    );
    let stored = write_commit(&tx, commit, base, abort_after)?;
    if abort_after.is_some() {
        tx.abort().await;
        return Err(Error::Storage(
            "committing: aborted by the test hook".into(),
        ));
    }
    if let Some(projector) = projector {
        if let Err(error) = projector.on_commit(&tx, &stored).await {
            return Err(match tx.abort().await {
                Some(cause) => {
                    let written: Vec<EventEnvelope> =
                        stored.into_iter().map(|stored| stored.event).collect();
                    explain_abort(store, &stream, &expected, &written, Some(cause)).await
                }
                None => error,
            });
        }
    }
    let last_seq = tx.last_seq();
    match tx.finish().await {
        Ok(()) => {
            if let Some(notices) = store.notices() {
                notices.announce(last_seq);
            }
            Ok(CommitOutcome::Committed(
                stored.into_iter().map(|stored| stored.event).collect(),
            ))
        }
        Err(error) => {
            let written: Vec<EventEnvelope> =
                stored.into_iter().map(|stored| stored.event).collect();
            Err(explain_abort(store, &stream, &expected, &written, error).await)
        }
    }
}

/// Turns an aborted write into the error it stands for.
pub async fn explain_abort(
    store: &IndexedDbStore,
    stream: &StreamId,
    expected: &ExpectedVersion,
    written: &[EventEnvelope],
    error: Option<web_sys::DomException>,
) -> Error {
    let name = error.as_ref().map(|e| e.name());
    if name.as_deref() != Some("ConstraintError") {
        return errors::aborted("committing", error.as_ref(), "the transaction was aborted");
    }
    let detail = error.as_ref().map_or_else(String::new, |e| e.message());
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

/// Deletes the idempotency records expired at `now` (found through their expiry index).
async fn purge_expired(tx: &WriteTx, now: crate::core::Timestamp) -> Result<()> {
    let fail = |error: idb::Error| failed("purging idempotency records", &error);
    let expired = idb::KeyRange::upper_bound(&JsValue::from_f64(now.millis() as f64), Some(false))
        .map_err(fail)?;
    let keys = tx
        .idempotency
        .index(BY_EXPIRY)
        .map_err(fail)?
        .get_all_keys(Some(idb::Query::from(expired)), None)
        .map_err(fail)?
        .await
        .map_err(fail)?;
    for key in keys {
        tx.idempotency.delete(key).map_err(fail)?;
    }
    Ok(())
}
