//! A fresh database per run (an SQLite file in a new temporary folder, or a new PostgreSQL
//! database, dropped afterwards) and the real `fieldstream-server` binary serving it.

use std::process::Stdio;
use std::time::Duration;

use fieldstream_server::{AnyBackend, Backend};
use sqlx::Connection;
use sqlx::postgres::PgConnection;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::{BackendKind, Failure, Target};

/// A database nobody used before this run.
pub struct FreshDatabase {
    /// What the server's `--database` and [`AnyBackend::open`] take.
    pub url: String,
    /// The kind.
    pub kind: BackendKind,
    _folder: Option<TempDir>,
    dropper: Option<(String, String)>,
}

impl FreshDatabase {
    /// Creates an empty database of `target`'s kind (no tables yet).
    pub async fn create(target: &Target) -> Result<Self, Failure> {
        match target.backend {
            BackendKind::Sqlite => {
                let folder = tempfile::Builder::new()
                    .prefix("fieldstream-bench-")
                    .tempdir()?;
                let url = folder.path().join("bench.db").display().to_string();
                Ok(FreshDatabase {
                    url,
                    kind: BackendKind::Sqlite,
                    _folder: Some(folder),
                    dropper: None,
                })
            }
            BackendKind::Postgres => {
                let admin = target
                    .postgres_url
                    .clone()
                    .ok_or("--postgres-url (or FIELDSTREAM_TEST_POSTGRES_URL) is needed")?;
                let (base, _) = admin
                    .rsplit_once('/')
                    .ok_or("the PostgreSQL URL has no database path")?;
                let name = format!(
                    "bench_{}_{}",
                    std::process::id(),
                    uuid::Uuid::new_v4().simple()
                );
                let mut connection = PgConnection::connect(&admin).await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut connection)
                    .await?;
                connection.close().await?;
                Ok(FreshDatabase {
                    url: format!("{base}/{name}"),
                    kind: BackendKind::Postgres,
                    _folder: None,
                    dropper: Some((admin, name)),
                })
            }
        }
    }

    /// Creates the server's tables, exactly as the server does on start.
    pub async fn create_schema(&self) -> Result<(), Failure> {
        AnyBackend::open(&self.url).await?;
        Ok(())
    }

    /// How many events the database holds (all tenants).
    pub async fn count_events(&self) -> Result<u64, Failure> {
        Ok(AnyBackend::open(&self.url).await?.count_events().await?)
    }

    /// Drops a PostgreSQL database (an SQLite folder goes with `self`).
    pub async fn remove(mut self) -> Result<(), Failure> {
        if let Some((admin, name)) = self.dropper.take() {
            let mut connection = PgConnection::connect(&admin).await?;
            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut connection)
                .await?;
            connection.close().await?;
        }
        Ok(())
    }
}

/// The real server binary, serving a database in `--dev` mode (no tokens) with rate limits off.
pub struct ServerProcess {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

impl ServerProcess {
    /// Starts `binary` on `database` on a free loopback port; returns once it listens.
    pub async fn start(binary: &str, database: &str) -> Result<Self, Failure> {
        let mut child = Command::new(binary)
            .args([
                "serve",
                "--dev",
                "--database",
                database,
                "--listen",
                "127.0.0.1:0",
            ])
            .args(["--rate-limit", "0", "--rate-limit-unauthenticated", "0"])
            // Every `--dev` caller is one subject: the fan-out figure holds hundreds of feeds.
            .args(["--max-subscriptions-per-subject", "100000"])
            // The benchmark stores no personal data; PostgreSQL still needs a key-encryption key.
            .env(
                "FIELDSTREAM_KEY_ENCRYPTION_KEY",
                "YmVuY2gta2V5LWJlbmNoLWtleS1iZW5jaC1rZXktYmU=",
            )
            // The listening line and errors only: no log line per request.
            .env("FIELDSTREAM_LOG", "warn,fieldstream_server=info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {binary}: {e} (build it, or set --server-bin)"))?;
        let mut lines = BufReader::new(child.stderr.take().ok_or("no stderr")?).lines();
        let address = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await? {
                if let Some((_, rest)) = line.split_once("listening on http://") {
                    let address = rest.split_whitespace().next().unwrap_or_default();
                    return Ok::<String, Failure>(address.to_owned());
                }
            }
            Err("the server exited before listening".into())
        })
        .await
        .map_err(|_| "the server did not listen within 30 s")??;
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("ERROR") || line.contains("panicked") {
                    eprintln!("server log: {line}");
                }
            }
        });
        Ok(ServerProcess {
            child,
            base: format!("http://{address}"),
        })
    }

    /// Stops the server (SIGKILL: its data is committed already) and waits for it.
    pub async fn stop(mut self) -> Result<(), Failure> {
        self.child.start_kill()?;
        self.child.wait().await?;
        Ok(())
    }
}
