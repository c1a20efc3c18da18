//! The sync client: drains the outbox to the server and pulls what other devices did.
//!
//! One [`SyncClient::round`]:
//! 1. **Push.** The oldest outbox entries (up to `batch_size` events, in order) go in one
//!    `POST /v1/batch`, each with the expected version it was decided at and its own event ids.
//!    A network error, timeout or 5xx sends the very same request again after a backoff with
//!    jitter: the server's exactly-once rule turns a retry after a lost acknowledgement into a
//!    success, so the expected version is never refreshed before a retry.
//! 2. **Pull.** Every event after the local checkpoint, up to the server's head, so the
//!    acknowledgements travel with a pull that reaches past them.
//! 3. **Resolve.** A stream whose pending commands collide with the server's newer events is
//!    resolved by its aggregate's conflict policy: each pending command is decided again on the
//!    new state (rebase, the default) and goes on with new events if it still holds, or lands in
//!    the rejected inbox with the domain's reason and the events that caused it; or all of them
//!    are rejected (reject). A command the server refuses for good (`invalid_event`,
//!    `forbidden`, …) lands in the inbox and the queue goes on.
//! 4. **Apply.** Everything above is one [`SyncBatch`](crate::store::SyncBatch): acknowledged
//!    events become confirmed, pulled ones are stored, rebased commands replace their old
//!    pending events, the checkpoint moves, and read models are corrected, all in one write.
//!    Nothing is applied locally before the server has answered, so a round that fails leaves
//!    the store as it was and the next one resends the same requests.

mod round;
mod status;
mod transport;

pub use status::SyncStatus;
pub use transport::{Transport, TransportError};

use std::cell::RefCell;
use std::rc::Rc;

use serde::Serialize;

use crate::core::runtime::{IdSource, RandomIds};
use crate::core::{Engine, Error, Result};
use crate::protocol::{BatchRequest, BatchResponse, EventsPage};
use crate::store::EventStore;

/// Tunables of a [`SyncClient`].
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// Events pushed per batch request (default 100).
    pub batch_size: usize,
    /// Events asked for per pull request (default 1,000).
    pub pull_page: u32,
    /// Tries of one request before the round gives up (default 8).
    pub max_attempts: u32,
    /// The first retry's delay in milliseconds, doubled for each further one (default 250).
    pub backoff_ms: u64,
    /// The longest delay between retries (default 30 s).
    pub max_backoff_ms: u64,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            batch_size: 100,
            pull_page: 1_000,
            max_attempts: 8,
            backoff_ms: 250,
            max_backoff_ms: 30_000,
        }
    }
}

/// What sync rounds did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncReport {
    /// Commands the server accepted.
    pub pushed: usize,
    /// Events pulled from the server.
    pub pulled: usize,
    /// Commands that met a conflict.
    pub conflicts: usize,
    /// Commands that went to the rejected inbox.
    pub rejected: usize,
}

impl SyncReport {
    fn add(&mut self, other: SyncReport) {
        self.pushed += other.pushed;
        self.pulled += other.pulled;
        self.conflicts += other.conflicts;
        self.rejected += other.rejected;
    }
}

/// Syncs one engine's store with the server through a [`Transport`].
pub struct SyncClient<S: EventStore, T: Transport> {
    engine: Rc<Engine<S>>,
    transport: T,
    config: SyncConfig,
    ids: Rc<dyn IdSource>,
    status: RefCell<SyncStatus>,
}

impl<S: EventStore, T: Transport> SyncClient<S, T> {
    /// A client for `engine` over `transport`.
    pub fn new(engine: Rc<Engine<S>>, transport: T, config: SyncConfig) -> Self {
        SyncClient {
            engine,
            transport,
            config,
            ids: Rc::new(RandomIds),
            status: RefCell::default(),
        }
    }

    /// Replaces the source of retry jitter (for deterministic simulations).
    pub fn with_ids(mut self, ids: Rc<dyn IdSource>) -> Self {
        self.ids = ids;
        self
    }

    /// The engine synced.
    pub fn engine(&self) -> &Rc<Engine<S>> {
        &self.engine
    }

    /// The transport used.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// Where sync stands.
    pub fn status(&self) -> SyncStatus {
        self.status.borrow().clone()
    }

    /// Runs rounds until the outbox is empty and the pull caught up, or a round makes no
    /// progress; a round that cannot reach the server ends it with the error.
    pub async fn sync(&self) -> Result<SyncReport> {
        let mut total = SyncReport::default();
        loop {
            let pending_before = self.engine.store().read_outbox(usize::MAX).await?.len();
            let report = self.round().await?;
            total.add(report);
            let pending_after = self.engine.store().read_outbox(usize::MAX).await?.len();
            if pending_after == 0 || pending_after >= pending_before {
                return Ok(total);
            }
        }
    }

    /// One push, pull and resolve round.
    pub async fn round(&self) -> Result<SyncReport> {
        self.status.borrow_mut().syncing = true;
        let outcome = round::run(self).await;
        let outbox = self
            .engine
            .store()
            .read_outbox(usize::MAX)
            .await
            .map(|o| o.len())
            .unwrap_or(0);
        let rejected = self
            .engine
            .store()
            .rejected()
            .await
            .map(|r| r.len())
            .unwrap_or(0);
        let mut status = self.status.borrow_mut();
        status.syncing = false;
        status.pending = outbox;
        status.rejected = rejected;
        match &outcome {
            Ok(_) => {
                status.online = true;
                status.last_error = None;
                status.last_sync_at = Some(self.engine.clock().now());
            }
            Err(error) => {
                status.online = !matches!(error, Error::Network(_));
                status.last_error = Some(error.to_string());
            }
        }
        outcome
    }

    fn backoff(&self, attempt: u32) -> u64 {
        let base = self
            .config
            .backoff_ms
            .saturating_mul(1 << attempt.min(20))
            .min(self.config.max_backoff_ms);
        let jitter = (self.ids.new_id().as_u128() % 1_000) as u64;
        base / 2 + base * jitter / 2_000
    }

    /// Sends a request until it gets an answer to act on, resending it unchanged after unknown
    /// outcomes.
    async fn retrying<R>(
        &self,
        mut send: impl AsyncFnMut() -> std::result::Result<R, TransportError>,
    ) -> Result<std::result::Result<R, crate::protocol::ErrorBody>> {
        let mut last = String::new();
        for attempt in 0..self.config.max_attempts {
            match send().await {
                Ok(answer) => return Ok(Ok(answer)),
                Err(TransportError::Refused(body)) => return Ok(Err(body)),
                Err(TransportError::Unauthorized(message)) => {
                    return Err(Error::Unauthorized(message));
                }
                Err(TransportError::Offline(message)) => return Err(Error::Network(message)),
                Err(TransportError::RateLimited { retry_after_ms }) => {
                    self.transport.pause(retry_after_ms).await
                }
                Err(TransportError::Unknown(message)) => {
                    last = message;
                    self.transport.pause(self.backoff(attempt)).await;
                }
            }
        }
        Err(Error::Network(format!(
            "no answer after {} attempts: {last}",
            self.config.max_attempts
        )))
    }

    async fn send_batch(
        &self,
        request: &BatchRequest,
    ) -> Result<std::result::Result<BatchResponse, crate::protocol::ErrorBody>> {
        self.retrying(async || self.transport.batch(request).await)
            .await
    }

    async fn pull_page(&self, after: u64) -> Result<EventsPage> {
        match self
            .retrying(async || self.transport.events(after, self.config.pull_page).await)
            .await?
        {
            Ok(page) => Ok(page),
            Err(body) => Err(Error::Network(format!(
                "the server refused to list events: {} {}",
                body.error, body.message
            ))),
        }
    }
}
