//! `SqlStore`: an [`EventStore`](crate::store::EventStore) on a synchronous SQL connection
//! ([`SqlConnection`]), the shape of a Cloudflare Durable Object's SQLite storage
//! (`ctx.storage.sql`).
//!
//! Every write (a commit, a decision and its commit, a sync batch, a projection step) is one
//! SQL transaction: in a failure it is rolled back and nothing is written. A Durable Object is
//! one single-threaded writer of its database, so a store holds two things in memory between
//! transactions: the highest local sequence number used and a filter of the event ids stored
//! (64-bit digests, read once on the first write), through which a commit checks that its
//! event ids are new without an index row per event. A digest that matches is checked exactly
//! against the stored rows. Only one `SqlStore` may write a database at a time.
//!
//! The store counts the rows it writes as a Durable Object bills them ([`SqlStore::rows_written`]):
//! each table row, plus an index entry for each write that changes an indexed column. A
//! command's commit writes 2 (its row and its index entry) whatever its number of events,
//! with its outbox entry and snapshot; an idempotency record adds 1 and inline projections
//! their documents, index entries and undo records. Confirming a command's row in a sync
//! rewrites it once (2 more: the row and its moved index entry).
//!
//! Opened with a key ([`SqlStore::open_sealed`]), the store seals its key store, documents and
//! undo records at rest.
//!
//! A sync round also writes its pull checkpoint and the highest sequence number to `meta`.
//!
//! Reads that scan rather than seek, kept off the paths of a command: the first write (the id
//! digests), [`EventLog::read_all`](crate::store::EventLog::read_all)
//! (the log is in sequence order only within its pending and its confirmed part), the event
//! count at the start of a projection rebuild, the purge of expired idempotency records and
//! the exact check of an event id whose digest matched.

mod at_rest;
mod chunks;
mod commit;
mod connection;
mod docs;
mod queue;
mod schema;
mod sync;
mod tails;
mod traits;

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use uuid::Uuid;

pub use self::connection::{Row, SqlConnection, SqlValue};
pub use self::schema::LAYOUT;

use self::at_rest::AtRest;

use super::ReadStats;
use crate::core::{Error, Result};

/// An event store on a synchronous SQL connection. Cloning it gives another handle on the
/// same connection and state.
pub struct SqlStore<C: SqlConnection> {
    conn: Rc<C>,
    client_id: Rc<str>,
    last_seq: Rc<Cell<u64>>,
    ids: Rc<RefCell<Option<HashSet<u64>>>>,
    rows_written: Rc<Cell<u64>>,
    stats: Rc<Cell<ReadStats>>,
    at_rest: Rc<AtRest>,
}

impl<C: SqlConnection> Clone for SqlStore<C> {
    fn clone(&self) -> Self {
        SqlStore {
            conn: self.conn.clone(),
            client_id: self.client_id.clone(),
            last_seq: self.last_seq.clone(),
            ids: self.ids.clone(),
            rows_written: self.rows_written.clone(),
            stats: self.stats.clone(),
            at_rest: self.at_rest.clone(),
        }
    }
}

impl<C: SqlConnection> SqlStore<C> {
    /// Opens the store on `conn`, creating its tables on a new database (with a fresh random
    /// client id) and checking the layout of an existing one.
    pub fn open(conn: C) -> Result<Self> {
        Self::open_with_client_id(conn, Uuid::new_v4().to_string())
    }

    /// Opens the store on `conn`; a new database takes `client_id`, an existing one keeps its own.
    pub fn open_with_client_id(conn: C, client_id: impl Into<String>) -> Result<Self> {
        Self::open_with(conn, client_id.into(), None)
    }

    /// Opens the store on `conn`, sealing its key store and read models at rest under `key`
    /// (see [`SqlStore::at_rest_salt`]).
    pub fn open_sealed(conn: C, key: &[u8; 32]) -> Result<Self> {
        Self::open_with(conn, Uuid::new_v4().to_string(), Some(key))
    }

    /// The salt the host derives this database's at-rest key with (from its secret), made on
    /// the first call and kept in the database.
    pub fn at_rest_salt(conn: &C) -> Result<Vec<u8>> {
        at_rest::salt(conn)
    }

    fn open_with(conn: C, client_id: String, key: Option<&[u8; 32]>) -> Result<Self> {
        let (client_id, last_seq) = schema::create(&conn, &client_id)?;
        Ok(SqlStore {
            conn: Rc::new(conn),
            client_id: client_id.into(),
            last_seq: Rc::new(Cell::new(last_seq)),
            ids: Rc::default(),
            rows_written: Rc::default(),
            stats: Rc::default(),
            at_rest: Rc::new(AtRest::new(key)),
        })
    }

    /// The connection the store runs on.
    pub fn connection(&self) -> &C {
        &self.conn
    }

    /// Rows written since the store was opened, index entries included.
    pub fn rows_written(&self) -> u64 {
        self.rows_written.get()
    }

    /// Sets the counters of reads back to zero.
    pub fn reset_read_stats(&self) {
        self.stats.set(ReadStats::default());
    }

    fn count(&self, update: impl FnOnce(&mut ReadStats)) {
        let mut stats = self.stats.get();
        update(&mut stats);
        self.stats.set(stats);
    }

    /// Runs `work` in one SQL transaction and, when it commits, keeps what it learned.
    fn transact<T>(&self, work: impl FnOnce(&SqlTx<'_, C>) -> Result<T>) -> Result<T> {
        self.load_ids()?;
        let guard = self.ids.borrow();
        let filter = guard.as_ref().expect("loaded above");
        let done = self.connection().transaction(|conn| {
            let tx = SqlTx {
                conn,
                written: Cell::new(0),
                last_seq: Cell::new(self.last_seq.get()),
                new_ids: RefCell::default(),
                filter,
                at_rest: &self.at_rest,
            };
            let value = work(&tx)?;
            Ok((
                value,
                tx.written.get(),
                tx.last_seq.get(),
                tx.new_ids.take(),
            ))
        });
        drop(guard);
        let (value, written, last_seq, new_ids) = done?;
        self.rows_written.set(self.rows_written.get() + written);
        self.last_seq.set(last_seq);
        if let Some(filter) = self.ids.borrow_mut().as_mut() {
            filter.extend(new_ids);
        }
        Ok(value)
    }

    /// Reads the digests of every stored event id, once.
    fn load_ids(&self) -> Result<()> {
        if self.ids.borrow().is_some() {
            return Ok(());
        }
        let mut filter = HashSet::new();
        for row in self.connection().query("SELECT ids FROM commits", &[])? {
            for id in chunks::split_ids(connection::Columns::text(&row, 0)?)? {
                filter.insert(digest(&id));
            }
        }
        *self.ids.borrow_mut() = Some(filter);
        Ok(())
    }
}

/// The 64-bit digest of an event id the filter holds.
fn digest(id: &Uuid) -> u64 {
    let (high, low) = id.as_u64_pair();
    high ^ low.rotate_left(17)
}

/// One transaction of a [`SqlStore`]: its connection, and what it wrote and learned.
pub(crate) struct SqlTx<'a, C> {
    conn: &'a C,
    written: Cell<u64>,
    last_seq: Cell<u64>,
    new_ids: RefCell<HashSet<u64>>,
    filter: &'a HashSet<u64>,
    at_rest: &'a AtRest,
}

impl<C: SqlConnection> SqlTx<'_, C> {
    /// Runs a write; `indexes` is the number of index entries each row it writes changes.
    fn write(&self, sql: &str, params: &[SqlValue], indexes: u64) -> Result<u64> {
        let rows = self.conn.execute(sql, params)?;
        self.written.set(self.written.get() + rows * (1 + indexes));
        Ok(rows)
    }

    /// The next local sequence number.
    fn next_seq(&self) -> u64 {
        self.last_seq.set(self.last_seq.get() + 1);
        self.last_seq.get()
    }

    /// Notes event ids written, for the filter.
    fn note_ids(&self, ids: impl IntoIterator<Item = Uuid>) {
        self.new_ids
            .borrow_mut()
            .extend(ids.into_iter().map(|id| digest(&id)));
    }

    /// Whether the filter may hold `id` (a `false` is certain).
    fn may_hold(&self, id: &Uuid) -> bool {
        let digest = digest(id);
        self.filter.contains(&digest) || self.new_ids.borrow().contains(&digest)
    }
}

/// Runs a future that cannot wait (every read of a transaction answers at once) to its end.
fn run_now<T>(future: impl Future<Output = Result<T>>) -> Result<T> {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(result) => result,
        Poll::Pending => Err(Error::Storage(
            "a projection awaited something outside the store's transaction".into(),
        )),
    }
}
