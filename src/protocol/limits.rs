//! The server's request limits (`GET /v1/limits`), and the check that a command's events fit in
//! one append under them, made on the client before anything is written.

use serde::{Deserialize, Serialize};

use crate::core::{CommandLimits, Error, EventEnvelope, Result};
use crate::protocol::ClientEvent;

/// What one request to the server may carry. A client starts from the defaults (the server's
/// own) and learns the server's values on its first sync round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerLimits {
    /// The most events in one append (and the most appends in one batch).
    pub max_events_per_append: usize,
    /// The largest event, in bytes of its compact JSON as sent.
    pub max_event_bytes: usize,
    /// The largest request body, in bytes.
    pub max_body_bytes: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_events_per_append: 500,
            max_event_bytes: 64 * 1024,
            max_body_bytes: 1024 * 1024,
        }
    }
}

/// Bytes of a batch request around its one append's events: `{"appends":[{"stream":"…",
/// "expectedVersion":…,"events":[…]}]}`, with room for the longest stream id and version.
const ENVELOPE_BYTES: usize = 300;

impl CommandLimits for ServerLimits {
    /// Checks that `events` (one command's, as stored: sealed where personal) can be pushed in
    /// one request; the error names the limit they break.
    fn check(&self, events: &[EventEnvelope]) -> Result<()> {
        if events.len() > self.max_events_per_append {
            return Err(Error::InvalidInput(format!(
                "the command produced {} events; the server takes at most {} in one append (maxEventsPerAppend)",
                events.len(),
                self.max_events_per_append
            )));
        }
        let mut body = ENVELOPE_BYTES;
        for (index, event) in events.iter().enumerate() {
            let size = json_len(&ClientEvent::from_envelope(event)?)?;
            if size > self.max_event_bytes {
                return Err(Error::InvalidInput(format!(
                    "event {index} ({}) is {size} bytes as sent; the server takes at most {} (maxEventBytes)",
                    event.event_type, self.max_event_bytes
                )));
            }
            body += size + 1;
        }
        if body > self.max_body_bytes {
            return Err(Error::InvalidInput(format!(
                "the command's events are {body} bytes as sent; the server takes at most {} in one request (maxBodyBytes)",
                self.max_body_bytes
            )));
        }
        Ok(())
    }
}

/// The length of `value`'s compact JSON, counted without building it.
fn json_len<T: Serialize>(value: &T) -> Result<usize> {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, value)?;
    Ok(count.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{EventMetadata, StreamId, Timestamp};
    use serde_json::json;

    fn event(data: serde_json::Value) -> EventEnvelope {
        EventEnvelope {
            id: uuid::Uuid::nil(),
            stream: StreamId::parse("Order-1").unwrap(),
            version: 1,
            position: None,
            event_type: "Happened".into(),
            schema_version: 1,
            data,
            metadata: EventMetadata {
                correlation_id: None,
                causation_id: None,
                command_id: None,
                client_id: None,
                occurred_at: Timestamp(1),
            },
            recorded_at: None,
        }
    }

    #[test]
    fn each_limit_is_named_when_broken() {
        let limits = ServerLimits {
            max_events_per_append: 3,
            max_event_bytes: 300,
            max_body_bytes: 800,
        };
        let small = || event(json!({ "n": 1 }));
        assert!(limits.check(&[small(), small(), small()]).is_ok());
        let many = limits.check(&[small(), small(), small(), small()]);
        assert!(many.unwrap_err().to_string().contains("maxEventsPerAppend"));
        let big = limits.check(&[event(json!({ "text": "x".repeat(300) }))]);
        assert!(big.unwrap_err().to_string().contains("maxEventBytes"));
        let medium = || event(json!({ "text": "x".repeat(90) }));
        let body = limits.check(&[medium(), medium(), medium()]);
        assert!(body.unwrap_err().to_string().contains("maxBodyBytes"));
    }

    #[test]
    fn the_counted_length_is_the_serialized_length() {
        let sent = ClientEvent::from_envelope(&event(json!({ "é": [1, 2.5, null] }))).unwrap();
        assert_eq!(
            json_len(&sent).unwrap(),
            serde_json::to_vec(&sent).unwrap().len()
        );
    }
}
