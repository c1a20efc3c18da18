//! [`EventLog`]: the events of a store, read and committed.

use crate::core::event::StoredEvent;
use crate::core::{EventEnvelope, IdempotencyRecord, Result, Snapshot, StreamId, Timestamp};

use super::{Commit, CommitOutcome, Decided, Decision, ReadStats};

/// The event log of a store: its streams, their snapshots and idempotency records, and the
/// commits that write them. Every store has one.
#[allow(async_fn_in_trait)]
pub trait EventLog {
    /// The id of this client (device and database), made once when the store was created.
    fn client_id(&self) -> &str;

    /// What this store has read and tried so far.
    fn read_stats(&self) -> ReadStats;

    /// Milliseconds this store has spent waiting out a server's rate limit (`429` with
    /// `Retry-After`) since it was made: time a command's conflict budget does not count.
    fn rate_limited_ms(&self) -> u64 {
        0
    }

    /// The number of events in `stream` (0 when it does not exist).
    async fn stream_version(&self, stream: &StreamId) -> Result<u64>;

    /// Up to `limit` events of `stream` with version ≥ `from_version`, in version order.
    async fn read_stream(
        &self,
        stream: &StreamId,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<EventEnvelope>>;

    /// Up to `limit` events with local sequence number > `after`, in local order.
    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>>;

    /// The latest snapshot of `stream`, if any.
    async fn latest_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>>;

    /// The idempotency record for `key` if it is still live at `now`.
    async fn idempotency_record(
        &self,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<IdempotencyRecord>>;

    /// Writes a commit atomically, applying it to the inline projections of its projector.
    ///
    /// Fails with [`Error::Conflict`](crate::core::Error::Conflict) when the stream is not at
    /// the expected version, with `InvalidInput` when the commit is malformed (no events and
    /// no idempotency record, an event id already stored, a snapshot at the wrong version),
    /// and in every failure writes nothing.
    async fn commit(&self, commit: Commit) -> Result<CommitOutcome>;

    /// Loads `stream` (its latest snapshot, then its events after the version
    /// [`Decision::start`] answers) into `decision` and commits what it decides, all in one
    /// atomic write that no other write interleaves; fails as [`EventLog::commit`] does, or
    /// with the decision's own error, and then writes nothing. The default answers
    /// [`Decided::InSteps`] without reading.
    async fn decide_and_commit(
        &self,
        stream: &StreamId,
        decision: &mut dyn Decision,
    ) -> Result<Decided> {
        let _ = (stream, decision);
        Ok(Decided::InSteps)
    }
}
