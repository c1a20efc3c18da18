//! One write transaction over every object store, on the committing connection: the shared
//! ground of command commits and sync batches, and the [`DocTx`] the projector runs on.

use std::cell::Cell;

use idb::{CursorDirection, ObjectStore, Query};
use serde_json::Value;
use wasm_bindgen::JsValue;

use super::IndexedDbStore;
use super::at_rest::{AtRest, doc_place, undo_place};
use super::records::{
    MAX_KEY_NUMBER, array_key, body, event_record, field, from_body, keyed_record, number, object,
    prefix_range, stream_range,
};
use super::schema::{
    BY_PENDING, BY_POSITION, DEAD_LETTERS, DOCS, EVENTS, IDEMPOTENCY, META, OUTBOX, PROJECTIONS,
    REJECTED, SNAPSHOTS, UNDO, meta_record,
};
use super::writer::{Ending, Watch, failed};
use crate::core::projection::{DeadLetter, DocTx, IndexValue, UndoEntry};
use crate::core::{EventEnvelope, ProjectionState, Result, StoredEvent};

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

fn fail(error: idb::Error) -> crate::core::Error {
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
    docs: ObjectStore,
    undo: ObjectStore,
    projections: ObjectStore,
    dead_letters: ObjectStore,
    at_rest: AtRest,
    last_seq: Cell<u64>,
    first_new_seq: Cell<Option<u64>>,
}

impl WriteTx {
    /// Opens the transaction; nothing but IndexedDB requests may be awaited until it ends.
    pub async fn begin(store: &IndexedDbStore) -> Result<WriteTx> {
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
            last_seq: Cell::new(0),
            first_new_seq: Cell::new(None),
        };
        let last_seq = match tx
            .meta
            .get(JsValue::from_str("seq"))
            .map_err(fail)?
            .await
            .map_err(fail)?
        {
            Some(record) => number(&record, "value")?,
            None => 0,
        };
        tx.last_seq.set(last_seq);
        Ok(tx)
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

    /// Adds a new event under the next local sequence number.
    pub fn add_event(&self, event: &EventEnvelope) -> Result<StoredEvent> {
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

    /// Rewrites a stored event (its sequence number stays).
    pub fn put_event(&self, stored: &StoredEvent) -> Result<()> {
        self.events
            .put(&event_record(&stored.event, stored.seq)?, None)
            .map_err(fail)?;
        Ok(())
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

    /// Writes the local sequence counter back if events were added, and waits for the end.
    pub async fn finish(self) -> Ending {
        if self.first_new_seq.get().is_some() {
            // A failure here aborts the transaction, which the watch then reports.
            let _ = self.meta.put(
                &meta_record("seq", JsValue::from_f64(self.last_seq.get() as f64)),
                None,
            );
        }
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

fn ns_key(ns: &str, key: &str) -> JsValue {
    array_key(&[JsValue::from_str(ns), JsValue::from_str(key)])
}

fn index_element(ns: &str, index: &str, value: &IndexValue, key: &str) -> JsValue {
    let value = match value {
        IndexValue::Number(n) => JsValue::from_f64(*n),
        IndexValue::Text(text) => JsValue::from_str(text),
    };
    array_key(&[
        JsValue::from_str(ns),
        JsValue::from_str(index),
        value,
        JsValue::from_str(key),
    ])
}

async fn stored_events(request: idb::request::GetAllStoreRequest) -> Result<Vec<StoredEvent>> {
    let records = request.await.map_err(fail)?;
    records
        .iter()
        .map(|record| {
            Ok(StoredEvent {
                seq: number(record, "seq")?,
                event: from_body(record)?,
            })
        })
        .collect()
}

fn above(value: u64) -> Result<Query> {
    idb::KeyRange::lower_bound(&JsValue::from_f64(value as f64), Some(true))
        .map(Query::from)
        .map_err(fail)
}

fn limit(limit: usize) -> Option<u32> {
    Some(u32::try_from(limit).unwrap_or(u32::MAX))
}

impl DocTx for WriteTx {
    async fn get_doc(&self, ns: &str, key: &str) -> Result<Option<Value>> {
        let record = self
            .docs
            .get(ns_key(ns, key))
            .map_err(fail)?
            .await
            .map_err(fail)?;
        record
            .map(|record| self.at_rest.open(&record, &doc_place(ns, key)))
            .transpose()
    }

    async fn get_docs(&self, ns: &str, keys: &[String]) -> Result<Vec<Option<Value>>> {
        // Every request is issued before the first is awaited: IndexedDB answers them in order,
        // so the batch costs about one round trip.
        let requests = keys
            .iter()
            .map(|key| self.docs.get(ns_key(ns, key)).map_err(fail))
            .collect::<Result<Vec<_>>>()?;
        let mut docs = Vec::with_capacity(requests.len());
        for (request, key) in requests.into_iter().zip(keys) {
            let record = request.await.map_err(fail)?;
            let place = doc_place(ns, key);
            docs.push(
                record
                    .map(|record| self.at_rest.open(&record, &place))
                    .transpose()?,
            );
        }
        Ok(docs)
    }

    fn put_doc(
        &self,
        ns: &str,
        key: &str,
        doc: &Value,
        index: &[(String, IndexValue)],
    ) -> Result<()> {
        let ix: js_sys::Array = index
            .iter()
            .map(|(name, value)| index_element(ns, name, value, key))
            .collect();
        let record = object(&[
            ("ns", JsValue::from_str(ns)),
            ("key", JsValue::from_str(key)),
            ("ix", ix.into()),
            ("body", self.at_rest.seal(&doc_place(ns, key), doc)?),
        ]);
        self.docs.put(&record, None).map_err(fail)?;
        Ok(())
    }

    fn delete_doc(&self, ns: &str, key: &str) -> Result<()> {
        self.docs.delete(ns_key(ns, key)).map_err(fail)?;
        Ok(())
    }

    fn clear_namespace(&self, ns: &str) -> Result<()> {
        self.docs
            .delete(Query::from(prefix_range(&[JsValue::from_str(ns)])?))
            .map_err(fail)?;
        Ok(())
    }

    async fn undo_log(&self, ns: &str) -> Result<Vec<UndoEntry>> {
        let range = prefix_range(&[JsValue::from_str(ns)])?;
        let records = self
            .undo
            .get_all(Some(Query::from(range)), None)
            .map_err(fail)?
            .await
            .map_err(fail)?;
        records
            .iter()
            .map(|record| {
                let (seq, key) = (number(record, "seq")?, field(record, "key")?);
                let key = key
                    .as_string()
                    .ok_or_else(|| crate::core::Error::Codec("undo key is not text".into()))?;
                self.at_rest.open(record, &undo_place(ns, seq, &key))
            })
            .collect()
    }

    fn put_undo(&self, entry: &UndoEntry) -> Result<()> {
        let record = object(&[
            ("ns", JsValue::from_str(&entry.ns)),
            ("seq", JsValue::from_f64(entry.seq as f64)),
            ("key", JsValue::from_str(&entry.key)),
            (
                "body",
                self.at_rest
                    .seal(&undo_place(&entry.ns, entry.seq, &entry.key), entry)?,
            ),
        ]);
        self.undo.put(&record, None).map_err(fail)?;
        Ok(())
    }

    fn delete_undo_of(&self, ns: &str, seq: u64) -> Result<()> {
        let range = prefix_range(&[JsValue::from_str(ns), JsValue::from_f64(seq as f64)])?;
        self.undo.delete(Query::from(range)).map_err(fail)?;
        Ok(())
    }

    fn clear_undo(&self, ns: &str) -> Result<()> {
        self.undo
            .delete(Query::from(prefix_range(&[JsValue::from_str(ns)])?))
            .map_err(fail)?;
        Ok(())
    }

    async fn state(&self, name: &str) -> Result<Option<ProjectionState>> {
        let record = self
            .projections
            .get(JsValue::from_str(name))
            .map_err(fail)?
            .await
            .map_err(fail)?;
        record.map(|record| from_body(&record)).transpose()
    }

    fn put_state(&self, state: &ProjectionState) -> Result<()> {
        self.put_keyed(
            &self.projections,
            "name",
            JsValue::from_str(&state.name),
            state,
        )
    }

    fn put_dead_letter(&self, letter: &DeadLetter) -> Result<()> {
        let record = object(&[
            ("projection", JsValue::from_str(&letter.projection)),
            ("body", body(letter)?),
        ]);
        self.dead_letters.add(&record, None).map_err(fail)?;
        Ok(())
    }

    async fn confirmed_after(&self, position: u64, count: usize) -> Result<Vec<StoredEvent>> {
        let index = self.events.index(BY_POSITION).map_err(fail)?;
        stored_events(
            index
                .get_all(Some(above(position)?), limit(count))
                .map_err(fail)?,
        )
        .await
    }

    async fn pending_after(&self, seq: u64, count: usize) -> Result<Vec<StoredEvent>> {
        let index = self.events.index(BY_PENDING).map_err(fail)?;
        stored_events(
            index
                .get_all(Some(above(seq)?), limit(count))
                .map_err(fail)?,
        )
        .await
    }

    async fn pending_count_upto(&self, seq: u64) -> Result<u64> {
        let index = self.events.index(BY_PENDING).map_err(fail)?;
        let range = idb::KeyRange::upper_bound(&JsValue::from_f64(seq as f64), Some(false))
            .map_err(fail)?;
        Ok(u64::from(
            index
                .count(Some(Query::from(range)))
                .map_err(fail)?
                .await
                .map_err(fail)?,
        ))
    }

    async fn first_pending_seq(&self) -> Result<Option<u64>> {
        let index = self.events.index(BY_PENDING).map_err(fail)?;
        let first = index
            .get_all(None, Some(1))
            .map_err(fail)?
            .await
            .map_err(fail)?;
        first
            .first()
            .map(|record| number(record, "seq"))
            .transpose()
    }

    async fn event_count(&self) -> Result<u64> {
        Ok(u64::from(
            self.events.count(None).map_err(fail)?.await.map_err(fail)?,
        ))
    }
}
