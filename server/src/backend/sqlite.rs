//! The SQLite backend: one embedded file in WAL mode with `synchronous=FULL`.
//!
//! Every write (appends, key-service writes, imports) takes an in-process lock and
//! `BEGIN IMMEDIATE`, so one writer at a time holds the database (also across processes, through
//! SQLite's own lock and a busy timeout) and no transaction fails upgrading a read lock. Appends
//! go through one group-commit writer ([`write`]): what waits is committed together. Writes run
//! on a connection of their own, so readers never hold up a writer that waits for a pooled
//! connection. `secure_delete` is on, so deleted rows (forgotten keys) are overwritten with
//! zeros in the file; after a forget, the WAL is checkpointed and truncated, so the forgotten
//! key's old pages leave the WAL file too (and so do keys in clear once an older database's are
//! moved).
//!
//! The reads, the key service and imports are the shared algorithm of [`super::sql`]; this file
//! holds SQLite's SQL where it differs and its locking.

mod write;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Pool, Sqlite};
use tokio::sync::Mutex;
use uuid::Uuid;

use super::group::GroupCommit;
use super::sql::{SerialWrite, SqlBackend, SqlDialect};
use super::{Backend, Durability, ImportTx, Notifier, StoreError};
use crate::kek::Kek;
use write::SqliteWriter;

const SCHEMA: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS fieldstream_heads (
        tenant TEXT PRIMARY KEY NOT NULL,
        position INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS fieldstream_events (
        tenant TEXT NOT NULL,
        position INTEGER NOT NULL,
        id TEXT NOT NULL,
        stream TEXT NOT NULL,
        version INTEGER NOT NULL,
        type TEXT NOT NULL,
        schema_version INTEGER NOT NULL,
        data TEXT NOT NULL,
        metadata TEXT NOT NULL,
        recorded_at INTEGER NOT NULL,
        PRIMARY KEY (tenant, position),
        UNIQUE (tenant, id),
        UNIQUE (tenant, stream, version))",
];

/// Events in an SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteBackend {
    pool: SqlitePool,
    writer: SqlitePool,
    write_lock: Arc<Mutex<()>>,
    notifier: Notifier,
    in_memory: bool,
    commits: GroupCommit<SqliteWriter>,
}

impl SqliteBackend {
    /// Opens `location` (a path, or a `sqlite:` URL), creating the file (mode 0600) and tables
    /// if needed; fails unless the database is durable (WAL, `synchronous=FULL`).
    /// `:memory:` (or `sqlite::memory:`) gives a private in-memory database, for tests.
    pub async fn open(location: &str) -> Result<Self, StoreError> {
        let options = if location.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(location)?
        } else {
            SqliteConnectOptions::new().filename(location)
        };
        let in_memory = options.get_filename() == std::path::Path::new(":memory:");
        if !in_memory {
            crate::files::ensure_private(options.get_filename()).map_err(|error| {
                StoreError::Data(format!(
                    "cannot create {}: {error}",
                    options.get_filename().display()
                ))
            })?;
        }
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .pragma("secure_delete", "ON")
            .busy_timeout(Duration::from_secs(10));
        // Each connection to `:memory:` is its own database: keep exactly one, forever.
        let (pool, writer) = if in_memory {
            let pool = SqlitePoolOptions::new()
                .min_connections(1)
                .max_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await?;
            (pool.clone(), pool)
        } else {
            let writer = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options.clone())
                .await?;
            let readers = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(options)
                .await?;
            (readers, writer)
        };
        {
            let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
            for statement in SCHEMA.iter().chain(&super::key_tables::SCHEMA) {
                sqlx::query(*statement).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        }
        let write_lock: Arc<Mutex<()>> = Arc::default();
        let notifier = Notifier::default();
        let commits = GroupCommit::new(SqliteWriter {
            writer: writer.clone(),
            lock: write_lock.clone(),
            notifier: notifier.clone(),
        });
        let backend = SqliteBackend {
            pool,
            writer,
            write_lock,
            notifier,
            in_memory,
            commits,
        };
        backend.durability().await?;
        Ok(backend)
    }
}

impl SqlDialect for Sqlite {
    type StoredId = String;

    const SNAPSHOT_BEGIN: Option<&'static str> = None;

    const RAISE_HEAD: &'static str = "INSERT INTO fieldstream_heads (tenant, position) \
        VALUES ($1, $2) ON CONFLICT (tenant) DO UPDATE \
        SET position = MAX(position, excluded.position)";

    const LEGACY_KEYS_EXIST: &'static str = "SELECT COUNT(*) FROM sqlite_master \
        WHERE type = 'table' AND name = 'fieldstream_subject_keys'";

    fn store_id(id: Uuid) -> String {
        id.to_string()
    }

    fn load_id(stored: String) -> Result<Uuid, StoreError> {
        Uuid::parse_str(&stored).map_err(|e| StoreError::Data(format!("stored id: {e}")))
    }
}

impl SqliteBackend {
    /// Moves keys kept in clear by an older version into the sealed table (see
    /// [`crate::backend::legacy`]); how many, when there was such a table.
    pub async fn migrate_plain_keys(&self, kek: &Kek) -> Result<Option<u64>, StoreError> {
        super::sql::migrate_plain_keys(self, kek).await
    }

    /// A write transaction under the writer lock and `BEGIN IMMEDIATE` (so that a second server
    /// process on the same file waits for the lock instead of failing with "database is
    /// locked").
    async fn begin_write(&self) -> Result<SerialWrite<Sqlite>, StoreError> {
        let lock = self.write_lock.clone().lock_owned().await;
        let tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        Ok(SerialWrite::new(tx, Some(lock)))
    }
}

impl SqlBackend for SqliteBackend {
    type Db = Sqlite;
    type Writer = SqliteWriter;

    fn readers(&self) -> &Pool<Sqlite> {
        &self.pool
    }

    fn writers(&self) -> &Pool<Sqlite> {
        &self.writer
    }

    fn commits(&self) -> &GroupCommit<SqliteWriter> {
        &self.commits
    }

    fn subscribers(&self) -> &Notifier {
        &self.notifier
    }

    async fn begin_key_write(&self, _tenant: &str) -> Result<SerialWrite<Sqlite>, StoreError> {
        self.begin_write().await
    }

    async fn begin_key_migration(&self) -> Result<SerialWrite<Sqlite>, StoreError> {
        self.begin_write().await
    }

    /// Copies the WAL into the database file and truncates it (waiting for readers up to the
    /// busy timeout), so deleted keys' old pages leave the WAL file too.
    async fn purge_deleted(&self) {
        if self.in_memory {
            return;
        }
        let result: Result<(i64, i64, i64), sqlx::Error> =
            sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                .fetch_one(&self.writer)
                .await;
        match result {
            Ok((0, _, _)) => {}
            Ok(_) => tracing::warn!("the WAL checkpoint after a forget was blocked by a reader"),
            Err(error) => tracing::warn!(%error, "the WAL checkpoint after a forget failed"),
        }
    }

    async fn check_durability(&self) -> Result<Durability, StoreError> {
        let mut connection = self.writer.acquire().await?;
        let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut *connection)
            .await?;
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut *connection)
            .await?;
        let secure_delete: i64 = sqlx::query_scalar("PRAGMA secure_delete")
            .fetch_one(&mut *connection)
            .await?;
        let text = format!(
            "sqlite: journal_mode={journal} synchronous={synchronous} (2 = FULL) \
             secure_delete={secure_delete}"
        );
        let wal = journal.eq_ignore_ascii_case("wal") || self.in_memory;
        if !wal || synchronous < 2 || secure_delete != 1 {
            return Err(StoreError::NotDurable(text));
        }
        Ok(Durability(text))
    }

    async fn start_import(&self) -> Result<ImportTx, StoreError> {
        Ok(ImportTx::Sqlite(self.begin_write().await?))
    }
}
