//! The PostgreSQL backend: one database shared by any number of server processes.
//!
//! Appends go through one group-commit writer per tenant ([`write`]): its write statement locks
//! the tenant's head row until it commits, so positions follow commit order with no gaps, and
//! `NOTIFY` (see [`pg_listen`](super::pg_listen)) wakes every process's subscribers.
//!
//! The reads, the key service and imports are the shared algorithm of [`super::sql`]; this file
//! holds PostgreSQL's SQL where it differs and its locking.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection, Pool, Postgres};
use uuid::Uuid;

use super::group::GroupCommit;
use super::pg_listen::{self, Listening};
use super::sql::{SerialWrite, SqlBackend, SqlDialect};
use super::{Backend, Durability, ImportTx, Notifier, StoreError};
use crate::kek::Kek;
use write::PostgresWriter;

mod write;

/// A connection given back to the pool this recently was live: it is handed out again without
/// the round trip that checks it (an older one is checked first).
const RECENTLY_USED: Duration = Duration::from_secs(1);

/// Serialises, to its transaction's end, the processes that change the schema.
const SCHEMA_LOCK: &str = "SELECT pg_advisory_xact_lock(7286346518361)";

/// Serialises, to its transaction's end, the key-service writes of tenant `$1`.
const KEY_LOCK: &str = "SELECT pg_advisory_xact_lock(hashtext('fieldstream_keys:' || $1))";

const SCHEMA: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS fieldstream_heads (
        tenant TEXT PRIMARY KEY,
        position BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS fieldstream_events (
        tenant TEXT NOT NULL,
        position BIGINT NOT NULL,
        id UUID NOT NULL,
        stream TEXT NOT NULL,
        version BIGINT NOT NULL,
        type TEXT NOT NULL,
        schema_version BIGINT NOT NULL,
        data TEXT NOT NULL,
        metadata TEXT NOT NULL,
        recorded_at BIGINT NOT NULL,
        PRIMARY KEY (tenant, position),
        UNIQUE (tenant, id),
        UNIQUE (tenant, stream, version))",
];

/// Events in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresBackend {
    pool: PgPool,
    notifier: Notifier,
    _listener: Arc<Listening>,
    commits: GroupCommit<PostgresWriter>,
}

impl PostgresBackend {
    /// Connects to `url`, creates the tables if needed and starts listening for other processes;
    /// fails unless commits are durable (`fsync` on, `synchronous_commit` not off).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options: PgConnectOptions = url.parse()?;
        let options = options.options([("synchronous_commit", "on")]);
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(30))
            .test_before_acquire(false)
            .before_acquire(|connection, meta| {
                Box::pin(async move {
                    if meta.idle_for >= RECENTLY_USED {
                        connection.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await?;
        let mut tx = pool.begin().await?;
        // Serialises the CREATEs of processes that start at the same time.
        sqlx::query(SCHEMA_LOCK).execute(&mut *tx).await?;
        for statement in SCHEMA.iter().chain(&super::key_tables::SCHEMA) {
            sqlx::query(*statement).execute(&mut *tx).await?;
        }
        tx.commit().await?;

        let notifier = Notifier::default();
        let origin = pg_listen::new_origin();
        let listener = Arc::new(pg_listen::listen(&pool, notifier.clone(), origin.clone()).await?);
        let commits = GroupCommit::new(PostgresWriter {
            pool: pool.clone(),
            notifier: notifier.clone(),
            origin,
        });
        let backend = PostgresBackend {
            pool,
            notifier,
            _listener: listener,
            commits,
        };
        backend.durability().await?;
        Ok(backend)
    }
}

impl SqlDialect for Postgres {
    type StoredId = Uuid;

    const SNAPSHOT_BEGIN: Option<&'static str> =
        Some("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");

    const RAISE_HEAD: &'static str = "INSERT INTO fieldstream_heads (tenant, position) \
        VALUES ($1, $2) ON CONFLICT (tenant) DO UPDATE \
        SET position = GREATEST(fieldstream_heads.position, excluded.position)";

    const LEGACY_KEYS_EXIST: &'static str = "SELECT COUNT(*) FROM information_schema.tables \
        WHERE table_schema = current_schema() AND table_name = 'fieldstream_subject_keys'";

    fn store_id(id: Uuid) -> Uuid {
        id
    }

    fn load_id(stored: Uuid) -> Result<Uuid, StoreError> {
        Ok(stored)
    }
}

impl PostgresBackend {
    /// Moves keys kept in clear by an older version into the sealed table (see
    /// [`crate::backend::legacy`]); how many, when there was such a table.
    pub async fn migrate_plain_keys(&self, kek: &Kek) -> Result<Option<u64>, StoreError> {
        super::sql::migrate_plain_keys(self, kek).await
    }
}

impl SqlBackend for PostgresBackend {
    type Db = Postgres;
    type Writer = PostgresWriter;

    fn readers(&self) -> &Pool<Postgres> {
        &self.pool
    }

    fn writers(&self) -> &Pool<Postgres> {
        &self.pool
    }

    fn commits(&self) -> &GroupCommit<PostgresWriter> {
        &self.commits
    }

    fn subscribers(&self) -> &Notifier {
        &self.notifier
    }

    /// Under a per-tenant advisory lock, so a forget and an added key never interleave and the
    /// numbers of forgotten subjects follow commit order.
    async fn begin_key_write(&self, tenant: &str) -> Result<SerialWrite<Postgres>, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(KEY_LOCK).bind(tenant).execute(&mut *tx).await?;
        Ok(SerialWrite::new(tx, None))
    }

    /// One process moves them; the others then find no table.
    async fn begin_key_migration(&self) -> Result<SerialWrite<Postgres>, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(SCHEMA_LOCK).execute(&mut *tx).await?;
        Ok(SerialWrite::new(tx, None))
    }

    /// Nothing: a forget overwrites the key rows before deleting them, and the dead row versions
    /// (and the WAL) PostgreSQL keeps until vacuum and recycling hold only keys sealed under the
    /// KEK, which is not in the database.
    async fn purge_deleted(&self) {}

    async fn check_durability(&self) -> Result<Durability, StoreError> {
        let mut connection = self.pool.acquire().await?;
        let fsync: String = sqlx::query_scalar("SHOW fsync")
            .fetch_one(&mut *connection)
            .await?;
        let synchronous_commit: String = sqlx::query_scalar("SHOW synchronous_commit")
            .fetch_one(&mut *connection)
            .await?;
        let text = format!("postgres: fsync={fsync} synchronous_commit={synchronous_commit}");
        if fsync != "on" || synchronous_commit == "off" {
            return Err(StoreError::NotDurable(text));
        }
        Ok(Durability(text))
    }

    async fn start_import(&self) -> Result<ImportTx, StoreError> {
        let mut tx = self.pool.begin().await?;
        // No append of any tenant runs while the import fills the tables.
        sqlx::query("LOCK TABLE fieldstream_heads, fieldstream_events IN EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
        Ok(ImportTx::Postgres(SerialWrite::new(tx, None)))
    }
}
