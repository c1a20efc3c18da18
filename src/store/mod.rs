//! Event stores: where events, snapshots, idempotency records, the outbox and read models live.
//!
//! Each store implements the storage traits the core defines ([`crate::core::storage`]) and the
//! engine uses: [`EventLog`], [`CommandQueue`], [`ReadModelStore`] and [`KeyVault`], together
//! [`EventStore`]; every store passes the same conformance suite (`tests/conformance/`).

#[cfg(any(target_arch = "wasm32", feature = "sql"))]
mod at_rest;
#[cfg(target_arch = "wasm32")]
pub mod indexeddb;
mod memory;
#[cfg(feature = "sql")]
pub mod sql;

#[cfg(target_arch = "wasm32")]
pub use indexeddb::{Durability, IndexedDbOptions, IndexedDbStore};
pub use memory::{CommitHook, MemoryStore};
#[cfg(feature = "sql")]
pub use sql::{Row, SqlConnection, SqlStore, SqlValue};

pub use crate::core::event::StoredEvent;
pub use crate::core::storage::{
    CommandQueue, Commit, CommitOutcome, Decided, Decision, EventLog, EventStore, KeyVault,
    QueueSizes, QueuedCommand, ReadModelStore, ReadStats, SyncBatch, check_no_orphans,
};
