//! Conversions shared by the SQL backends: events to and from the columns both schemas use.

use std::collections::BTreeMap;

use fieldstream::core::{StreamId, Timestamp};
use fieldstream::protocol::ServerEvent;
use uuid::Uuid;

use super::{ExportedEvent, StoreError};

/// The columns every event query selects, in the order [`RawEvent`] expects.
pub const COLUMNS: &str =
    "id, stream, version, position, type, schema_version, data, metadata, recorded_at";

/// An event row as the database returns it.
pub struct RawEvent {
    pub id: Uuid,
    pub stream: String,
    pub version: i64,
    pub position: i64,
    pub event_type: String,
    pub schema_version: i64,
    pub data: String,
    pub metadata: String,
    pub recorded_at: i64,
}

impl RawEvent {
    /// The protocol event this row holds.
    pub fn decode(self) -> Result<ServerEvent, StoreError> {
        let bad = |what: &str, error: String| StoreError::Data(format!("stored {what}: {error}"));
        Ok(ServerEvent {
            id: self.id,
            stream: StreamId::parse(self.stream).map_err(|e| bad("stream", e.to_string()))?,
            version: unsigned(self.version, "version")?,
            position: unsigned(self.position, "position")?,
            event_type: self.event_type,
            schema_version: u32::try_from(self.schema_version)
                .map_err(|e| bad("schema version", e.to_string()))?,
            data: serde_json::from_str(&self.data).map_err(|e| bad("data", e.to_string()))?,
            metadata: serde_json::from_str(&self.metadata)
                .map_err(|e| bad("metadata", e.to_string()))?,
            recorded_at: Timestamp(self.recorded_at),
        })
    }
}

/// An event row ready to insert.
pub struct EncodedEvent {
    pub tenant: String,
    pub position: i64,
    pub id: Uuid,
    pub stream: String,
    pub version: i64,
    pub event_type: String,
    pub schema_version: i64,
    pub data: String,
    pub metadata: String,
    pub recorded_at: i64,
}

impl EncodedEvent {
    /// Encodes an exported (or newly placed) event.
    pub fn new(exported: &ExportedEvent) -> Result<Self, StoreError> {
        let event = &exported.event;
        let json = |value: &serde_json::Value| {
            serde_json::to_string(value).map_err(|e| StoreError::Data(e.to_string()))
        };
        Ok(EncodedEvent {
            tenant: exported.tenant.clone(),
            position: signed(event.position)?,
            id: event.id,
            stream: event.stream.to_string(),
            version: signed(event.version)?,
            event_type: event.event_type.clone(),
            schema_version: i64::from(event.schema_version),
            data: json(&event.data)?,
            metadata: json(&event.metadata)?,
            recorded_at: event.recorded_at.millis(),
        })
    }
}

/// The newest position of each tenant among `events`.
pub fn chunk_heads(events: &[ExportedEvent]) -> BTreeMap<&str, u64> {
    let mut heads = BTreeMap::new();
    for exported in events {
        let head = heads.entry(exported.tenant.as_str()).or_insert(0);
        *head = (*head).max(exported.event.position);
    }
    heads
}

/// The SQL of an event's size as a page counts it (see [`super::PageSize`]).
pub const SIZE: &str = "CAST(length(data) + length(metadata) AS BIGINT) AS size";

/// How many rows of `sizes` (in read order) one page holds: the first always, then each one
/// that keeps the page's total within `max_bytes`.
pub fn fitting(sizes: &[i64], max_bytes: usize) -> usize {
    let mut total = 0usize;
    for (index, size) in sizes.iter().enumerate() {
        let size = usize::try_from(*size).unwrap_or(0) + super::EVENT_OVERHEAD_BYTES;
        total = total.saturating_add(size);
        if index > 0 && total > max_bytes {
            return index;
        }
    }
    sizes.len()
}

/// Converts a stored integer to the unsigned value the protocol uses.
pub fn unsigned(value: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Data(format!("negative {what} {value} stored")))
}

/// Converts a protocol integer to the signed value the databases store.
pub fn signed(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Data(format!("{value} is too large to store")))
}

/// Milliseconds since the Unix epoch, now.
pub(super) fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_fits_its_budget_but_always_holds_one_event() {
        let overhead = crate::backend::EVENT_OVERHEAD_BYTES as i64;
        assert_eq!(fitting(&[], 100), 0);
        assert_eq!(fitting(&[10_000], 100), 1);
        let each = 1_000 - overhead;
        assert_eq!(fitting(&[each; 10], 3_000), 3);
        assert_eq!(fitting(&[each; 10], 2_999), 2);
        assert_eq!(fitting(&[each; 2], 1_000_000), 2);
    }
}
