//! The real `fieldstream-server` binary as a child process: started on a free loopback port,
//! killed with SIGKILL, restarted on the same port, and watched for errors in its log.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::support::{SECRET, TEST_KEK};

/// The server binary: `FIELDSTREAM_SERVER_BIN` when set (an optimised build, for the soak's
/// figures), else the debug build cargo made for this test.
pub fn binary() -> String {
    std::env::var("FIELDSTREAM_SERVER_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_fieldstream-server").to_owned())
}

/// A running (or killed) server process and how to start it again.
pub struct ServerProcess {
    child: Option<Child>,
    addr: SocketAddr,
    database: String,
    extra: Vec<String>,
    wrapper: Vec<String>,
    errors: Arc<AtomicU64>,
    log: Arc<std::sync::Mutex<Vec<String>>>,
}

impl ServerProcess {
    /// Starts `fieldstream-server serve` on `database` with `extra` flags (rate limits off unless
    /// `extra` sets them; the test key-encryption key unless it names a `--key-file`), on a free
    /// port; returns once it listens.
    pub async fn start(database: &str, extra: &[&str]) -> Self {
        Self::start_wrapped(database, extra, &[]).await
    }

    /// [`ServerProcess::start`], with the binary run by `wrapper` (such as
    /// `["prlimit", "--nofile=128"]`, which runs it with at most 128 open files).
    pub async fn start_wrapped(database: &str, extra: &[&str], wrapper: &[&str]) -> Self {
        let mut server = ServerProcess {
            child: None,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            database: database.to_owned(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
            wrapper: wrapper.iter().map(|s| s.to_string()).collect(),
            errors: Arc::new(AtomicU64::new(0)),
            log: Arc::default(),
        };
        server.launch().await;
        server
    }

    async fn launch(&mut self) {
        let mut command = match self.wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(binary());
                command
            }
            None => Command::new(binary()),
        };
        command.args(["serve", "--database", &self.database]);
        if !self.extra.iter().any(|flag| flag == "--rate-limit") {
            command.args(["--rate-limit", "0"]);
        }
        if !self
            .extra
            .iter()
            .any(|flag| flag == "--rate-limit-unauthenticated")
        {
            command.args(["--rate-limit-unauthenticated", "0"]);
        }
        if !self.extra.iter().any(|flag| flag == "--key-file") {
            command.env("FIELDSTREAM_KEY_ENCRYPTION_KEY", TEST_KEK);
        }
        let mut child = command
            .args(["--listen", &self.addr.to_string()])
            .args(&self.extra)
            .env(
                "FIELDSTREAM_JWT_SECRET",
                std::str::from_utf8(SECRET).unwrap(),
            )
            // The listening line and every error; not a line per request.
            .env("FIELDSTREAM_LOG", "warn,fieldstream_server=info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn the server");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let listening = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.expect("read the log") {
                if let Some((_, address)) = line.split_once("listening on http://") {
                    let address = address.split_whitespace().next().unwrap_or_default();
                    return address.parse::<SocketAddr>().expect("an address");
                }
            }
            panic!("the server exited before listening");
        })
        .await
        .expect("the server listens within 30 s");
        self.addr = listening;
        let (errors, log) = (self.errors.clone(), self.log.clone());
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                log.lock().unwrap().push(line.clone());
                if line.contains("ERROR") || line.contains("panicked") {
                    eprintln!("server log: {line}");
                    errors.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        self.child = Some(child);
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address it listens on (the same across restarts).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The process id of the running server.
    pub fn pid(&self) -> u32 {
        self.child
            .as_ref()
            .and_then(Child::id)
            .expect("the server runs")
    }

    /// Error or panic lines the server logged so far.
    pub fn logged_errors(&self) -> u64 {
        self.errors.load(Ordering::SeqCst)
    }

    /// The log lines (warnings and errors) the server wrote since it started listening.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// SIGKILL (no shutdown of any kind), then waits until the process is gone.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.start_kill().expect("SIGKILL");
            child.wait().await.expect("reap the server");
        }
    }

    /// Starts the server again on the same port and database; returns once it listens.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "kill before restarting");
        self.launch().await;
    }

    /// The server's resident set size in bytes, from `/proc/<pid>/status`.
    pub fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc/<pid>/status");
        let kib: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .expect("VmRSS in /proc/<pid>/status");
        kib * 1024
    }
}
