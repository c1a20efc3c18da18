//! How the sync client reaches the server: a small trait, so that browsers (`fetch`), native
//! code and the deterministic simulation (the server's router in-process) can each provide one.
//! [`StreamTransport`] is the same for the remote store's per-stream reads and appends.

use serde::de::DeserializeOwned;

use super::TraceParent;
use crate::core::{Cause, Detail, StreamId};
use crate::protocol::{
    AppendRequest, AppendResponse, BatchRequest, BatchResponse, ConflictResponse, ErrorBody,
    EventsPage, ForgottenPage, PutKeys, ServerLimits, StreamPage, SubjectKeys,
};

/// Why a request did not give an answer to act on.
#[derive(Debug, Clone, PartialEq)]
pub enum TransportError {
    /// No answer, or one that does not say whether the request took effect (a network
    /// failure, a timeout, a 5xx): the same request is sent again, unchanged.
    Unknown(Detail),
    /// The device is offline: the request was not sent, so nothing happened; the round stops
    /// without retrying and the next one starts over.
    Offline(Detail),
    /// `401`, even after the transport asked for a fresh token.
    Unauthorized(Detail),
    /// `429`: wait this long before the next request.
    RateLimited {
        /// Milliseconds to wait.
        retry_after_ms: u64,
    },
    /// Another `4xx` for the whole request: nothing of it was written.
    Refused(ErrorBody),
}

/// Reads an answer of protocol v1 by its status, for every transport alike: `200` is the body
/// (`T` as JSON); `401` is [`TransportError::Unauthorized`]; `408` (the body did not reach the
/// server in time, so nothing was written) leaves the outcome to a resend; `429` waits
/// `Retry-After` seconds (one when the header is missing); any other `4xx` with an error body
/// is [`TransportError::Refused`]; everything else leaves the outcome unknown. The status and
/// body of an answer not acted on are the failure's [`Cause::Http`].
pub fn decode_answer<T: DeserializeOwned>(
    status: u16,
    body: &[u8],
    retry_after_secs: Option<u64>,
) -> Result<T, TransportError> {
    let answer = || Cause::Http {
        status,
        body: String::from_utf8_lossy(body).into_owned(),
    };
    match status {
        200 => serde_json::from_slice(body).map_err(|error| {
            let parse = Cause::Described(error.to_string());
            TransportError::Unknown(Detail::described("unreadable answer", parse))
        }),
        401 => Err(TransportError::Unauthorized(Detail::caused(
            String::from_utf8_lossy(body).into_owned(),
            answer(),
        ))),
        408 => Err(TransportError::Unknown(Detail::caused(
            "the request timed out",
            answer(),
        ))),
        429 => Err(TransportError::RateLimited {
            retry_after_ms: retry_after_secs.unwrap_or(1).saturating_mul(1_000),
        }),
        400..=499 => match serde_json::from_slice::<ErrorBody>(body) {
            Ok(body) => Err(TransportError::Refused(body)),
            Err(_) => Err(TransportError::Unknown(Detail::caused(
                format!("status {status} without an error body"),
                answer(),
            ))),
        },
        _ => Err(TransportError::Unknown(Detail::caused(
            format!("status {status}"),
            answer(),
        ))),
    }
}

/// The requests of protocol v1 the sync client makes.
#[allow(async_fn_in_trait)]
pub trait Transport {
    /// `POST /v1/batch`.
    async fn batch(&self, request: &BatchRequest) -> Result<BatchResponse, TransportError>;
    /// `GET /v1/events?after=…&limit=…`.
    async fn events(&self, after: u64, limit: u32) -> Result<EventsPage, TransportError>;
    /// Waits `millis` milliseconds (a timer in browsers, virtual time in simulations).
    async fn pause(&self, millis: u64);
    /// `POST /v1/batch` with the W3C `traceparent` header `trace`; a transport that sends no
    /// headers sends [`Transport::batch`].
    async fn batch_traced(
        &self,
        request: &BatchRequest,
        trace: &TraceParent,
    ) -> Result<BatchResponse, TransportError> {
        let _ = trace;
        self.batch(request).await
    }
    /// `GET /v1/events` with the W3C `traceparent` header `trace`; a transport that sends no
    /// headers sends [`Transport::events`].
    async fn events_traced(
        &self,
        after: u64,
        limit: u32,
        trace: &TraceParent,
    ) -> Result<EventsPage, TransportError> {
        let _ = trace;
        self.events(after, limit).await
    }
    /// `GET /v1/limits`: what one request may carry; transports that cannot ask give the
    /// protocol's defaults.
    async fn limits(&self) -> Result<ServerLimits, TransportError> {
        Ok(ServerLimits::default())
    }
    /// `GET /v1/keys/{subject}` (personal data); transports without a key service refuse.
    async fn subject_keys(&self, _subject: &str) -> Result<SubjectKeys, TransportError> {
        Err(no_key_service())
    }
    /// `PUT /v1/keys/{subject}`.
    async fn put_subject_keys(
        &self,
        _subject: &str,
        _keys: &PutKeys,
    ) -> Result<SubjectKeys, TransportError> {
        Err(no_key_service())
    }
    /// `DELETE /v1/keys/{subject}`: forgets the subject on the server.
    async fn forget_subject(&self, _subject: &str) -> Result<SubjectKeys, TransportError> {
        Err(no_key_service())
    }
    /// `GET /v1/keys?after=…`: subjects forgotten on the server after number `after`.
    async fn forgotten(&self, _after: u64) -> Result<ForgottenPage, TransportError> {
        Err(no_key_service())
    }
}

fn no_key_service() -> TransportError {
    TransportError::Unknown("this transport has no key service".into())
}

/// What `POST /v1/streams/{stream}` answered.
#[derive(Debug, Clone, PartialEq)]
pub enum AppendAnswer {
    /// `200`: appended (or recognised as a retry of an earlier append).
    Appended(AppendResponse),
    /// `409 wrong_expected_version`: nothing was written; the stream's newer events ride along.
    Conflict(ConflictResponse),
}

/// The per-stream requests of protocol v1 that the remote store makes.
#[allow(async_fn_in_trait)]
pub trait StreamTransport {
    /// `GET /v1/streams/{stream}?from=…&limit=…`.
    async fn read_stream(
        &self,
        stream: &StreamId,
        from: u64,
        limit: u32,
    ) -> Result<StreamPage, TransportError>;
    /// `POST /v1/streams/{stream}`; any other `4xx` is [`TransportError::Refused`].
    async fn append(
        &self,
        stream: &StreamId,
        request: &AppendRequest,
    ) -> Result<AppendAnswer, TransportError>;
    /// Waits `millis` milliseconds before a request is sent again.
    async fn pause(&self, millis: u64);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ErrorCode;

    fn decoded(status: u16, body: &str, retry_after: Option<u64>) -> Result<u64, TransportError> {
        decode_answer(status, body.as_bytes(), retry_after)
    }

    #[test]
    fn every_status_class_decodes_to_what_the_sync_client_acts_on() {
        assert_eq!(decoded(200, "7", None), Ok(7));
        assert!(matches!(
            decoded(200, "{", None),
            Err(TransportError::Unknown(_))
        ));
        let http = |status, body: &str| {
            Some(crate::core::Cause::Http {
                status,
                body: body.into(),
            })
        };
        assert_eq!(
            decoded(401, "expired", None),
            Err(TransportError::Unauthorized(Detail {
                message: "expired".into(),
                cause: http(401, "expired"),
            }))
        );
        let Err(TransportError::Unknown(detail)) = decoded(503, "busy", None) else {
            panic!("a 503 leaves the outcome unknown");
        };
        assert_eq!(
            (detail.as_str(), detail.cause.clone()),
            ("status 503", http(503, "busy"))
        );
        assert!(matches!(
            decoded(408, "", None),
            Err(TransportError::Unknown(_))
        ));
        assert_eq!(
            decoded(429, "", Some(3)),
            Err(TransportError::RateLimited {
                retry_after_ms: 3_000
            })
        );
        assert_eq!(
            decoded(429, "", None),
            Err(TransportError::RateLimited {
                retry_after_ms: 1_000
            })
        );
        let refusal = r#"{"error":"too_large","message":"over the limit"}"#;
        match decoded(413, refusal, None) {
            Err(TransportError::Refused(body)) => assert_eq!(body.error, ErrorCode::TooLarge),
            other => panic!("413 with an error body is a refusal, not {other:?}"),
        }
        assert!(matches!(
            decoded(404, "<html>", None),
            Err(TransportError::Unknown(_))
        ));
        assert!(matches!(
            decoded(503, "", None),
            Err(TransportError::Unknown(_))
        ));
    }
}
