//! The outbox and the rejected inbox in SQL. An outbox entry is a column of the row of its
//! command's events, so the entry and its events are read together.

use std::collections::HashSet;

use super::chunks::{COLUMNS, Chunk, read_stream};
use super::connection::{Columns, SqlConnection};
use super::{SqlTx, schema};
use crate::core::storage::queue::checked;
use crate::core::{OutboxEntry, RejectedCommand, Result, StreamId};
use crate::store::{QueueSizes, QueuedCommand};

/// The `meta` value that lists the confirmed rows still holding an outbox entry (a command
/// whose events were confirmed before its entry was dropped): the index finds pending rows
/// only, so these few are named here.
const STRANDED: &str = "confirmed_outbox";

/// The keys of the confirmed rows that hold an outbox entry.
fn stranded<C: SqlConnection>(conn: &C) -> Result<Vec<(StreamId, u64)>> {
    Ok(match schema::get(conn, STRANDED)? {
        Some(text) => serde_json::from_str(&text)?,
        None => Vec::new(),
    })
}

/// The row of `stream` starting at `first_version`, if any.
fn row<C: SqlConnection>(conn: &C, stream: &StreamId, first_version: u64) -> Result<Option<Chunk>> {
    let sql = format!("SELECT {COLUMNS} FROM commits WHERE stream = ?1 AND first_version = ?2");
    let rows = conn.query(&sql, &[stream.as_str().into(), first_version.into()])?;
    rows.first().map(Chunk::from_row).transpose()
}

/// The rows of up to `limit` commands with outbox entries, oldest first.
fn outbox_rows<C: SqlConnection>(conn: &C, limit: usize) -> Result<Vec<Chunk>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM commits WHERE first_position IS NULL AND outbox IS NOT NULL
         ORDER BY first_seq LIMIT ?1"
    );
    let mut rows: Vec<Chunk> = conn
        .query(&sql, &[super::chunks::limit(limit)])?
        .iter()
        .map(Chunk::from_row)
        .collect::<Result<_>>()?;
    for (stream, first_version) in stranded(conn)? {
        rows.extend(row(conn, &stream, first_version)?);
    }
    rows.sort_by_key(|chunk| chunk.first_seq);
    rows.truncate(limit);
    Ok(rows)
}

/// The outbox entries of `streams`, oldest first.
pub fn outbox_of<C: SqlConnection>(conn: &C, streams: &[StreamId]) -> Result<Vec<OutboxEntry>> {
    let mut entries = Vec::new();
    for stream in streams {
        let rows = conn.query(
            "SELECT outbox FROM commits WHERE stream = ?1 AND outbox IS NOT NULL",
            &[stream.as_str().into()],
        )?;
        for row in rows {
            entries.push(serde_json::from_str::<OutboxEntry>(row.text(0)?)?);
        }
    }
    entries.sort_by_key(|entry| entry.seq);
    Ok(entries)
}

/// Up to `limit` outbox entries, oldest first.
pub fn read_outbox<C: SqlConnection>(conn: &C, limit: usize) -> Result<Vec<OutboxEntry>> {
    Ok(outbox_rows(conn, limit)?
        .into_iter()
        .filter_map(|chunk| chunk.outbox)
        .collect())
}

/// Up to `limit` outbox entries not in `skip`, each with its events.
pub fn read_queue<C: SqlConnection>(
    conn: &C,
    limit: usize,
    skip: &HashSet<u64>,
) -> Result<Vec<QueuedCommand>> {
    let mut queue = Vec::new();
    for chunk in outbox_rows(conn, limit.saturating_add(skip.len()))? {
        let Some(entry) = chunk.outbox else { continue };
        if skip.contains(&entry.seq) || queue.len() == limit {
            continue;
        }
        let own = chunk.events.iter().map(|event| event.id);
        let events = match own.eq(entry.event_ids.iter().copied()) {
            true => chunk.events,
            false => checked(
                &entry,
                read_stream(
                    conn,
                    &entry.stream,
                    entry.expected_version + 1,
                    entry.event_ids.len(),
                )?,
            )?,
        };
        queue.push(QueuedCommand { entry, events });
    }
    Ok(queue)
}

/// How many commands wait in the outbox and in the rejected inbox.
pub fn sizes<C: SqlConnection>(conn: &C) -> Result<QueueSizes> {
    let count = |sql: &str| -> Result<usize> {
        let rows = conn.query(sql, &[])?;
        Ok(rows.first().map_or(Ok(0), |row| row.int(0))? as usize)
    };
    Ok(QueueSizes {
        outbox: count(
            "SELECT count(*) FROM commits WHERE first_position IS NULL AND outbox IS NOT NULL",
        )? + stranded(conn)?.len(),
        rejected: count("SELECT count(*) FROM rejected")?,
    })
}

/// The rejected inbox, oldest first.
pub fn rejected<C: SqlConnection>(conn: &C) -> Result<Vec<RejectedCommand>> {
    conn.query("SELECT body FROM rejected ORDER BY n", &[])?
        .iter()
        .map(|row| Ok(serde_json::from_str(row.text(0)?)?))
        .collect()
}

impl<C: SqlConnection> SqlTx<'_, C> {
    /// Removes the outbox entry of the row starting at local sequence number `seq`: a pending
    /// row through the index, else (a confirmed row) by a scan.
    pub(super) fn drop_outbox_row(&self, seq: u64) -> Result<()> {
        let pending = "UPDATE commits SET outbox = NULL
             WHERE first_position IS NULL AND first_seq = ?1 AND outbox IS NOT NULL";
        if self.write(pending, &[seq.into()], 0)? == 0 {
            let any =
                "UPDATE commits SET outbox = NULL WHERE first_seq = ?1 AND outbox IS NOT NULL";
            self.write(any, &[seq.into()], 0)?;
        }
        Ok(())
    }

    /// Lists the confirmed rows that hold an outbox entry: those listed before and `found`,
    /// less the ones that no longer do.
    pub(super) fn keep_stranded(&self, found: Vec<(StreamId, u64)>) -> Result<()> {
        let before = stranded(self.conn)?;
        let mut after = Vec::new();
        for (stream, first_version) in before.iter().cloned().chain(found) {
            let holds = row(self.conn, &stream, first_version)?
                .is_some_and(|chunk| chunk.first_position().is_some() && chunk.outbox.is_some());
            if holds && !after.contains(&(stream.clone(), first_version)) {
                after.push((stream, first_version));
            }
        }
        if after != before {
            self.set_meta(STRANDED, &serde_json::to_string(&after)?)?;
        }
        Ok(())
    }
}
