//! Scenario 1, the server's half: writers append through the fault proxy at 30% lost answers,
//! 10% duplicated requests and 10% errors (plus a few dropped requests, resets and delays), on
//! the real server binary over SQLite and over PostgreSQL, while two live subscribers follow the
//! tenant through the same proxy (every stream cut within a second, and refused and delayed like
//! any request), reconnecting with `Last-Event-ID`. Afterwards every acknowledged event is stored
//! exactly once where its acknowledgement said, nothing else is stored, and each subscriber
//! received every position exactly once, in order.
//!
//! Each command appends 1 to 3 events at once. Bounded: 4 writers × 150 commands.
//! `FIELDSTREAM_SOAK=1`: 4 × 2,500. The seed is
//! `FIELDSTREAM_FAULT_SEED` (default 1); the proxy's NDJSON log is written to
//! `target/tmp/fault-proxy-<backend>-<seed>.ndjson`.

use std::time::{Duration, Instant};

use fault_proxy::{Fault, FaultPlan, FaultProxy, ProxyConfig};
use serde_json::json;
use tokio::sync::watch;

use crate::follower::follow;
use crate::ledger::{judge, read_everything};
use crate::mode::{heavy, pick, report};
use crate::process::ServerProcess;
use crate::support::{postgres_database, sqlite_path, token};
use crate::writer::Writer;

const WRITERS: u64 = 4;
const STREAMS: u64 = 3;
const FOLLOWERS: usize = 2;

fn seed() -> u64 {
    std::env::var("FIELDSTREAM_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

async fn writers_through_the_proxy(database: &str, backend: &str) {
    let _heavy = heavy().await;
    let commands = pick(150, 2_500);
    let seed = seed();
    let server = ServerProcess::start(database, &[]).await;
    let plan = FaultPlan {
        drop_request: 0.03,
        drop_response: 0.30,
        duplicate: 0.10,
        error: 0.10,
        reset: 0.02,
        delay: 0.20,
        max_delay: Duration::from_millis(20),
        stream_cut: 1.0,
        max_stream_life: Duration::from_millis(1000),
        ..FaultPlan::none(seed)
    };
    let log = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("fault-proxy-{backend}-{seed}.ndjson"));
    let config = ProxyConfig {
        log: Some(log.clone()),
        ..ProxyConfig::new(server.addr(), plan)
    };
    let proxy = FaultProxy::start(config).await.expect("start the proxy");
    let t = token("field-sales", "rep", None);
    let (until, target) = watch::channel(None);
    let followers: Vec<_> = (0..FOLLOWERS)
        .map(|_| {
            let base = format!("http://{}", proxy.addr());
            tokio::spawn(follow(base, t.clone(), target.clone()))
        })
        .collect();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..WRITERS {
        let (base, t) = (format!("http://{}", proxy.addr()), t.clone());
        tasks.push(tokio::spawn(async move {
            let mut writer = Writer::new(&base, &t, client, seed);
            let mut acks = Vec::new();
            for command in 0..commands {
                let stream = format!("Counter-{}", writer.below(STREAMS));
                let size = 1 + writer.below(3);
                acks.push(writer.increment_by(command, &stream, size).await);
            }
            (acks, writer.tally)
        }));
    }
    let (mut acks, mut resends, mut conflicts) = (Vec::new(), 0, 0);
    for task in tasks {
        let (mine, tally) = task.await.expect("a writer finished");
        acks.extend(mine);
        resends += tally.resends;
        conflicts += tally.conflicts;
    }
    let stored = read_everything(&server.base(), &t).await;
    until.send_replace(Some(stored.len() as u64));
    let mut reconnects = 0;
    for follower in followers {
        let followed = tokio::time::timeout(Duration::from_secs(60), follower)
            .await
            .expect("followers catch up within 60 s")
            .expect("a follower finished");
        let expected: Vec<u64> = (1..=stored.len() as u64).collect();
        assert_eq!(
            followed.positions, expected,
            "every position once, in order"
        );
        reconnects += followed.reconnects;
    }
    let elapsed = started.elapsed();
    let stats = proxy.stop().await;
    let verdict = judge(&stored, &acks);

    assert_eq!(
        verdict.commands,
        WRITERS * commands,
        "every command acknowledged"
    );
    assert_eq!(
        (
            verdict.lost,
            verdict.duplicated,
            verdict.torn,
            verdict.unacknowledged
        ),
        (0, 0, 0, 0),
        "{verdict:?}"
    );
    assert_eq!(verdict.stored, verdict.acked);
    assert_eq!(stats.upstream_5xx, 0, "the server itself never failed");
    assert_eq!(server.logged_errors(), 0, "the server logged no error");
    for fault in [Fault::DropResponse, Fault::Duplicate, Fault::Error] {
        assert!(stats.count(fault) > 0, "{fault:?} was injected: {stats:?}");
    }
    assert!(resends > 0 && conflicts > 0 && reconnects > 0);
    report(
        &format!("proxy-{backend}"),
        json!({
            "seed": seed,
            "writers": WRITERS,
            "commandsPerWriter": commands,
            "verdict": verdict,
            "resends": resends,
            "conflicts": conflicts,
            "followers": FOLLOWERS,
            "followerReconnects": reconnects,
            "proxy": stats,
            "seconds": elapsed.as_secs_f64(),
            "log": log,
        }),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writers_through_faults_lose_and_duplicate_nothing() {
    let (_dir, path) = sqlite_path();
    writers_through_the_proxy(&path, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_writers_through_faults_lose_and_duplicate_nothing() {
    writers_through_the_proxy(&postgres_database().await, "postgres").await;
}
