//! Limits a command's events must keep before they are stored: a command the server could
//! never append in one request is refused at `execute`, with nothing written, instead of
//! committing locally and coming back from sync rejected.
//!
//! The core only asks; what the limits are and how events are measured belongs to whoever
//! knows the wire (the sync client installs the server's limits, `crate::protocol::ServerLimits`).

use crate::core::error::Result;
use crate::core::event::EventEnvelope;

/// A rule every command's events must keep, checked after they are decided (and sealed) and
/// before anything is written; its error is an `InvalidInput` naming the limit.
pub trait CommandLimits {
    /// Checks one command's events, as they would be stored.
    fn check(&self, events: &[EventEnvelope]) -> Result<()>;
}
