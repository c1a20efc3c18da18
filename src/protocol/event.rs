//! Events on the wire: as a client sends them ([`ClientEvent`]) and as the server returns them
//! ([`ServerEvent`]).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::core::{
    EventEnvelope, EventMetadata, Result, StreamId, Timestamp, check_event_type, error::Error,
};

/// An event as a client sends it in an append: `{id, type, schemaVersion, data, metadata}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientEvent {
    /// A UUID the client chose; resending it makes the append an idempotent retry.
    pub id: Uuid,
    /// The event type: 1–128 characters of `A–Z a–z 0–9 . _ : -`, starting with a letter.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The payload's schema version, at least 1; 1 when absent.
    #[serde(default = "first_schema_version")]
    pub schema_version: u32,
    /// The payload: any JSON value; `null` when absent.
    #[serde(default)]
    pub data: Value,
    /// Any JSON object; the server stores and returns it as given; `{}` when absent.
    #[serde(default = "empty_object")]
    pub metadata: Value,
}

fn first_schema_version() -> u32 {
    1
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

impl ClientEvent {
    /// Checks the rules the server enforces: a valid type, `schemaVersion` ≥ 1, object metadata.
    pub fn validate(&self) -> Result<()> {
        check_event_type(&self.event_type)?;
        if self.schema_version == 0 {
            return Err(Error::invalid("schemaVersion must be at least 1"));
        }
        if !self.metadata.is_object() {
            return Err(Error::invalid("metadata must be a JSON object"));
        }
        Ok(())
    }

    /// The wire form of a locally stored envelope (its version and position are not sent).
    pub fn from_envelope(envelope: &EventEnvelope) -> Result<Self> {
        Ok(ClientEvent {
            id: envelope.id,
            event_type: envelope.event_type.clone(),
            schema_version: envelope.schema_version,
            data: envelope.data.clone(),
            metadata: serde_json::to_value(&envelope.metadata)?,
        })
    }
}

/// An event as the server returns it: placed in a stream and in its tenant's global order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerEvent {
    /// The id its producer chose.
    pub id: Uuid,
    /// The stream it belongs to.
    pub stream: StreamId,
    /// 1-based position in its stream.
    pub version: u64,
    /// 1-based, gap-free position among all events of its tenant, in commit order.
    pub position: u64,
    /// The event type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The payload's schema version.
    pub schema_version: u32,
    /// The payload.
    pub data: Value,
    /// The metadata object, exactly as the producer sent it.
    pub metadata: Value,
    /// When the server committed it, in Unix epoch milliseconds.
    pub recorded_at: Timestamp,
}

impl ServerEvent {
    /// This event as a core envelope; metadata fields the core does not know are dropped.
    pub fn to_envelope(&self) -> EventEnvelope {
        EventEnvelope {
            id: self.id,
            stream: self.stream.clone(),
            version: self.version,
            position: Some(self.position),
            event_type: self.event_type.clone(),
            schema_version: self.schema_version,
            data: self.data.clone(),
            metadata: serde_json::from_value::<EventMetadata>(self.metadata.clone())
                .unwrap_or_default(),
            recorded_at: Some(self.recorded_at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn client_event_defaults() {
        let event: ClientEvent = serde_json::from_value(
            json!({"id": "00000000-0000-0000-0000-000000000001", "type": "A"}),
        )
        .unwrap();
        assert_eq!(event.schema_version, 1);
        assert_eq!(event.data, Value::Null);
        assert_eq!(event.metadata, json!({}));
        assert!(event.validate().is_ok());
    }

    #[test]
    fn client_event_rules() {
        let mut event: ClientEvent = serde_json::from_value(
            json!({"id": "00000000-0000-0000-0000-000000000001", "type": "A", "metadata": []}),
        )
        .unwrap();
        assert!(event.validate().is_err());
        event.metadata = json!({"x": 1});
        event.schema_version = 0;
        assert!(event.validate().is_err());
        event.schema_version = 2;
        event.event_type = "1A".into();
        assert!(event.validate().is_err());
    }

    #[test]
    fn server_event_shape() {
        let event = ServerEvent {
            id: Uuid::nil(),
            stream: StreamId::parse("Order-1").unwrap(),
            version: 2,
            position: 7,
            event_type: "Paid".into(),
            schema_version: 1,
            data: json!({"amount": 3}),
            metadata: json!({"clientId": "c", "custom": true}),
            recorded_at: Timestamp(1_700_000_000_000),
        };
        let value = serde_json::to_value(&event).unwrap();
        assert_eq!(
            value,
            json!({"id": "00000000-0000-0000-0000-000000000000", "stream": "Order-1",
                   "version": 2, "position": 7, "type": "Paid", "schemaVersion": 1,
                   "data": {"amount": 3}, "metadata": {"clientId": "c", "custom": true},
                   "recordedAt": 1_700_000_000_000_i64})
        );
        let envelope = event.to_envelope();
        assert_eq!(envelope.metadata.client_id.as_deref(), Some("c"));
        assert_eq!(envelope.position, Some(7));
    }
}
