//! The sync client: drains the outbox to the server and pulls what other devices did.
//!
//! A [`SyncClient::sync`] drains the outbox ([`drain`]):
//! 1. **Push.** The oldest outbox entries (up to `batch_size` events, in order) go in one
//!    `POST /v1/batch`, each with the expected version it was decided at and its own event ids.
//!    Consecutive entries of one stream go as one append (atomic: a later command counts on the
//!    earlier ones), and the batch ends before a stream comes back after another, or before a
//!    stream whose earlier commands are still in flight, so no command is ever accepted on top
//!    of events it was not decided on. While one batch is on its way the next is read and sent
//!    (one request in flight beyond the one answered next). A refused append of several
//!    commands is sent again command by command, so the refusal lands on the one that caused it.
//!    A network error, timeout or 5xx sends the very same request again after a backoff with
//!    jitter: the server's exactly-once rule turns a retry after a lost acknowledgement into a
//!    success, so the expected version is never refreshed before a retry.
//! 2. **Confirm.** An answer places each accepted command (positions, `recordedAt`): its events
//!    become confirmed once every position from the pull checkpoint up to them is accounted for
//!    ([`confirm`]).
//! 3. **Pull.** Only when an answer shows the server's head beyond what this device sent (or a
//!    command met a conflict or a refusal, or the server does not say), and then only the gaps
//!    between this device's own events, up to the head ([`pull`]). A sync with nothing to push
//!    pulls everything after the checkpoint.
//! 4. **Resolve.** A stream whose pending commands collide with the server's newer events is
//!    resolved by its aggregate's conflict policy: each pending command is decided again on the
//!    new state (rebase, the default) and goes on with new events if it still holds, or lands in
//!    the rejected inbox with the domain's reason and the events that caused it; or all of them
//!    are rejected (reject). A command the server refuses for good (`invalid_event`,
//!    `forbidden`, …) lands in the inbox and the queue goes on.
//! 5. **Apply.** Everything a step learnt is one [`SyncBatch`](crate::store::SyncBatch):
//!    acknowledged events become confirmed, pulled ones are stored, rebased commands replace
//!    their old pending events, the checkpoint moves, and read models are corrected, all in one
//!    write, which also reads the next commands to send. Nothing is applied locally before the
//!    server has answered, so a step that fails leaves the store as it was and the next sync
//!    resends the same requests.
//!
//! Each request carries a W3C `traceparent` derived from its first command's correlation id
//! ([`TraceParent`]).

mod confirm;
mod drain;
mod flying;
mod keys;
mod live;
mod pull;
mod push;
mod remote;
mod retry;
mod round;
mod status;
mod trace;
mod transport;

pub use remote::{RemoteConfig, RemoteStore};
pub use retry::RATE_LIMITED_WAITS;
pub use status::{Progress, StatusObserver, SyncPhase, SyncStatus};
pub use trace::TraceParent;
pub use transport::{AppendAnswer, StreamTransport, Transport, TransportError, decode_answer};

use std::cell::RefCell;
use std::rc::Rc;

use serde::Serialize;

use crate::core::runtime::{IdSource, RandomIds};
use crate::core::{Engine, Error, Result};
use crate::protocol::ServerLimits;
use crate::store::EventStore;
use confirm::Held;
use live::LiveFeed;
use status::ObservedStatus;

/// Tunables of a [`SyncClient`].
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// Events pushed per batch request (default 100).
    pub batch_size: usize,
    /// Events asked for per pull request (default 1,000).
    pub pull_page: u32,
    /// Tries of one request before the round gives up with a network error (default 4): a
    /// round against a server that cannot be reached ends after at most this many timeouts
    /// plus the backoffs between them.
    pub max_attempts: u32,
    /// The first retry's delay in milliseconds, doubled for each further one (default 250).
    pub backoff_ms: u64,
    /// The longest delay between two tries within a round (default 2 s); longer waits are the
    /// business of whoever runs rounds again.
    pub max_backoff_ms: u64,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            batch_size: 100,
            pull_page: 1_000,
            max_attempts: 4,
            backoff_ms: 250,
            max_backoff_ms: 2_000,
        }
    }
}

/// The most steps with conflicts (and pulls after the push) one `sync()` runs: enough for
/// deciding commands again after conflicts, bounded when other devices keep writing the same
/// aggregates.
const MAX_ROUNDS_PER_SYNC: u32 = 16;

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

/// Syncs one engine's store with the server through a [`Transport`].
pub struct SyncClient<S: EventStore, T: Transport> {
    engine: Rc<Engine<S>>,
    transport: T,
    config: SyncConfig,
    ids: Rc<dyn IdSource>,
    status: ObservedStatus,
    live: RefCell<Option<LiveFeed>>,
    /// Held by the running round: rounds of one client never overlap.
    running: futures::lock::Mutex<()>,
    /// Commands the server accepted, waiting for the positions below them (or for a full disk
    /// to take their confirmation): not pushed again while they wait (in memory only; after a
    /// restart they are resent, and recognised).
    held: RefCell<Held>,
    /// The number of the last subject forgotten on the server that this client has learnt.
    forgotten_after: std::cell::Cell<u64>,
    /// Whether the server's limits were learnt (once per client, on its first round).
    limits_learnt: std::cell::Cell<bool>,
    /// Rounds finished so far, and the network error the last one ended with, if it did: a
    /// `sync()` that waited for another caller's round to end reports that error instead of
    /// trying again at once.
    finished: std::cell::Cell<u64>,
    unreachable: RefCell<Option<Error>>,
}

impl<S: EventStore, T: Transport> SyncClient<S, T> {
    /// A client for `engine` over `transport`. Until its first round learns the server's
    /// limits, the engine's commands are held to the protocol's defaults.
    pub fn new(engine: Rc<Engine<S>>, transport: T, config: SyncConfig) -> Self {
        if !engine.has_limits() {
            engine.set_limits(Some(Rc::new(ServerLimits::default())));
        }
        SyncClient {
            engine,
            transport,
            config,
            ids: Rc::new(RandomIds),
            status: ObservedStatus::default(),
            live: RefCell::default(),
            running: futures::lock::Mutex::new(()),
            held: RefCell::default(),
            forgotten_after: Default::default(),
            limits_learnt: Default::default(),
            finished: Default::default(),
            unreachable: Default::default(),
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
        self.status.get()
    }

    /// Tells `observer` of every later change of the status (`None` stops telling).
    pub fn on_status(&self, observer: Option<StatusObserver>) {
        self.status.observe(observer);
    }

    /// Reads the outbox and inbox sizes into the status, as after a command was executed here or
    /// in another tab.
    pub async fn refresh_counts(&self) -> Result<()> {
        let sizes = self.engine.store().queue_sizes().await?;
        self.status.update(|status| {
            status.pending = sizes.outbox;
            status.rejected = sizes.rejected;
        });
        Ok(())
    }

    /// Counts a command just executed into the status at once (and into the progress of a
    /// drain under way, which will push it too); the next refresh reads the store's own count.
    pub fn note_command(&self) {
        self.status.update(|status| {
            status.pending += 1;
            if status.syncing {
                status.progress.total += 1;
            }
        });
    }

    /// Records that the device is online or offline, as the platform reports it.
    pub fn set_online(&self, online: bool) {
        self.status.update(|status| status.online = online);
    }

    /// Drains the outbox and pulls until it caught up: every command is pushed (or refused, or
    /// decided again and pushed), every answer settled, and what others did pulled. With the
    /// disk full, it still pushes every command, then fails with `storage_full`: the commands
    /// stay in the outbox until a later sync can store their confirmation.
    ///
    /// While the server cannot be reached, it fails with `Error::Network` in bounded time (see
    /// [`SyncConfig::max_attempts`]); a call that had to wait for a round already running
    /// fails at once with that round's network error rather than trying again.
    pub async fn sync(&self) -> Result<SyncReport> {
        let seen = self.finished.get();
        let _running = self.running.lock().await;
        if self.finished.get() != seen {
            if let Some(error) = self.unreachable.borrow().clone() {
                return Err(error);
            }
        }
        self.start_progress().await?;
        self.observed(self.drain(None)).await
    }

    /// One round: at most one batch pushed, its answer settled, and the pull.
    pub async fn round(&self) -> Result<SyncReport> {
        let _running = self.running.lock().await;
        self.start_progress().await?;
        self.observed(self.drain(Some(1))).await
    }

    async fn start_progress(&self) -> Result<()> {
        let pending = self.engine.store().queue_sizes().await?.outbox;
        self.status.update(|status| {
            status.progress = Progress {
                done: 0,
                total: pending,
            }
        });
        Ok(())
    }

    /// Runs `work` as a round (the caller holds `running`): the status shows it running, then
    /// its outcome.
    async fn observed(&self, work: impl Future<Output = Result<SyncReport>>) -> Result<SyncReport> {
        self.status.update(|status| status.syncing = true);
        let outcome = work.await;
        self.finished.set(self.finished.get() + 1);
        *self.unreachable.borrow_mut() = match &outcome {
            Err(error @ Error::Network(_)) => Some(error.clone()),
            _ => None,
        };
        let sizes = self.engine.store().queue_sizes().await;
        let now = self.engine.clock().now();
        self.status.update(|status| {
            status.syncing = false;
            status.phase = None;
            if let Ok(sizes) = sizes {
                status.pending = sizes.outbox;
                status.rejected = sizes.rejected;
            }
            match &outcome {
                Ok(_) => {
                    status.progress.done = status.progress.total.saturating_sub(status.pending);
                    status.online = true;
                    status.last_error = None;
                    status.last_sync_at = Some(now);
                }
                Err(error) => {
                    status.online = !matches!(error, Error::Network(_));
                    status.last_error = Some(error.to_string());
                }
            }
        });
        outcome
    }
}
