//! A sync batch in one IndexedDB transaction: drops, acknowledgements, pulled events, rebased
//! commits, the pull checkpoint, and the inline projections' correction, all or nothing.

use std::collections::{HashMap, HashSet};

use js_sys::Reflect;
use uuid::Uuid;
use wasm_bindgen::JsValue;

use super::commit::{base_version, check_shape, write_commit};
use super::records::{
    body, confirm_record, field, from_body, idempotency_record, number, object, stored_event,
    stream_range,
};
use super::schema::{BY_COMMAND, BY_ID, BY_PENDING, BY_STREAM, meta_record};
use super::txn::WriteTx;
use super::writer::failed;
use super::{IndexedDbStore, queue};
use crate::core::OutboxEntry;
use crate::core::projection::Projector;
use crate::core::{Error, EventEnvelope, ExpectedVersion, IdempotencyRecord, Result};
use crate::store::check_no_orphans;
use crate::store::{QueuedCommand, SyncBatch};

fn fail(error: idb::Error) -> Error {
    failed("applying a sync batch", &error)
}

/// Applies `batch`, then corrects the inline projections of `projector`; with `read_queue`,
/// reads that many outbox entries (the next push, without the skipped ones) in the same
/// transaction. Answers the local
/// sequence counter after the batch, and the queue when asked.
pub(super) async fn apply(
    store: &IndexedDbStore,
    batch: SyncBatch,
    projector: Option<&Projector>,
    read_queue: Option<(usize, &HashSet<u64>)>,
) -> Result<(u64, Option<Vec<QueuedCommand>>)> {
    for commit in &batch.commits {
        check_shape(commit)?;
    }
    let tx = WriteTx::begin(store).await?;
    let written = async {
        write_batch(&tx, batch, projector).await?;
        match read_queue {
            Some((limit, skip)) => Ok(Some(
                queue::read_in(store, &tx.outbox, &tx.events, limit, skip).await?,
            )),
            None => Ok(None),
        }
    };
    match written.await {
        Ok(queue) => {
            let last_seq = tx.last_seq();
            tx.finish().await.map_err(|error| aborted(error.as_ref()))?;
            Ok((last_seq, queue))
        }
        // A request that failed first (a version a local command took meanwhile, a full disk)
        // is the cause; the requests after it only report `AbortError`.
        Err(error) => Err(match tx.abort().await {
            Some(cause) => aborted(Some(&cause)),
            None => error,
        }),
    }
}

/// The error of a sync batch whose transaction `cause` aborted.
fn aborted(cause: Option<&web_sys::DomException>) -> Error {
    super::errors::aborted("applying a sync batch", cause, "aborted")
}

async fn write_batch(tx: &WriteTx, batch: SyncBatch, projector: Option<&Projector>) -> Result<()> {
    let checkpoint = match tx
        .meta
        .get(JsValue::from_str("checkpoint"))
        .map_err(fail)?
        .await
        .map_err(fail)?
    {
        Some(record) => number(&record, "value")?,
        None => 0,
    };
    batch.check_positions(checkpoint)?;
    let mut dropped: HashSet<Uuid> = HashSet::new();
    for (stream, from) in &batch.drop_pending {
        let range = stream_range(stream.as_str(), *from, super::records::MAX_KEY_NUMBER)?;
        let records = tx
            .events
            .get_all(Some(idb::Query::from(range.clone())), None)
            .map_err(fail)?
            .await
            .map_err(fail)?;
        for record in &records {
            let event = stored_event(record)?;
            if event.position.is_some() {
                return Err(Error::InvalidInput(format!(
                    "{stream} holds a confirmed event at or after version {from}"
                )));
            }
            dropped.insert(event.id);
        }
        tx.events.delete(idb::Query::from(range)).map_err(fail)?;
        drop_snapshot_from(tx, stream.as_str(), *from).await?;
    }
    if !dropped.is_empty() {
        // An entry holds events of its own stream only: those of the dropped streams suffice.
        let by_stream = tx.outbox.index(BY_STREAM).map_err(fail)?;
        let mut outbox: Vec<OutboxEntry> = Vec::new();
        for (stream, _) in &batch.drop_pending {
            let only = idb::KeyRange::only(&JsValue::from_str(stream.as_str())).map_err(fail)?;
            for record in by_stream
                .get_all(Some(idb::Query::from(only)), None)
                .map_err(fail)?
                .await
                .map_err(fail)?
            {
                outbox.push(from_body(&record)?);
            }
        }
        check_no_orphans(&outbox, &batch, |id| dropped.contains(id))?;
    }
    for seq in &batch.drop_outbox {
        tx.outbox
            .delete(JsValue::from_f64(*seq as f64))
            .map_err(fail)?;
    }
    let held = held_records(tx, &batch.confirmed).await?;
    for (event, held) in batch.confirmed.iter().cloned().zip(held) {
        confirm(tx, event, held, &dropped).await?;
    }
    for commit in batch.commits.iter().cloned() {
        let base = base_version(tx, &commit, None).await?;
        write_commit(tx, commit, base, None)?;
    }
    if let Some(checkpoint) = batch.checkpoint {
        let current = match tx
            .meta
            .get(JsValue::from_str("checkpoint"))
            .map_err(fail)?
            .await
            .map_err(fail)?
        {
            Some(record) => number(&record, "value")?,
            None => 0,
        };
        let value = JsValue::from_f64(current.max(checkpoint) as f64);
        tx.meta
            .put(&meta_record("checkpoint", value), None)
            .map_err(fail)?;
    }
    for command in &batch.rejected {
        let by_command = tx.rejected.index(BY_COMMAND).map_err(fail)?;
        let held = by_command
            .get_key(JsValue::from_str(&command.command_id))
            .map_err(fail)?
            .await
            .map_err(fail)?;
        if let Some(key) = held {
            tx.rejected.delete(key).map_err(fail)?;
        }
        let record = object(&[
            ("commandId", JsValue::from_str(&command.command_id)),
            ("body", body(command)?),
        ]);
        tx.rejected.add(&record, None).map_err(fail)?;
    }
    for update in &batch.idempotency {
        let key = JsValue::from_str(&update.key);
        let held = tx.idempotency.get(key).map_err(fail)?.await.map_err(fail)?;
        if let Some(held) = held {
            let mut record: IdempotencyRecord = from_body(&held)?;
            if record.follow(update) {
                tx.idempotency
                    .put(&idempotency_record(&record)?, None)
                    .map_err(fail)?;
            }
        }
    }
    if let Some(projector) = projector {
        projector.after_sync(tx).await?;
    }
    Ok(())
}

/// The stored record of each of `confirmed` (`None` for events this device does not hold). The
/// events a drain confirms are mostly this device's oldest pending ones: one read of that many
/// pending records finds them, and only the others are looked up by id, every lookup issued
/// before the first answer is awaited.
async fn held_records(tx: &WriteTx, confirmed: &[EventEnvelope]) -> Result<Vec<Option<JsValue>>> {
    if confirmed.is_empty() {
        return Ok(Vec::new());
    }
    let count = u32::try_from(confirmed.len()).unwrap_or(u32::MAX);
    let oldest = tx
        .events
        .index(BY_PENDING)
        .map_err(fail)?
        .get_all(None, Some(count))
        .map_err(fail)?
        .await
        .map_err(fail)?;
    let mut pending: HashMap<String, JsValue> = HashMap::with_capacity(oldest.len());
    for record in oldest {
        if let Some(id) = record_id(&record) {
            pending.insert(id, record);
        }
    }
    let by_id = tx.events.index(BY_ID).map_err(fail)?;
    let lookups = confirmed
        .iter()
        .map(|event| {
            let id = event.id.to_string();
            match pending.remove(&id) {
                Some(record) => Ok(Lookup::Found(Some(record))),
                None => Ok(Lookup::Asked(
                    by_id
                        .get(JsValue::from_str(&id))
                        .map_err(fail)?
                        .into_future(),
                )),
            }
        })
        .collect::<Result<Vec<_>>>()?;
    let mut held = Vec::with_capacity(lookups.len());
    for lookup in lookups {
        held.push(match lookup {
            Lookup::Found(record) => record,
            Lookup::Asked(request) => request.await.map_err(fail)?,
        });
    }
    Ok(held)
}

/// The event id a record keeps beside its body.
fn record_id(record: &JsValue) -> Option<String> {
    Reflect::get(record, &JsValue::from_str("id"))
        .ok()
        .and_then(|id| id.as_string())
}

/// A record found in the page of pending events, or asked for by id.
enum Lookup<F> {
    Found(Option<JsValue>),
    Asked(F),
}

/// Deletes the snapshot of `stream` when it folded an event at or after version `from`: those
/// events are being dropped, and a state folded from them must never stand in for the log.
async fn drop_snapshot_from(tx: &WriteTx, stream: &str, from: u64) -> Result<()> {
    let key = JsValue::from_str(stream);
    let held = tx
        .snapshots
        .get(key.clone())
        .map_err(fail)?
        .await
        .map_err(fail)?;
    if let Some(record) = held {
        let snapshot: crate::core::Snapshot = from_body(&record)?;
        if snapshot.version >= from {
            tx.snapshots.delete(key).map_err(fail)?;
        }
    }
    Ok(())
}

/// Stores one event the server holds, whose record `held` was read in this transaction: ours
/// becomes confirmed in place (its body untouched), any other is added.
async fn confirm(
    tx: &WriteTx,
    event: EventEnvelope,
    held: Option<JsValue>,
    dropped: &HashSet<Uuid>,
) -> Result<()> {
    let position = event
        .position
        .ok_or_else(|| Error::invalid("a confirmed event needs its position"))?;
    match held.filter(|_| !dropped.contains(&event.id)) {
        Some(record) => {
            let place = field(&record, "stream")?;
            if place.as_string().as_deref() != Some(event.stream.as_str())
                || number(&record, "version")? != event.version
            {
                return Err(Error::InvalidInput(format!(
                    "event {} is held at another place",
                    event.id
                )));
            }
            if let Some(existing) = field(&record, "position")?.as_f64() {
                if existing as u64 != position {
                    return Err(Error::InvalidInput(format!(
                        "event {} has another position",
                        event.id
                    )));
                }
                return Ok(());
            }
            confirm_record(&record, position, event.recorded_at);
            tx.events.put(&record, None).map_err(fail)?;
            Ok(())
        }
        None => {
            let head = tx.head(event.stream.as_str()).await?;
            if event.version != head + 1 {
                return Err(Error::Conflict {
                    stream: event.stream.to_string(),
                    expected: ExpectedVersion::Exact(event.version.saturating_sub(1)),
                    actual: head,
                });
            }
            tx.add_event(&event)?;
            Ok(())
        }
    }
}
