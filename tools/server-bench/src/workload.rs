//! The rows every arm writes: per writer, a stream of its own and a list of appends, each a few
//! events with an about-300-byte JSON payload. Generated before the clock starts, so the arms
//! time only their writing.

use fieldstream::protocol::ClientEvent;
use serde_json::{Value, json};
use uuid::Uuid;

/// The tenant of every benchmark event (the server's `--dev` tenant).
pub const TENANT: &str = "dev";

/// How much one run writes.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Concurrent writers.
    pub writers: usize,
    /// Appends per writer.
    pub appends: usize,
    /// Events per append.
    pub events: usize,
}

impl Shape {
    /// Appends of the whole run.
    pub fn total_appends(&self) -> usize {
        self.writers * self.appends
    }

    /// Events of the whole run.
    pub fn total_events(&self) -> usize {
        self.total_appends() * self.events
    }
}

/// One writer's stream and its appends, in order.
pub struct WriterLoad {
    /// The stream id, `Bench-<writer>`.
    pub stream: String,
    /// Each append's events.
    pub appends: Vec<Vec<ClientEvent>>,
}

/// An event payload of about 300 bytes of compact JSON, like an order line of the examples.
pub fn payload(writer: usize, sequence: usize) -> Value {
    let mut data = json!({
        "orderId": format!("o-{writer:03}-{sequence:06}"),
        "customerId": format!("c-{:05}", (writer * 7919 + sequence) % 100_000),
        "productId": format!("p-{:04}", sequence % 10_000),
        "quantity": 1 + sequence % 9,
        "unitPrice": 1990 + (sequence % 50) * 10,
        "currency": "EUR",
        "note": "",
    });
    let length = data.to_string().len();
    data["note"] = Value::String("x".repeat(300usize.saturating_sub(length)));
    data
}

/// The events of a run, one [`WriterLoad`] per writer.
pub fn generate(shape: Shape) -> Vec<WriterLoad> {
    (0..shape.writers)
        .map(|writer| WriterLoad {
            stream: format!("Bench-{writer}"),
            appends: (0..shape.appends)
                .map(|append| {
                    (0..shape.events)
                        .map(|index| {
                            let sequence = append * shape.events + index;
                            ClientEvent {
                                id: Uuid::new_v4(),
                                event_type: "ItemAdded".to_owned(),
                                schema_version: 1,
                                data: payload(writer, sequence),
                                metadata: json!({ "correlationId": format!("bench-{writer}-{append}") }),
                            }
                        })
                        .collect()
                })
                .collect(),
        })
        .collect()
}

/// The JSON body of `POST /v1/streams/{stream}` for `events` at `expected_version`.
pub fn append_body(expected_version: u64, events: &[ClientEvent]) -> Vec<u8> {
    let body = json!({ "expectedVersion": expected_version, "events": events });
    serde_json::to_vec(&body).expect("events serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_about_300_bytes() {
        for sequence in [0, 7, 12_345] {
            let length = payload(3, sequence).to_string().len();
            assert!((295..=305).contains(&length), "{length} bytes");
        }
    }
}
