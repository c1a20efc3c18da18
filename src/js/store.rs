//! The store behind a `WasmStore`: in memory (with the cargo feature `memory`), IndexedDB, or
//! remote (the sync server's streams, with the cargo feature `sync`).

use std::collections::HashSet;

use serde_json::Value;

use crate::core::personal::{KeyStore, KeyUpdate};
use crate::core::projection::{CatchUp, DeadLetter, Page, ProjectionOperation, Projector, Query};
use crate::core::{
    EventEnvelope, IdempotencyRecord, OutboxEntry, ProjectionState, RejectedCommand, Result,
    Snapshot, StreamId, Timestamp,
};
#[cfg(feature = "sync")]
use crate::js::fetch::FetchTransport;
#[cfg(feature = "memory")]
use crate::store::MemoryStore;
use crate::store::{
    Commit, CommitOutcome, Decided, Decision, EventStore, IndexedDbStore, QueueSizes,
    QueuedCommand, ReadStats, StoredEvent, SyncBatch,
};
#[cfg(feature = "sync")]
use crate::sync::RemoteStore;

/// One of the stores a `WasmStore` can run on.
#[derive(Clone)]
pub enum LocalStore {
    /// Nothing persists: Node.js, edge workers, tests.
    #[cfg(feature = "memory")]
    Memory(MemoryStore),
    /// Browsers and dedicated workers.
    IndexedDb(IndexedDbStore),
    /// Edge workers and servers: streams on the sync server, read models in memory.
    #[cfg(feature = "sync")]
    Remote(RemoteStore<FetchTransport>),
}

impl LocalStore {
    /// The IndexedDB store, if this is one.
    pub fn indexed_db(&self) -> Option<&IndexedDbStore> {
        match self {
            LocalStore::IndexedDb(store) => Some(store),
            #[cfg(any(feature = "memory", feature = "sync"))]
            _ => None,
        }
    }
}

/// Forwards one `EventStore` method to whichever store this is.
macro_rules! forward {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            #[cfg(feature = "memory")]
            LocalStore::Memory($store) => $call,
            LocalStore::IndexedDb($store) => $call,
            #[cfg(feature = "sync")]
            LocalStore::Remote($store) => $call,
        }
    };
}

impl EventStore for LocalStore {
    fn read_stats(&self) -> ReadStats {
        forward!(self, store => store.read_stats())
    }

    fn client_id(&self) -> &str {
        forward!(self, store => store.client_id())
    }

    fn rate_limited_ms(&self) -> u64 {
        forward!(self, store => store.rate_limited_ms())
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<u64> {
        forward!(self, store => store.stream_version(stream).await)
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        from: u64,
        limit: usize,
    ) -> Result<Vec<EventEnvelope>> {
        forward!(self, store => store.read_stream(stream, from, limit).await)
    }

    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        forward!(self, store => store.read_all(after, limit).await)
    }

    async fn latest_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>> {
        forward!(self, store => store.latest_snapshot(stream).await)
    }

    async fn idempotency_record(
        &self,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<IdempotencyRecord>> {
        forward!(self, store => store.idempotency_record(key, now).await)
    }

    async fn read_outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>> {
        forward!(self, store => store.read_outbox(limit).await)
    }

    async fn decide_and_commit(
        &self,
        stream: &StreamId,
        decision: &mut dyn Decision,
    ) -> Result<Decided> {
        forward!(self, store => store.decide_and_commit(stream, decision).await)
    }

    async fn read_outbox_of(&self, streams: &[StreamId]) -> Result<Vec<OutboxEntry>> {
        forward!(self, store => store.read_outbox_of(streams).await)
    }

    async fn queue_sizes(&self) -> Result<QueueSizes> {
        forward!(self, store => store.queue_sizes().await)
    }

    async fn commit(&self, commit: Commit) -> Result<CommitOutcome> {
        forward!(self, store => store.commit(commit).await)
    }

    async fn apply_sync(&self, batch: SyncBatch, projector: Option<&Projector>) -> Result<()> {
        forward!(self, store => store.apply_sync(batch, projector).await)
    }

    async fn read_queue(&self, limit: usize, skip: &HashSet<u64>) -> Result<Vec<QueuedCommand>> {
        forward!(self, store => store.read_queue(limit, skip).await)
    }

    async fn apply_sync_and_read_queue(
        &self,
        batch: SyncBatch,
        projector: Option<&Projector>,
        limit: usize,
        skip: &HashSet<u64>,
    ) -> Result<Vec<QueuedCommand>> {
        forward!(self, store => store.apply_sync_and_read_queue(batch, projector, limit, skip).await)
    }

    async fn rejected(&self) -> Result<Vec<RejectedCommand>> {
        forward!(self, store => store.rejected().await)
    }

    async fn dismiss_rejected(&self, command_id: &str) -> Result<bool> {
        forward!(self, store => store.dismiss_rejected(command_id).await)
    }

    async fn pull_checkpoint(&self) -> Result<u64> {
        forward!(self, store => store.pull_checkpoint().await)
    }

    async fn run_projection(
        &self,
        projector: &Projector,
        name: &str,
        limit: usize,
    ) -> Result<CatchUp> {
        forward!(self, store => store.run_projection(projector, name, limit).await)
    }

    async fn operate_projection(
        &self,
        projector: &Projector,
        name: &str,
        operation: ProjectionOperation,
    ) -> Result<()> {
        forward!(self, store => store.operate_projection(projector, name, operation).await)
    }

    async fn projection_state(&self, name: &str) -> Result<Option<ProjectionState>> {
        forward!(self, store => store.projection_state(name).await)
    }

    async fn dead_letters(&self, name: &str) -> Result<Vec<DeadLetter>> {
        forward!(self, store => store.dead_letters(name).await)
    }

    async fn get_doc(&self, ns: &str, key: &str) -> Result<Option<Value>> {
        forward!(self, store => store.get_doc(ns, key).await)
    }

    async fn query_docs(&self, ns: &str, query: &Query) -> Result<Page> {
        forward!(self, store => store.query_docs(ns, query).await)
    }

    async fn unprocessed(&self, checkpoint: u64, pending_upto: u64) -> Result<u64> {
        forward!(self, store => store.unprocessed(checkpoint, pending_upto).await)
    }

    async fn keys(&self) -> Result<KeyStore> {
        forward!(self, store => store.keys().await)
    }

    async fn update_keys(&self, update: &KeyUpdate) -> Result<()> {
        forward!(self, store => store.update_keys(update).await)
    }
}
