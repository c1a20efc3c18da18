//! A command decided inside its commit transaction: the stream is read, the decision made and
//! its commit written in one readwrite transaction, so no other tab's write lands in between.
//!
//! The first requests go out together: the sequence counter, the stream's newest event and the
//! projections' states (which inline projections need first). A warm state (see
//! [`Decision::warm_head`]) whose head is still the stream's needs nothing more. Otherwise the
//! stream is folded from its snapshot (read only when the stream is not empty), and the events
//! after it are read only when the newest one, already in hand, is not all there is to read.

use wasm_bindgen::JsValue;

use super::IndexedDbStore;
use super::commit::{check_shape, write_in};
use super::records::{MAX_KEY_NUMBER, from_body, stored_event, stream_head, stream_range};
use super::txn::WriteTx;
use super::writer::failed;
use crate::core::{EventEnvelope, Result, Snapshot, StreamHead, StreamId};
use crate::store::{Decided, Decision};

fn reading(error: idb::Error) -> crate::core::Error {
    failed("loading for a command", &error)
}

/// Loads `stream` into `decision` and writes what it decides, all in one readwrite transaction.
pub(super) async fn decide_and_write(
    store: &IndexedDbStore,
    stream: &StreamId,
    decision: &mut dyn Decision,
    abort_after: Option<usize>,
) -> Result<Decided> {
    let tx = WriteTx::issue(store)?;
    let warm = decision.warm_head();
    let newest = tx.head_record(stream.as_str())?;
    if decision.runs_projections() {
        tx.read_states_ahead()?;
    }
    tx.ready().await?;
    let newest = newest.await?;
    let head = stream_head(newest.as_ref())?;
    if warm == Some(head) {
        decision.resume()?;
    } else {
        // An empty stream has no snapshot to read; a longer one reads it now.
        let snapshot = match head.version {
            0 => None,
            _ => read_snapshot(&tx, stream)?.await?,
        };
        fold(store, &tx, stream, decision, snapshot, head, newest).await?;
    }
    let Some(commit) = decision.decide()? else {
        return Ok(Decided::Nothing);
    };
    check_shape(&commit)?;
    store.count(|stats| stats.commits += 1);
    write_in(store, tx, commit, Some(head.version), abort_after)
        .await
        .map(Decided::Done)
}

/// Issues the read of `stream`'s snapshot; the future answers it.
fn read_snapshot(
    tx: &WriteTx,
    stream: &StreamId,
) -> Result<impl Future<Output = Result<Option<Snapshot>>> + use<>> {
    let request = tx
        .snapshots
        .get(JsValue::from_str(stream.as_str()))
        .map_err(reading)?
        .into_future();
    Ok(async move {
        match request.await.map_err(reading)? {
            Some(record) => Ok(Some(from_body(&record)?)),
            None => Ok(None),
        }
    })
}

/// Folds `stream` into `decision` from `snapshot` up to `head`, whose record is `newest`.
async fn fold(
    store: &IndexedDbStore,
    tx: &WriteTx,
    stream: &StreamId,
    decision: &mut dyn Decision,
    snapshot: Option<Snapshot>,
    head: StreamHead,
    newest: Option<JsValue>,
) -> Result<()> {
    let mut from = decision.start(snapshot)? + 1;
    if from > head.version {
        return decision.fold(Vec::new());
    }
    if let (true, Some(newest)) = (from == head.version, newest) {
        store.count(|stats| stats.page(1));
        return decision.fold(vec![stored_event(&newest)?]);
    }
    let page_size = decision.page_size().max(1);
    loop {
        let range = stream_range(stream.as_str(), from, MAX_KEY_NUMBER)?;
        let limit = u32::try_from(page_size).unwrap_or(u32::MAX);
        let records = tx
            .events
            .get_all(Some(idb::Query::from(range)), Some(limit))
            .map_err(reading)?
            .await
            .map_err(reading)?;
        store.count(|stats| stats.page(records.len()));
        let count = records.len();
        let page: Vec<EventEnvelope> = records.iter().map(stored_event).collect::<Result<_>>()?;
        decision.fold(page)?;
        if count < page_size {
            return Ok(());
        }
        from += count as u64;
    }
}
