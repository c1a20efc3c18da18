//! Power-loss durability, checked rather than read from the code: under `strace`, every
//! acknowledged append is preceded by a flush to disk (`fsync` or `fdatasync`), in the SQLite
//! server process and in PostgreSQL's own processes for the server's connections. A SIGKILL
//! test cannot tell `synchronous=FULL` from `OFF`; this one can: without a flush per commit, the
//! count falls short of the acknowledgements.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use sqlx::Connection;

use crate::process::ServerProcess;
use crate::support::{
    append_body, event, postgres_admin_url, postgres_database, sqlite_path, token,
};

const APPENDS: usize = 30;

/// `strace` attached to `pid` and every thread and child it has or makes, writing the flushes
/// it sees to `out`.
struct Tracer {
    child: tokio::process::Child,
}

impl Tracer {
    async fn attach(pid: u32, out: &Path) -> Tracer {
        let child = tokio::process::Command::new("strace")
            .args(["-f", "-qq", "-e", "trace=fsync,fdatasync", "-o"])
            .arg(out)
            .args(["-p", &pid.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("strace (installed by scripts/setup.sh)");
        // strace prints nothing when it has attached; give it time to attach to every thread.
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        Tracer { child }
    }

    /// Detaches (SIGINT, so that strace lets the traced processes go on) and waits.
    async fn detach(mut self) {
        let pid = self.child.id().expect("strace runs").to_string();
        let status = std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap();
        assert!(status.success());
        tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("strace detaches")
            .unwrap();
    }
}

/// The flush calls in an strace output, each with the id of the process or thread that made it.
fn flushes(trace: &Path) -> Vec<u32> {
    std::fs::read_to_string(trace)
        .unwrap()
        .lines()
        .filter(|line| line.contains("fsync(") || line.contains("fdatasync("))
        .filter_map(|line| line.split_whitespace().next()?.parse().ok())
        .collect()
}

async fn append_one_by_one(server: &ServerProcess) {
    let http = reqwest::Client::new();
    let t = token("t", "writer", None);
    for i in 0..APPENDS {
        let answer = http
            .post(format!("{}/v1/streams/Order-1", server.base()))
            .bearer_auth(&t)
            .json(&append_body(json!(i), vec![event("E", json!(i))]))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "append {i} acknowledged");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_append_is_flushed_on_sqlite() {
    let _heavy = crate::mode::heavy().await;
    let (dir, path) = sqlite_path();
    let server = ServerProcess::start(&path, &[]).await;
    let trace = dir.path().join("trace.txt");
    let tracer = Tracer::attach(server.pid(), &trace).await;
    append_one_by_one(&server).await;
    tracer.detach().await;
    let count = flushes(&trace).len();
    crate::mode::report(
        "durability sqlite",
        json!({"acknowledgedAppends": APPENDS, "flushes": count}),
    );
    assert!(
        count >= APPENDS,
        "{count} flushes for {APPENDS} acknowledged appends"
    );
    assert_eq!(server.logged_errors(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_append_is_flushed_on_postgres() {
    let _heavy = crate::mode::heavy().await;
    let database = postgres_database().await;
    let mut admin = sqlx::PgConnection::connect(&postgres_admin_url())
        .await
        .unwrap();
    let data: String = sqlx::query_scalar("SHOW data_directory")
        .fetch_one(&mut admin)
        .await
        .unwrap();
    let postmaster: u32 = std::fs::read_to_string(Path::new(&data).join("postmaster.pid"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.txt");
    // Attached before the server connects: its connections' processes are forked traced.
    let tracer = Tracer::attach(postmaster, &trace).await;
    let server = ServerProcess::start(&database, &[]).await;
    append_one_by_one(&server).await;
    let name = database.rsplit('/').next().unwrap().to_owned();
    let ours: Vec<i32> = sqlx::query_scalar("SELECT pid FROM pg_stat_activity WHERE datname = $1")
        .bind(&name)
        .fetch_all(&mut admin)
        .await
        .unwrap();
    tracer.detach().await;
    let count = flushes(&trace)
        .into_iter()
        .filter(|pid| ours.contains(&(*pid as i32)))
        .count();
    crate::mode::report(
        "durability postgres",
        json!({"acknowledgedAppends": APPENDS, "flushesByTheServersConnections": count}),
    );
    assert!(
        count >= APPENDS,
        "{count} flushes for {APPENDS} acknowledged appends"
    );
}
