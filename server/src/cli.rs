//! Command-line flags (each also read from an environment variable).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The sync server of fieldstream: protocol v1 over HTTP, on SQLite or PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "fieldstream-server", version, about, long_about = None)]
pub struct Cli {
    /// Log filter in tracing's EnvFilter syntax, such as `info` or `fieldstream_server=debug`.
    #[arg(long, env = "FIELDSTREAM_LOG", default_value = "info", global = true)]
    pub log: String,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve protocol v1 (and optionally a static folder) over HTTP.
    Serve(ServeArgs),
    /// Write every event of every tenant to an NDJSON file (a backup).
    Export(ExportArgs),
    /// Load an NDJSON export into an empty database, keeping ids, versions and positions.
    Import(ImportArgs),
}

/// Which database to use.
#[derive(Debug, Args)]
pub struct DatabaseArg {
    /// SQLite file path (or `sqlite:` URL), or `postgres://user:pass@host/db` for PostgreSQL.
    #[arg(long, env = "FIELDSTREAM_DATABASE", default_value = "./fieldstream.db")]
    pub database: String,
}

/// Flags of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArg,
    /// Address and port to listen on (port 0 picks a free port; the log says which).
    #[arg(long, env = "FIELDSTREAM_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// HS256 secret that signs the clients' JWTs (at least 32 bytes recommended). Required unless --dev.
    #[arg(long, env = "FIELDSTREAM_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Turn authentication OFF: every request is tenant `dev`. For local development only.
    #[arg(long, env = "FIELDSTREAM_DEV")]
    pub dev: bool,
    /// Origin allowed to call the API from a browser, such as https://app.example (repeatable;
    /// comma-separated in the environment variable). None by default.
    #[arg(
        long = "cors-origin",
        env = "FIELDSTREAM_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,
    /// Folder served on every path the API does not use (for example the demo app).
    #[arg(long = "static", env = "FIELDSTREAM_STATIC", value_name = "DIR")]
    pub static_dir: Option<PathBuf>,
    /// Largest request body in bytes; larger ones get 413 too_large.
    #[arg(long, env = "FIELDSTREAM_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Most events in one append (and most appends in one batch).
    #[arg(long, env = "FIELDSTREAM_MAX_EVENTS_PER_APPEND", default_value_t = 500)]
    pub max_events_per_append: usize,
    /// Largest event in bytes of its JSON.
    #[arg(long, env = "FIELDSTREAM_MAX_EVENT_BYTES", default_value_t = 64 * 1024)]
    pub max_event_bytes: usize,
    /// Requests per second allowed per token subject (tenant + sub); past it 429 rate_limited. 0 turns it off.
    #[arg(long, env = "FIELDSTREAM_RATE_LIMIT", default_value_t = 100)]
    pub rate_limit: u32,
    /// Seconds between heartbeat comments on an idle subscription.
    #[arg(long, env = "FIELDSTREAM_HEARTBEAT_SECS", default_value_t = 15)]
    pub heartbeat_secs: u64,
}

/// Flags of `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub database: DatabaseArg,
    /// File to write (NDJSON: one event per line, with its tenant).
    #[arg(long, env = "FIELDSTREAM_EXPORT_OUT", value_name = "FILE.ndjson")]
    pub out: PathBuf,
}

/// Flags of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub database: DatabaseArg,
    /// File to read, as written by `export`.
    #[arg(long = "in", env = "FIELDSTREAM_IMPORT_IN", value_name = "FILE.ndjson")]
    pub input: PathBuf,
}
