//! The [`DocTx`] of a [`WriteTx`]: what the projector reads and writes of read models,
//! projection states, dead letters and events inside a command's or a sync batch's transaction.
//! Document and undo bodies are sealed at rest when the store has a secret (`at_rest.rs`).

use idb::Query;
use serde_json::Value;
use wasm_bindgen::JsValue;

use super::at_rest::{doc_place, undo_place};
use super::records::{array_key, body, field, from_body, number, object, prefix_range};
use super::run_reads::{self, RunKey};
use super::runs;
use super::schema::{BY_PENDING, BY_POSITION, BY_PROJECTION};
use super::txn::{WriteTx, fail};
use crate::core::projection::{DeadLetter, DocTx, IndexValue, UndoEntry};
use crate::core::{ProjectionState, Result, StoredEvent};

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

fn above(value: u64) -> Result<Query> {
    idb::KeyRange::lower_bound(&JsValue::from_f64(value as f64), Some(true))
        .map(Query::from)
        .map_err(fail)
}

fn only(name: &str) -> Result<Query> {
    idb::KeyRange::only(&JsValue::from_str(name))
        .map(Query::from)
        .map_err(fail)
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

    async fn undo_keys(&self, ns: &str) -> Result<Vec<(u64, String)>> {
        let range = prefix_range(&[JsValue::from_str(ns)])?;
        let keys = self
            .undo
            .get_all_keys(Some(Query::from(range)), None)
            .map_err(fail)?
            .await
            .map_err(fail)?;
        keys.iter()
            .map(|key| {
                let parts = js_sys::Array::from(key);
                let seq = parts.get(1).as_f64();
                let key = parts.get(2).as_string();
                match (seq, key) {
                    (Some(seq), Some(key)) => Ok((seq as u64, key)),
                    _ => Err(crate::core::Error::Codec(
                        "an undo record's key is not [ns, seq, key]".into(),
                    )),
                }
            })
            .collect()
    }

    async fn undo_bases(&self, ns: &str, keys: &[String]) -> Result<Vec<Option<UndoEntry>>> {
        // Every request is issued before the first is awaited (one round trip for the batch).
        let requests = keys
            .iter()
            .map(|key| {
                let id = array_key(&[
                    JsValue::from_str(ns),
                    JsValue::from_f64(0.0),
                    JsValue::from_str(key),
                ]);
                self.undo.get(id).map_err(fail)
            })
            .collect::<Result<Vec<_>>>()?;
        let mut bases = Vec::with_capacity(requests.len());
        for (request, key) in requests.into_iter().zip(keys) {
            let record = request.await.map_err(fail)?;
            bases.push(
                record
                    .map(|record| self.at_rest.open(&record, &undo_place(ns, 0, key)))
                    .transpose()?,
            );
        }
        Ok(bases)
    }

    fn clear_undo(&self, ns: &str) -> Result<()> {
        self.undo
            .delete(Query::from(prefix_range(&[JsValue::from_str(ns)])?))
            .map_err(fail)?;
        Ok(())
    }

    async fn state(&self, name: &str) -> Result<Option<ProjectionState>> {
        if let Some(record) = self.states_ahead.take(name).await? {
            return record.map(|record| from_body(&record)).transpose();
        }
        let record = self
            .projections
            .get(JsValue::from_str(name))
            .map_err(fail)?
            .await
            .map_err(fail)?;
        record.map(|record| from_body(&record)).transpose()
    }

    fn put_state(&self, state: &ProjectionState) -> Result<()> {
        self.states_ahead.written(&state.name);
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

    async fn dead_letters(&self, name: &str) -> Result<Vec<DeadLetter>> {
        let index = self.dead_letters.index(BY_PROJECTION).map_err(fail)?;
        let records = index
            .get_all(Some(only(name)?), None)
            .map_err(fail)?
            .await
            .map_err(fail)?;
        records.iter().map(from_body).collect()
    }

    async fn replace_dead_letters(&self, name: &str, letters: &[DeadLetter]) -> Result<()> {
        let index = self.dead_letters.index(BY_PROJECTION).map_err(fail)?;
        let keys = index
            .get_all_keys(Some(only(name)?), None)
            .map_err(fail)?
            .await
            .map_err(fail)?;
        for key in keys {
            self.dead_letters.delete(key).map_err(fail)?;
        }
        for letter in letters {
            self.put_dead_letter(letter)?;
        }
        Ok(())
    }

    async fn confirmed_after(&self, position: u64, count: usize) -> Result<Vec<StoredEvent>> {
        let index = self.events.index(BY_POSITION).map_err(fail)?;
        run_reads::read_after(&index, RunKey::Position, position, count).await
    }

    async fn pending_after(&self, seq: u64, count: usize) -> Result<Vec<StoredEvent>> {
        let index = self.events.index(BY_PENDING).map_err(fail)?;
        run_reads::read_after(&index, RunKey::Pending, seq, count).await
    }

    async fn pending_count_upto(&self, seq: u64) -> Result<u64> {
        // The pending runs that end after `seq` are few (those committed after the fold that
        // asks); the rest is the log's count of pending events.
        let index = self.events.index(BY_PENDING).map_err(fail)?;
        let later = index
            .get_all(Some(above(seq)?), None)
            .map_err(fail)?
            .await
            .map_err(fail)?;
        let mut after = 0;
        for record in &later {
            let last = number(record, "seq")?;
            after += last - seq.max(runs::first_seq(record)? - 1);
        }
        Ok(self.counts().pending.saturating_sub(after))
    }

    async fn first_pending_seq(&self) -> Result<Option<u64>> {
        let index = self.events.index(BY_PENDING).map_err(fail)?;
        let first = index
            .get_all(None, Some(1))
            .map_err(fail)?
            .await
            .map_err(fail)?;
        first.first().map(runs::first_seq).transpose()
    }

    async fn event_count(&self) -> Result<u64> {
        Ok(self.counts().events)
    }
}
