//! The rows of `commits`: the events of one command (or one run of pulled events) as one row,
//! and the reads of the event log over them.
//!
//! A row's events have contiguous versions and local sequence numbers, and are either all
//! pending (`first_position` is `NULL`) or all confirmed with contiguous server positions, so
//! that the range columns locate any one event without reading the others.

use uuid::Uuid;

use super::SqlTx;
use super::connection::{Columns, Row, SqlConnection, SqlValue};
use super::schema::COMMITS_INDEXES;
use crate::core::{
    Error, EventEnvelope, OutboxEntry, Result, Snapshot, StoredEvent, StreamHead, StreamId,
};

/// The columns a [`Chunk`] is read from, in order.
pub const COLUMNS: &str = "stream, first_version, first_seq, events, outbox, snapshot";

/// One row of `commits`.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// The stream of every event.
    pub stream: StreamId,
    /// The first event's version (the row's key with the stream).
    pub first_version: u64,
    /// The first event's local sequence number.
    pub first_seq: u64,
    /// The events, in version order (never empty).
    pub events: Vec<EventEnvelope>,
    /// The outbox entry of the command whose first event this row starts with.
    pub outbox: Option<OutboxEntry>,
    /// The stream's snapshot taken at one of these events (the last that had one).
    pub snapshot: Option<Snapshot>,
}

impl Chunk {
    /// A chunk read from a row of [`COLUMNS`].
    pub fn from_row(row: &Row) -> Result<Chunk> {
        let events: Vec<EventEnvelope> = serde_json::from_str(row.text(3)?)?;
        if events.is_empty() {
            return Err(Error::Storage("a commits row without events".into()));
        }
        Ok(Chunk {
            stream: StreamId::parse(row.text(0)?)?,
            first_version: row.int(1)?,
            first_seq: row.int(2)?,
            events,
            outbox: row
                .opt_text(4)?
                .map(serde_json::from_str::<OutboxEntry>)
                .transpose()?,
            snapshot: row
                .opt_text(5)?
                .map(serde_json::from_str::<Snapshot>)
                .transpose()?,
        })
    }

    /// The last event's version.
    pub fn last_version(&self) -> u64 {
        self.first_version + self.events.len() as u64 - 1
    }

    /// The last event's local sequence number.
    pub fn last_seq(&self) -> u64 {
        self.first_seq + self.events.len() as u64 - 1
    }

    /// The first event's server position (`None`: the row is pending).
    pub fn first_position(&self) -> Option<u64> {
        self.events[0].position
    }

    /// The events with their local sequence numbers.
    pub fn stored(self) -> impl Iterator<Item = StoredEvent> {
        let first = self.first_seq;
        (first..)
            .zip(self.events)
            .map(|(seq, event)| StoredEvent { seq, event })
    }

    fn params(&self) -> Result<Vec<SqlValue>> {
        let ids: Vec<String> = self.events.iter().map(|e| e.id.to_string()).collect();
        Ok(vec![
            self.stream.as_str().into(),
            self.first_version.into(),
            self.last_version().into(),
            self.first_seq.into(),
            self.last_seq().into(),
            self.first_position().into(),
            self.events.last().and_then(|e| e.position).into(),
            ids.join(",").into(),
            serde_json::to_string(&self.events)?.into(),
            self.outbox
                .as_ref()
                .map(serde_json::to_string)
                .transpose()?
                .into(),
            self.snapshot
                .as_ref()
                .map(serde_json::to_string)
                .transpose()?
                .into(),
        ])
    }
}

/// The event ids of a row's `ids` column.
pub fn split_ids(text: &str) -> Result<Vec<Uuid>> {
    text.split(',')
        .filter(|id| !id.is_empty())
        .map(|id| {
            Uuid::parse_str(id)
                .map_err(|error| Error::Storage(format!("a stored event id: {error}").into()))
        })
        .collect()
}

fn chunks(rows: Vec<Row>) -> Result<Vec<Chunk>> {
    rows.iter().map(Chunk::from_row).collect()
}

/// A `LIMIT` of `n` rows: -1 (no limit) past what a float holds exactly, as workerd hands
/// every number over as a float.
pub fn limit(n: usize) -> SqlValue {
    match i64::try_from(n) {
        Ok(n) if n <= 1 << 53 => SqlValue::Integer(n),
        _ => SqlValue::Integer(-1),
    }
}

/// Where `stream` ends, read from its last row's range and ids (no event is parsed).
pub fn head<C: SqlConnection>(conn: &C, stream: &StreamId) -> Result<StreamHead> {
    let rows = conn.query(
        "SELECT last_version, ids FROM commits WHERE stream = ?1
         ORDER BY first_version DESC LIMIT 1",
        &[stream.as_str().into()],
    )?;
    let Some(row) = rows.first() else {
        return Ok(StreamHead::of(None));
    };
    let ids = row.text(1)?;
    let last = ids.rsplit(',').next().unwrap_or(ids);
    Ok(StreamHead {
        version: row.int(0)?,
        event_id: Some(
            Uuid::parse_str(last)
                .map_err(|error| Error::Storage(format!("a stored event id: {error}").into()))?,
        ),
    })
}

/// The latest snapshot of `stream`: the one of its last row that has one.
pub fn latest_snapshot<C: SqlConnection>(conn: &C, stream: &StreamId) -> Result<Option<Snapshot>> {
    let rows = conn.query(
        "SELECT snapshot FROM commits WHERE stream = ?1 AND snapshot IS NOT NULL
         ORDER BY first_version DESC LIMIT 1",
        &[stream.as_str().into()],
    )?;
    rows.first()
        .map(|row| Ok(serde_json::from_str(row.text(0)?)?))
        .transpose()
}

/// The number of events in `stream`.
pub fn version_of<C: SqlConnection>(conn: &C, stream: &StreamId) -> Result<u64> {
    let rows = conn.query(
        "SELECT last_version FROM commits WHERE stream = ?1 ORDER BY first_version DESC LIMIT 1",
        &[stream.as_str().into()],
    )?;
    rows.first().map_or(Ok(0), |row| row.int(0))
}

/// Up to `max` rows of `stream` holding versions ≥ `from`, in version order.
pub fn stream_from<C: SqlConnection>(
    conn: &C,
    stream: &StreamId,
    from: u64,
    max: usize,
) -> Result<Vec<Chunk>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM commits WHERE stream = ?1 AND first_version >= (
            SELECT coalesce(max(first_version), 0) FROM commits
            WHERE stream = ?1 AND first_version <= ?2
         ) ORDER BY first_version LIMIT ?3"
    );
    let rows = conn.query(&sql, &[stream.as_str().into(), from.into(), limit(max)])?;
    let mut found = chunks(rows)?;
    found.retain(|chunk| chunk.last_version() >= from);
    Ok(found)
}

/// Up to `max` events of `stream` with version ≥ `from`.
pub fn read_stream<C: SqlConnection>(
    conn: &C,
    stream: &StreamId,
    from: u64,
    max: usize,
) -> Result<Vec<EventEnvelope>> {
    if max == 0 {
        return Ok(Vec::new());
    }
    let from = from.max(1);
    Ok(stream_from(conn, stream, from, max)?
        .into_iter()
        .flat_map(|chunk| chunk.events)
        .filter(|event| event.version >= from)
        .take(max)
        .collect())
}

/// Up to `max` events with local sequence number > `after`, in local order. Reads every row:
/// the log is ordered by sequence number only within its pending and its confirmed parts.
pub fn read_all<C: SqlConnection>(conn: &C, after: u64, max: usize) -> Result<Vec<StoredEvent>> {
    let sql =
        format!("SELECT {COLUMNS} FROM commits WHERE last_seq > ?1 ORDER BY first_seq LIMIT ?2");
    let rows = conn.query(&sql, &[after.into(), limit(max)])?;
    Ok(chunks(rows)?
        .into_iter()
        .flat_map(Chunk::stored)
        .filter(|stored| stored.seq > after)
        .take(max)
        .collect())
}

/// The rows of one part of the log (`confirmed`: by position, else pending by sequence
/// number) whose events lie after `after`, at most `max` of them: the row holding `after`
/// itself, then those starting past it.
fn part_after<C: SqlConnection>(
    conn: &C,
    confirmed: bool,
    after: u64,
    max: Option<usize>,
) -> Result<Vec<Chunk>> {
    let (filter, key) = match confirmed {
        true => ("first_position IS NOT NULL", "first_position"),
        false => ("first_position IS NULL", "first_seq"),
    };
    let holding = format!(
        "SELECT {COLUMNS} FROM commits WHERE {filter} AND {key} <= ?1 ORDER BY {key} DESC LIMIT 1"
    );
    let mut found = chunks(conn.query(&holding, &[after.into()])?)?;
    found.retain(|chunk| last_key(chunk, confirmed) > after);
    let later = format!(
        "SELECT {COLUMNS} FROM commits WHERE {filter} AND {key} > ?1 ORDER BY {key} LIMIT ?2"
    );
    let max = limit(max.unwrap_or(usize::MAX));
    found.extend(chunks(conn.query(&later, &[after.into(), max])?)?);
    Ok(found)
}

fn last_key(chunk: &Chunk, confirmed: bool) -> u64 {
    match confirmed {
        true => chunk.events.last().and_then(|e| e.position).unwrap_or(0),
        false => chunk.last_seq(),
    }
}

/// Confirmed events with a position above `position`, in position order.
pub fn confirmed_after<C: SqlConnection>(
    conn: &C,
    position: u64,
    max: usize,
) -> Result<Vec<StoredEvent>> {
    Ok(part_after(conn, true, position, Some(max))?
        .into_iter()
        .flat_map(Chunk::stored)
        .filter(|stored| stored.event.position.is_some_and(|p| p > position))
        .take(max)
        .collect())
}

/// Pending events with a local sequence number above `seq`, in local order.
pub fn pending_after<C: SqlConnection>(conn: &C, seq: u64, max: usize) -> Result<Vec<StoredEvent>> {
    Ok(part_after(conn, false, seq, Some(max))?
        .into_iter()
        .flat_map(Chunk::stored)
        .filter(|stored| stored.seq > seq)
        .take(max)
        .collect())
}

/// How many events of one part of the log lie after `after` (see [`part_after`]).
pub fn count_after<C: SqlConnection>(conn: &C, confirmed: bool, after: u64) -> Result<u64> {
    let (filter, first, last) = match confirmed {
        true => (
            "first_position IS NOT NULL",
            "first_position",
            "last_position",
        ),
        false => ("first_position IS NULL", "first_seq", "last_seq"),
    };
    let later = format!(
        "SELECT coalesce(sum({last} - {first} + 1), 0) FROM commits WHERE {filter} AND {first} > ?1"
    );
    let rows = conn.query(&later, &[after.into()])?;
    let later = rows.first().map_or(Ok(0), |row| row.int(0))?;
    let holding = format!(
        "SELECT {last} FROM commits WHERE {filter} AND {first} <= ?1 ORDER BY {first} DESC LIMIT 1"
    );
    let rows = conn.query(&holding, &[after.into()])?;
    let holding = rows.first().map_or(Ok(0), |row| row.int(0))?;
    Ok(later + holding.saturating_sub(after))
}

/// How many pending events have a sequence number of at most `seq`.
pub fn pending_count_upto<C: SqlConnection>(conn: &C, seq: u64) -> Result<u64> {
    let rows = conn.query(
        "SELECT coalesce(sum(min(last_seq, ?1) - first_seq + 1), 0) FROM commits
         WHERE first_position IS NULL AND first_seq <= ?1",
        &[seq.into()],
    )?;
    rows.first().map_or(Ok(0), |row| row.int(0))
}

/// The smallest sequence number of a pending event.
pub fn first_pending_seq<C: SqlConnection>(conn: &C) -> Result<Option<u64>> {
    let rows = conn.query(
        "SELECT first_seq FROM commits WHERE first_position IS NULL ORDER BY first_seq LIMIT 1",
        &[],
    )?;
    rows.first().map(|row| row.int(0)).transpose()
}

/// How many events the log holds.
pub fn event_count<C: SqlConnection>(conn: &C) -> Result<u64> {
    let rows = conn.query(
        "SELECT coalesce(sum(last_version - first_version + 1), 0) FROM commits",
        &[],
    )?;
    rows.first().map_or(Ok(0), |row| row.int(0))
}

/// The rows whose `ids` column names `id` (read by a scan: only after the filter matched).
pub fn holders<C: SqlConnection>(conn: &C, id: &Uuid) -> Result<Vec<Chunk>> {
    let sql = format!("SELECT {COLUMNS} FROM commits WHERE instr(ids, ?1) > 0");
    let mut found = chunks(conn.query(&sql, &[id.to_string().into()])?)?;
    found.retain(|chunk| chunk.events.iter().any(|event| event.id == *id));
    Ok(found)
}

impl<C: SqlConnection> SqlTx<'_, C> {
    /// Inserts a row.
    pub(super) fn insert_chunk(&self, chunk: &Chunk) -> Result<()> {
        self.write(
            "INSERT INTO commits (stream, first_version, last_version, first_seq, last_seq,
                first_position, last_position, ids, events, outbox, snapshot)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            &chunk.params()?,
            COMMITS_INDEXES,
        )?;
        self.note_ids(chunk.events.iter().map(|event| event.id));
        Ok(())
    }

    /// Rewrites the row `old` as `new` (same key); index entries are written only when the
    /// indexed columns change.
    pub(super) fn update_chunk(&self, old: &Chunk, new: &Chunk) -> Result<()> {
        let moved = old.first_position() != new.first_position() || old.first_seq != new.first_seq;
        self.write(
            "UPDATE commits SET last_version = ?3, first_seq = ?4, last_seq = ?5,
                first_position = ?6, last_position = ?7, ids = ?8, events = ?9, outbox = ?10,
                snapshot = ?11
             WHERE stream = ?1 AND first_version = ?2",
            &new.params()?,
            if moved { COMMITS_INDEXES } else { 0 },
        )?;
        self.note_ids(new.events.iter().map(|event| event.id));
        Ok(())
    }

    /// Deletes the row of `stream` starting at `first_version`.
    pub(super) fn delete_chunk(&self, stream: &StreamId, first_version: u64) -> Result<()> {
        self.write(
            "DELETE FROM commits WHERE stream = ?1 AND first_version = ?2",
            &[stream.as_str().into(), first_version.into()],
            COMMITS_INDEXES,
        )?;
        Ok(())
    }

    /// The stream and version of the stored event `id`, if any.
    pub(super) fn held_at(&self, id: &Uuid) -> Result<Option<(StreamId, u64)>> {
        if !self.may_hold(id) {
            return Ok(None);
        }
        Ok(holders(self.conn, id)?.into_iter().find_map(|chunk| {
            let event = chunk.events.iter().find(|event| event.id == *id)?;
            Some((event.stream.clone(), event.version))
        }))
    }
}
