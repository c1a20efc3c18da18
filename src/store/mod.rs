//! Event stores: where events, snapshots, idempotency records, the outbox and read models live.
//!
//! Each store implements [`EventStore`], which the core defines ([`crate::core::storage`]) and
//! the engine uses; every store passes the same conformance suite (`tests/conformance/`).

#[cfg(target_arch = "wasm32")]
pub mod indexeddb;
mod memory;

#[cfg(target_arch = "wasm32")]
pub use indexeddb::{Durability, IndexedDbOptions, IndexedDbStore};
pub use memory::{CommitHook, MemoryStore};

pub use crate::core::event::StoredEvent;
pub use crate::core::storage::{
    Commit, CommitOutcome, Decided, Decision, EventStore, QueueSizes, QueuedCommand, ReadStats,
    SyncBatch, check_no_orphans,
};
