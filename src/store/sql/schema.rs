//! The SQL layout of a [`SqlStore`](super::SqlStore), created on open, and its `meta` values.
//!
//! A command's events are one row of `commits`, keyed by `(stream, first_version)`, whatever
//! their number; its outbox entry and the snapshot taken with it are columns of that row (a
//! stream's latest snapshot is the one of its last row that has one). The one secondary index,
//! `commits_by_order` on `(first_position, first_seq)`, finds pending rows in local order
//! (their position is `NULL`) and confirmed rows in server order. Every other table is keyed
//! by its primary key alone (`WITHOUT ROWID` or an integer key), so a row written there is
//! one row billed.
//!
//! | Layout | Change |
//! |---|---|
//! | 1 | `meta`, `commits` (+ `commits_by_order`), `idempotency`, `rejected`, `keys`, `docs`, `doc_index`, `undo`, `projections`, `dead_letters` |

use super::connection::{Columns, SqlConnection, SqlValue};
use crate::core::{Error, Result};

/// The layout this code reads and writes.
pub const LAYOUT: u64 = 1;

/// How many secondary indexes `commits` has: a row written there that changes an indexed
/// column also writes this many index entries.
pub const COMMITS_INDEXES: u64 = 1;

const META: &str =
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID";

const TABLES: &[&str] = &[
    META,
    "CREATE TABLE IF NOT EXISTS commits (
        stream TEXT NOT NULL,
        first_version INTEGER NOT NULL,
        last_version INTEGER NOT NULL,
        first_seq INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        first_position INTEGER,
        last_position INTEGER,
        ids TEXT NOT NULL,
        events TEXT NOT NULL,
        outbox TEXT,
        snapshot TEXT,
        PRIMARY KEY (stream, first_version)
    ) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS commits_by_order ON commits (first_position, first_seq)",
    "CREATE TABLE IF NOT EXISTS idempotency (
        key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL, body TEXT NOT NULL
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS rejected (
        n INTEGER PRIMARY KEY, command_id TEXT NOT NULL, body TEXT NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS keys (id INTEGER PRIMARY KEY, body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS docs (
        ns TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL, entries TEXT NOT NULL,
        PRIMARY KEY (ns, key)
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS doc_index (
        ns TEXT NOT NULL, ix TEXT NOT NULL, value NOT NULL, key TEXT NOT NULL,
        PRIMARY KEY (ns, ix, value, key)
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS undo (
        ns TEXT NOT NULL, seq INTEGER NOT NULL, key TEXT NOT NULL, before TEXT,
        PRIMARY KEY (ns, seq, key)
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS projections (name TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS dead_letters (
        projection TEXT NOT NULL, n INTEGER NOT NULL, body TEXT NOT NULL,
        PRIMARY KEY (projection, n)
    ) WITHOUT ROWID",
];

/// Creates the tables that do not exist yet and checks the layout; answers the client id
/// (`fresh_id` on a new database) and the highest local sequence number ever used.
pub fn create<C: SqlConnection>(conn: &C, fresh_id: &str) -> Result<(String, u64)> {
    conn.transaction(|conn| {
        for sql in TABLES {
            conn.execute(sql, &[])?;
        }
        match get(conn, "layout")? {
            None => {
                set(conn, "layout", &LAYOUT.to_string())?;
            }
            Some(layout) if layout == LAYOUT.to_string() => {}
            Some(layout) => {
                return Err(Error::Storage(
                    format!("database layout {layout} is newer than this code's {LAYOUT}").into(),
                ));
            }
        }
        let client_id = match get(conn, "client_id")? {
            Some(id) => id,
            None => {
                set(conn, "client_id", fresh_id)?;
                fresh_id.to_owned()
            }
        };
        // Rows are made confirmed only by sync batches, which keep `last_seq` in `meta`; the
        // newest pending row holds the highest number used since.
        let stored = conn.query(
            "SELECT last_seq FROM commits WHERE first_position IS NULL
             ORDER BY first_seq DESC LIMIT 1",
            &[],
        )?;
        let in_rows = stored.first().map(|row| row.opt_int(0)).transpose()?;
        let floor = get(conn, "last_seq")?.and_then(|text| text.parse::<u64>().ok());
        let last_seq = in_rows.flatten().unwrap_or(0).max(floor.unwrap_or(0));
        Ok((client_id, last_seq))
    })
}

/// Creates the `meta` table if it does not exist yet (what a value read before the store is
/// opened needs).
pub fn create_meta<C: SqlConnection>(conn: &C) -> Result<()> {
    conn.execute(META, &[])?;
    Ok(())
}

/// A `meta` value.
pub fn get<C: SqlConnection>(conn: &C, key: &str) -> Result<Option<String>> {
    let rows = conn.query("SELECT value FROM meta WHERE key = ?1", &[key.into()])?;
    rows.first()
        .map(|row| row.text(0).map(str::to_owned))
        .transpose()
}

/// Sets a `meta` value; answers the rows written.
pub fn set<C: SqlConnection>(conn: &C, key: &str, value: &str) -> Result<u64> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[key.into(), SqlValue::from(value)],
    )
}
