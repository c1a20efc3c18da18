//! Error answers: `{"error": "<code>", "message": "..."}` with a stable code.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The stable machine code of an error answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: the body is not JSON, or not of the request's shape.
    InvalidJson,
    /// 400: a query parameter or the `Last-Event-ID` header is malformed.
    InvalidQuery,
    /// 400: the stream id breaks protocol v1's rules.
    InvalidStreamId,
    /// 400: an event breaks a rule (type, schema version, metadata, duplicate id, empty list).
    InvalidEvent,
    /// 413: the body, one event, or the number of events is over its limit.
    TooLarge,
    /// 401: no valid bearer token.
    Unauthorized,
    /// 403: the token may not touch this stream.
    Forbidden,
    /// 404: no such route.
    NotFound,
    /// 405: the route exists but not with this method.
    MethodNotAllowed,
    /// 429: too many requests per second for this subject.
    RateLimited,
    /// 409: the stream was not at the expected version.
    WrongExpectedVersion,
    /// 409: some but not all event ids are stored already, or stored in another stream; or a
    /// key id is held with another key.
    IdempotencyMismatch,
    /// 408: the request's body did not arrive in time; nothing was written, send it again.
    RequestTimeout,
    /// 500: the server failed; details are in its log, not in the answer.
    Internal,
}

impl ErrorCode {
    /// The HTTP status that carries this code.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::InvalidJson
            | ErrorCode::InvalidQuery
            | ErrorCode::InvalidStreamId
            | ErrorCode::InvalidEvent => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::RequestTimeout => 408,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::WrongExpectedVersion | ErrorCode::IdempotencyMismatch => 409,
            ErrorCode::TooLarge => 413,
            ErrorCode::RateLimited => 429,
            ErrorCode::Internal => 500,
        }
    }

    /// The code as it appears on the wire, such as `invalid_json`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::InvalidQuery => "invalid_query",
            ErrorCode::InvalidStreamId => "invalid_stream_id",
            ErrorCode::InvalidEvent => "invalid_event",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::WrongExpectedVersion => "wrong_expected_version",
            ErrorCode::IdempotencyMismatch => "idempotency_mismatch",
            ErrorCode::RequestTimeout => "request_timeout",
            ErrorCode::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of every error answer but `wrong_expected_version`, which adds fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The machine code.
    pub error: ErrorCode,
    /// A human-readable explanation.
    pub message: String,
}

impl ErrorBody {
    /// An error body from its code and message.
    pub fn new(error: ErrorCode, message: impl Into<String>) -> Self {
        ErrorBody {
            error,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_their_wire_names() {
        for code in [
            ErrorCode::InvalidJson,
            ErrorCode::TooLarge,
            ErrorCode::IdempotencyMismatch,
        ] {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
        assert_eq!(ErrorCode::RateLimited.status(), 429);
    }
}
