//! [`AnyBackend`]: the backend a database URL names, delegating to SQLite or PostgreSQL.

use fieldstream::core::StreamId;
use fieldstream::protocol::{ForgottenSubject, ServerEvent};

use super::{
    AppendInput, Appended, Backend, Durability, ExportedEvent, ImportTx, KeyRecord, KeyService,
    KeyView, LogPage, NewKey, Notifier, PageSize, PostgresBackend, PutOutcome, SqliteBackend,
    StoreError,
};
use crate::grants::Grant;

/// The backend a database URL names: PostgreSQL for `postgres://` or `postgresql://`, else SQLite.
#[derive(Debug, Clone)]
pub enum AnyBackend {
    /// An embedded SQLite file.
    Sqlite(SqliteBackend),
    /// A PostgreSQL database shared by any number of server processes.
    Postgres(PostgresBackend),
}

macro_rules! delegate {
    ($self:ident, $backend:ident => $call:expr) => {
        match $self {
            AnyBackend::Sqlite($backend) => $call,
            AnyBackend::Postgres($backend) => $call,
        }
    };
}

impl AnyBackend {
    /// Opens (and creates or migrates) the database `url` names.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        if Self::is_postgres(url) {
            Ok(AnyBackend::Postgres(PostgresBackend::connect(url).await?))
        } else {
            Ok(AnyBackend::Sqlite(SqliteBackend::open(url).await?))
        }
    }

    /// Whether `url` names a PostgreSQL database.
    pub fn is_postgres(url: &str) -> bool {
        url.starts_with("postgres://") || url.starts_with("postgresql://")
    }

    /// The file of an SQLite database `url` names (`None` for PostgreSQL and `:memory:`).
    pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
        if Self::is_postgres(url) {
            return None;
        }
        let path = match url.strip_prefix("sqlite:") {
            Some(_) => {
                use std::str::FromStr;
                sqlx::sqlite::SqliteConnectOptions::from_str(url)
                    .ok()?
                    .get_filename()
                    .to_path_buf()
            }
            None => std::path::PathBuf::from(url),
        };
        (path != std::path::Path::new(":memory:")).then_some(path)
    }

    /// Moves keys kept in clear by an older version into the sealed table; how many, when the
    /// database had such a table.
    pub async fn migrate_plain_keys(
        &self,
        kek: &crate::kek::Kek,
    ) -> Result<Option<u64>, StoreError> {
        delegate!(self, b => b.migrate_plain_keys(kek).await)
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn kind(&self) -> &'static str {
        match self {
            AnyBackend::Sqlite(_) => "sqlite",
            AnyBackend::Postgres(_) => "postgres",
        }
    }
}

impl From<SqliteBackend> for AnyBackend {
    fn from(backend: SqliteBackend) -> Self {
        AnyBackend::Sqlite(backend)
    }
}

impl From<PostgresBackend> for AnyBackend {
    fn from(backend: PostgresBackend) -> Self {
        AnyBackend::Postgres(backend)
    }
}

impl Backend for AnyBackend {
    async fn append_many(
        &self,
        tenant: &str,
        appends: &[AppendInput<'_>],
        conflict: PageSize,
    ) -> Result<Appended, StoreError> {
        delegate!(self, b => b.append_many(tenant, appends, conflict).await)
    }

    async fn read_stream(
        &self,
        tenant: &str,
        stream: &StreamId,
        from: u64,
        page: PageSize,
    ) -> Result<(u64, Vec<ServerEvent>), StoreError> {
        delegate!(self, b => b.read_stream(tenant, stream, from, page).await)
    }

    async fn read_all(
        &self,
        tenant: &str,
        after: u64,
        page: PageSize,
        grants: Option<&[Grant]>,
    ) -> Result<LogPage, StoreError> {
        delegate!(self, b => b.read_all(tenant, after, page, grants).await)
    }

    async fn head(&self, tenant: &str) -> Result<u64, StoreError> {
        delegate!(self, b => b.head(tenant).await)
    }

    async fn readable_head(&self, tenant: &str, grants: &[Grant]) -> Result<u64, StoreError> {
        delegate!(self, b => b.readable_head(tenant, grants).await)
    }

    fn notifier(&self) -> &Notifier {
        delegate!(self, b => b.notifier())
    }

    async fn durability(&self) -> Result<Durability, StoreError> {
        delegate!(self, b => b.durability().await)
    }

    async fn count_events(&self) -> Result<u64, StoreError> {
        delegate!(self, b => b.count_events().await)
    }

    async fn export_page(
        &self,
        after: Option<(&str, u64)>,
        limit: u32,
    ) -> Result<Vec<ExportedEvent>, StoreError> {
        delegate!(self, b => b.export_page(after, limit).await)
    }

    async fn begin_import(&self) -> Result<ImportTx, StoreError> {
        delegate!(self, b => b.begin_import().await)
    }
}

impl KeyService for AnyBackend {
    async fn subject_keys(
        &self,
        tenant: &str,
        subject: &str,
        grants: Option<&[Grant]>,
    ) -> Result<KeyView, StoreError> {
        delegate!(self, b => b.subject_keys(tenant, subject, grants).await)
    }

    async fn put_subject_keys(
        &self,
        tenant: &str,
        subject: &str,
        keys: &[NewKey],
        stream: Option<&str>,
        grants: Option<&[Grant]>,
    ) -> Result<PutOutcome, StoreError> {
        delegate!(self, b => b.put_subject_keys(tenant, subject, keys, stream, grants).await)
    }

    async fn forget_subject(
        &self,
        tenant: &str,
        subject: &str,
        grants: Option<&[Grant]>,
    ) -> Result<Option<KeyView>, StoreError> {
        delegate!(self, b => b.forget_subject(tenant, subject, grants).await)
    }

    async fn forgotten_subjects(
        &self,
        tenant: &str,
        after: u64,
        limit: u32,
        grants: Option<&[Grant]>,
    ) -> Result<Vec<ForgottenSubject>, StoreError> {
        delegate!(self, b => b.forgotten_subjects(tenant, after, limit, grants).await)
    }

    async fn kek_check(&self) -> Result<Option<String>, StoreError> {
        delegate!(self, b => b.kek_check().await)
    }

    async fn store_kek_check(&self, check: &str) -> Result<String, StoreError> {
        delegate!(self, b => b.store_kek_check(check).await)
    }

    async fn export_key_records(
        &self,
        after: Option<&KeyRecord>,
        limit: u32,
    ) -> Result<Vec<KeyRecord>, StoreError> {
        delegate!(self, b => b.export_key_records(after, limit).await)
    }
}
