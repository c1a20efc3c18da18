//! Snapshots: an aggregate's state saved at a version, so loading replays only the events after it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

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
