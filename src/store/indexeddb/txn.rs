//! One write transaction over every object store, on the committing connection: the shared
//! ground of command commits and sync batches, and the [`DocTx`] the projector runs on.

use std::cell::{Cell, RefCell};

use idb::{CursorDirection, ObjectStore, Query};
use wasm_bindgen::JsValue;

use super::IndexedDbStore;
use super::at_rest::AtRest;
use super::prefetch::StatesAhead;
use super::records::{MAX_KEY_NUMBER, event_record, keyed_record, number, stream_range};
use super::schema::{
    DEAD_LETTERS, DOCS, EVENTS, IDEMPOTENCY, META, OUTBOX, PROJECTIONS, REJECTED, SNAPSHOTS, UNDO,
    meta_record,
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
    first_new_seq: Cell<Option<u64>>,
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
            first_new_seq: Cell::new(None),
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
        let last_seq = match read.await.map_err(fail)? {
            Some(record) => number(&record, "value")?,
            None => 0,
        };
        self.last_seq.set(last_seq);
        Ok(())
    }

    /// The version of the newest event of `stream`, as this transaction sees it.
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
            Some(cursor) => number(&cursor.value().map_err(fail)?, "version"),
        }
    }

    /// Issues the read of `stream`'s newest event record; the future answers it (`None` for
    /// a stream without events).
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

    /// Adds a new event under the next local sequence number.
    pub fn add_event(&self, event: &EventEnvelope) -> Result<StoredEvent> {
        if self.seq_read.borrow().is_some() {
            return Err(crate::core::Error::Storage(
                "an event was added before the sequence counter was read".into(),
            ));
        }
        let seq = self.last_seq.get() + 1;
        self.last_seq.set(seq);
        self.first_new_seq
            .set(Some(self.first_new_seq.get().unwrap_or(seq)));
        self.events
            .add(&event_record(event, seq)?, None)
            .map_err(fail)?;
        Ok(StoredEvent {
            seq,
            event: event.clone(),
        })
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

    /// Writes the local sequence counter back if events were added, commits at once (every
    /// request has been issued), and waits for the end.
    pub async fn finish(self) -> Ending {
        if self.first_new_seq.get().is_some() {
            // A failure here aborts the transaction, which the watch then reports.
            let _ = self.meta.put(
                &meta_record("seq", JsValue::from_f64(self.last_seq.get() as f64)),
                None,
            );
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
