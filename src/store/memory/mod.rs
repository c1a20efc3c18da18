//! `MemoryStore`: an [`EventStore`](crate::store::EventStore) in memory, for tests, simulations,
//! Node.js and edge workers.
//!
//! Cloning a `MemoryStore` gives another handle on the same data, so a simulated client can
//! "restart" by building a new engine on the store it had.
//!
//! Every write runs on the data taken out of its cell ([`MemoryStore::transact`]): all checks
//! come first, then mutations that cannot fail, so a write is all or nothing; nothing in it
//! really waits, so no other call can see the data while it is out.

mod data;
mod views;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use serde_json::Value;
use uuid::Uuid;

use self::data::{Data, Written};
use self::views::MemoryTx;
use super::{
    CommandQueue, Commit, CommitOutcome, Decided, Decision, EventLog, KeyVault, QueueSizes,
    ReadModelStore, ReadStats, StoredEvent, SyncBatch,
};
use crate::core::personal::{KeyStore, KeyUpdate};
use crate::core::projection::{CatchUp, DeadLetter, Page, ProjectionOperation, Projector, Query};
use crate::core::{
    EventEnvelope, IdempotencyRecord, OutboxEntry, ProjectionState, RejectedCommand, Result,
    Snapshot, StreamId, Timestamp,
};

/// An event store held in memory.
#[derive(Clone)]
pub struct MemoryStore {
    client_id: Rc<str>,
    data: Rc<RefCell<Data>>,
    stats: Rc<Cell<ReadStats>>,
    commit_hook: Rc<RefCell<Option<CommitHook>>>,
    /// Whether commands are decided in one write even with a commit hook installed.
    hook_inline: Rc<Cell<bool>>,
    keys: Rc<RefCell<KeyStore>>,
}

/// A function run at the start of every commit (a test hook).
pub type CommitHook = Rc<dyn Fn(&MemoryStore, &Commit)>;

impl MemoryStore {
    /// An empty store with a fresh random client id.
    pub fn new() -> Self {
        Self::with_client_id(Uuid::new_v4().to_string())
    }

    /// An empty store with the given client id.
    pub fn with_client_id(client_id: impl Into<String>) -> Self {
        MemoryStore {
            client_id: client_id.into().into(),
            data: Rc::default(),
            stats: Rc::default(),
            commit_hook: Rc::default(),
            hook_inline: Rc::default(),
            keys: Rc::default(),
        }
    }

    /// Sets the counters back to zero.
    pub fn reset_read_stats(&self) {
        self.stats.set(ReadStats::default());
    }

    /// Test hook: runs `hook` at the start of every commit, before its checks (to stage another
    /// writer committing first). `None` removes it.
    #[doc(hidden)]
    pub fn set_commit_hook(&self, hook: Option<CommitHook>) {
        *self.commit_hook.borrow_mut() = hook;
    }

    /// Test hook: with `on`, a command is decided and committed in one write even with a
    /// commit hook installed, and the hook runs inside that write (a writer the write failed
    /// to shut out), so the command's one-write path meets the conflict.
    #[doc(hidden)]
    pub fn hook_inline_commits(&self, on: bool) {
        self.hook_inline.set(on);
    }

    fn count(&self, update: impl FnOnce(&mut ReadStats)) {
        let mut stats = self.stats.get();
        update(&mut stats);
        self.stats.set(stats);
    }

    /// Runs `work` on the data, taken out of its cell and put back whatever happens.
    async fn transact<R>(&self, work: impl AsyncFnOnce(&MemoryTx) -> Result<R>) -> Result<R> {
        let tx = MemoryTx::new(self.data.take());
        let result = work(&tx).await;
        self.data.replace(tx.into_data());
        result
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl EventLog for MemoryStore {
    fn client_id(&self) -> &str {
        &self.client_id
    }

    fn read_stats(&self) -> ReadStats {
        self.stats.get()
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<u64> {
        Ok(self.data.borrow().version_of(stream))
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<EventEnvelope>> {
        let page = self.data.borrow().read_stream(stream, from_version, limit);
        self.count(|stats| stats.page(page.len()));
        Ok(page)
    }

    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        Ok(self.data.borrow().read_all(after, limit))
    }

    async fn latest_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>> {
        Ok(self.data.borrow().snapshots.get(stream).cloned())
    }

    async fn idempotency_record(
        &self,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<IdempotencyRecord>> {
        let data = self.data.borrow();
        Ok(data
            .idempotency
            .get(key)
            .filter(|record| record.is_live(now))
            .cloned())
    }

    async fn commit(&self, commit: Commit) -> Result<CommitOutcome> {
        self.count(|stats| stats.commits += 1);
        // Taken out while it runs, so a commit it makes does not run it again.
        let hook = self.commit_hook.borrow_mut().take();
        if let Some(hook) = hook {
            hook(self, &commit);
            self.commit_hook.borrow_mut().get_or_insert(hook);
        }
        self.transact(async |tx| {
            let stored = match tx.with(|data| data.commit(&commit))? {
                Written::Duplicate(record) => {
                    return Ok(CommitOutcome::DuplicateIdempotencyKey(record));
                }
                Written::Events(stored) => stored,
            };
            if let Some(projector) = &commit.projector {
                projector.on_commit(tx, &stored).await?;
            }
            Ok(CommitOutcome::Committed(
                stored.into_iter().map(|stored| stored.event).collect(),
            ))
        })
        .await
    }

    async fn decide_and_commit(
        &self,
        stream: &StreamId,
        decision: &mut dyn Decision,
    ) -> Result<Decided> {
        // A commit hook stands for a writer between a load and its commit, which one write
        // would shut out: with one installed, commands go in steps.
        if self.commit_hook.borrow().is_some() && !self.hook_inline.get() {
            return Ok(Decided::InSteps);
        }
        if let Some(warm) = decision.warm_head() {
            let head = self.data.borrow().head(stream);
            if head == warm {
                decision.resume()?;
                return match decision.decide()? {
                    None => Ok(Decided::Nothing),
                    Some(commit) => self.commit(commit).await.map(Decided::Done),
                };
            }
        }
        let snapshot = self.data.borrow().snapshots.get(stream).cloned();
        let mut from = decision.start(snapshot)? + 1;
        let page_size = decision.page_size().max(1);
        loop {
            let page = self.data.borrow().read_stream(stream, from, page_size);
            self.count(|stats| stats.page(page.len()));
            let count = page.len();
            decision.fold(page)?;
            if count < page_size {
                break;
            }
            from += count as u64;
        }
        match decision.decide()? {
            None => Ok(Decided::Nothing),
            Some(commit) => self.commit(commit).await.map(Decided::Done),
        }
    }
}

impl CommandQueue for MemoryStore {
    async fn read_outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>> {
        Ok(self
            .data
            .borrow()
            .outbox
            .values()
            .take(limit)
            .cloned()
            .collect())
    }

    async fn read_outbox_of(&self, streams: &[StreamId]) -> Result<Vec<OutboxEntry>> {
        Ok(self
            .data
            .borrow()
            .outbox
            .values()
            .filter(|entry| streams.contains(&entry.stream))
            .cloned()
            .collect())
    }

    async fn queue_sizes(&self) -> Result<QueueSizes> {
        let data = self.data.borrow();
        Ok(QueueSizes {
            outbox: data.outbox.len(),
            rejected: data.rejected.len(),
        })
    }

    async fn apply_sync(&self, batch: SyncBatch, projector: Option<&Projector>) -> Result<()> {
        self.transact(async |tx| {
            tx.with(|data| data.apply_sync(batch))?;
            if let Some(projector) = projector {
                projector.after_sync(tx).await?;
            }
            Ok(())
        })
        .await
    }

    async fn rejected(&self) -> Result<Vec<RejectedCommand>> {
        Ok(self.data.borrow().rejected.clone())
    }

    async fn dismiss_rejected(&self, command_id: &str) -> Result<bool> {
        let mut data = self.data.borrow_mut();
        let before = data.rejected.len();
        data.rejected.retain(|held| held.command_id != command_id);
        Ok(data.rejected.len() < before)
    }

    async fn pull_checkpoint(&self) -> Result<u64> {
        Ok(self.data.borrow().checkpoint)
    }
}

impl ReadModelStore for MemoryStore {
    async fn run_projection(
        &self,
        projector: &Projector,
        name: &str,
        limit: usize,
    ) -> Result<CatchUp> {
        self.transact(async |tx| projector.catch_up(tx, name, limit).await)
            .await
    }

    async fn operate_projection(
        &self,
        projector: &Projector,
        name: &str,
        operation: ProjectionOperation,
    ) -> Result<()> {
        // Every check of `operate` comes before its first write, so a failure leaves the data
        // as it was.
        self.transact(async |tx| projector.operate(tx, name, operation).await)
            .await
    }

    async fn projection_state(&self, name: &str) -> Result<Option<ProjectionState>> {
        Ok(self.data.borrow().views.states.get(name).cloned())
    }

    async fn dead_letters(&self, name: &str) -> Result<Vec<DeadLetter>> {
        Ok(self.data.borrow().views.dead_letters(name))
    }

    async fn get_doc(&self, ns: &str, key: &str) -> Result<Option<Value>> {
        let doc = self.data.borrow().views.doc(ns, key);
        self.count(|stats| stats.docs_read += 1);
        Ok(doc)
    }

    async fn query_docs(&self, ns: &str, query: &Query) -> Result<Page> {
        let page = self.data.borrow().views.query(ns, query);
        self.count(|stats| stats.docs_read += page.docs.len() as u64);
        Ok(page)
    }

    async fn unprocessed(&self, checkpoint: u64, pending_upto: u64) -> Result<u64> {
        Ok(self.data.borrow().unprocessed(checkpoint, pending_upto))
    }
}

impl KeyVault for MemoryStore {
    async fn keys(&self) -> Result<KeyStore> {
        Ok(self.keys.borrow().clone())
    }

    async fn update_keys(&self, update: &KeyUpdate) -> Result<()> {
        self.keys.borrow_mut().apply(update);
        Ok(())
    }
}
