//! A store wrapper that counts reads and can run a hook before each commit (to stage races).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use fieldstream::core::{
    EventEnvelope, IdempotencyRecord, OutboxEntry, Result, Snapshot, StreamId, Timestamp,
};
use fieldstream::store::{Commit, CommitOutcome, EventStore, MemoryStore, StoredEvent};

type Hook = Box<dyn Fn(&MemoryStore, &Commit)>;

/// Forwards to a `MemoryStore`, counting what is read and committed.
#[derive(Clone, Default)]
pub struct SpyStore {
    pub inner: MemoryStore,
    pub events_read: Rc<Cell<usize>>,
    pub stream_reads: Rc<Cell<usize>>,
    pub commits_tried: Rc<Cell<usize>>,
    before_commit: Rc<RefCell<Option<Hook>>>,
}

impl SpyStore {
    /// Runs `hook` on the inner store before every commit goes through.
    pub fn before_commit(&self, hook: impl Fn(&MemoryStore, &Commit) + 'static) {
        *self.before_commit.borrow_mut() = Some(Box::new(hook));
    }
}

impl EventStore for SpyStore {
    fn client_id(&self) -> &str {
        self.inner.client_id()
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<u64> {
        self.inner.stream_version(stream).await
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        from: u64,
        limit: usize,
    ) -> Result<Vec<EventEnvelope>> {
        let events = self.inner.read_stream(stream, from, limit).await?;
        self.events_read.set(self.events_read.get() + events.len());
        self.stream_reads.set(self.stream_reads.get() + 1);
        Ok(events)
    }

    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        self.inner.read_all(after, limit).await
    }

    async fn latest_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>> {
        self.inner.latest_snapshot(stream).await
    }

    async fn idempotency_record(
        &self,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<IdempotencyRecord>> {
        self.inner.idempotency_record(key, now).await
    }

    async fn read_outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>> {
        self.inner.read_outbox(limit).await
    }

    async fn commit(&self, commit: Commit) -> Result<CommitOutcome> {
        self.commits_tried.set(self.commits_tried.get() + 1);
        if let Some(hook) = self.before_commit.borrow().as_ref() {
            hook(&self.inner, &commit);
        }
        self.inner.commit(commit).await
    }
}
