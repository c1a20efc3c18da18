//! `IndexedDbStore`: the [`EventStore`](crate::store::EventStore) of browsers and workers, in
//! IndexedDB through rexie.
//!
//! - A commit's events are one record, a run (`runs.rs`), keyed by `[stream, first version]`
//!   and written with `add`: a stream created twice fails with `ConstraintError`, and a
//!   commit's expected version is checked against the stream's newest run in its transaction.
//! - A command's events, outbox entry, snapshot and idempotency record go in one readwrite
//!   transaction; nothing but IndexedDB requests is awaited inside it (IndexedDB commits a
//!   transaction as soon as control returns to the event loop with no request pending).
//! - Long streams and the whole log are read in bounded `getAll` pages.
//! - Several tabs and workers may open one database: readwrite transactions on the same
//!   stores run one after another, a commit is seen by every other store at its next read, and
//!   `BroadcastChannel` notices tell them at once.
//! - Durability: `relaxed` (the browsers' default) or `strict`, see [`Durability`].
//!
//! Reads and the database's structure go through rexie. Commits go through a second
//! connection (`writer`), because they need what rexie does not expose: a transaction's
//! durability option and the error that aborted it.
//!
//! IndexedDB is found on the global scope, so the store works in windows and dedicated workers.

mod at_rest;
mod commit;
mod confirm;
mod decide;
mod doc_tx;
mod errors;
mod event_store;
mod keys;
mod notices;
mod prefetch;
mod projections;
mod queries;
mod queue;
mod reads;
mod records;
mod run_reads;
mod runs;
mod schema;
mod sync;
mod txn;
mod writer;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

pub use notices::ChangeSubscription;
pub use schema::LAYOUT_VERSION;

use rexie::{Rexie, TransactionMode};
use wasm_bindgen::JsValue;

use self::errors::storage_error;
use self::notices::Notices;
use self::records::from_body;
use self::writer::Writer;
use super::EventLog;
use crate::core::{Error, Result, StreamId};

/// When a command's commit counts as done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Durability {
    /// The browser's default: done once the data reaches the operating system. Survives a crash
    /// of the tab or the browser, not a power loss.
    #[default]
    Relaxed,
    /// Done once the data is flushed to persistent storage. Survives a power loss; slower.
    Strict,
}

/// How to open an [`IndexedDbStore`].
#[derive(Debug, Clone, Default)]
pub struct IndexedDbOptions {
    /// When a command's commit counts as done.
    pub durability: Durability,
    /// Seals what holds decrypted personal data (the key store, read-model documents and their
    /// undo records) at rest under this key (`at_rest.rs`); none: plain. A key derived from a
    /// user's secret is better given to [`IndexedDbStore::seal_at_rest`] after open, with the
    /// database's own salt ([`IndexedDbStore::at_rest_salt`]).
    pub at_rest_key: Option<[u8; 32]>,
}

/// An event store in one IndexedDB database. Clones share the connection.
#[derive(Clone)]
pub struct IndexedDbStore {
    inner: Rc<Inner>,
}

struct Inner {
    name: String,
    db: RefCell<Option<Rexie>>,
    client_id: String,
    durability: Durability,
    at_rest: RefCell<at_rest::AtRest>,
    writer: Writer,
    notices: Option<Notices>,
    last_durability: RefCell<Option<String>>,
    abort_after: Cell<Option<usize>>,
    stats: Cell<super::ReadStats>,
}

impl IndexedDbStore {
    /// Opens (creating or migrating) database `name` with relaxed durability.
    pub async fn open(name: &str) -> Result<IndexedDbStore> {
        Self::open_with(name, IndexedDbOptions::default()).await
    }

    /// Opens (creating or migrating) database `name`.
    pub async fn open_with(name: &str, options: IndexedDbOptions) -> Result<IndexedDbStore> {
        let db = schema::open_layout(name, LAYOUT_VERSION).await?;
        let client_id = schema::migrate_and_identify(&db, uuid::Uuid::new_v4().to_string()).await?;
        let writer = Writer::open(name).await?;
        Ok(IndexedDbStore {
            inner: Rc::new(Inner {
                name: name.to_owned(),
                db: RefCell::new(Some(db)),
                client_id,
                durability: options.durability,
                at_rest: RefCell::new(at_rest::AtRest::new(options.at_rest_key.as_ref())),
                writer,
                notices: Notices::join(name),
                last_durability: RefCell::new(None),
                abort_after: Cell::new(None),
                stats: Cell::new(super::ReadStats::default()),
            }),
        })
    }

    /// Deletes database `name`; waits while other connections are open.
    pub async fn delete_database(name: &str) -> Result<()> {
        Rexie::delete(name)
            .await
            .map_err(|error| storage_error(&format!("deleting database {name:?}"), &error))
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// How bodies holding decrypted personal data are sealed at rest.
    fn at_rest(&self) -> std::cell::Ref<'_, at_rest::AtRest> {
        self.inner.at_rest.borrow()
    }

    /// From now on, seals the key store, read-model documents and undo records under `key`
    /// (and opens sealed ones with it); call it right after opening, before any other use.
    pub fn seal_at_rest(&self, key: &[u8; 32]) {
        *self.inner.at_rest.borrow_mut() = at_rest::AtRest::new(Some(key));
    }

    /// This database's salt for deriving its at-rest key from a secret: 16 random bytes made
    /// once, at the first call, and kept in `meta` (a salt is not secret, only unique).
    pub async fn at_rest_salt(&self) -> Result<Vec<u8>> {
        at_rest::salt(self).await
    }

    /// The durability of command commits.
    pub fn durability(&self) -> Durability {
        self.inner.durability
    }

    /// The durability the browser reported for the last commit's transaction
    /// (`IDBTransaction.durability`), once there was one.
    pub fn last_commit_durability(&self) -> Option<String> {
        self.inner.last_durability.borrow().clone()
    }

    /// Closes the connections; later calls fail with a storage error.
    pub fn close(&self) {
        if let Some(db) = self.inner.db.borrow_mut().take() {
            db.close();
        }
        self.inner.writer.close();
    }

    /// Calls `listener` with the newest local sequence number each time another store on this
    /// database commits; `None` where `BroadcastChannel` does not exist.
    pub fn subscribe(&self, listener: impl Fn(u64) + 'static) -> Option<ChangeSubscription> {
        self.inner
            .notices
            .as_ref()
            .map(|notices| notices.subscribe(listener))
    }

    fn count(&self, update: impl FnOnce(&mut super::ReadStats)) {
        let mut stats = self.inner.stats.get();
        update(&mut stats);
        self.inner.stats.set(stats);
    }

    fn count_docs_read(&self, docs: usize) {
        self.count(|stats| stats.docs_read += docs as u64);
    }

    /// Test hook: the next commit aborts its transaction after writing `events` events.
    #[doc(hidden)]
    pub fn abort_next_commit_after(&self, events: usize) {
        self.inner.abort_after.set(Some(events));
    }

    fn writer(&self) -> Result<&Writer> {
        Ok(&self.inner.writer)
    }

    fn notices(&self) -> Option<&Notices> {
        self.inner.notices.as_ref()
    }

    fn note_durability(&self, transaction: &web_sys::IdbTransaction) {
        let reported = js_sys::Reflect::get(transaction, &JsValue::from_str("durability")).ok();
        *self.inner.last_durability.borrow_mut() = reported.and_then(|value| value.as_string());
    }

    /// The stream's version, read in a transaction of its own.
    async fn stream_head(&self, stream: &StreamId) -> Result<u64> {
        self.stream_version(stream).await
    }

    pub(crate) fn transaction(
        &self,
        stores: &[&str],
        mode: TransactionMode,
    ) -> Result<rexie::Transaction> {
        let db = self.inner.db.borrow();
        let db = db.as_ref().ok_or_else(|| {
            Error::Storage(format!("database {:?} is closed", self.inner.name).into())
        })?;
        db.transaction(stores, mode)
            .map_err(|error| storage_error("starting a transaction", &error))
    }

    /// Reads one record by key from `store_name`, decoding its body.
    async fn get_body<T: serde::de::DeserializeOwned>(
        &self,
        store_name: &str,
        key: JsValue,
    ) -> Result<Option<T>> {
        let tx = self.transaction(&[store_name], TransactionMode::ReadOnly)?;
        let store = tx
            .store(store_name)
            .map_err(|e| storage_error(store_name, &e))?;
        let record = store
            .get(key)
            .await
            .map_err(|e| storage_error(store_name, &e))?;
        record.map(|record| from_body(&record)).transpose()
    }
}

/// IndexedDB counts in u32; a larger limit means "all".
fn page_limit(limit: usize) -> u32 {
    u32::try_from(limit).unwrap_or(u32::MAX)
}
