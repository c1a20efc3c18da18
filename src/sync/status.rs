//! The observable state of sync, for status bars.

use serde::Serialize;

use crate::core::Timestamp;

/// Where sync stands.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    /// Whether the last request reached the server.
    pub online: bool,
    /// Commands waiting in the outbox.
    pub pending: usize,
    /// Commands in the rejected inbox.
    pub rejected: usize,
    /// Whether a round is running.
    pub syncing: bool,
    /// `(done, total)` commands of the queue being drained.
    pub progress: (usize, usize),
    /// When the last round succeeded.
    pub last_sync_at: Option<Timestamp>,
    /// The last round's failure, until a round succeeds.
    pub last_error: Option<String>,
    /// The server's head minus the local pull checkpoint, as of the last pull.
    pub lag: u64,
}
