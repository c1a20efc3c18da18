//! `RemoteStore`: a store whose streams live on the sync server, for edge workers and servers
//! that keep nothing of their own. It is an [`EventLog`], a [`ReadModelStore`] and a
//! [`KeyVault`], and no [`CommandQueue`](crate::store::CommandQueue): it keeps no outbox.
//!
//! - **Reads** (`load`, `stateAt`, `history`, and the load before every decision) ask the server
//!   for the stream (`GET /v1/streams/{stream}`); snapshots are not used.
//! - **Commits** append the events directly with the version they were decided at
//!   (`POST /v1/streams/{stream}`, with the events' own ids). An unknown outcome (network
//!   error, timeout, 5xx) resends the very same request: the server recognises the ids and
//!   answers as the first time, so nothing is doubled. A `409 wrong_expected_version` is the
//!   core's conflict, and the engine decides again by the aggregate's conflict policy (with
//!   [`RemoteStore::engine_config`]).
//! - **Read models** live in memory: every event this instance appended or read is applied to
//!   them, once, in the order the instance learned of it (a stream is mirrored from version 1
//!   on, without gaps). They show what this instance has seen, not the whole server.
//! - **Idempotency keys** are remembered in memory by this instance, for their time-to-live;
//!   commits of one stream run one at a time here, so two concurrent commands with the same key
//!   in one instance write once. Another instance does not know them.
//! - **Rate limits**: a `429` is waited out as its `Retry-After` says and the request sent again,
//!   within [`RemoteConfig::max_attempts`]; the time waited is reported by
//!   [`EventLog::rate_limited_ms`], so it does not spend a command's conflict budget.
//! - There is no outbox, no rejected inbox and nothing to sync: a command is on the server when
//!   `execute` resolves, so this store implements no `CommandQueue`.

mod requests;

pub use requests::RemoteConfig;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use futures::lock::Mutex;
use serde_json::Value;

use super::{AppendAnswer, StreamTransport};
use crate::core::personal::{KeyStore, KeyUpdate};
use crate::core::projection::{CatchUp, DeadLetter, Page, ProjectionOperation, Projector, Query};
use crate::core::{
    EngineConfig, Error, EventEnvelope, ExpectedVersion, IdempotencyRecord, ProjectionState,
    Result, Snapshot, StreamId, Timestamp,
};
use crate::protocol::{AppendRequest, ClientEvent};
use crate::store::{
    Commit, CommitOutcome, EventLog, KeyVault, MemoryStore, ReadModelStore, ReadStats, StoredEvent,
};

/// An event store whose streams live on a `fieldstream-server`, reached through `T`.
pub struct RemoteStore<T> {
    shared: Rc<Shared<T>>,
}

impl<T> Clone for RemoteStore<T> {
    fn clone(&self) -> Self {
        RemoteStore {
            shared: self.shared.clone(),
        }
    }
}

struct Shared<T> {
    transport: T,
    config: RemoteConfig,
    /// Read models, and the events they were fed (each stream from version 1, no gaps).
    local: MemoryStore,
    idempotency: RefCell<HashMap<String, IdempotencyRecord>>,
    /// One lock per stream with a commit running: commits of one stream take turns.
    appending: RefCell<HashMap<StreamId, Rc<Mutex<()>>>>,
    /// Idempotency keys of commits running or waiting, with their stream's lock.
    keys_in_flight: RefCell<HashMap<String, Rc<Mutex<()>>>>,
    projector: RefCell<Option<Rc<Projector>>>,
    /// Milliseconds waited out after `429` answers, in total.
    rate_limited_ms: Cell<u64>,
}

impl<T: StreamTransport> RemoteStore<T> {
    /// A store over `transport`, with a fresh random client id.
    pub fn new(transport: T, config: RemoteConfig) -> Self {
        RemoteStore {
            shared: Rc::new(Shared {
                transport,
                config,
                local: MemoryStore::new(),
                idempotency: RefCell::default(),
                appending: RefCell::default(),
                keys_in_flight: RefCell::default(),
                projector: RefCell::default(),
                rate_limited_ms: Cell::new(0),
            }),
        }
    }

    /// The engine config a remote store wants: no outbox, and conflicts decided by the
    /// aggregate's policy.
    pub fn engine_config() -> EngineConfig {
        EngineConfig {
            record_outbox: false,
            conflict_policy_at_commit: true,
            ..EngineConfig::default()
        }
    }

    /// Feeds events read from the server to `projector`'s inline projections too (commits bring
    /// their own); call it with the engine's projector once its projections are registered.
    pub fn use_projector(&self, projector: Rc<Projector>) {
        *self.shared.projector.borrow_mut() = Some(projector);
    }

    /// The transport used.
    pub fn transport(&self) -> &T {
        &self.shared.transport
    }

    /// Applies the server's events of one stream (consecutive versions) that the read models
    /// have not seen yet; events past a gap wait for a read that fills it.
    async fn mirror(&self, stream: &StreamId, events: &[EventEnvelope]) -> Result<()> {
        let local = &self.shared.local;
        for _ in 0..3 {
            let seen = local.stream_version(stream).await?;
            let fresh: Vec<EventEnvelope> = events
                .iter()
                .filter(|event| event.version > seen)
                .map(|event| EventEnvelope {
                    position: None,
                    ..event.clone()
                })
                .collect();
            match fresh.first() {
                None => return Ok(()),
                Some(first) if first.version != seen + 1 => return Ok(()),
                Some(_) => {}
            }
            let mut commit = Commit::events(stream.clone(), ExpectedVersion::Exact(seen), fresh);
            commit.projector = self.shared.projector.borrow().clone();
            match local.commit(commit).await {
                Err(Error::Conflict { .. }) => continue,
                other => return other.map(|_| ()),
            }
        }
        Ok(())
    }

    /// The lock of `stream`'s commits.
    fn lock_of(&self, stream: &StreamId) -> Rc<Mutex<()>> {
        self.shared
            .appending
            .borrow_mut()
            .entry(stream.clone())
            .or_default()
            .clone()
    }

    /// Forgets `stream`'s lock when nobody else holds or waits for it.
    fn release(&self, stream: &StreamId, lock: Rc<Mutex<()>>) {
        let mut appending = self.shared.appending.borrow_mut();
        if Rc::strong_count(&lock) == 2 {
            appending.remove(stream);
        }
    }

    fn live_record(&self, key: &str, now: Timestamp) -> Option<IdempotencyRecord> {
        let records = self.shared.idempotency.borrow();
        records.get(key).filter(|r| r.is_live(now)).cloned()
    }

    async fn commit_locked(&self, commit: Commit) -> Result<CommitOutcome> {
        if let Some(record) = &commit.idempotency {
            if let Some(existing) = self.live_record(&record.key, record.created_at) {
                return Ok(CommitOutcome::DuplicateIdempotencyKey(existing));
            }
        }
        if let Some(projector) = &commit.projector {
            self.shared
                .projector
                .borrow_mut()
                .get_or_insert_with(|| projector.clone());
        }
        let stream = commit.stream.clone();
        let stored = if commit.events.is_empty() {
            Vec::new()
        } else {
            let request = AppendRequest {
                expected_version: commit.expected,
                events: commit
                    .events
                    .iter()
                    .map(ClientEvent::from_envelope)
                    .collect::<Result<_>>()?,
            };
            let appended = match self.send_append(&stream, &request).await? {
                AppendAnswer::Appended(appended) => appended,
                AppendAnswer::Conflict(conflict) => {
                    return Err(Error::Conflict {
                        stream: stream.to_string(),
                        expected: commit.expected,
                        actual: conflict.current_version,
                    });
                }
            };
            let stored: Vec<EventEnvelope> = commit
                .events
                .into_iter()
                .zip(appended.first_version..)
                .zip(appended.first_position..)
                .map(|((event, version), position)| EventEnvelope {
                    stream: stream.clone(),
                    version,
                    position: Some(position),
                    ..event
                })
                .collect();
            let seen = self.shared.local.stream_version(&stream).await?;
            if seen + 1 < appended.first_version {
                // The read models missed events before ours: read them first, in order.
                self.read_stream(
                    &stream,
                    seen + 1,
                    (appended.first_version - seen - 1) as usize,
                )
                .await?;
            }
            self.mirror(&stream, &stored).await?;
            stored
        };
        if let Some(mut record) = commit.idempotency {
            record.stream = stream;
            (record.first_version, record.last_version) = match (stored.first(), stored.last()) {
                (Some(first), Some(last)) => (first.version, last.version),
                _ => (0, 0),
            };
            let mut records = self.shared.idempotency.borrow_mut();
            records.retain(|_, held| held.is_live(record.created_at));
            records.insert(record.key.clone(), record);
        }
        Ok(CommitOutcome::Committed(stored))
    }
}

impl<T: StreamTransport> EventLog for RemoteStore<T> {
    fn client_id(&self) -> &str {
        self.shared.local.client_id()
    }

    fn read_stats(&self) -> ReadStats {
        self.shared.local.read_stats()
    }

    /// The `Retry-After` waits of this instance's requests, added up (concurrent commands'
    /// waits each count).
    fn rate_limited_ms(&self) -> u64 {
        self.shared.rate_limited_ms.get()
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<u64> {
        Ok(self.fetch(stream, 1, 0).await?.0)
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<EventEnvelope>> {
        let (_, events) = self.fetch(stream, from_version, limit).await?;
        self.mirror(stream, &events).await?;
        Ok(events)
    }

    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        self.shared.local.read_all(after, limit).await
    }

    async fn latest_snapshot(&self, _stream: &StreamId) -> Result<Option<Snapshot>> {
        Ok(None)
    }

    /// The record of `key`; while a commit with that key runs here, waits for its outcome.
    async fn idempotency_record(
        &self,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<IdempotencyRecord>> {
        let running = self.shared.keys_in_flight.borrow().get(key).cloned();
        if let Some(lock) = running {
            drop(lock.lock().await);
        }
        Ok(self.live_record(key, now))
    }

    /// Appends the commit's events to the server (its snapshot and outbox entry are dropped:
    /// a remote store keeps neither), then feeds them to the read models and remembers the
    /// idempotency record.
    async fn commit(&self, commit: Commit) -> Result<CommitOutcome> {
        let stream = commit.stream.clone();
        let lock = self.lock_of(&stream);
        let key = commit.idempotency.as_ref().map(|record| record.key.clone());
        if let Some(key) = &key {
            let mut keys = self.shared.keys_in_flight.borrow_mut();
            keys.insert(key.clone(), lock.clone());
        }
        let outcome = {
            let _turn = lock.lock().await;
            self.commit_locked(commit).await
        };
        if let Some(key) = &key {
            self.shared.keys_in_flight.borrow_mut().remove(key);
        }
        self.release(&stream, lock);
        outcome
    }
}

impl<T: StreamTransport> ReadModelStore for RemoteStore<T> {
    async fn run_projection(
        &self,
        projector: &Projector,
        name: &str,
        limit: usize,
    ) -> Result<CatchUp> {
        self.shared
            .local
            .run_projection(projector, name, limit)
            .await
    }

    async fn operate_projection(
        &self,
        projector: &Projector,
        name: &str,
        operation: ProjectionOperation,
    ) -> Result<()> {
        (self.shared.local)
            .operate_projection(projector, name, operation)
            .await
    }

    async fn projection_state(&self, name: &str) -> Result<Option<ProjectionState>> {
        self.shared.local.projection_state(name).await
    }

    async fn dead_letters(&self, name: &str) -> Result<Vec<DeadLetter>> {
        self.shared.local.dead_letters(name).await
    }

    async fn get_doc(&self, ns: &str, key: &str) -> Result<Option<Value>> {
        self.shared.local.get_doc(ns, key).await
    }

    async fn query_docs(&self, ns: &str, query: &Query) -> Result<Page> {
        self.shared.local.query_docs(ns, query).await
    }

    async fn unprocessed(&self, checkpoint: u64, pending_upto: u64) -> Result<u64> {
        self.shared
            .local
            .unprocessed(checkpoint, pending_upto)
            .await
    }
}

impl<T: StreamTransport> KeyVault for RemoteStore<T> {
    async fn keys(&self) -> Result<KeyStore> {
        self.shared.local.keys().await
    }

    async fn update_keys(&self, update: &KeyUpdate) -> Result<()> {
        self.shared.local.update_keys(update).await
    }
}
