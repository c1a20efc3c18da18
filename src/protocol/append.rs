//! `POST /v1/streams/{stream}`: the append request and its two answers.

use serde::{Deserialize, Serialize};

use crate::core::{ExpectedVersion, StreamId, Timestamp};
use crate::protocol::error::ErrorCode;
use crate::protocol::event::{ClientEvent, ServerEvent};

/// The body of an append: what the writer expects of the stream, and the events to add.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppendRequest {
    /// The optimistic-concurrency check.
    pub expected_version: ExpectedVersion,
    /// One or more events, appended in order at consecutive versions.
    pub events: Vec<ClientEvent>,
}

/// `200`: where the events went (also the answer to an idempotent retry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppendResponse {
    /// The stream appended to.
    pub stream: StreamId,
    /// Version of the first event appended.
    pub first_version: u64,
    /// Version of the last event appended.
    pub last_version: u64,
    /// Position of the first event appended.
    pub first_position: u64,
    /// Position of the last event appended.
    pub last_position: u64,
    /// When the server committed the events (they share it): what a pull would give as their
    /// `recordedAt`, so the answer alone confirms them. Absent from older servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_at: Option<Timestamp>,
}

/// `409 wrong_expected_version`: the stream was not where the writer expected it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConflictResponse {
    /// Always [`ErrorCode::WrongExpectedVersion`].
    pub error: ErrorCode,
    /// A human-readable explanation.
    pub message: String,
    /// The stream written to.
    pub stream: StreamId,
    /// What the writer expected.
    pub expected_version: ExpectedVersion,
    /// The stream's version when the append was tried.
    pub current_version: u64,
    /// When `expectedVersion` was a number (or `"no_stream"`): the stored events after it, oldest
    /// first, at most [`MAX_CONFLICT_EVENTS`](crate::protocol::MAX_CONFLICT_EVENTS); else empty.
    pub events: Vec<ServerEvent>,
}

impl ConflictResponse {
    /// A conflict answer with its standard message.
    pub fn new(
        stream: StreamId,
        expected_version: ExpectedVersion,
        current_version: u64,
        events: Vec<ServerEvent>,
    ) -> Self {
        let message = format!(
            "stream {stream} is at version {current_version}; the append expected {expected_version}"
        );
        ConflictResponse {
            error: ErrorCode::WrongExpectedVersion,
            message,
            stream,
            expected_version,
            current_version,
            events,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn append_request_reads_every_expected_version_form() {
        let request: AppendRequest =
            serde_json::from_value(json!({"expectedVersion": "no_stream", "events": []})).unwrap();
        assert_eq!(request.expected_version, ExpectedVersion::NoStream);
        let request: AppendRequest =
            serde_json::from_value(json!({"expectedVersion": 3, "events": []})).unwrap();
        assert_eq!(request.expected_version, ExpectedVersion::Exact(3));
    }

    #[test]
    fn conflict_shape() {
        let conflict = ConflictResponse::new(
            StreamId::parse("s").unwrap(),
            ExpectedVersion::Exact(1),
            2,
            vec![],
        );
        let value = serde_json::to_value(&conflict).unwrap();
        assert_eq!(value["error"], "wrong_expected_version");
        assert_eq!(value["expectedVersion"], 1);
        assert_eq!(value["currentVersion"], 2);
        assert_eq!(value["events"], json!([]));
    }
}
