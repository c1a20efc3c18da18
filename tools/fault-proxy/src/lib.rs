//! `fault-proxy`: an HTTP/1.1 proxy for loopback tests that breaks requests on purpose.
//!
//! It sits between clients and `fieldstream-server` and, by seeded random choice (see
//! [`FaultPlan`]), drops requests, drops answers after the server handled them (lost
//! acknowledgements), sends requests twice, holds answers back (which reorders them across
//! connections), answers 500 or 503, and resets connections. `text/event-stream` answers are
//! streamed through as they come. Every request is logged as one NDJSON [`Record`], and a seed
//! reproduces every decision (see [`plan`]).
//!
//! ```no_run
//! # async fn example() -> Result<(), fault_proxy::StartError> {
//! use fault_proxy::{FaultPlan, FaultProxy, ProxyConfig};
//! let plan = FaultPlan { drop_response: 0.3, ..FaultPlan::none(42) };
//! let proxy = FaultProxy::start(ProxyConfig::new("127.0.0.1:8080".parse().unwrap(), plan)).await?;
//! println!("clients talk to http://{}", proxy.addr());
//! let stats = proxy.stop().await;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod plan;
pub mod record;
mod service;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use plan::{Decision, Fault, FaultPlan, InvalidPlan};
pub use record::{Record, Stats};
use service::{Hangup, Shared};

/// Where the proxy listens, where it forwards to, what it breaks and where it logs.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// The address to listen on; port 0 picks a free one (see [`FaultProxy::addr`]).
    pub listen: SocketAddr,
    /// The server's address.
    pub upstream: SocketAddr,
    /// What to break, and the seed.
    pub plan: FaultPlan,
    /// The NDJSON log file (created or truncated); `None` keeps only the stats.
    pub log: Option<PathBuf>,
}

impl ProxyConfig {
    /// A proxy on a free loopback port in front of `upstream`, without a log file.
    pub fn new(upstream: SocketAddr, plan: FaultPlan) -> Self {
        ProxyConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            upstream,
            plan,
            log: None,
        }
    }
}

/// Why the proxy could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The plan's probabilities are out of range.
    #[error(transparent)]
    Plan(#[from] InvalidPlan),
    /// The socket or the log file could not be opened.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// A running proxy; stops (without flushing the log) when dropped, or with [`FaultProxy::stop`].
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl FaultProxy {
    /// Binds the listening socket and starts serving in the background.
    pub async fn start(config: ProxyConfig) -> Result<FaultProxy, StartError> {
        config.plan.validate()?;
        let listener = TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        let shared = Arc::new(Shared {
            plan: config.plan,
            upstream: config.upstream,
            client,
            journal: record::Journal::new(config.log.as_deref())?,
        });
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, shared.clone(), stopped));
        Ok(FaultProxy {
            addr,
            shared,
            stop,
            task: Some(task),
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The counts so far.
    pub fn stats(&self) -> Stats {
        self.shared.journal.stats()
    }

    /// Stops accepting, closes every connection, flushes the log and returns the final counts.
    pub async fn stop(mut self) -> Stats {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        let _ = self.shared.journal.flush();
        self.shared.journal.stats()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    let mut next_conn = 0u64;
    loop {
        tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => break,
            Some(_) = connections.join_next() => {}
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                next_conn += 1;
                connections.spawn(serve_connection(stream, next_conn, shared.clone()));
            }
        }
    }
    connections.shutdown().await;
}

async fn serve_connection(stream: TcpStream, conn: u64, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    // A second handle on the same socket, so a reset can set SO_LINGER 0 while hyper owns it.
    let Ok(std_stream) = stream.into_std() else {
        return;
    };
    let Ok(twin) = std_stream.try_clone() else {
        return;
    };
    let Ok(stream) = TcpStream::from_std(std_stream) else {
        return;
    };
    let (hangup, mut hung_up) = watch::channel(None);
    let hangup = Arc::new(hangup);
    let service =
        service_fn(move |request| service::handle(shared.clone(), conn, hangup.clone(), request));
    let connection = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    let how = tokio::select! {
        _ = connection => None,
        how = hung_up.wait_for(Option::is_some) => how.ok().and_then(|how| *how),
    };
    if how == Some(Hangup::Reset) {
        let _ = socket2::SockRef::from(&twin).set_linger(Some(Duration::ZERO));
    }
    // Dropping the connection and then the twin closes the socket: FIN, or RST after linger 0.
}
