//! Snapshots: an aggregate's state saved at a version, so loading replays only the events after it.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::core::event::Timestamp;
use crate::core::stream::StreamId;

/// An aggregate's state as of one version of its stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// The aggregate's stream.
    pub stream: StreamId,
    /// The version the state includes: events 1..=version have been applied.
    pub version: u64,
    /// The state's schema version; a snapshot of another version is ignored.
    pub state_version: u32,
    /// The state, as the aggregate handler encodes it.
    pub state: Value,
    /// When it was taken.
    pub taken_at: Timestamp,
    /// The id of the event at `version`, the last one the state folded. A snapshot is used
    /// only while the log still holds that event there: sync can replace pending events, and
    /// a state folded from replaced events must never stand in for the log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<Uuid>,
}

impl Snapshot {
    /// Whether this snapshot still describes a log whose event at `self.version` is `event`.
    pub fn matches(&self, event: &crate::core::EventEnvelope) -> bool {
        event.version == self.version && self.event_id == Some(event.id)
    }
}

/// Whether a commit that takes a stream from `before` to `after` crosses a multiple of `every`
/// and so should carry a snapshot. `every == 0` turns snapshots off.
pub fn snapshot_due(every: u64, before: u64, after: u64) -> bool {
    every > 0 && after / every > before / every
}

#[cfg(test)]
mod tests {
    use super::snapshot_due;

    #[test]
    fn due_when_a_multiple_is_crossed() {
        assert!(snapshot_due(100, 99, 100));
        assert!(snapshot_due(100, 50, 250));
        assert!(!snapshot_due(100, 100, 199));
        assert!(!snapshot_due(0, 0, 1_000));
        assert!(snapshot_due(1, 0, 1));
    }
}
