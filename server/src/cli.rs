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
    /// Base URL of an OpenTelemetry collector (such as http://127.0.0.1:4318) to export spans
    /// to over OTLP/HTTP, at `<url>/v1/traces`; http/protobuf unless OTEL_EXPORTER_OTLP_PROTOCOL
    /// is http/json. Not set: nothing is exported.
    #[arg(
        long,
        env = "OTEL_EXPORTER_OTLP_ENDPOINT",
        value_name = "URL",
        global = true
    )]
    pub otlp_endpoint: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve protocol v1 (and optionally a static folder) over HTTP.
    Serve(Box<ServeArgs>),
    /// Write every event and key-service record of every tenant to an NDJSON file (a backup).
    Export(ExportArgs),
    /// Load an NDJSON export into an empty database, keeping ids, versions, positions and keys.
    Import(ImportArgs),
}

/// Which database to use.
#[derive(Debug, Args)]
pub struct DatabaseArg {
    /// SQLite file path (or `sqlite:` URL), or `postgres://user:pass@host/db` for PostgreSQL.
    #[arg(long, env = "FIELDSTREAM_DATABASE", default_value = "./fieldstream.db")]
    pub database: String,
}

/// The key-encryption key that seals the key service's keys at rest.
#[derive(Debug, Args)]
pub struct KeyArg {
    /// File holding the key-encryption key (standard base64 of 32 bytes). The key itself may be
    /// given in FIELDSTREAM_KEY_ENCRYPTION_KEY instead. Without either, SQLite uses (and on
    /// first start makes) `<database>.key`; PostgreSQL needs one, the same for every process.
    #[arg(long, env = "FIELDSTREAM_KEY_FILE", value_name = "FILE")]
    pub key_file: Option<PathBuf>,
}

/// Flags of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArg,
    #[command(flatten)]
    pub key: KeyArg,
    /// Address and port to listen on (port 0 picks a free port; the log says which).
    #[arg(long, env = "FIELDSTREAM_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// File holding the HS256 secret that signs the clients' JWTs (at least 32 bytes; one
    /// trailing newline is ignored). Or give the secret itself in FIELDSTREAM_JWT_SECRET.
    /// Required unless --dev.
    #[arg(long, env = "FIELDSTREAM_JWT_SECRET_FILE", value_name = "FILE")]
    pub jwt_secret_file: Option<PathBuf>,
    /// Refused: a secret on the command line is visible to every user of the machine.
    #[arg(long, hide = true)]
    pub jwt_secret: Option<String>,
    /// When set, a token's `iss` must be exactly this.
    #[arg(long, env = "FIELDSTREAM_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// When set, a token's `aud` must name this (when not set, `aud` is not checked).
    #[arg(long, env = "FIELDSTREAM_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
    /// Longest token lifetime accepted, in seconds: `exp` minus `iat` (or minus now without
    /// `iat`). 0 accepts any.
    #[arg(
        long,
        env = "FIELDSTREAM_MAX_TOKEN_LIFETIME_SECS",
        default_value_t = 86_400
    )]
    pub max_token_lifetime_secs: u64,
    /// Turn authentication OFF: every request is tenant `dev`. For local development only:
    /// refused with a JWT secret, or on a non-loopback address without --dev-allow-remote;
    /// requests must name a loopback host.
    #[arg(long, env = "FIELDSTREAM_DEV")]
    pub dev: bool,
    /// With --dev, listen on any address and answer any `Host` (a shared test machine).
    #[arg(long, env = "FIELDSTREAM_DEV_ALLOW_REMOTE", requires = "dev")]
    pub dev_allow_remote: bool,
    /// When set, `GET /metrics` needs `Authorization: Bearer <this token>`.
    #[arg(long, env = "FIELDSTREAM_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Origin allowed to call the API from a browser, such as https://app.example, or `*` for
    /// any (repeatable; comma-separated in the environment variable). None by default.
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
    /// A read page (and the events of a conflict answer) ends once its events reach this many
    /// bytes; the first event is always sent.
    #[arg(long, env = "FIELDSTREAM_MAX_READ_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_read_bytes: usize,
    /// Requests per second allowed per token subject (tenant + sub; an append in a batch counts
    /// as one), per process; past it 429 rate_limited. 0 turns it off.
    #[arg(long, env = "FIELDSTREAM_RATE_LIMIT", default_value_t = 100)]
    pub rate_limit: u32,
    /// Requests per second allowed per client IP address without a valid token, per process;
    /// past it 429 rate_limited. 0 turns it off.
    #[arg(
        long,
        env = "FIELDSTREAM_RATE_LIMIT_UNAUTHENTICATED",
        default_value_t = 20
    )]
    pub rate_limit_unauthenticated: u32,
    /// Most live subscriptions per token subject (tenant + sub), per process; past it 429.
    #[arg(
        long,
        env = "FIELDSTREAM_MAX_SUBSCRIPTIONS_PER_SUBJECT",
        default_value_t = 16
    )]
    pub max_subscriptions_per_subject: usize,
    /// Most live subscriptions per tenant, per process; past it 429.
    #[arg(
        long,
        env = "FIELDSTREAM_MAX_SUBSCRIPTIONS_PER_TENANT",
        default_value_t = 1_000
    )]
    pub max_subscriptions_per_tenant: usize,
    /// Seconds a client has to send a request's head (request line and headers), counted from
    /// when the connection waits for it; also ends idle keep-alive connections.
    #[arg(long, env = "FIELDSTREAM_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,
    /// Seconds a client has to send a request's whole body; past it 408 request_timeout.
    #[arg(long, env = "FIELDSTREAM_BODY_TIMEOUT_SECS", default_value_t = 30)]
    pub body_timeout_secs: u64,
    /// Seconds a connection may go without a byte moving either way before it is closed
    /// (must exceed --heartbeat-secs, which keeps live subscriptions moving).
    #[arg(long, env = "FIELDSTREAM_IDLE_TIMEOUT_SECS", default_value_t = 60)]
    pub idle_timeout_secs: u64,
    /// Most connections open at once; more wait in the listen backlog. Keep it below the
    /// process's open-file limit (`ulimit -n`) minus about 64.
    #[arg(long, env = "FIELDSTREAM_MAX_CONNECTIONS", default_value_t = 512)]
    pub max_connections: usize,
    /// Largest request head (request line and headers) in bytes; past it 431.
    #[arg(long, env = "FIELDSTREAM_MAX_HEADER_BYTES", default_value_t = 64 * 1024)]
    pub max_header_bytes: usize,
    /// Seconds between heartbeat comments on an idle subscription.
    #[arg(long, env = "FIELDSTREAM_HEARTBEAT_SECS", default_value_t = 15)]
    pub heartbeat_secs: u64,
}

/// Flags of `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub database: DatabaseArg,
    /// File to write (NDJSON: one event or key-service record per line, with its tenant),
    /// created readable by its owner only. Keys stay sealed under the key-encryption key.
    #[arg(long, env = "FIELDSTREAM_EXPORT_OUT", value_name = "FILE.ndjson")]
    pub out: PathBuf,
}

/// Flags of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub database: DatabaseArg,
    /// The key-encryption key of the exported database (its sealed keys must open with it);
    /// serve the restored database with the same key.
    #[command(flatten)]
    pub key: KeyArg,
    /// File to read, as written by `export`.
    #[arg(long = "in", env = "FIELDSTREAM_IMPORT_IN", value_name = "FILE.ndjson")]
    pub input: PathBuf,
}
