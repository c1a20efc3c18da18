//! Idempotent commands: a command's idempotency key, remembered with what the command wrote.
//!
//! The record is written in the same atomic commit as the command's events, so a second
//! execute with the same key within the time-to-live finds it and returns the first result.
//! The record follows its command through sync: when the command is decided again on another
//! device's changes, the record points at its new events; when it comes back rejected, a
//! repeat answers with the same refusal. Expired records are purged whenever a new record is
//! written.

use serde::{Deserialize, Serialize};

use crate::core::event::Timestamp;
use crate::core::outbox::RejectionReason;
use crate::core::stream::StreamId;

/// How long an idempotency key is remembered by default: 60 minutes.
pub const DEFAULT_IDEMPOTENCY_TTL_MS: i64 = 60 * 60 * 1000;

/// What a command with an idempotency key wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdempotencyRecord {
    /// The key the caller gave.
    pub key: String,
    /// The stream the command wrote to.
    pub stream: StreamId,
    /// The command's id.
    pub command_id: String,
    /// The first version it wrote (0 when it wrote no event).
    pub first_version: u64,
    /// The last version it wrote (0 when it wrote no event).
    pub last_version: u64,
    /// When the command committed.
    pub created_at: Timestamp,
    /// After this time the key is forgotten.
    pub expires_at: Timestamp,
    /// Set when the command came back from sync rejected: a repeat answers with this refusal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<RejectionReason>,
}

impl IdempotencyRecord {
    /// Whether the record still holds at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        now < self.expires_at
    }

    /// Applies what sync did to the record's command; `false` when the record belongs to
    /// another command (then it is left as it is).
    pub fn follow(&mut self, update: &IdempotencyUpdate) -> bool {
        if self.key != update.key || self.command_id != update.command_id {
            return false;
        }
        match &update.outcome {
            CommandOutcome::Redecided {
                first_version,
                last_version,
            } => {
                self.first_version = *first_version;
                self.last_version = *last_version;
                self.rejected = None;
            }
            CommandOutcome::Rejected(reason) => {
                self.first_version = 0;
                self.last_version = 0;
                self.rejected = Some(reason.clone());
            }
        }
        true
    }
}

/// What sync did to a command executed with an idempotency key, for its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyUpdate {
    /// The command's idempotency key.
    pub key: String,
    /// The command's id: a record of another command under the key is left alone.
    pub command_id: String,
    /// What became of the command.
    pub outcome: CommandOutcome,
}

/// What became of a pending command in a sync round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandOutcome {
    /// It was decided again on the server's newer state: its events are now these versions
    /// (both 0 when it had nothing left to do).
    Redecided {
        /// The first version of its new events.
        first_version: u64,
        /// The last version of its new events.
        last_version: u64,
    },
    /// It came back rejected.
    Rejected(RejectionReason),
}
