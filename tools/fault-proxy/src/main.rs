//! The `fault-proxy` command: runs a [`fault_proxy::FaultProxy`] until Ctrl-C, then prints its
//! counts as JSON.
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use fault_proxy::{FaultPlan, FaultProxy, ProxyConfig};

/// A seeded, logging, fault-injecting HTTP/1.1 proxy for loopback tests of fieldstream-server.
#[derive(Debug, Parser)]
#[command(name = "fault-proxy", version, about, long_about = None)]
struct Cli {
    /// Address to listen on (port 0 picks a free port; the first line printed says which).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The server to forward to.
    #[arg(long)]
    upstream: SocketAddr,
    /// Seed of every random choice: the same seed and the same requests give the same faults.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Probability that a request is never forwarded (the connection is closed after a delay).
    #[arg(long, default_value_t = 0.0)]
    drop_request: f64,
    /// Probability that the server's answer is lost (the connection is reset after the server
    /// answered).
    #[arg(long, default_value_t = 0.0)]
    drop_response: f64,
    /// Probability that a request is sent to the server twice at once.
    #[arg(long, default_value_t = 0.0)]
    duplicate: f64,
    /// Probability of an injected 500 or 503 (before forwarding or after the server answered).
    #[arg(long, default_value_t = 0.0)]
    error: f64,
    /// Probability that the connection is reset without forwarding.
    #[arg(long, default_value_t = 0.0)]
    reset: f64,
    /// Probability that an answer is held back, up to --max-delay-ms (reorders answers).
    #[arg(long, default_value_t = 0.0)]
    delay: f64,
    /// The longest delay, in milliseconds.
    #[arg(long, default_value_t = 50)]
    max_delay_ms: u64,
    /// Probability that an event stream is cut at a random moment up to --max-stream-life-ms.
    #[arg(long, default_value_t = 0.0)]
    stream_cut: f64,
    /// The longest life of an event stream picked by --stream-cut, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    max_stream_life_ms: u64,
    /// NDJSON log of every request and decision.
    #[arg(long, value_name = "FILE.ndjson")]
    log: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let plan = FaultPlan {
        seed: cli.seed,
        drop_request: cli.drop_request,
        drop_response: cli.drop_response,
        duplicate: cli.duplicate,
        error: cli.error,
        reset: cli.reset,
        delay: cli.delay,
        max_delay: Duration::from_millis(cli.max_delay_ms),
        stream_cut: cli.stream_cut,
        max_stream_life: Duration::from_millis(cli.max_stream_life_ms),
    };
    let config = ProxyConfig {
        listen: cli.listen,
        upstream: cli.upstream,
        plan,
        log: cli.log,
    };
    let proxy = match FaultProxy::start(config).await {
        Ok(proxy) => proxy,
        Err(error) => {
            eprintln!("fault-proxy: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("listening on http://{}", proxy.addr());
    let _ = tokio::signal::ctrl_c().await;
    let stats = proxy.stop().await;
    println!(
        "{}",
        serde_json::to_string(&stats).expect("stats serialise")
    );
    ExitCode::SUCCESS
}
