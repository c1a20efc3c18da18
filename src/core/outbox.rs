//! The outbox: commands executed on this device that the server has not accepted yet.
//!
//! Each executed command leaves one entry, written in the same atomic commit as its events.
//! It keeps the command itself, so that after a sync conflict it can be decided again on the
//! server's newer state, and the version it was decided at, which is the expected version it is
//! pushed with.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::core::event::Timestamp;
use crate::core::stream::StreamId;

/// One command waiting to reach the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxEntry {
    /// The store's local sequence number of the command's first event: the outbox's order.
    pub seq: u64,
    /// The command's id.
    pub command_id: String,
    /// The aggregate type the command was sent to.
    pub aggregate_type: String,
    /// The aggregate's id.
    pub aggregate_id: String,
    /// The aggregate's stream.
    pub stream: StreamId,
    /// The command, as JSON, so it can be decided again.
    pub command: Value,
    /// The stream's version the command was decided at: the expected version of its push.
    pub expected_version: u64,
    /// The ids of the events it produced, in order.
    pub event_ids: Vec<Uuid>,
    /// The idempotency key it was executed with, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// The correlation id its events carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// The causation id its events carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<String>,
    /// How many times it was decided again after a sync conflict (0 for the first decision).
    #[serde(default)]
    pub attempt: u32,
    /// When it was executed.
    pub created_at: Timestamp,
}

/// Why the server or a conflict turned a command down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RejectionReason {
    /// A machine code: the domain's own code after a conflict, or the server's error code.
    pub code: String,
    /// A human-readable reason.
    pub message: String,
}

/// A command that came back instead of reaching the server: the rejected inbox's entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RejectedCommand {
    /// The command's id.
    pub command_id: String,
    /// The aggregate type it was sent to.
    pub aggregate_type: String,
    /// The aggregate's id.
    pub aggregate_id: String,
    /// The command, as JSON, so the app can show it or execute a corrected one.
    pub command: Value,
    /// Why it was turned down.
    pub reason: RejectionReason,
    /// The server's events that made it fail, when a conflict did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caused_by: Vec<crate::core::EventEnvelope>,
    /// When it was turned down.
    pub at: Timestamp,
}
