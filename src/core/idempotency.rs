//! Idempotent commands: a command's idempotency key, remembered with what the command wrote.
//!
//! The record is written in the same atomic commit as the command's events, so a second
//! execute with the same key within the time-to-live finds it and returns the first result.

use serde::{Deserialize, Serialize};

use crate::core::event::Timestamp;
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
}

impl IdempotencyRecord {
    /// Whether the record still holds at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        now < self.expires_at
    }
}
