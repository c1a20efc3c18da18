//! Reads within the byte budget, through the real binary on SQLite and PostgreSQL: eight readers
//! pull a log of about 29 MB at once, with the largest `limit`; every page stays within the
//! default budget of 4 MiB, each reader gets every event by following `head`, and the server's
//! memory grows by a bounded amount instead of by the log's size times the readers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::process::ServerProcess;
use crate::support::{append_body, event, postgres_database, sqlite_path, token};

const EVENTS: usize = 480;
const READERS: usize = 8;
const BUDGET: usize = 4 * 1024 * 1024;

async fn fill(server: &ServerProcess, t: &str) {
    let http = reqwest::Client::new();
    for round in 0..EVENTS / 15 {
        let events = (0..15)
            .map(|i| {
                event(
                    "Photo",
                    json!(format!("{round}-{i}-{}", "p".repeat(60_000))),
                )
            })
            .collect();
        let answer = http
            .post(format!("{}/v1/streams/Album-1", server.base()))
            .bearer_auth(t)
            .json(&append_body(json!(round * 15), events))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
    }
}

/// Pulls the whole log page by page; the events seen and the largest page in bytes.
async fn pull(base: String, t: String) -> (usize, usize) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let (mut after, mut seen, mut largest) = (0u64, 0usize, 0usize);
    loop {
        let text = http
            .get(format!("{base}/v1/events?after={after}&limit=10000"))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        largest = largest.max(text.len());
        let page: Value = serde_json::from_str(&text).unwrap();
        let events = page["events"].as_array().unwrap();
        seen += events.len();
        let Some(last) = events.last() else {
            return (seen, largest);
        };
        after = last["position"].as_u64().unwrap();
        if after >= page["head"].as_u64().unwrap() {
            return (seen, largest);
        }
    }
}

async fn parallel_pulls(database: &str, backend: &str) {
    let _heavy = crate::mode::heavy().await;
    let server = ServerProcess::start(database, &[]).await;
    let t = token("t", "reader", None);
    fill(&server, &t).await;
    let before = server.rss_bytes();
    let peak = Arc::new(AtomicU64::new(before));
    let sampler = {
        let (peak, pid) = (peak.clone(), server.pid());
        tokio::spawn(async move {
            loop {
                if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
                    let kib: u64 = status
                        .lines()
                        .find_map(|line| line.strip_prefix("VmRSS:"))
                        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
                        .unwrap_or(0);
                    peak.fetch_max(kib * 1024, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let readers = (0..READERS).map(|_| tokio::spawn(pull(server.base(), t.clone())));
    let results = futures_util::future::join_all(readers).await;
    sampler.abort();
    let grown = peak.load(Ordering::Relaxed).saturating_sub(before);
    let largest = results.iter().map(|r| r.as_ref().unwrap().1).max().unwrap();
    crate::mode::report(
        &format!("parallel pulls {backend}"),
        json!({"readers": READERS, "events": EVENTS, "logBytes": EVENTS * 60_000,
               "largestPageBytes": largest, "rssBeforeMiB": before >> 20, "rssGrowthMiB": grown >> 20}),
    );
    for result in results {
        assert_eq!(result.unwrap().0, EVENTS, "every reader got every event");
    }
    assert!(largest <= BUDGET + 70_000, "a page of {largest} bytes");
    assert!(grown < 160 << 20, "RSS grew {} MiB", grown >> 20);
    assert_eq!(server.logged_errors(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_pulls_stay_within_the_budget_on_sqlite() {
    let (_dir, path) = sqlite_path();
    parallel_pulls(&path, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_pulls_stay_within_the_budget_on_postgres() {
    parallel_pulls(&postgres_database().await, "postgres").await;
}
