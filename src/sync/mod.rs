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
//!
//! Everything but [`SyncStatus`] (which the bindings report even without sync) needs the cargo
//! feature `sync`.

#[cfg(feature = "sync")]
mod client;
#[cfg(feature = "sync")]
mod confirm;
#[cfg(feature = "sync")]
mod drain;
#[cfg(feature = "sync")]
mod flying;
#[cfg(feature = "sync")]
mod keys;
#[cfg(feature = "sync")]
mod live;
#[cfg(feature = "sync")]
mod pull;
#[cfg(feature = "sync")]
mod push;
#[cfg(feature = "sync")]
mod remote;
#[cfg(feature = "sync")]
mod retry;
#[cfg(feature = "sync")]
mod round;
mod status;
#[cfg(feature = "sync")]
mod trace;
#[cfg(feature = "sync")]
mod transport;

#[cfg(feature = "sync")]
use client::MAX_ROUNDS_PER_SYNC;
#[cfg(feature = "sync")]
pub use client::{SyncClient, SyncConfig, SyncReport};
#[cfg(feature = "sync")]
pub use remote::{RemoteConfig, RemoteStore};
#[cfg(feature = "sync")]
pub use retry::RATE_LIMITED_WAITS;
pub use status::{Progress, StatusObserver, SyncPhase, SyncStatus};
#[cfg(feature = "sync")]
pub use trace::TraceParent;
#[cfg(feature = "sync")]
pub use transport::{AppendAnswer, StreamTransport, Transport, TransportError, decode_answer};
