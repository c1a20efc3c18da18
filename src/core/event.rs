//! Events: what a decision produces ([`NewEvent`]) and what a store holds ([`EventEnvelope`]).
//!
//! An envelope serializes to the event shape of protocol v1, so the same JSON travels between
//! the stores, the JS bindings and the sync server.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::core::stream::StreamId;

/// A point in time: milliseconds since the Unix epoch, UTC.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Milliseconds since the Unix epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// This time plus `millis` milliseconds.
    pub fn plus_millis(self, millis: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(millis))
    }
}

/// An event as a decision produces it: a type, a schema version and a JSON payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewEvent {
    /// The event type, such as `OrderCreated`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The payload's schema version, starting at 1.
    #[serde(default = "first_schema_version")]
    pub schema_version: u32,
    /// The payload.
    pub data: Value,
}

fn first_schema_version() -> u32 {
    1
}

impl NewEvent {
    /// An event of `event_type` at schema version 1.
    pub fn new(event_type: impl Into<String>, data: Value) -> Self {
        NewEvent {
            event_type: event_type.into(),
            schema_version: 1,
            data,
        }
    }

    /// The same event at schema version `schema_version`.
    pub fn with_schema_version(mut self, schema_version: u32) -> Self {
        self.schema_version = schema_version;
        self
    }
}

/// Who and what caused an event, and when.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EventMetadata {
    /// Ties together everything done for one user intent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// The message (command or event) that directly caused this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<String>,
    /// The command that produced this event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_id: Option<String>,
    /// The client (device and database) that produced this event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// When the event was produced, by the producer's clock.
    pub occurred_at: Timestamp,
}

/// An event as stored: a [`NewEvent`] placed in a stream at a version, with its metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventEnvelope {
    /// The event's unique id, chosen by its producer.
    pub id: Uuid,
    /// The stream the event belongs to.
    pub stream: StreamId,
    /// 1-based position in its stream: the n-th event has version n.
    pub version: u64,
    /// The global position the server gave it; `None` while only this client holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u64>,
    /// The event type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The payload's schema version.
    pub schema_version: u32,
    /// The payload.
    pub data: Value,
    /// Correlation, causation, command, client and time.
    #[serde(default)]
    pub metadata: EventMetadata,
    /// When the server stored it; `None` until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_at: Option<Timestamp>,
}

impl EventEnvelope {
    /// Whether the server has confirmed this event (it has a global position).
    pub fn is_confirmed(&self) -> bool {
        self.position.is_some()
    }
}

/// An event with its place in a store's local order.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// The store's local sequence number: 1, 2, 3… in commit order on this device.
    pub seq: u64,
    /// The event.
    pub event: EventEnvelope,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn envelope_uses_the_protocol_shape() {
        let envelope = EventEnvelope {
            id: Uuid::nil(),
            stream: StreamId::parse("Order-1").unwrap(),
            version: 1,
            position: Some(9),
            event_type: "OrderCreated".into(),
            schema_version: 2,
            data: json!({"total": 3}),
            metadata: EventMetadata {
                correlation_id: Some("c".into()),
                occurred_at: Timestamp(5),
                ..EventMetadata::default()
            },
            recorded_at: Some(Timestamp(6)),
        };
        let value = serde_json::to_value(&envelope).unwrap();
        assert_eq!(
            value,
            json!({
                "id": "00000000-0000-0000-0000-000000000000", "stream": "Order-1", "version": 1,
                "position": 9, "type": "OrderCreated", "schemaVersion": 2, "data": {"total": 3},
                "metadata": {"correlationId": "c", "occurredAt": 5}, "recordedAt": 6
            })
        );
        assert_eq!(
            serde_json::from_value::<EventEnvelope>(value).unwrap(),
            envelope
        );
    }

    #[test]
    fn new_event_defaults_to_schema_version_one() {
        let event: NewEvent = serde_json::from_value(json!({"type": "A", "data": null})).unwrap();
        assert_eq!(event.schema_version, 1);
    }
}
