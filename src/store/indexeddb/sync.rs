//! A sync batch in one IndexedDB transaction: drops, acknowledgements, pulled events, rebased
//! commits, the pull checkpoint, and the inline projections' correction, all or nothing.

use std::collections::HashSet;

use uuid::Uuid;
use wasm_bindgen::JsValue;

use super::commit::{base_version, check_shape, write_commit};
use super::records::{
    MAX_KEY_NUMBER, body, from_body, idempotency_record, number, object, stream_range,
};
use super::schema::{BY_COMMAND, BY_STREAM, meta_record};
use super::txn::WriteTx;
use super::writer::failed;
use super::{IndexedDbStore, confirm, queue, run_reads, runs};
use crate::core::OutboxEntry;
use crate::core::projection::Projector;
use crate::core::{Error, IdempotencyRecord, Result, StoredEvent};
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
        drop_from(tx, stream.as_str(), *from, &mut dropped).await?;
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
    confirm::confirm(tx, &batch.confirmed, &dropped).await?;
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

/// Drops the pending events of `stream` from version `from` on, adding their ids to
/// `dropped`; fails with `InvalidInput` when one of them is confirmed. A run that starts before
/// `from` keeps its events before it.
async fn drop_from(
    tx: &WriteTx,
    stream: &str,
    from: u64,
    dropped: &mut HashSet<Uuid>,
) -> Result<()> {
    let mut count = 0;
    for record in run_reads::read_runs(&tx.events, stream, from, None).await? {
        let held = runs::events(&record)?;
        let (kept, gone): (Vec<StoredEvent>, Vec<StoredEvent>) = held
            .into_iter()
            .partition(|stored| stored.event.version < from);
        if !gone.is_empty() && !runs::is_pending(&record)? {
            return Err(Error::InvalidInput(format!(
                "{stream} holds a confirmed event at or after version {from}"
            )));
        }
        count += gone.len() as i64;
        dropped.extend(gone.iter().map(|stored| stored.event.id));
        if !kept.is_empty() {
            tx.events
                .put(&runs::run_record(&kept)?, None)
                .map_err(fail)?;
        }
    }
    let range = stream_range(stream, from, MAX_KEY_NUMBER)?;
    tx.events.delete(idb::Query::from(range)).map_err(fail)?;
    tx.recount(-count, -count);
    Ok(())
}
