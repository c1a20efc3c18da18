//! Scenario 6: load on loopback. 50 writers append (mostly to their own streams, one command in
//! twenty to one shared stream, which makes conflicts) while 200 live subscribers follow the same
//! tenant through `/v1/subscribe`, against the real server binary on SQLite and on PostgreSQL.
//!
//! Measured: throughput, append latency (p50, p99, max), and the server's resident memory from
//! `/proc`. Asserted: no error but the expected conflicts, every subscriber receives every event
//! once and in order, nothing lost or duplicated, and memory stays flat: the peak of the last
//! quarter of the run is at most [`RSS_GROWTH`] times the peak of the first quarter, plus
//! [`RSS_SLACK`]. Bounded: 10 s. `FIELDSTREAM_SOAK=1`: 60 s.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::json;
use tokio::sync::watch;

use crate::ledger::{judge, quantile_ms, read_everything};
use crate::mode::{heavy, pick, report};
use crate::process::ServerProcess;
use crate::support::{postgres_database, sqlite_path, token};
use crate::writer::Writer;

const WRITERS: u64 = 50;
const SUBSCRIBERS: usize = 200;
/// Allowed growth of the peak RSS from the first to the last quarter of the run.
const RSS_GROWTH: f64 = 1.25;
/// Allowed growth on top of that, for allocator and cache noise.
const RSS_SLACK: u64 = 16 * 1024 * 1024;

/// Follows `/v1/subscribe` until it has seen position `last` (once it is known); checks that
/// positions come one by one. Returns how many events it received.
async fn subscriber(
    http: reqwest::Client,
    base: String,
    t: String,
    ready: Arc<watch::Sender<usize>>,
    mut last: watch::Receiver<Option<u64>>,
) -> u64 {
    let response = http
        .get(format!("{base}/v1/subscribe"))
        .bearer_auth(&t)
        .send()
        .await
        .expect("subscribe");
    assert_eq!(response.status(), 200);
    ready.send_modify(|n| *n += 1);
    let mut body = response.bytes_stream();
    let (mut buffer, mut seen) = (String::new(), 0u64);
    loop {
        if last.borrow().is_some_and(|last| seen >= last) {
            return seen;
        }
        tokio::select! {
            chunk = body.next() => {
                let chunk = chunk.expect("the stream stays open").expect("the stream is intact");
                buffer.push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
                while let Some(end) = buffer.find("\n\n") {
                    let message: String = buffer.drain(..end + 2).collect();
                    if let Some(id) = message.lines().find_map(|l| l.strip_prefix("id: ")) {
                        let position: u64 = id.trim().parse().expect("a position");
                        assert_eq!(position, seen + 1, "events arrive once and in order");
                        seen = position;
                    }
                }
            }
            _ = last.changed() => {}
        }
    }
}

fn peak(samples: &[(Duration, u64)], from: Duration, to: Duration) -> u64 {
    samples
        .iter()
        .filter(|(at, _)| *at >= from && *at <= to)
        .map(|(_, rss)| *rss)
        .max()
        .unwrap_or(0)
}

async fn under_load(database: &str, backend: &str) {
    let _heavy = heavy().await;
    let duration = pick(Duration::from_secs(10), Duration::from_secs(60));
    // 200 subscribers of one token: past the default cap of 16 per subject.
    let server = ServerProcess::start(database, &["--max-subscriptions-per-subject", "1000"]).await;
    let (base, t) = (server.base(), token("field-sales", "rep", None));
    let http = reqwest::Client::new();

    let (ready, mut subscribed) = watch::channel(0usize);
    let (last_tx, last_rx) = watch::channel(None::<u64>);
    let ready = Arc::new(ready);
    let subscribers: Vec<_> = (0..SUBSCRIBERS)
        .map(|_| {
            let task = subscriber(
                http.clone(),
                base.clone(),
                t.clone(),
                ready.clone(),
                last_rx.clone(),
            );
            tokio::spawn(task)
        })
        .collect();
    tokio::time::timeout(
        Duration::from_secs(30),
        subscribed.wait_for(|n| *n == SUBSCRIBERS),
    )
    .await
    .expect("200 subscribers connect within 30 s")
    .unwrap();

    let stopping = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let writers: Vec<_> = (0..WRITERS)
        .map(|client| {
            let (base, t, stopping) = (base.clone(), t.clone(), stopping.clone());
            tokio::spawn(async move {
                let mut writer = Writer::new(&base, &t, client, 6);
                let mut acks = Vec::new();
                let mut command = 0;
                while !stopping.load(Ordering::SeqCst) {
                    let stream = match writer.below(20) {
                        0 => "Counter-shared".to_owned(),
                        _ => format!("Order-{client}"),
                    };
                    acks.push(writer.increment(command, &stream).await);
                    command += 1;
                }
                (acks, writer.tally)
            })
        })
        .collect();
    let mut rss = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    while started.elapsed() < duration {
        tick.tick().await;
        rss.push((started.elapsed(), server.rss_bytes()));
    }
    stopping.store(true, Ordering::SeqCst);
    let (mut acks, mut latencies, mut conflicts, mut resends) = (Vec::new(), Vec::new(), 0, 0);
    for writer in writers {
        let (mine, tally) = writer.await.expect("a writer finished without error");
        acks.extend(mine);
        latencies.extend(tally.latencies);
        conflicts += tally.conflicts;
        resends += tally.resends;
    }
    let elapsed = started.elapsed();
    let stored = read_everything(&base, &t).await;
    last_tx.send_replace(Some(stored.len() as u64));
    let delivered = tokio::time::timeout(Duration::from_secs(120), async {
        let mut total = 0;
        for subscriber in subscribers {
            total += subscriber
                .await
                .expect("a subscriber saw every event in order");
        }
        total
    })
    .await
    .expect("every subscriber catches up within 120 s");
    let caught_up = started.elapsed() - elapsed;
    let rss_end = server.rss_bytes();

    let verdict = judge(&stored, &acks);
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
    assert_eq!(resends, 0, "no unknown outcome on a healthy server");
    assert_eq!(server.logged_errors(), 0, "the server logged no error");
    assert_eq!(delivered, stored.len() as u64 * SUBSCRIBERS as u64);
    let quarter = duration / 4;
    let (early, late) = (
        peak(&rss, Duration::ZERO, quarter),
        peak(&rss, duration - quarter, duration),
    );
    let allowed = (early as f64 * RSS_GROWTH) as u64 + RSS_SLACK;
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    let figures = json!({
        "writers": WRITERS,
        "subscribers": SUBSCRIBERS,
        "seconds": elapsed.as_secs_f64(),
        "appendsPerSecond": acks.len() as f64 / elapsed.as_secs_f64(),
        "deliveriesPerSecond": delivered as f64 / (elapsed + caught_up).as_secs_f64(),
        "latencyMs": {
            "p50": quantile_ms(&mut latencies, 0.50),
            "p99": quantile_ms(&mut latencies, 0.99),
            "max": quantile_ms(&mut latencies, 1.0),
        },
        "conflicts": conflicts,
        "otherErrors": 0,
        "subscribersCaughtUpMs": caught_up.as_millis() as u64,
        "verdict": verdict,
        "rssMiB": {"firstQuarterPeak": mib(early), "lastQuarterPeak": mib(late),
                   "end": mib(rss_end), "allowed": mib(allowed)},
    });
    report(&format!("load-{backend}"), figures.clone());
    assert!(conflicts > 0, "the shared stream made conflicts");
    assert!(late <= allowed, "memory grew: {figures}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_load_with_live_subscribers() {
    let (_dir, path) = sqlite_path();
    under_load(&path, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_load_with_live_subscribers() {
    under_load(&postgres_database().await, "postgres").await;
}
