//! `server-bench`: scenario 7 of fieldstream's benchmarks (issue 9), one repetition per call.
//!
//! - `server-bench appends --arm server|backend|raw --backend sqlite|postgres --writers N ...`
//!   appends on a fresh database and prints one JSON line: elapsed time, appends per second,
//!   per-append latency, and how many events the database holds afterwards.
//! - `server-bench subscribers --backend ... --subscribers 200 --burst 200` starts the real
//!   server on a fresh database, connects live subscribers (`GET /v1/subscribe`), appends a burst
//!   and prints the delivery latency of every (event, subscriber) pair.
//!
//! The orchestrator (`bench/run.mjs`) calls it once per repetition, interleaving the arms, and
//! computes medians, p95 and ratios; this binary only measures one run honestly.
#![forbid(unsafe_code)]

mod arms;
mod database;
mod raw;
mod stats;
mod subscribers;
mod workload;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// One repetition of a server benchmark; prints one JSON line.
#[derive(Debug, Parser)]
#[command(name = "server-bench", about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Appends per second through one arm on a fresh database.
    Appends(AppendArgs),
    /// Delivery latency to live subscribers of a burst of appends.
    Subscribers(SubscriberArgs),
}

/// Which database and server binary a run uses.
#[derive(Debug, Args, Clone)]
pub struct Target {
    /// The database kind; each run gets a fresh database of it.
    #[arg(long, value_enum)]
    pub backend: BackendKind,
    /// A PostgreSQL URL whose role may create databases (`scripts/with-postgres.sh` sets it).
    #[arg(long, env = "FIELDSTREAM_TEST_POSTGRES_URL")]
    pub postgres_url: Option<String>,
    /// The `fieldstream-server` binary (an optimised build for real figures).
    #[arg(
        long,
        env = "FIELDSTREAM_SERVER_BIN",
        default_value = "target/release/fieldstream-server"
    )]
    pub server_bin: String,
}

/// A database kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// An SQLite file in a fresh temporary folder.
    Sqlite,
    /// A fresh database in the PostgreSQL cluster of `--postgres-url`.
    Postgres,
}

/// What does the appending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Arm {
    /// HTTP appends to the real `fieldstream-server` binary over loopback.
    Server,
    /// The server's own backend code called in-process (no HTTP): where the server's time goes.
    Backend,
    /// Plain sqlx: the same rows inserted in the same transactions, no checks.
    Raw,
    /// Plain sqlx plus what gap-free positions in commit order cost: the tenant's head row read,
    /// locked and moved in each transaction.
    RawOrdered,
}

#[derive(Debug, Args)]
struct AppendArgs {
    #[command(flatten)]
    target: Target,
    #[arg(long, value_enum)]
    arm: Arm,
    /// Concurrent writers, each appending to a stream of its own.
    #[arg(long, default_value_t = 1)]
    writers: usize,
    /// Appends per writer.
    #[arg(long, default_value_t = 200)]
    appends: usize,
    /// Events per append (one transaction each).
    #[arg(long, default_value_t = 1)]
    events: usize,
}

#[derive(Debug, Args)]
struct SubscriberArgs {
    #[command(flatten)]
    target: Target,
    /// Live subscribers.
    #[arg(long, default_value_t = 200)]
    subscribers: usize,
    /// Events in the burst (one event per append).
    #[arg(long, default_value_t = 200)]
    burst: usize,
    /// Concurrent writers sending the burst.
    #[arg(long, default_value_t = 4)]
    writers: usize,
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Appends(args) => {
            let shape = workload::Shape {
                writers: args.writers.max(1),
                appends: args.appends.max(1),
                events: args.events.max(1),
            };
            arms::run(&args.target, args.arm, shape).await
        }
        Command::Subscribers(args) => {
            subscribers::run(
                &args.target,
                args.subscribers,
                args.burst.max(1),
                args.writers.max(1),
            )
            .await
        }
    };
    match outcome {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("server-bench: {error}");
            ExitCode::FAILURE
        }
    }
}
