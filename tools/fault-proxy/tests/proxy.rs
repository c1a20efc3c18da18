//! The proxy against a small axum upstream that counts what reaches it: each fault does what it
//! says, the log records it, a seed reproduces it, and event streams pass through unbuffered.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::response::sse::{Event, Sse};
use axum::routing::{get, post};
use fault_proxy::{Fault, FaultPlan, FaultProxy, ProxyConfig};
use futures_util::StreamExt;
use tokio::sync::Notify;

/// An upstream that counts POSTs and serves one event stream gated by `gate`.
struct Upstream {
    addr: SocketAddr,
    hits: Arc<AtomicU64>,
    gate: Arc<Notify>,
}

async fn upstream() -> Upstream {
    let hits = Arc::new(AtomicU64::new(0));
    let gate = Arc::new(Notify::new());
    let (counter, opener) = (hits.clone(), gate.clone());
    let app = Router::new()
        .route(
            "/count",
            post(move |body: String| async move {
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                format!("{n}:{body}")
            }),
        )
        .route(
            "/sse",
            get(move || async move {
                let events = futures_util::stream::unfold(0, move |i| {
                    let gate = opener.clone();
                    async move {
                        match i {
                            0 => {}
                            1 => gate.notified().await,
                            _ => return None,
                        }
                        let event = Event::default().data(format!("e{i}"));
                        Some((Ok::<_, std::convert::Infallible>(event), i + 1))
                    }
                });
                Sse::new(events)
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Upstream { addr, hits, gate }
}

fn only(fault: Fault, seed: u64) -> FaultPlan {
    let mut plan = FaultPlan::none(seed);
    match fault {
        Fault::Pass => {}
        Fault::DropRequest => plan.drop_request = 1.0,
        Fault::DropResponse => plan.drop_response = 1.0,
        Fault::Duplicate => plan.duplicate = 1.0,
        Fault::Error => plan.error = 1.0,
        Fault::Reset => plan.reset = 1.0,
    }
    plan
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn read_log(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect()
}

#[tokio::test]
async fn each_fault_does_what_it_says() {
    for (fault, answered, reached) in [
        (Fault::Pass, true, 1),
        (Fault::DropRequest, false, 0),
        (Fault::Reset, false, 0),
        (Fault::DropResponse, false, 1),
        (Fault::Duplicate, true, 2),
    ] {
        let server = upstream().await;
        let proxy = FaultProxy::start(ProxyConfig::new(server.addr, only(fault, 1)))
            .await
            .unwrap();
        let sent = client()
            .post(format!("http://{}/count", proxy.addr()))
            .body("x")
            .send()
            .await;
        assert_eq!(sent.is_ok(), answered, "{fault:?}: {sent:?}");
        if let Ok(response) = sent {
            assert_eq!(response.status(), 200);
            assert!(response.text().await.unwrap().ends_with(":x"));
        }
        let stats = proxy.stop().await;
        assert_eq!(server.hits.load(Ordering::SeqCst), reached, "{fault:?}");
        assert_eq!((stats.requests, stats.count(fault)), (1, 1), "{fault:?}");
        assert_eq!(stats.forwarded, reached, "{fault:?}");
        assert_eq!(stats.unanswered, u64::from(!answered), "{fault:?}");
    }
}

#[tokio::test]
async fn injected_errors_are_500_or_503_before_or_after_forwarding() {
    let server = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.ndjson");
    let config = ProxyConfig {
        log: Some(log.clone()),
        ..ProxyConfig::new(server.addr, only(Fault::Error, 5))
    };
    let proxy = FaultProxy::start(config).await.unwrap();
    let client = client();
    let mut statuses = HashMap::new();
    for i in 0..40 {
        let response = client
            .post(format!("http://{}/count", proxy.addr()))
            .body(i.to_string())
            .send()
            .await
            .unwrap();
        *statuses.entry(response.status().as_u16()).or_insert(0) += 1;
    }
    let stats = proxy.stop().await;
    assert_eq!(
        statuses
            .keys()
            .copied()
            .filter(|s| *s != 500 && *s != 503)
            .count(),
        0
    );
    assert!(statuses.len() == 2, "both statuses occur: {statuses:?}");
    let records = read_log(&log);
    let forwarded = records
        .iter()
        .filter(|r| r["errorAfterForward"] == true)
        .count() as u64;
    assert!(forwarded > 0 && forwarded < 40);
    assert_eq!(server.hits.load(Ordering::SeqCst), forwarded);
    assert_eq!((stats.forwarded, stats.upstream_5xx), (forwarded, 0));
}

#[tokio::test]
async fn a_seed_reproduces_every_decision_whatever_the_arrival_order() {
    let plan = FaultPlan {
        drop_request: 0.1,
        drop_response: 0.3,
        duplicate: 0.1,
        error: 0.1,
        reset: 0.1,
        delay: 0.3,
        max_delay: Duration::from_millis(5),
        ..FaultPlan::none(99)
    };
    let dir = tempfile::tempdir().unwrap();
    let mut runs = Vec::new();
    for (run, reverse) in [(0, false), (1, true)] {
        let server = upstream().await;
        let log = dir.path().join(format!("run{run}.ndjson"));
        let config = ProxyConfig {
            log: Some(log.clone()),
            ..ProxyConfig::new(server.addr, plan.clone())
        };
        let proxy = FaultProxy::start(config).await.unwrap();
        let client = client();
        let mut bodies: Vec<u32> = (0..60).collect();
        if reverse {
            bodies.reverse();
        }
        // Concurrently, each body sent twice in a row (attempts 0 and 1).
        let sends = bodies.into_iter().map(|i| {
            let (client, url) = (client.clone(), format!("http://{}/count", proxy.addr()));
            async move {
                for _ in 0..2 {
                    let _ = client.post(&url).body(i.to_string()).send().await;
                }
            }
        });
        futures_util::future::join_all(sends).await;
        proxy.stop().await;
        let decisions: HashMap<(String, u64), serde_json::Value> = read_log(&log)
            .into_iter()
            .map(|r| {
                let id = (
                    r["key"].as_str().unwrap().to_owned(),
                    r["attempt"].as_u64().unwrap(),
                );
                let decision: Vec<_> = ["fault", "delayMs", "errorStatus", "errorAfterForward"]
                    .iter()
                    .map(|f| r[*f].clone())
                    .collect();
                (id, serde_json::Value::Array(decision))
            })
            .collect();
        assert_eq!(decisions.len(), 120, "every request logged once");
        runs.push(decisions);
    }
    assert_eq!(runs[0], runs[1]);
    let faults: std::collections::HashSet<_> = runs[0].values().map(|d| d[0].to_string()).collect();
    assert!(faults.len() >= 5, "the mix shows most faults: {faults:?}");
}

#[tokio::test]
async fn event_streams_pass_through_as_they_come() {
    let server = upstream().await;
    let proxy = FaultProxy::start(ProxyConfig::new(server.addr, FaultPlan::none(1)))
        .await
        .unwrap();
    let response = client()
        .get(format!("http://{}/sse", proxy.addr()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let mut text = String::new();
    // The second event is only sent once the first has arrived through the proxy.
    while !text.contains("data: e0") {
        text.push_str(std::str::from_utf8(&body.next().await.unwrap().unwrap()).unwrap());
    }
    server.gate.notify_one();
    while let Some(chunk) = body.next().await {
        text.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
    }
    assert!(text.contains("data: e1"), "{text}");
    let stats = proxy.stop().await;
    assert_eq!((stats.requests, stats.upstream_5xx), (1, 0));
}

#[tokio::test]
async fn a_dropped_event_stream_breaks_off_after_its_start() {
    let server = upstream().await;
    let proxy = FaultProxy::start(ProxyConfig::new(server.addr, only(Fault::DropResponse, 2)))
        .await
        .unwrap();
    let response = client()
        .get(format!("http://{}/sse", proxy.addr()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let mut broke = false;
    while let Some(chunk) = body.next().await {
        if chunk.is_err() {
            broke = true;
            break;
        }
    }
    assert!(broke, "the stream ends with an error, not cleanly");
    proxy.stop().await;
}

#[tokio::test]
async fn an_unreachable_server_is_a_502_and_counted() {
    let gone = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = gone.local_addr().unwrap();
    drop(gone);
    let proxy = FaultProxy::start(ProxyConfig::new(addr, FaultPlan::none(1)))
        .await
        .unwrap();
    let response = client()
        .get(format!("http://{}/anything", proxy.addr()))
        .header("x-request-id", "mine")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    let stats = proxy.stop().await;
    assert_eq!(stats.upstream_unreachable, 1);
    let plan = FaultPlan {
        duplicate: 0.7,
        error: 0.7,
        ..FaultPlan::none(1)
    };
    assert!(
        FaultProxy::start(ProxyConfig::new(addr, plan))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_passing_event_stream_is_cut_when_the_plan_says_so() {
    let server = upstream().await;
    let plan = FaultPlan {
        stream_cut: 1.0,
        max_stream_life: Duration::from_millis(30),
        ..FaultPlan::none(4)
    };
    let proxy = FaultProxy::start(ProxyConfig::new(server.addr, plan))
        .await
        .unwrap();
    let response = client()
        .get(format!("http://{}/sse", proxy.addr()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    // The upstream never sends its second event: only the cut can end this stream.
    let mut broke = false;
    while let Some(chunk) = body.next().await {
        if chunk.is_err() {
            broke = true;
            break;
        }
    }
    assert!(broke, "the stream is reset, not ended");
    let stats = proxy.stop().await;
    assert_eq!(stats.count(Fault::Pass), 1);
}
