//! Read models in SQL: documents with their index entries, undo records, projection states and
//! dead letters, and the [`DocTx`] the projector runs on inside a store's transaction.

use serde_json::Value;

use super::SqlTx;
use super::at_rest::{AtRest, doc_place, undo_place};
use super::chunks;
use super::connection::{Columns, Row, SqlConnection, SqlValue};
use crate::core::projection::query::{Condition, Cursor, Doc, Page, Query};
use crate::core::projection::{DeadLetter, DocTx, IndexValue, UndoEntry};
use crate::core::{Error, ProjectionState, Result, StoredEvent};

fn index_param(value: &IndexValue) -> SqlValue {
    match value {
        IndexValue::Number(n) => SqlValue::Real(*n),
        IndexValue::Text(text) => SqlValue::Text(text.clone()),
    }
}

fn index_value(value: &SqlValue) -> Result<IndexValue> {
    match value {
        SqlValue::Integer(n) => Ok(IndexValue::Number(*n as f64)),
        SqlValue::Real(n) => Ok(IndexValue::Number(*n)),
        SqlValue::Text(text) => Ok(IndexValue::Text(text.clone())),
        other => Err(Error::Storage(format!("an index value {other:?}").into())),
    }
}

fn json<T: serde::de::DeserializeOwned>(rows: &[Row]) -> Result<Option<T>> {
    rows.first()
        .map(|row| Ok(serde_json::from_str(row.text(0)?)?))
        .transpose()
}

/// A document of namespace `ns`, opened when sealed at rest.
pub fn doc<C: SqlConnection>(
    conn: &C,
    at_rest: &AtRest,
    ns: &str,
    key: &str,
) -> Result<Option<Value>> {
    let rows = conn.query(
        "SELECT body FROM docs WHERE ns = ?1 AND key = ?2",
        &[ns.into(), key.into()],
    )?;
    rows.first()
        .map(|row| at_rest.open(&doc_place(ns, key), row.text(0)?))
        .transpose()
}

/// The index entries a document has.
fn entries<C: SqlConnection>(conn: &C, ns: &str, key: &str) -> Result<Vec<(String, IndexValue)>> {
    let rows = conn.query(
        "SELECT entries FROM docs WHERE ns = ?1 AND key = ?2",
        &[ns.into(), key.into()],
    )?;
    let stored: Vec<(String, Value)> = json(&rows)?.unwrap_or_default();
    Ok(stored
        .into_iter()
        .filter_map(|(index, value)| IndexValue::from_json(&value).map(|v| (index, v)))
        .collect())
}

/// A projection's stored state.
pub fn state<C: SqlConnection>(conn: &C, name: &str) -> Result<Option<ProjectionState>> {
    let rows = conn.query(
        "SELECT body FROM projections WHERE name = ?1",
        &[name.into()],
    )?;
    json(&rows)
}

/// The dead letters of projection `name`, oldest first.
pub fn dead_letters<C: SqlConnection>(conn: &C, name: &str) -> Result<Vec<DeadLetter>> {
    let rows = conn.query(
        "SELECT body FROM dead_letters WHERE projection = ?1 ORDER BY n",
        &[name.into()],
    )?;
    rows.iter()
        .map(|row| Ok(serde_json::from_str(row.text(0)?)?))
        .collect()
}

/// The documents an index query selects, reading only index entries in its range.
pub fn query<C: SqlConnection>(
    conn: &C,
    at_rest: &AtRest,
    ns: &str,
    query: &Query,
) -> Result<Page> {
    let mut sql = String::from("SELECT value, key FROM doc_index WHERE ns = ?1 AND ix = ?2");
    let mut params: Vec<SqlValue> = vec![ns.into(), query.index.as_str().into()];
    let lower = match (&query.after, &query.condition) {
        (Some(Cursor { value, key }), _) => Some((">", value, key.as_str())),
        (None, Condition::Equals(value)) => Some((">=", value, "")),
        (None, Condition::Range { lower, .. }) => lower.as_ref().map(|value| (">=", value, "")),
    };
    if let Some((op, value, key)) = lower {
        sql.push_str(&format!(" AND (value, key) {op} (?3, ?4)"));
        params.extend([index_param(value), key.into()]);
    }
    let upper = match &query.condition {
        Condition::Equals(value) => Some(value),
        Condition::Range { upper, .. } => upper.as_ref(),
    };
    if let Some(value) = upper {
        sql.push_str(&format!(" AND value <= ?{}", params.len() + 1));
        params.push(index_param(value));
    }
    sql.push_str(&format!(" ORDER BY value, key LIMIT ?{}", params.len() + 1));
    params.push(chunks::limit(query.limit.saturating_add(1)));
    let mut docs = Vec::new();
    let mut last = None;
    for row in conn.query(&sql, &params)? {
        let value = index_value(&row[0])?;
        let key = row.text(1)?.to_owned();
        if !query.condition.selects(&value) {
            continue;
        }
        if docs.len() == query.limit {
            return Ok(Page {
                docs,
                next: last.map(|cursor: Cursor| cursor.encode()),
            });
        }
        let body = doc(conn, at_rest, ns, &key)?.unwrap_or(Value::Null);
        docs.push(Doc {
            key: key.clone(),
            doc: body,
        });
        last = Some(Cursor { value, key });
    }
    Ok(Page { docs, next: None })
}

impl<C: SqlConnection> SqlTx<'_, C> {
    fn index_entry(
        &self,
        delete: bool,
        ns: &str,
        index: &str,
        value: &IndexValue,
        key: &str,
    ) -> Result<()> {
        let sql = match delete {
            true => "DELETE FROM doc_index WHERE ns = ?1 AND ix = ?2 AND value = ?3 AND key = ?4",
            false => "INSERT OR IGNORE INTO doc_index (ns, ix, value, key) VALUES (?1, ?2, ?3, ?4)",
        };
        self.write(
            sql,
            &[ns.into(), index.into(), index_param(value), key.into()],
            0,
        )?;
        Ok(())
    }
}

impl<C: SqlConnection> DocTx for SqlTx<'_, C> {
    async fn get_doc(&self, ns: &str, key: &str) -> Result<Option<Value>> {
        doc(self.conn, self.at_rest, ns, key)
    }

    fn put_doc(
        &self,
        ns: &str,
        key: &str,
        body: &Value,
        index: &[(String, IndexValue)],
    ) -> Result<()> {
        let old = entries(self.conn, ns, key)?;
        for (name, value) in old.iter().filter(|entry| !index.contains(entry)) {
            self.index_entry(true, ns, name, value, key)?;
        }
        for (name, value) in index.iter().filter(|entry| !old.contains(entry)) {
            self.index_entry(false, ns, name, value, key)?;
        }
        let stored: Vec<(&String, Value)> = index.iter().map(|(i, v)| (i, v.to_json())).collect();
        self.write(
            "INSERT INTO docs (ns, key, body, entries) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (ns, key) DO UPDATE SET body = excluded.body, entries = excluded.entries",
            &[
                ns.into(),
                key.into(),
                self.at_rest.seal(&doc_place(ns, key), body)?.into(),
                serde_json::to_string(&stored)?.into(),
            ],
            0,
        )?;
        Ok(())
    }

    fn delete_doc(&self, ns: &str, key: &str) -> Result<()> {
        for (name, value) in entries(self.conn, ns, key)? {
            self.index_entry(true, ns, &name, &value, key)?;
        }
        self.write(
            "DELETE FROM docs WHERE ns = ?1 AND key = ?2",
            &[ns.into(), key.into()],
            0,
        )?;
        Ok(())
    }

    fn clear_namespace(&self, ns: &str) -> Result<()> {
        self.write("DELETE FROM doc_index WHERE ns = ?1", &[ns.into()], 0)?;
        self.write("DELETE FROM docs WHERE ns = ?1", &[ns.into()], 0)?;
        Ok(())
    }

    async fn undo_log(&self, ns: &str) -> Result<Vec<UndoEntry>> {
        let rows = self.conn.query(
            "SELECT seq, key, before FROM undo WHERE ns = ?1 ORDER BY seq, key",
            &[ns.into()],
        )?;
        rows.iter()
            .map(|row| {
                let (seq, key) = (row.int(0)?, row.text(1)?.to_owned());
                let place = undo_place(ns, seq, &key);
                Ok(UndoEntry {
                    ns: ns.to_owned(),
                    seq,
                    before: row
                        .opt_text(2)?
                        .map(|text| self.at_rest.open(&place, text))
                        .transpose()?,
                    key,
                })
            })
            .collect()
    }

    fn put_undo(&self, entry: &UndoEntry) -> Result<()> {
        let place = undo_place(&entry.ns, entry.seq, &entry.key);
        let before = entry
            .before
            .as_ref()
            .map(|before| self.at_rest.seal(&place, before))
            .transpose()?;
        self.write(
            "INSERT INTO undo (ns, seq, key, before) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (ns, seq, key) DO UPDATE SET before = excluded.before",
            &[
                entry.ns.as_str().into(),
                entry.seq.into(),
                entry.key.as_str().into(),
                before.into(),
            ],
            0,
        )?;
        Ok(())
    }

    async fn undo_keys(&self, ns: &str) -> Result<Vec<(u64, String)>> {
        let rows = self.conn.query(
            "SELECT seq, key FROM undo WHERE ns = ?1 ORDER BY seq, key",
            &[ns.into()],
        )?;
        rows.iter()
            .map(|row| Ok((row.int(0)?, row.text(1)?.to_owned())))
            .collect()
    }

    async fn undo_bases(&self, ns: &str, keys: &[String]) -> Result<Vec<Option<UndoEntry>>> {
        let mut bases = Vec::with_capacity(keys.len());
        for key in keys {
            let rows = self.conn.query(
                "SELECT before FROM undo WHERE ns = ?1 AND seq = 0 AND key = ?2",
                &[ns.into(), key.as_str().into()],
            )?;
            bases.push(
                rows.first()
                    .map(|row| {
                        Ok::<_, Error>(UndoEntry {
                            ns: ns.to_owned(),
                            seq: 0,
                            key: key.clone(),
                            before: row
                                .opt_text(0)?
                                .map(|text| self.at_rest.open(&undo_place(ns, 0, key), text))
                                .transpose()?,
                        })
                    })
                    .transpose()?,
            );
        }
        Ok(bases)
    }

    fn clear_undo(&self, ns: &str) -> Result<()> {
        self.write("DELETE FROM undo WHERE ns = ?1", &[ns.into()], 0)?;
        Ok(())
    }

    async fn state(&self, name: &str) -> Result<Option<ProjectionState>> {
        state(self.conn, name)
    }

    fn put_state(&self, state: &ProjectionState) -> Result<()> {
        self.write(
            "INSERT INTO projections (name, body) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET body = excluded.body",
            &[
                state.name.as_str().into(),
                serde_json::to_string(state)?.into(),
            ],
            0,
        )?;
        Ok(())
    }

    fn put_dead_letter(&self, letter: &DeadLetter) -> Result<()> {
        self.write(
            "INSERT INTO dead_letters (projection, n, body) VALUES (?1,
                (SELECT coalesce(max(n), 0) + 1 FROM dead_letters WHERE projection = ?1), ?2)",
            &[
                letter.projection.as_str().into(),
                serde_json::to_string(letter)?.into(),
            ],
            0,
        )?;
        Ok(())
    }

    async fn dead_letters(&self, name: &str) -> Result<Vec<DeadLetter>> {
        dead_letters(self.conn, name)
    }

    async fn replace_dead_letters(&self, name: &str, letters: &[DeadLetter]) -> Result<()> {
        self.write(
            "DELETE FROM dead_letters WHERE projection = ?1",
            &[name.into()],
            0,
        )?;
        for letter in letters {
            self.put_dead_letter(letter)?;
        }
        Ok(())
    }

    async fn confirmed_after(&self, position: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        chunks::confirmed_after(self.conn, position, limit)
    }

    async fn pending_after(&self, seq: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        chunks::pending_after(self.conn, seq, limit)
    }

    async fn pending_count_upto(&self, seq: u64) -> Result<u64> {
        chunks::pending_count_upto(self.conn, seq)
    }

    async fn first_pending_seq(&self) -> Result<Option<u64>> {
        chunks::first_pending_seq(self.conn)
    }

    async fn event_count(&self) -> Result<u64> {
        chunks::event_count(self.conn)
    }
}
