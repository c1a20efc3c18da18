//! A commit in SQL: its checks, then its one `commits` row (events, outbox entry, snapshot)
//! and its idempotency record, all inside the caller's transaction.

use std::collections::HashSet;

use super::chunks::{self, Chunk};
use super::connection::{Columns, SqlConnection};
use super::{SqlTx, schema};
use crate::core::{Error, IdempotencyRecord, Result, StoredEvent, Timestamp};
use crate::store::Commit;

/// What a commit did.
pub enum Written {
    /// The commit landed.
    Events(Vec<StoredEvent>),
    /// A live idempotency record already answers it; nothing was written.
    Duplicate(IdempotencyRecord),
}

/// The idempotency record stored under `key`, live or not.
pub fn idempotency<C: SqlConnection>(conn: &C, key: &str) -> Result<Option<IdempotencyRecord>> {
    let rows = conn.query("SELECT body FROM idempotency WHERE key = ?1", &[key.into()])?;
    rows.first()
        .map(|row| Ok(serde_json::from_str(row.text(0)?)?))
        .transpose()
}

impl<C: SqlConnection> SqlTx<'_, C> {
    /// Checks and writes a commit; `head` is the stream's version when the caller has just read
    /// it in this transaction.
    pub(super) fn commit(&self, commit: &Commit, head: Option<u64>) -> Result<Written> {
        commit.check_shape()?;
        if let Some(record) = &commit.idempotency {
            if let Some(existing) = idempotency(self.conn, &record.key)? {
                if existing.is_live(record.created_at) {
                    return Ok(Written::Duplicate(existing));
                }
            }
        }
        let actual = match head {
            Some(head) => head,
            None => chunks::version_of(self.conn, &commit.stream)?,
        };
        if !commit.expected.admits(actual) {
            return Err(Error::Conflict {
                stream: commit.stream.to_string(),
                expected: commit.expected,
                actual,
            });
        }
        let mut ids = HashSet::new();
        for event in &commit.events {
            if !ids.insert(event.id) || self.held_at(&event.id)?.is_some() {
                return Err(Error::InvalidInput(format!(
                    "event id {} is already stored",
                    event.id
                )));
            }
        }
        commit.check_snapshot(actual)?;
        let chunk = self.new_chunk(commit.clone(), actual);
        if let Some(chunk) = &chunk {
            self.insert_chunk(chunk)?;
        }
        let stored: Vec<StoredEvent> = chunk.into_iter().flat_map(Chunk::stored).collect();
        self.write_extras(commit, &stored)?;
        Ok(Written::Events(stored))
    }

    /// The row of a commit's events after version `head`, with new sequence numbers (`None`
    /// for a commit without events).
    pub(super) fn new_chunk(&self, commit: Commit, head: u64) -> Option<Chunk> {
        let Commit {
            stream,
            mut events,
            outbox,
            snapshot,
            ..
        } = commit;
        if events.is_empty() {
            return None;
        }
        let first_seq = self.last_seq.get() + 1;
        for (event, version) in events.iter_mut().zip(head + 1..) {
            event.stream = stream.clone();
            event.version = version;
            self.next_seq();
        }
        let outbox = outbox.map(|mut entry| {
            entry.seq = first_seq;
            entry.stream = stream.clone();
            entry
        });
        Some(Chunk {
            stream,
            first_version: head + 1,
            first_seq,
            events,
            outbox,
            snapshot,
        })
    }

    /// Writes a commit's idempotency record, its events being `stored`, and its snapshot when
    /// it has no events (else the snapshot is a column of the events' row).
    pub(super) fn write_extras(&self, commit: &Commit, stored: &[StoredEvent]) -> Result<()> {
        if let Some(snapshot) = commit.snapshot.as_ref().filter(|_| stored.is_empty()) {
            self.write(
                "UPDATE commits SET snapshot = ?2 WHERE stream = ?1 AND first_version = (
                    SELECT max(first_version) FROM commits WHERE stream = ?1
                 )",
                &[
                    snapshot.stream.as_str().into(),
                    serde_json::to_string(snapshot)?.into(),
                ],
                0,
            )?;
        }
        if let Some(record) = &commit.idempotency {
            let mut record = record.clone();
            self.purge_idempotency(record.created_at)?;
            record.stream = commit.stream.clone();
            (record.first_version, record.last_version) = match (stored.first(), stored.last()) {
                (Some(first), Some(last)) => (first.event.version, last.event.version),
                _ => (0, 0),
            };
            self.put_idempotency(&record)?;
        }
        Ok(())
    }

    /// Stores (replaces) an idempotency record.
    pub(super) fn put_idempotency(&self, record: &IdempotencyRecord) -> Result<()> {
        self.write(
            "INSERT INTO idempotency (key, expires_at, body) VALUES (?1, ?2, ?3)
             ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at, body = excluded.body",
            &[
                record.key.as_str().into(),
                record.expires_at.0.into(),
                serde_json::to_string(record)?.into(),
            ],
            0,
        )?;
        Ok(())
    }

    /// Deletes the idempotency records no longer live at `now` (a scan of the table: records
    /// expire, so it stays small).
    fn purge_idempotency(&self, now: Timestamp) -> Result<()> {
        self.write(
            "DELETE FROM idempotency WHERE expires_at <= ?1",
            &[now.0.into()],
            0,
        )?;
        Ok(())
    }

    /// Sets a `meta` value.
    pub(super) fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        let written = schema::set(self.conn, key, value)?;
        self.written.set(self.written.get() + written);
        Ok(())
    }
}
