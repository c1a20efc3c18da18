//! The remote store's requests to the server: reads of a stream and appends with an expected
//! version, resent unchanged after an unknown outcome (a network error, a timeout, a 5xx) and
//! after a `429`, a bounded number of times; refusals become the core's typed errors.

use super::RemoteStore;
use crate::core::runtime::{IdSource, RandomIds};
use crate::core::{Detail, Error, EventEnvelope, Result, StreamId};
use crate::protocol::{AppendRequest, ErrorBody, ErrorCode, MAX_READ_LIMIT};
use crate::sync::{AppendAnswer, StreamTransport, TransportError};

/// Tunables of a [`RemoteStore`].
#[derive(Debug, Clone)]
pub struct RemoteConfig {
    /// Tries of one request before it fails with a network error, `429` answers included
    /// (default 5): a rate-limited request waits out at most this many less one `Retry-After`s.
    pub max_attempts: u32,
    /// The first retry's delay in milliseconds, doubled for each further one (default 100).
    pub backoff_ms: u64,
    /// The longest delay between retries (default 2 s).
    pub max_backoff_ms: u64,
}

impl Default for RemoteConfig {
    fn default() -> Self {
        RemoteConfig {
            max_attempts: 5,
            backoff_ms: 100,
            max_backoff_ms: 2_000,
        }
    }
}

impl<T: StreamTransport> RemoteStore<T> {
    /// Sends a request until it gets an answer to act on; the request itself never changes.
    async fn retrying<R>(
        &self,
        what: &str,
        mut send: impl AsyncFnMut() -> std::result::Result<R, TransportError>,
    ) -> Result<R> {
        let config = &self.shared.config;
        let mut last = Detail::default();
        for attempt in 0..config.max_attempts.max(1) {
            match send().await {
                Ok(answer) => return Ok(answer),
                Err(TransportError::Refused(body)) => return Err(refused(what, body)),
                Err(TransportError::Unauthorized(message)) => {
                    return Err(Error::Unauthorized(message));
                }
                Err(TransportError::Offline(message)) => return Err(Error::Network(message)),
                Err(TransportError::RateLimited { retry_after_ms }) => {
                    last = "rate limited".into();
                    self.shared.transport.pause(retry_after_ms).await;
                    let waited = &self.shared.rate_limited_ms;
                    waited.set(waited.get().saturating_add(retry_after_ms));
                }
                Err(TransportError::Unknown(message)) => {
                    last = message;
                    if attempt + 1 < config.max_attempts {
                        self.shared.transport.pause(self.backoff(attempt)).await;
                    }
                }
            }
        }
        Err(Error::Network(Detail {
            message: format!(
                "{what}: no answer after {} attempts: {last}",
                config.max_attempts.max(1)
            ),
            cause: last.cause,
        }))
    }

    /// The delay before attempt `attempt + 1`: doubling from `backoff_ms`, capped, with jitter.
    fn backoff(&self, attempt: u32) -> u64 {
        let config = &self.shared.config;
        let base = config
            .backoff_ms
            .saturating_mul(1 << attempt.min(20))
            .min(config.max_backoff_ms);
        let jitter = (RandomIds.new_id().as_u128() % 1_000) as u64;
        base / 2 + base * jitter / 2_000
    }

    /// Up to `limit` events of `stream` from version `from`, in as many requests as it takes
    /// (pages end at the server's event limit or byte budget, whichever comes first).
    pub(super) async fn fetch(
        &self,
        stream: &StreamId,
        from: u64,
        limit: usize,
    ) -> Result<(u64, Vec<EventEnvelope>)> {
        let mut events: Vec<EventEnvelope> = Vec::new();
        let mut next = from.max(1);
        loop {
            let want = (limit - events.len()).min(MAX_READ_LIMIT as usize) as u32;
            let transport = &self.shared.transport;
            let page = self
                .retrying("reading the stream", async || {
                    transport.read_stream(stream, next, want.max(1)).await
                })
                .await?;
            // A page may end before `want` events (the server's byte budget): only the stream's
            // current version says whether more follow.
            if let Some(last) = page.events.last() {
                next = last.version + 1;
            }
            events.extend(page.events.iter().map(|event| event.to_envelope()));
            if page.events.is_empty()
                || next > page.current_version
                || events.len() >= limit
                || limit == 0
            {
                events.truncate(limit);
                return Ok((page.current_version, events));
            }
        }
    }

    /// Sends one append, resending the very same request after unknown outcomes.
    pub(super) async fn send_append(
        &self,
        stream: &StreamId,
        request: &AppendRequest,
    ) -> Result<AppendAnswer> {
        let transport = &self.shared.transport;
        self.retrying("appending", async || {
            transport.append(stream, request).await
        })
        .await
    }
}

/// A refusal of the server as the core's error.
fn refused(what: &str, body: ErrorBody) -> Error {
    let message = format!(
        "{what}: the server refused: {}: {}",
        body.error, body.message
    );
    match body.error {
        ErrorCode::Unauthorized | ErrorCode::Forbidden => Error::Unauthorized(message.into()),
        ErrorCode::InvalidJson
        | ErrorCode::InvalidQuery
        | ErrorCode::InvalidStreamId
        | ErrorCode::InvalidEvent
        | ErrorCode::TooLarge
        | ErrorCode::IdempotencyMismatch => Error::InvalidInput(message),
        _ => Error::Network(message.into()),
    }
}
