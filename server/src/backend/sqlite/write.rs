//! The SQLite side of group commit: one writer for the whole database. A group runs inside
//! `BEGIN IMMEDIATE` under the backend's write lock, so nothing (no other process either) writes
//! between its read and its write: each tenant's part is one read (stored ids, stream versions
//! and the head, in one statement), one insert and one head update, and the group one commit.

use std::collections::HashMap;
use std::sync::Arc;

use fieldstream::core::Timestamp;
use sqlx::sqlite::SqlitePool;
use sqlx::{QueryBuilder, Row as _, Sqlite, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};
use uuid::Uuid;

use crate::backend::decide::StoredId;
use crate::backend::group::{Dialect, Row, WriteError};
use crate::backend::plan::Known;
use crate::backend::rows::{EncodedEvent, signed, unsigned};
use crate::backend::sql::events::EventRows;
use crate::backend::{Notifier, StoreError};

/// The writer of an SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteWriter {
    /// The connection writes go through.
    pub writer: SqlitePool,
    /// Held by every write of this process (appends, keys, imports).
    pub lock: Arc<Mutex<()>>,
    /// This process's subscribers.
    pub notifier: Notifier,
}

/// A group's transaction, and the heads it read.
pub struct Session {
    tx: Transaction<'static, Sqlite>,
    _lock: OwnedMutexGuard<()>,
    heads: HashMap<String, u64>,
}

impl Dialect for SqliteWriter {
    type Session = Session;
    const PER_TENANT: bool = false;
    // Its read also takes the head, and costs no round trip.
    const GUESSES: bool = false;

    async fn open(&self) -> Result<Session, StoreError> {
        let lock = self.lock.clone().lock_owned().await;
        let tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        Ok(Session {
            tx,
            _lock: lock,
            heads: HashMap::new(),
        })
    }

    async fn lock(&self, _session: &mut Session, _tenant: &str) -> Result<(), StoreError> {
        // The session's `BEGIN IMMEDIATE` excludes every other writer already.
        Ok(())
    }

    async fn lookup(
        &self,
        session: &mut Session,
        tenant: &str,
        ids: &[Uuid],
        streams: &[&str],
    ) -> Result<Known, StoreError> {
        let mut query = QueryBuilder::<Sqlite>::new(
            "SELECT 0 AS kind, id, stream, version, position, recorded_at \
             FROM fieldstream_events WHERE tenant = ",
        );
        query.push_bind(tenant.to_owned()).push(" AND id IN (");
        let mut list = query.separated(", ");
        for id in ids {
            list.push_bind(id.to_string());
        }
        query.push(")");
        if !streams.is_empty() {
            query
                .push(
                    " UNION ALL SELECT 1, NULL, s.column1, (SELECT MAX(version) \
                     FROM fieldstream_events WHERE tenant = ",
                )
                .push_bind(tenant.to_owned())
                .push(" AND stream = s.column1), NULL, NULL FROM (VALUES ");
            let mut values = query.separated(", ");
            for stream in streams {
                values
                    .push("(")
                    .push_bind_unseparated((*stream).to_owned())
                    .push_unseparated(")");
            }
            query.push(") AS s");
        }
        query
            .push(
                " UNION ALL SELECT 2, NULL, NULL, NULL, position, NULL FROM fieldstream_heads \
                 WHERE tenant = ",
            )
            .push_bind(tenant.to_owned());
        let mut known = Known::default();
        for row in query.build().fetch_all(&mut *session.tx).await? {
            let kind: i64 = row.try_get("kind")?;
            match kind {
                0 => {
                    let id: String = row.try_get("id")?;
                    known.stored.push(StoredId {
                        id: Uuid::parse_str(&id).map_err(|e| StoreError::Data(e.to_string()))?,
                        stream: row.try_get("stream")?,
                        version: unsigned(row.try_get("version")?, "version")?,
                        position: unsigned(row.try_get("position")?, "position")?,
                        recorded_at: Timestamp(row.try_get("recorded_at")?),
                    });
                }
                1 => {
                    let stream: String = row.try_get("stream")?;
                    if let Some(version) = row.try_get::<Option<i64>, _>("version")? {
                        known.versions.insert(stream, unsigned(version, "version")?);
                    }
                }
                _ => known.head = Some(unsigned(row.try_get("position")?, "position")?),
            }
        }
        let head = known.head.unwrap_or(0);
        known.head = Some(head);
        session.heads.insert(tenant.to_owned(), head);
        Ok(known)
    }

    async fn write(
        &self,
        session: &mut Session,
        tenant: &str,
        rows: &[Row<'_>],
        count: u64,
        recorded_at: Timestamp,
    ) -> Result<u64, WriteError> {
        let base = session.heads.get(tenant).copied().unwrap_or(0);
        let encoded = rows
            .iter()
            .map(|row| {
                Ok(EncodedEvent {
                    tenant: tenant.to_owned(),
                    position: signed(base + row.offset)?,
                    id: row.event.id,
                    stream: row.stream.to_owned(),
                    version: signed(row.version)?,
                    event_type: row.event.event_type.clone(),
                    schema_version: row.event.schema_version,
                    data: row.event.data.clone(),
                    metadata: row.event.metadata.clone(),
                    recorded_at: recorded_at.millis(),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        EventRows::<Sqlite>::insert_all(&mut session.tx, encoded).await?;
        let head = base + count;
        sqlx::query(
            "INSERT INTO fieldstream_heads (tenant, position) VALUES (?, ?) \
             ON CONFLICT (tenant) DO UPDATE SET position = excluded.position",
        )
        .bind(tenant.to_owned())
        .bind(signed(head)?)
        .execute(&mut *session.tx)
        .await?;
        session.heads.insert(tenant.to_owned(), head);
        Ok(base)
    }

    async fn close(&self, session: Session) -> Result<(), StoreError> {
        session.tx.commit().await?;
        Ok(())
    }

    fn notifier(&self) -> &Notifier {
        &self.notifier
    }
}
