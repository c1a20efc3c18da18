//! The storage traits on [`SqlStore`]: reads on the connection, every write one transaction.

use std::collections::HashSet;

use serde_json::Value;

use super::at_rest::{AtRest, KEY_STORE};
use super::commit::{Written, idempotency};
use super::connection::{Columns, SqlConnection};
use super::{SqlStore, chunks, docs, queue, run_now, sync};
use crate::core::personal::{KeyStore, KeyUpdate};
use crate::core::projection::{CatchUp, DeadLetter, Page, ProjectionOperation, Projector, Query};
use crate::core::{
    EventEnvelope, IdempotencyRecord, OutboxEntry, ProjectionState, RejectedCommand, Result,
    Snapshot, StreamId, Timestamp,
};
use crate::store::{
    CommandQueue, Commit, CommitOutcome, Decided, Decision, EventLog, KeyVault, QueueSizes,
    QueuedCommand, ReadModelStore, ReadStats, StoredEvent, SyncBatch,
};

impl<C: SqlConnection> SqlStore<C> {
    /// Commits inside the current transaction and runs the inline projections; `head` as
    /// [`SqlTx::commit`](super::SqlTx) takes it.
    fn commit_in(
        &self,
        tx: &super::SqlTx<'_, C>,
        commit: &Commit,
        head: Option<u64>,
    ) -> Result<CommitOutcome> {
        match tx.commit(commit, head)? {
            Written::Duplicate(record) => Ok(CommitOutcome::DuplicateIdempotencyKey(record)),
            Written::Events(stored) => {
                if let Some(projector) = &commit.projector {
                    run_now(projector.on_commit(tx, &stored))?;
                }
                Ok(CommitOutcome::Committed(
                    stored.into_iter().map(|stored| stored.event).collect(),
                ))
            }
        }
    }

    /// Loads, decides and commits inside one transaction.
    fn decide_in(
        &self,
        tx: &super::SqlTx<'_, C>,
        stream: &StreamId,
        decision: &mut dyn Decision,
    ) -> Result<Decided> {
        let head = chunks::head(tx.conn, stream)?;
        if decision.warm_head() == Some(head) {
            decision.resume()?;
        } else {
            let mut from = decision.start(chunks::latest_snapshot(tx.conn, stream)?)? + 1;
            let page_size = decision.page_size().max(1);
            loop {
                let page = chunks::read_stream(tx.conn, stream, from, page_size)?;
                self.count(|stats| stats.page(page.len()));
                let count = page.len();
                decision.fold(page)?;
                if count < page_size {
                    break;
                }
                from += count as u64;
            }
        }
        match decision.decide()? {
            None => Ok(Decided::Nothing),
            Some(commit) => {
                self.count(|stats| stats.commits += 1);
                let known = (commit.stream == *stream).then_some(head.version);
                self.commit_in(tx, &commit, known).map(Decided::Done)
            }
        }
    }
}

impl<C: SqlConnection> EventLog for SqlStore<C> {
    fn client_id(&self) -> &str {
        &self.client_id
    }

    fn read_stats(&self) -> ReadStats {
        self.stats.get()
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<u64> {
        chunks::version_of(self.connection(), stream)
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<EventEnvelope>> {
        let page = chunks::read_stream(self.connection(), stream, from_version, limit)?;
        self.count(|stats| stats.page(page.len()));
        Ok(page)
    }

    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        chunks::read_all(self.connection(), after, limit)
    }

    async fn latest_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>> {
        chunks::latest_snapshot(self.connection(), stream)
    }

    async fn idempotency_record(
        &self,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<IdempotencyRecord>> {
        Ok(idempotency(self.connection(), key)?.filter(|record| record.is_live(now)))
    }

    async fn commit(&self, commit: Commit) -> Result<CommitOutcome> {
        self.count(|stats| stats.commits += 1);
        self.transact(|tx| self.commit_in(tx, &commit, None))
    }

    async fn decide_and_commit(
        &self,
        stream: &StreamId,
        decision: &mut dyn Decision,
    ) -> Result<Decided> {
        self.transact(|tx| self.decide_in(tx, stream, decision))
    }
}

impl<C: SqlConnection> CommandQueue for SqlStore<C> {
    async fn read_outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>> {
        queue::read_outbox(self.connection(), limit)
    }

    async fn read_outbox_of(&self, streams: &[StreamId]) -> Result<Vec<OutboxEntry>> {
        queue::outbox_of(self.connection(), streams)
    }

    async fn read_queue(&self, limit: usize, skip: &HashSet<u64>) -> Result<Vec<QueuedCommand>> {
        queue::read_queue(self.connection(), limit, skip)
    }

    async fn apply_sync_and_read_queue(
        &self,
        batch: SyncBatch,
        projector: Option<&Projector>,
        limit: usize,
        skip: &HashSet<u64>,
    ) -> Result<Vec<QueuedCommand>> {
        self.transact(|tx| {
            tx.apply_sync(batch)?;
            if let Some(projector) = projector {
                run_now(projector.after_sync(tx))?;
            }
            queue::read_queue(tx.conn, limit, skip)
        })
    }

    async fn queue_sizes(&self) -> Result<QueueSizes> {
        queue::sizes(self.connection())
    }

    async fn apply_sync(&self, batch: SyncBatch, projector: Option<&Projector>) -> Result<()> {
        self.transact(|tx| {
            tx.apply_sync(batch)?;
            if let Some(projector) = projector {
                run_now(projector.after_sync(tx))?;
            }
            Ok(())
        })
    }

    async fn rejected(&self) -> Result<Vec<RejectedCommand>> {
        queue::rejected(self.connection())
    }

    async fn dismiss_rejected(&self, command_id: &str) -> Result<bool> {
        self.transact(|tx| {
            let sql = "DELETE FROM rejected WHERE command_id = ?1";
            Ok(tx.write(sql, &[command_id.into()], 0)? > 0)
        })
    }

    async fn pull_checkpoint(&self) -> Result<u64> {
        sync::checkpoint(self.connection())
    }
}

impl<C: SqlConnection> ReadModelStore for SqlStore<C> {
    async fn run_projection(
        &self,
        projector: &Projector,
        name: &str,
        limit: usize,
    ) -> Result<CatchUp> {
        self.transact(|tx| run_now(projector.catch_up(tx, name, limit)))
    }

    async fn operate_projection(
        &self,
        projector: &Projector,
        name: &str,
        operation: ProjectionOperation,
    ) -> Result<()> {
        self.transact(|tx| run_now(projector.operate(tx, name, operation)))
    }

    async fn projection_state(&self, name: &str) -> Result<Option<ProjectionState>> {
        docs::state(self.connection(), name)
    }

    async fn dead_letters(&self, name: &str) -> Result<Vec<DeadLetter>> {
        docs::dead_letters(self.connection(), name)
    }

    async fn get_doc(&self, ns: &str, key: &str) -> Result<Option<Value>> {
        let doc = docs::doc(self.connection(), &self.at_rest, ns, key)?;
        self.count(|stats| stats.docs_read += 1);
        Ok(doc)
    }

    async fn query_docs(&self, ns: &str, query: &Query) -> Result<Page> {
        let page = docs::query(self.connection(), &self.at_rest, ns, query)?;
        self.count(|stats| stats.docs_read += page.docs.len() as u64);
        Ok(page)
    }

    async fn unprocessed(&self, checkpoint: u64, pending_upto: u64) -> Result<u64> {
        Ok(chunks::count_after(self.connection(), true, checkpoint)?
            + chunks::count_after(self.connection(), false, pending_upto)?)
    }
}

/// The key store, one row of `keys`, opened when sealed at rest.
fn keys<C: SqlConnection>(conn: &C, at_rest: &AtRest) -> Result<KeyStore> {
    let rows = conn.query("SELECT body FROM keys WHERE id = 1", &[])?;
    match rows.first() {
        Some(row) => at_rest.open(KEY_STORE, row.text(0)?),
        None => Ok(KeyStore::default()),
    }
}

impl<C: SqlConnection> KeyVault for SqlStore<C> {
    async fn keys(&self) -> Result<KeyStore> {
        keys(self.connection(), &self.at_rest)
    }

    async fn update_keys(&self, update: &KeyUpdate) -> Result<()> {
        self.transact(|tx| {
            let mut held = keys(tx.conn, tx.at_rest)?;
            held.apply(update);
            tx.write(
                "INSERT INTO keys (id, body) VALUES (1, ?1)
                 ON CONFLICT (id) DO UPDATE SET body = excluded.body",
                &[tx.at_rest.seal(KEY_STORE, &held)?.into()],
                0,
            )?;
            Ok(())
        })
    }
}
