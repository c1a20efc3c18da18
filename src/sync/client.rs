//! The [`SyncClient`]: its tunables, its report and the round it runs (see the module above).

use std::cell::RefCell;
use std::rc::Rc;

use serde::Serialize;

use super::Transport;
use super::confirm::Held;
use super::live::LiveFeed;
use super::status::{ObservedStatus, Progress, StatusObserver, SyncStatus};
use crate::core::runtime::{IdSource, RandomIds};
use crate::core::{Engine, Error, Result};
use crate::protocol::ServerLimits;
use crate::store::EventStore;

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
pub(super) const MAX_ROUNDS_PER_SYNC: u32 = 16;

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
    pub(super) engine: Rc<Engine<S>>,
    pub(super) transport: T,
    pub(super) config: SyncConfig,
    pub(super) ids: Rc<dyn IdSource>,
    pub(super) status: ObservedStatus,
    pub(super) live: RefCell<Option<LiveFeed>>,
    /// Held by the running round: rounds of one client never overlap.
    pub(super) running: futures::lock::Mutex<()>,
    /// Commands the server accepted, waiting for the positions below them (or for a full disk
    /// to take their confirmation): not pushed again while they wait (in memory only; after a
    /// restart they are resent, and recognised).
    pub(super) held: RefCell<Held>,
    /// The number of the last subject forgotten on the server that this client has learnt.
    pub(super) forgotten_after: std::cell::Cell<u64>,
    /// Whether the server's limits were learnt (once per client, on its first round).
    pub(super) limits_learnt: std::cell::Cell<bool>,
    /// Rounds finished so far, and the network error the last one ended with, if it did: a
    /// `sync()` that waited for another caller's round to end reports that error instead of
    /// trying again at once.
    pub(super) finished: std::cell::Cell<u64>,
    pub(super) unreachable: RefCell<Option<Error>>,
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
    pub(super) async fn observed(
        &self,
        work: impl Future<Output = Result<SyncReport>>,
    ) -> Result<SyncReport> {
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
