//! Projections: events in, read models (keyed JSON documents) out.
//!
//! # The consistency model
//!
//! Events from this device wait in the outbox until the server accepts them (*pending*);
//! events the server has stored carry its global position (*confirmed*). A read model always
//! equals a fresh rebuild from **the confirmed events in server order, then the pending events
//! in local order**:
//!
//! - **Base and overlay.** A projection folds confirmed events into its documents in position
//!   order and remembers how far it got (its checkpoint). It folds pending events on top, and
//!   for each document pending events change it keeps the document's base value, once, in an
//!   undo log (`undo.rs`); while the base is empty (nothing confirmed folded in yet), one record
//!   says so for every document instead.
//! - **Read your writes.** A command's pending events are applied in the same atomic write that
//!   stores them (for inline projections, the default), so a query right after `execute`
//!   resolves sees them.
//! - **Correction.** When confirmed events arrive that are not simply the oldest pending events
//!   in order (another device's events, or ours in a different order), the projection undoes
//!   every pending effect, folds the confirmed events into the base, and applies the pending
//!   events again. When they are exactly our oldest pending events (the usual
//!   acknowledgement), nothing is recomputed: the undo log is dropped when no other pending
//!   event was applied, and otherwise those events are folded into the kept base values.
//!
//! - **Builds.** A new version is built in its own namespace while queries read the old one,
//!   and replaces it when it has caught up. Being invisible until then, a build keeps its
//!   documents and progress in memory between steps and stores them once, when it ends (or
//!   meets a limit, a confirmation of pending events, or a failure), so that each final
//!   document is written once (`warm.rs`).
//!
//! # Upcasting
//!
//! Projections see every event the way aggregates do: its personal data opened, then brought to
//! its newest schema version by the engine's upcasters (the same
//! [`Upcasters`](crate::core::upcast::Upcasters), shared).
//! That holds on every path: inline with a commit, background catch-up, events pulled by sync,
//! rebuilds, and the look-ahead that batches a page's document reads.
//!
//! # Failures
//!
//! A failing `apply` (or upcaster) is never skipped silently. The event is tried again after
//! `backoff_ms`, doubling each time, up to `max_retries` times; its attempts, the time of the
//! next try and the last error are kept in the projection's stored state ([`EventRetry`]), so
//! they survive a reload. Inline projections run inside the commit's write, where nothing may
//! be waited for: a failure there leaves the event to the catch-up path, and the command
//! commits. Once the retries are spent, the event, the projection and the error go to a dead
//! letter, and the projection stops there (default) or skips the event (opt-in). An operator
//! can then retry or skip ([`ProjectionOperation`]); raising the projection's version
//! rebuilds it, stopped or not, and starts it with no dead letters.

mod catch_up;
mod failure;
mod fold;
pub mod index;
mod operate;
mod prepare;
pub mod projector;
pub mod query;
pub mod storage;
mod undo;
pub mod view;
mod warm;

pub use failure::{error_code, error_message, retry_delay};
pub use index::IndexValue;
pub use operate::ProjectionOperation;
pub use projector::{CatchUp, Projector, Registered};
pub use query::{Condition, Cursor, Doc, Page, Query, QuerySpec};
pub use storage::{DocTx, Fold, UndoEntry};
pub use view::{Known, SharedKnown, View};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::core::error::Result;
use crate::core::event::EventEnvelope;

/// Turns events into keyed JSON documents.
pub trait Projection {
    /// The read model's name, used in queries.
    fn name(&self) -> &str;
    /// The projection's version; raising it rebuilds the read model from the log.
    fn version(&self) -> u32 {
        1
    }
    /// Top-level document fields to index (strings and numbers are indexed).
    fn indexes(&self) -> Vec<String> {
        Vec::new()
    }
    /// Applies one event: reads documents and writes (puts or deletes) them through `view`.
    fn apply(&self, event: &EventEnvelope, view: &mut View<'_>) -> Result<()>;
}

/// When a projection runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ProjectionMode {
    /// In the same atomic write as the events (read-your-writes). The default.
    Inline,
    /// After commits, in batches of `batch_size` events, with retries and backoff.
    Background {
        /// Events per batch (default 50).
        batch_size: usize,
    },
}

/// What a projection does when `apply` fails on an event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OnFailure {
    /// Dead-letter the event and stop the projection there. The default.
    #[default]
    Stop,
    /// Dead-letter the event and go on with the next.
    Skip,
}

/// How a projection is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProjectionOptions {
    /// Inline (default) or background.
    pub mode: ProjectionMode,
    /// Stop (default) or skip on a failing event.
    pub on_failure: OnFailure,
    /// How many times an event whose `apply` fails is tried again before it is dead-lettered
    /// (0: dead-lettered at its first failure).
    pub max_retries: u32,
    /// The delay before the first retry of a failing event, in milliseconds, doubled for each
    /// further one.
    pub backoff_ms: u64,
}

impl Default for ProjectionOptions {
    fn default() -> Self {
        ProjectionOptions {
            mode: ProjectionMode::Inline,
            on_failure: OnFailure::Stop,
            max_retries: 5,
            backoff_ms: 1_000,
        }
    }
}

/// Where a projection stands, as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectionState {
    /// The projection's name.
    pub name: String,
    /// The version whose documents queries read (0 before the first build finished).
    pub version: u32,
    /// The last server position folded into that version's base.
    pub checkpoint: u64,
    /// Pending events with a local sequence number up to this were processed.
    pub pending_upto: u64,
    /// How many pending events were processed.
    pub pending_applied: u64,
    /// The local sequence number of the event it stopped at, if it stopped.
    pub stopped_at: Option<u64>,
    /// Set while a newer version is being built.
    pub rebuild: Option<Rebuild>,
    /// The event that failed and waits for its next try, if one does.
    #[serde(default)]
    pub retry: Option<EventRetry>,
    /// Events the projection passes over without applying them: skipped dead letters.
    #[serde(default)]
    pub passed: Vec<Uuid>,
    /// A random stamp set at every write of this state (0: never), by which a projector knows
    /// whether the documents it keeps in memory are still the stored ones.
    #[serde(default)]
    pub stamp: u64,
}

/// An event whose `apply` failed and that waits to be tried again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventRetry {
    /// The event's id.
    pub event_id: Uuid,
    /// The event's local sequence number.
    pub seq: u64,
    /// How many times it failed so far.
    pub attempts: u32,
    /// When it is tried next, in milliseconds since the epoch.
    pub next_at: i64,
    /// The last error's code.
    pub code: String,
    /// The last error's message.
    pub message: String,
}

/// A build of a newer version, in progress.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rebuild {
    /// The version being built.
    pub version: u32,
    /// How far the build got.
    pub fold: storage::Fold,
    /// Events processed so far.
    pub done: u64,
    /// Events in the store when the build started.
    pub total: u64,
}

/// An event a projection failed to apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    /// The projection.
    pub projection: String,
    /// The event's local sequence number.
    pub seq: u64,
    /// The event.
    pub event: EventEnvelope,
    /// The error's code.
    pub code: String,
    /// The error's message.
    pub message: String,
    /// Whether the projection skipped the event (otherwise it stopped there).
    pub skipped: bool,
    /// How many times the event was tried before it was dead-lettered.
    #[serde(default)]
    pub attempts: u32,
}

/// The storage namespace of version `version` of projection `name`.
pub fn namespace(name: &str, version: u32) -> String {
    format!("{name}@{version}")
}
