//! The storage traits of [`IndexedDbStore`] (all four of [`EventStore`](crate::store::EventStore)):
//! each method handed to the module that does its work (reads, commits, the queue, sync batches,
//! projections, keys).

use std::collections::HashSet;

use wasm_bindgen::JsValue;

use super::schema::{self, IDEMPOTENCY, SNAPSHOTS};
use super::{IndexedDbStore, commit, decide, keys, projections, queries, queue, reads, sync};
use crate::core::projection::{CatchUp, DeadLetter, Page, ProjectionOperation, Projector, Query};
use crate::core::{
    EventEnvelope, IdempotencyRecord, OutboxEntry, ProjectionState, RejectedCommand, Result,
    Snapshot, StreamId, Timestamp,
};
use crate::store::{
    CommandQueue, Commit, CommitOutcome, Decided, Decision, EventLog, KeyVault, QueueSizes,
    QueuedCommand, ReadModelStore, ReadStats, StoredEvent, SyncBatch,
};

impl EventLog for IndexedDbStore {
    fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    fn read_stats(&self) -> ReadStats {
        self.inner.stats.get()
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<u64> {
        reads::stream_version(self, stream).await
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<EventEnvelope>> {
        reads::stream(self, stream, from_version, limit).await
    }

    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        reads::all(self, after, limit).await
    }

    async fn latest_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>> {
        self.get_body(SNAPSHOTS, JsValue::from_str(stream.as_str()))
            .await
    }

    async fn idempotency_record(
        &self,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<IdempotencyRecord>> {
        let record: Option<IdempotencyRecord> =
            self.get_body(IDEMPOTENCY, JsValue::from_str(key)).await?;
        Ok(record.filter(|record| record.is_live(now)))
    }

    async fn commit(&self, commit: Commit) -> Result<CommitOutcome> {
        self.count(|stats| stats.commits += 1);
        commit::write(self, commit, self.inner.abort_after.take()).await
    }

    async fn decide_and_commit(
        &self,
        stream: &StreamId,
        decision: &mut dyn Decision,
    ) -> Result<Decided> {
        let abort_after = self.inner.abort_after.take();
        decide::decide_and_write(self, stream, decision, abort_after).await
    }
}

impl CommandQueue for IndexedDbStore {
    async fn read_outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>> {
        reads::outbox(self, limit).await
    }

    async fn read_outbox_of(&self, streams: &[StreamId]) -> Result<Vec<OutboxEntry>> {
        queries::outbox_of(self, streams).await
    }

    async fn read_queue(&self, limit: usize, skip: &HashSet<u64>) -> Result<Vec<QueuedCommand>> {
        queue::read_queue(self, limit, skip).await
    }

    async fn apply_sync_and_read_queue(
        &self,
        batch: SyncBatch,
        projector: Option<&Projector>,
        limit: usize,
        skip: &HashSet<u64>,
    ) -> Result<Vec<QueuedCommand>> {
        let (last_seq, queue) = sync::apply(self, batch, projector, Some((limit, skip))).await?;
        if let Some(notices) = self.notices() {
            notices.announce(last_seq);
        }
        Ok(queue.unwrap_or_default())
    }

    async fn queue_sizes(&self) -> Result<QueueSizes> {
        queries::queue_sizes(self).await
    }

    async fn apply_sync(&self, batch: SyncBatch, projector: Option<&Projector>) -> Result<()> {
        let (last_seq, _) = sync::apply(self, batch, projector, None).await?;
        if let Some(notices) = self.notices() {
            notices.announce(last_seq);
        }
        Ok(())
    }

    async fn rejected(&self) -> Result<Vec<RejectedCommand>> {
        queries::rejected(self).await
    }

    async fn dismiss_rejected(&self, command_id: &str) -> Result<bool> {
        queries::dismiss_rejected(self, command_id).await
    }

    async fn pull_checkpoint(&self) -> Result<u64> {
        queries::meta_number(self, "checkpoint").await
    }
}

impl ReadModelStore for IndexedDbStore {
    async fn run_projection(
        &self,
        projector: &Projector,
        name: &str,
        limit: usize,
    ) -> Result<CatchUp> {
        projections::run(self, projector, name, limit).await
    }

    async fn operate_projection(
        &self,
        projector: &Projector,
        name: &str,
        operation: ProjectionOperation,
    ) -> Result<()> {
        projections::operate(self, projector, name, operation).await
    }

    async fn projection_state(&self, name: &str) -> Result<Option<ProjectionState>> {
        self.get_body(schema::PROJECTIONS, JsValue::from_str(name))
            .await
    }

    async fn dead_letters(&self, name: &str) -> Result<Vec<DeadLetter>> {
        queries::dead_letters(self, name).await
    }

    async fn get_doc(&self, ns: &str, key: &str) -> Result<Option<serde_json::Value>> {
        queries::get_doc(self, ns, key).await
    }

    async fn query_docs(&self, ns: &str, query: &Query) -> Result<Page> {
        queries::query_docs(self, ns, query).await
    }

    async fn unprocessed(&self, checkpoint: u64, pending_upto: u64) -> Result<u64> {
        queries::unprocessed(self, checkpoint, pending_upto).await
    }
}

impl KeyVault for IndexedDbStore {
    async fn keys(&self) -> Result<crate::core::KeyStore> {
        keys::read(self).await
    }

    async fn update_keys(&self, update: &crate::core::KeyUpdate) -> Result<()> {
        keys::update(self, update).await
    }
}
