//! `POST /v1/batch`: several appends in one request, each atomic on its own.

use serde::{Deserialize, Serialize};

use crate::core::{ExpectedVersion, StreamId};
use crate::protocol::append::{AppendResponse, ConflictResponse};
use crate::protocol::error::ErrorBody;
use crate::protocol::event::ClientEvent;

/// The body of a batch: appends applied in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchRequest {
    /// The appends.
    pub appends: Vec<BatchAppend>,
}

/// One append of a batch: an append request plus the stream it targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchAppend {
    /// The stream to append to.
    pub stream: StreamId,
    /// The optimistic-concurrency check.
    pub expected_version: ExpectedVersion,
    /// The events.
    pub events: Vec<ClientEvent>,
}

/// `200`: one result per append, in request order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchResponse {
    /// The results.
    pub results: Vec<BatchResult>,
    /// The newest position the caller may read once the batch was applied (as `head` of
    /// `GET /v1/events`): a client whose own appends cover every position up to it from its
    /// checkpoint on has nothing to pull. Absent from older servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<u64>,
}

/// The outcome of one append of a batch, tagged by `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum BatchResult {
    /// Appended (or an idempotent retry): the body of a `200` append.
    Ok(AppendResponse),
    /// `wrong_expected_version`: the body of that `409`.
    Conflict(ConflictResponse),
    /// Any other failure, such as `invalid_event` or `idempotency_mismatch`.
    Error(ErrorBody),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ErrorCode;
    use serde_json::json;

    #[test]
    fn results_are_tagged_by_status() {
        let ok = BatchResult::Ok(AppendResponse {
            stream: StreamId::parse("s").unwrap(),
            first_version: 1,
            last_version: 1,
            first_position: 4,
            last_position: 4,
            recorded_at: None,
        });
        assert_eq!(
            serde_json::to_value(&ok).unwrap(),
            json!({"status": "ok", "stream": "s", "firstVersion": 1, "lastVersion": 1,
                   "firstPosition": 4, "lastPosition": 4})
        );
        let error = BatchResult::Error(ErrorBody::new(ErrorCode::InvalidEvent, "bad"));
        let value = serde_json::to_value(&error).unwrap();
        assert_eq!(
            value,
            json!({"status": "error", "error": "invalid_event", "message": "bad"})
        );
        assert_eq!(serde_json::from_value::<BatchResult>(value).unwrap(), error);
    }
}
