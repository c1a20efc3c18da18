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
use super::records::from_body;
use super::txn::WriteTx;
use super::writer::failed;
use super::{run_reads, runs};
use crate::core::{Result, Snapshot, StreamHead, StreamId};
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
    let head = runs::head(newest.as_ref())?;
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
    let page_size = decision.page_size().max(1);
    // The newest run, already in hand, holds every event from `from` on when it starts there
    // or before: it is folded in pages as a read would give them, ending with a short one.
    if let Some(newest) =
        newest.filter(|newest| runs::bounds(newest).is_ok_and(|(first, _)| first <= from))
    {
        let mut events = runs::stream_events(std::slice::from_ref(&newest), from, usize::MAX)?;
        store.count(|stats| stats.page(events.len()));
        loop {
            let rest = events.split_off(events.len().min(page_size));
            let full = events.len() == page_size;
            decision.fold(events)?;
            if !full {
                return Ok(());
            }
            events = rest;
        }
    }
    loop {
        let page = run_reads::read_stream(&tx.events, stream.as_str(), from, page_size).await?;
        store.count(|stats| stats.page(page.len()));
        let count = page.len();
        decision.fold(page)?;
        if count < page_size {
            return Ok(());
        }
        from += count as u64;
    }
}
