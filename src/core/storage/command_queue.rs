//! [`CommandQueue`]: the commands a store keeps for a sync (its outbox and rejected inbox).

use std::collections::HashSet;

use crate::core::projection::Projector;
use crate::core::{OutboxEntry, RejectedCommand, Result, StreamId};

use super::{EventLog, QueueSizes, QueuedCommand, SyncBatch, queue};

/// The local queue of a store that syncs: the outbox of commands to push, the rejected inbox,
/// what a sync round learned and how far it has pulled. A store whose commands are on the
/// server once executed (the remote store) has none.
#[allow(async_fn_in_trait)]
pub trait CommandQueue: EventLog {
    /// Up to `limit` outbox entries, oldest first.
    async fn read_outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>>;

    /// The outbox entries of `streams`, oldest first, read without the other streams' entries.
    async fn read_outbox_of(&self, streams: &[StreamId]) -> Result<Vec<OutboxEntry>>;

    /// Up to `limit` outbox entries, oldest first, each with its events, leaving out the entries
    /// whose `seq` is in `skip` (those a sync has in flight: it knows them already); fails with
    /// `Storage` when an entry's events are not the ones it names. A store should read them
    /// together (one transaction over the outbox and the events) and read nothing of a skipped
    /// entry but its key; the default reads the outbox, then the events from the first entry's
    /// local sequence number on in one page (each command's events follow its entry's `seq`),
    /// and each entry that page misses from its stream.
    async fn read_queue(&self, limit: usize, skip: &HashSet<u64>) -> Result<Vec<QueuedCommand>> {
        queue::read_queue(self, limit, skip).await
    }

    /// Applies `batch` as [`CommandQueue::apply_sync`] does, then reads the queue as
    /// [`CommandQueue::read_queue`] does: a sync writes a round's confirmations and reads its next
    /// push together. A store should do both in one transaction; the default does one after
    /// the other.
    async fn apply_sync_and_read_queue(
        &self,
        batch: SyncBatch,
        projector: Option<&Projector>,
        limit: usize,
        skip: &HashSet<u64>,
    ) -> Result<Vec<QueuedCommand>> {
        self.apply_sync(batch, projector).await?;
        self.read_queue(limit, skip).await
    }

    /// How many commands wait in the outbox and in the rejected inbox, counted without reading
    /// them.
    async fn queue_sizes(&self) -> Result<QueueSizes>;

    /// Applies what a sync round learned, atomically, then brings the inline projections of
    /// `projector` up to date in the same write. See [`SyncBatch`] for the rules.
    async fn apply_sync(&self, batch: SyncBatch, projector: Option<&Projector>) -> Result<()>;

    /// The rejected inbox, oldest first.
    async fn rejected(&self) -> Result<Vec<RejectedCommand>>;

    /// Removes a command from the rejected inbox; `false` when it was not there.
    async fn dismiss_rejected(&self, command_id: &str) -> Result<bool>;

    /// The server position up to which this store has pulled (0 before the first pull).
    async fn pull_checkpoint(&self) -> Result<u64>;
}
