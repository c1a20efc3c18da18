//! One write transaction over every object store, on the committing connection: the shared
//! ground of command commits and sync batches, and the [`DocTx`] the projector runs on.

use std::cell::{Cell, RefCell};

use idb::{CursorDirection, ObjectStore, Query};
use wasm_bindgen::JsValue;

use super::IndexedDbStore;
use super::at_rest::AtRest;
use super::prefetch::StatesAhead;
use super::records::{MAX_KEY_NUMBER, field, keyed_record, number, object, stream_range};
use super::runs;
use super::schema::{
    DEAD_LETTERS, DOCS, EVENTS, IDEMPOTENCY, META, OUTBOX, PROJECTIONS, REJECTED, SNAPSHOTS, UNDO,
};
use super::writer::{Ending, Watch, failed};
use crate::core::{EventEnvelope, Result, StoredEvent};

const STORES: [&str; 10] = [
    EVENTS,
    OUTBOX,
    SNAPSHOTS,
    IDEMPOTENCY,
    META,
    DOCS,
    UNDO,
    PROJECTIONS,
    DEAD_LETTERS,
    REJECTED,
];

/// A `get` whose answer has not been awaited yet.
type PendingGet = <idb::request::GetStoreRequest as std::future::IntoFuture>::IntoFuture;

pub(super) fn fail(error: idb::Error) -> crate::core::Error {
    failed("writing", &error)
}

/// An open write transaction and its object stores.
pub struct WriteTx {
    handle: idb::Transaction,
    watch: Watch,
    pub events: ObjectStore,
    pub outbox: ObjectStore,
    pub snapshots: ObjectStore,
    pub idempotency: ObjectStore,
    pub meta: ObjectStore,
    pub rejected: ObjectStore,
    pub(super) docs: ObjectStore,
    pub(super) undo: ObjectStore,
    pub(super) projections: ObjectStore,
    pub(super) dead_letters: ObjectStore,
    pub(super) at_rest: AtRest,
    /// Projection states read ahead (see [`WriteTx::read_states_ahead`]).
    pub(super) states_ahead: StatesAhead,
    /// The read of the local sequence counter, until [`WriteTx::ready`] has its answer.
    seq_read: RefCell<Option<PendingGet>>,
    last_seq: Cell<u64>,
    counts: Cell<Counts>,
    counts_changed: Cell<bool>,
}

/// What the `seq` record of `meta` keeps beside the local sequence counter: how many events
/// the log holds and how many of them are pending, so that neither is counted by reading runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    /// Events in the log.
    pub events: u64,
    /// Pending events in the log.
    pub pending: u64,
}

/// The `seq` record of `meta`: the local sequence counter and the log's [`Counts`].
pub fn seq_record(last_seq: u64, counts: Counts) -> JsValue {
    object(&[
        ("key", JsValue::from_str("seq")),
        ("value", JsValue::from_f64(last_seq as f64)),
        ("events", JsValue::from_f64(counts.events as f64)),
        ("pending", JsValue::from_f64(counts.pending as f64)),
    ])
}

impl WriteTx {
    /// Opens the transaction; nothing but IndexedDB requests may be awaited until it ends.
    pub async fn begin(store: &IndexedDbStore) -> Result<WriteTx> {
        let tx = WriteTx::issue(store)?;
        tx.ready().await?;
        Ok(tx)
    }

    /// Opens the transaction and issues the read of the local sequence counter without waiting
    /// for it, so that the caller's first reads travel with it; [`WriteTx::ready`] must be
    /// awaited before an event is added.
    pub fn issue(store: &IndexedDbStore) -> Result<WriteTx> {
        let transaction = store.writer()?.begin(&STORES, store.durability())?;
        let watch = Watch::new(&transaction);
        store.note_durability(&transaction);
        let handle = idb::Transaction::from(transaction);
        let open = |name: &str| handle.object_store(name).map_err(fail);
        let tx = WriteTx {
            events: open(EVENTS)?,
            outbox: open(OUTBOX)?,
            snapshots: open(SNAPSHOTS)?,
            idempotency: open(IDEMPOTENCY)?,
            meta: open(META)?,
            rejected: open(REJECTED)?,
            docs: open(DOCS)?,
            undo: open(UNDO)?,
            projections: open(PROJECTIONS)?,
            dead_letters: open(DEAD_LETTERS)?,
            handle,
            watch,
            at_rest: store.at_rest().clone(),
            states_ahead: StatesAhead::default(),
            seq_read: RefCell::new(None),
            last_seq: Cell::new(0),
            counts: Cell::new(Counts::default()),
            counts_changed: Cell::new(false),
        };
        let read = tx.meta.get(JsValue::from_str("seq")).map_err(fail)?;
        *tx.seq_read.borrow_mut() = Some(read.into_future());
        Ok(tx)
    }

    /// Issues the read of every projection's state, for the inline projections of the commit
    /// to find theirs without a read of their own.
    pub fn read_states_ahead(&self) -> Result<()> {
        self.states_ahead.issue(&self.projections)
    }

    /// Waits for the local sequence counter issued by [`WriteTx::issue`].
    pub async fn ready(&self) -> Result<()> {
        let Some(read) = self.seq_read.borrow_mut().take() else {
            return Ok(());
        };
        if let Some(record) = read.await.map_err(fail)? {
            let count = |name| -> Result<u64> {
                Ok(field(&record, name)?.as_f64().map_or(0, |n| n as u64))
            };
            self.last_seq.set(number(&record, "value")?);
            self.counts.set(Counts {
                events: count("events")?,
                pending: count("pending")?,
            });
        }
        Ok(())
    }

    /// How many events, and pending events, the log holds as this transaction sees it.
    pub fn counts(&self) -> Counts {
        self.counts.get()
    }

    /// Records that this transaction changed the log's counts by `events` and `pending`.
    pub fn recount(&self, events: i64, pending: i64) {
        let Counts {
            events: all,
            pending: held,
        } = self.counts.get();
        self.counts.set(Counts {
            events: all.saturating_add_signed(events),
            pending: held.saturating_add_signed(pending),
        });
        self.counts_changed.set(true);
    }

    /// The version of the newest event of `stream`, as this transaction sees it (the last of
    /// its newest run).
    pub async fn head(&self, stream: &str) -> Result<u64> {
        let range = stream_range(stream, 0, MAX_KEY_NUMBER)?;
        let cursor = self
            .events
            .open_cursor(Some(Query::from(range)), Some(CursorDirection::Prev))
            .map_err(fail)?
            .await
            .map_err(fail)?;
        match cursor {
            None => Ok(0),
            Some(cursor) => number(&cursor.value().map_err(fail)?, "last"),
        }
    }

    /// Issues the read of `stream`'s newest run record; the future answers it (`None` for a
    /// stream without events).
    pub fn head_record(
        &self,
        stream: &str,
    ) -> Result<impl Future<Output = Result<Option<JsValue>>> + use<>> {
        let range = stream_range(stream, 0, MAX_KEY_NUMBER)?;
        let request = self
            .events
            .open_cursor(Some(Query::from(range)), Some(CursorDirection::Prev))
            .map_err(fail)?
            .into_future();
        Ok(async move {
            match request.await.map_err(fail)? {
                Some(cursor) => Ok(Some(cursor.value().map_err(fail)?)),
                None => Ok(None),
            }
        })
    }

    /// Adds `events` (consecutive versions of one stream) under the next local sequence
    /// numbers, as one run record, or one per state when their states differ.
    pub fn add_events(&self, events: Vec<EventEnvelope>) -> Result<Vec<StoredEvent>> {
        if self.seq_read.borrow().is_some() {
            return Err(crate::core::Error::Storage(
                "an event was added before the sequence counter was read".into(),
            ));
        }
        let first = self.last_seq.get() + 1;
        let stored: Vec<StoredEvent> = events
            .into_iter()
            .enumerate()
            .map(|(offset, event)| StoredEvent {
                seq: first + offset as u64,
                event,
            })
            .collect();
        let Some(last) = stored.last() else {
            return Ok(stored);
        };
        self.last_seq.set(last.seq);
        let pending = stored.iter().filter(|s| s.event.position.is_none()).count();
        self.recount(stored.len() as i64, pending as i64);
        for run in runs::split(stored.clone()) {
            self.events
                .add(&runs::run_record(&run)?, None)
                .map_err(fail)?;
        }
        Ok(stored)
    }

    /// Stores `value` under `key` in the object store `store` whose key path is `key_name`.
    pub fn put_keyed<T: serde::Serialize>(
        &self,
        store: &ObjectStore,
        key_name: &str,
        key: JsValue,
        value: &T,
    ) -> Result<()> {
        store
            .put(&keyed_record(key_name, key, value)?, None)
            .map_err(fail)?;
        Ok(())
    }

    /// The local sequence number the last added event got.
    pub fn last_seq(&self) -> u64 {
        self.last_seq.get()
    }

    /// Writes the local sequence counter and the log's counts back if they changed, commits at
    /// once (every request has been issued), and waits for the end.
    pub async fn finish(self) -> Ending {
        if self.counts_changed.get() {
            // A failure here aborts the transaction, which the watch then reports.
            let _ = self
                .meta
                .put(&seq_record(self.last_seq.get(), self.counts.get()), None);
        }
        // Committing only saves the wait for the browser's auto-commit; if it throws (the
        // transaction already ended), the watch reports how it ended.
        let _ = self.handle.commit();
        self.watch.ended().await
    }

    /// Aborts the transaction and waits until it has ended. Returns what had already aborted
    /// it, if a request failed first (such as a `ConstraintError` on a taken version): the
    /// requests after that one only fail with `AbortError`, which names no cause.
    pub async fn abort(self) -> Option<web_sys::DomException> {
        let _ = self.handle.abort();
        self.watch.ended().await.err().flatten()
    }
}
