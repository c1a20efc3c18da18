//! What a sync round hands to a store: one atomic batch of pulls, acknowledgements and rebases.

use uuid::Uuid;

use super::Commit;
use crate::core::{
    Error, EventEnvelope, ExpectedVersion, IdempotencyUpdate, OutboxEntry, RejectedCommand, Result,
    StreamId,
};

/// Everything one sync round changes locally, applied atomically in this order:
///
/// 1. `drop_pending`: pending events of a stream from a version on are removed (their commands
///    were rejected or are being decided again); removing a confirmed event is an error.
/// 2. `drop_outbox`: outbox entries leave by sequence number (accepted, rejected or replaced).
/// 3. `confirmed`: events the server holds, in server order, each with its position. An event
///    this store holds (same id, same stream and version) becomes confirmed in place; any other
///    is added, and its stream version must be free.
/// 4. `commits`: commands decided again, as new pending events with their outbox entries.
/// 5. `checkpoint`: the new pull checkpoint, when given.
/// 6. `rejected`: commands that came back, into the rejected inbox.
/// 7. `idempotency`: the records of commands decided again or rejected follow them (a record
///    of another command under the same key is left alone).
///
/// Dropping pending events also deletes the stream's snapshot when it folded any of them.
///
/// Confirmed events are folded into read models in position order, so a batch never confirms
/// an event beyond the pull checkpoint it leaves behind: an acknowledgement travels with a pull
/// that reaches past it. A batch that would is refused.
#[derive(Debug, Clone, Default)]
pub struct SyncBatch {
    /// `(stream, from_version)`: pending events to remove.
    pub drop_pending: Vec<(StreamId, u64)>,
    /// Outbox entries to remove, by sequence number.
    pub drop_outbox: Vec<u64>,
    /// Events the server holds, in server order, with their positions.
    pub confirmed: Vec<EventEnvelope>,
    /// New pending commits, after everything else.
    pub commits: Vec<Commit>,
    /// The new pull checkpoint.
    pub checkpoint: Option<u64>,
    /// Commands turned down, for the rejected inbox.
    pub rejected: Vec<RejectedCommand>,
    /// What became of the commands with idempotency keys among those decided again or rejected.
    pub idempotency: Vec<IdempotencyUpdate>,
}

impl SyncBatch {
    /// Checks that no confirmed event lies beyond the checkpoint the batch leaves behind.
    pub fn check_positions(&self, current_checkpoint: u64) -> Result<()> {
        let checkpoint = self.checkpoint.unwrap_or(0).max(current_checkpoint);
        match self
            .confirmed
            .iter()
            .find(|event| event.position.is_none_or(|p| p > checkpoint))
        {
            Some(event) => Err(Error::InvalidInput(format!(
                "event {} is confirmed at {:?}, beyond the pull checkpoint {checkpoint}; pull up to it in the same batch",
                event.id, event.position
            ))),
            None => Ok(()),
        }
    }
}

/// Checks that `drop_pending` removes the events of no command the batch leaves in the outbox:
/// one made after the round read the outbox (here or in another tab). Such a batch is refused
/// as a conflict, so the round runs again and sees that command too.
pub fn check_no_orphans<'a>(
    outbox: impl IntoIterator<Item = &'a OutboxEntry>,
    batch: &SyncBatch,
    is_dropped: impl Fn(&Uuid) -> bool,
) -> Result<()> {
    match outbox.into_iter().find(|entry| {
        !batch.drop_outbox.contains(&entry.seq) && entry.event_ids.iter().any(&is_dropped)
    }) {
        Some(entry) => Err(Error::Conflict {
            stream: entry.stream.to_string(),
            expected: ExpectedVersion::Exact(entry.expected_version),
            actual: entry.expected_version + entry.event_ids.len() as u64,
        }),
        None => Ok(()),
    }
}
