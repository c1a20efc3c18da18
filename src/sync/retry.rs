//! Requests that cannot duplicate: an unknown outcome (a network error, a timeout, a 5xx) sends
//! the very same request again after an exponential backoff with jitter; a `429` waits as told.
//!
//! A round gives up on a request after [`SyncConfig::max_attempts`](super::SyncConfig) tries,
//! so a sync against a server that cannot be reached ends with `Error::Network` in bounded
//! time: at most `max_attempts` × the transport's timeout, plus the backoffs between them
//! (250 + 500 + 1,000 ms with the defaults). The driver that runs rounds by itself keeps
//! trying later, on its own schedule; what it sends then is the same request.

use super::{SyncClient, TraceParent, Transport, TransportError};
use crate::core::{Detail, Error, Result};
use crate::protocol::{BatchRequest, BatchResponse, ErrorBody, EventsPage};
use crate::store::EventStore;

/// How many `429` answers in a row one request waits out before the round gives up.
pub const RATE_LIMITED_WAITS: u32 = 30;

impl<S: EventStore, T: Transport> SyncClient<S, T> {
    pub(super) fn backoff(&self, attempt: u32) -> u64 {
        let base = self
            .config
            .backoff_ms
            .saturating_mul(1 << attempt.min(20))
            .min(self.config.max_backoff_ms);
        let jitter = (self.ids.new_id().as_u128() % 1_000) as u64;
        base / 2 + base * jitter / 2_000
    }

    /// Sends a request until it gets an answer to act on, resending it unchanged after unknown
    /// outcomes (at most [`SyncConfig::max_attempts`](super::SyncConfig) tries). A `429` is an
    /// answer that nothing happened: the request waits as told and goes again without using up
    /// a try, at most [`RATE_LIMITED_WAITS`] times.
    pub(super) async fn retrying<R>(
        &self,
        mut send: impl AsyncFnMut() -> std::result::Result<R, TransportError>,
    ) -> Result<std::result::Result<R, ErrorBody>> {
        let mut last = Detail::default();
        let mut attempt = 0;
        let mut waits = 0;
        while attempt < self.config.max_attempts {
            match send().await {
                Ok(answer) => return Ok(Ok(answer)),
                Err(TransportError::Refused(body)) => return Ok(Err(body)),
                Err(TransportError::Unauthorized(message)) => {
                    return Err(Error::Unauthorized(message));
                }
                Err(TransportError::Offline(message)) => return Err(Error::Network(message)),
                Err(TransportError::RateLimited { retry_after_ms })
                    if waits < RATE_LIMITED_WAITS =>
                {
                    waits += 1;
                    self.transport.pause(retry_after_ms).await;
                }
                Err(TransportError::RateLimited { .. }) => {
                    return Err(Error::Network(format!(
                        "the server answered 429 (rate limited) {RATE_LIMITED_WAITS} times in a row"
                    ).into()));
                }
                Err(TransportError::Unknown(message)) => {
                    last = message;
                    attempt += 1;
                    if attempt < self.config.max_attempts {
                        self.transport.pause(self.backoff(attempt - 1)).await;
                    }
                }
            }
        }
        Err(Error::Network(Detail {
            message: format!(
                "no answer after {} attempts: {last}",
                self.config.max_attempts
            ),
            cause: last.cause,
        }))
    }

    pub(super) async fn send_batch(
        &self,
        request: &BatchRequest,
        trace: &TraceParent,
    ) -> Result<std::result::Result<BatchResponse, ErrorBody>> {
        self.retrying(async || self.transport.batch_traced(request, trace).await)
            .await
    }

    /// Learns the server's limits on the first round and holds the engine's commands to them;
    /// a server that does not tell (an older one) leaves the defaults.
    pub(super) async fn learn_limits(&self) -> Result<()> {
        if self.limits_learnt.get() {
            return Ok(());
        }
        if let Ok(limits) = self
            .retrying(async || self.transport.limits().await)
            .await?
        {
            self.engine.set_limits(Some(std::rc::Rc::new(limits)));
        }
        self.limits_learnt.set(true);
        Ok(())
    }

    /// One page of at most `limit` events after `after`.
    pub(super) async fn pull_page(
        &self,
        after: u64,
        limit: u32,
        trace: &TraceParent,
    ) -> Result<EventsPage> {
        match self
            .retrying(async || self.transport.events_traced(after, limit, trace).await)
            .await?
        {
            Ok(page) => Ok(page),
            Err(body) => Err(Error::Network(
                format!(
                    "the server refused to list events: {} {}",
                    body.error, body.message
                )
                .into(),
            )),
        }
    }
}
