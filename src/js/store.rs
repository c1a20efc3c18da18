//! The store behind a `WasmStore`: in memory (with the cargo feature `memory`), IndexedDB, or
//! remote (the sync server's streams, with the cargo feature `sync`), or a Durable Object's
//! SQLite (with the cargo feature `sql`).

use std::collections::HashSet;

use serde_json::Value;

use crate::core::personal::{KeyStore, KeyUpdate};
use crate::core::projection::{CatchUp, DeadLetter, Page, ProjectionOperation, Projector, Query};
use crate::core::{
    EventEnvelope, IdempotencyRecord, OutboxEntry, ProjectionState, RejectedCommand, Result,
    Snapshot, StreamId, Timestamp,
};
#[cfg(feature = "sql")]
use crate::js::durable_object::JsSqlConnection;
#[cfg(feature = "sync")]
use crate::js::fetch::FetchTransport;
#[cfg(feature = "memory")]
use crate::store::MemoryStore;
#[cfg(feature = "sql")]
use crate::store::sql::SqlStore;
use crate::store::{
    CommandQueue, Commit, CommitOutcome, Decided, Decision, EventLog, IndexedDbStore, KeyVault,
    QueueSizes, QueuedCommand, ReadModelStore, ReadStats, StoredEvent, SyncBatch,
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
    /// A Cloudflare Durable Object: its SQLite storage (`ctx.storage.sql`).
    #[cfg(feature = "sql")]
    DurableObject(SqlStore<JsSqlConnection>),
}

impl LocalStore {
    /// The IndexedDB store, if this is one.
    pub fn indexed_db(&self) -> Option<&IndexedDbStore> {
        match self {
            LocalStore::IndexedDb(store) => Some(store),
            #[cfg(any(feature = "memory", feature = "sync", feature = "sql"))]
            _ => None,
        }
    }
}

/// Forwards one storage method to whichever store this is.
macro_rules! forward {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            #[cfg(feature = "memory")]
            LocalStore::Memory($store) => $call,
            LocalStore::IndexedDb($store) => $call,
            #[cfg(feature = "sync")]
            LocalStore::Remote($store) => $call,
            #[cfg(feature = "sql")]
            LocalStore::DurableObject($store) => $call,
        }
    };
}

/// Forwards one [`CommandQueue`] method to the store when it keeps a local queue; a remote
/// store keeps none, and answers as [`no_queue`] says.
macro_rules! forward_queue {
    ($self:ident, $store:ident => $call:expr, remote => $answer:expr) => {
        match $self {
            #[cfg(feature = "memory")]
            LocalStore::Memory($store) => $call,
            LocalStore::IndexedDb($store) => $call,
            #[cfg(feature = "sync")]
            LocalStore::Remote(_) => $answer,
            #[cfg(feature = "sql")]
            LocalStore::DurableObject($store) => $call,
        }
    };
}

/// What a store without a local queue (the remote store: a command is on the server once
/// executed) answers for the [`CommandQueue`] of a `WasmStore`: nothing queued, nothing
/// rejected, nothing pulled, and no sync to apply (`open` makes no sync client for remote
/// storage: its `sync` URL is the server it writes to).
#[cfg(feature = "sync")]
mod no_queue {
    use crate::core::{Error, OutboxEntry, RejectedCommand, Result};
    use crate::store::{QueueSizes, QueuedCommand};

    /// The outbox, read whole or by stream: empty.
    pub(super) fn outbox() -> Result<Vec<OutboxEntry>> {
        Ok(Vec::new())
    }

    /// The queue a sync would push: empty.
    pub(super) fn queue() -> Result<Vec<QueuedCommand>> {
        Ok(Vec::new())
    }

    /// The sizes of the outbox and the rejected inbox: zeros.
    pub(super) fn sizes() -> Result<QueueSizes> {
        Ok(QueueSizes::default())
    }

    /// A sync batch to apply: refused, there is no sync.
    pub(super) fn apply_sync() -> Result<()> {
        Err(Error::invalid(
            "a remote store does not sync: its commands are on the server once executed",
        ))
    }

    /// The rejected inbox: empty.
    pub(super) fn rejected() -> Result<Vec<RejectedCommand>> {
        Ok(Vec::new())
    }

    /// Dismissing a rejected command: it was not there.
    pub(super) fn dismissed() -> Result<bool> {
        Ok(false)
    }

    /// The pull checkpoint: never pulled.
    pub(super) fn pull_checkpoint() -> Result<u64> {
        Ok(0)
    }
}

impl EventLog for LocalStore {
    fn client_id(&self) -> &str {
        forward!(self, store => store.client_id())
    }

    fn read_stats(&self) -> ReadStats {
        forward!(self, store => store.read_stats())
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

    async fn commit(&self, commit: Commit) -> Result<CommitOutcome> {
        forward!(self, store => store.commit(commit).await)
    }

    async fn decide_and_commit(
        &self,
        stream: &StreamId,
        decision: &mut dyn Decision,
    ) -> Result<Decided> {
        forward!(self, store => store.decide_and_commit(stream, decision).await)
    }
}

impl CommandQueue for LocalStore {
    async fn read_outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>> {
        forward_queue!(
            self,
            store => store.read_outbox(limit).await,
            remote => no_queue::outbox()
        )
    }

    async fn read_outbox_of(&self, streams: &[StreamId]) -> Result<Vec<OutboxEntry>> {
        forward_queue!(
            self,
            store => store.read_outbox_of(streams).await,
            remote => no_queue::outbox()
        )
    }

    async fn read_queue(&self, limit: usize, skip: &HashSet<u64>) -> Result<Vec<QueuedCommand>> {
        forward_queue!(
            self,
            store => store.read_queue(limit, skip).await,
            remote => no_queue::queue()
        )
    }

    async fn apply_sync_and_read_queue(
        &self,
        batch: SyncBatch,
        projector: Option<&Projector>,
        limit: usize,
        skip: &HashSet<u64>,
    ) -> Result<Vec<QueuedCommand>> {
        forward_queue!(
            self,
            store => store.apply_sync_and_read_queue(batch, projector, limit, skip).await,
            remote => no_queue::apply_sync().map(|()| Vec::new())
        )
    }

    async fn queue_sizes(&self) -> Result<QueueSizes> {
        forward_queue!(
            self,
            store => store.queue_sizes().await,
            remote => no_queue::sizes()
        )
    }

    async fn apply_sync(&self, batch: SyncBatch, projector: Option<&Projector>) -> Result<()> {
        forward_queue!(
            self,
            store => store.apply_sync(batch, projector).await,
            remote => no_queue::apply_sync()
        )
    }

    async fn rejected(&self) -> Result<Vec<RejectedCommand>> {
        forward_queue!(
            self,
            store => store.rejected().await,
            remote => no_queue::rejected()
        )
    }

    async fn dismiss_rejected(&self, command_id: &str) -> Result<bool> {
        forward_queue!(
            self,
            store => store.dismiss_rejected(command_id).await,
            remote => no_queue::dismissed()
        )
    }

    async fn pull_checkpoint(&self) -> Result<u64> {
        forward_queue!(
            self,
            store => store.pull_checkpoint().await,
            remote => no_queue::pull_checkpoint()
        )
    }
}

impl ReadModelStore for LocalStore {
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
}

impl KeyVault for LocalStore {
    async fn keys(&self) -> Result<KeyStore> {
        forward!(self, store => store.keys().await)
    }

    async fn update_keys(&self, update: &KeyUpdate) -> Result<()> {
        forward!(self, store => store.update_keys(update).await)
    }
}
