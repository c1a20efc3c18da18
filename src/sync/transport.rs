//! How the sync client reaches the server: a small trait, so that browsers (`fetch`), native
//! code and the deterministic simulation (the server's router in-process) can each provide one.

use crate::protocol::{BatchRequest, BatchResponse, ErrorBody, EventsPage};

/// Why a request did not give an answer to act on.
#[derive(Debug, Clone, PartialEq)]
pub enum TransportError {
    /// No answer, or one that does not say whether the request took effect (a network
    /// failure, a timeout, a 5xx): the same request is sent again, unchanged.
    Unknown(String),
    /// The device is offline: the request was not sent, so nothing happened; the round stops
    /// without retrying and the next one starts over.
    Offline(String),
    /// `401`, even after the transport asked for a fresh token.
    Unauthorized(String),
    /// `429`: wait this long before the next request.
    RateLimited {
        /// Milliseconds to wait.
        retry_after_ms: u64,
    },
    /// Another `4xx` for the whole request: nothing of it was written.
    Refused(ErrorBody),
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
}
