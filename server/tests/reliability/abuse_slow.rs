//! Slow and idle clients over real sockets against the real binary: half-sent headers, slow
//! bodies and idle keep-alive connections are cut at their timeouts, live subscriptions are not;
//! hundreds of idle sockets on a server with few file descriptors do not stop it from serving;
//! request methods never become metric series.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::ledger::read_everything;
use crate::process::ServerProcess;
use crate::support::{append_body, event, sqlite_path, token};

/// Reads until the server closes the connection (or `limit` passes); what it sent, and when.
async fn until_closed(socket: &mut TcpStream, limit: Duration) -> (String, Option<Duration>) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((started + limit).into(), socket.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                return (
                    String::from_utf8_lossy(&received).into(),
                    Some(started.elapsed()),
                );
            }
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
            Err(_) => return (String::from_utf8_lossy(&received).into(), None),
        }
    }
}

async fn connect(server: &ServerProcess) -> TcpStream {
    TcpStream::connect(server.addr()).await.expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_heads_slow_bodies_and_idle_connections_are_cut() {
    let (_dir, path) = sqlite_path();
    let flags = [
        "--header-timeout-secs",
        "1",
        "--body-timeout-secs",
        "1",
        "--idle-timeout-secs",
        "3",
        "--heartbeat-secs",
        "1",
    ];
    let server = ServerProcess::start(&path, &flags).await;
    let t = token("t", "alice", None);

    // A head that never ends.
    let mut half = connect(&server).await;
    half.write_all(b"POST /v1/streams/s HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    let (_, closed) = until_closed(&mut half, Duration::from_secs(10)).await;
    let closed = closed.expect("a half-sent head is cut");
    assert!(
        closed >= Duration::from_millis(800) && closed < Duration::from_secs(4),
        "{closed:?}"
    );

    // A body that stops half-way: 408, and nothing written.
    let mut slow = connect(&server).await;
    let head = format!(
        "POST /v1/streams/s HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {t}\r\n\
         Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{{\"expectedVersion\""
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let (answer, closed) = until_closed(&mut slow, Duration::from_secs(10)).await;
    assert!(closed.is_some(), "a stalled body is cut");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");

    // An idle keep-alive connection, after one answered request.
    let mut idle = connect(&server).await;
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let (answer, closed) = until_closed(&mut idle, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(closed.expect("an idle keep-alive connection is cut") < Duration::from_secs(4));

    // A live subscription with heartbeats outlives the idle timeout.
    let mut live = reqwest::Client::new()
        .get(format!("{}/v1/subscribe", server.base()))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        let chunk = tokio::time::timeout(Duration::from_secs(3), live.chunk()).await;
        assert!(
            matches!(chunk, Ok(Ok(Some(_)))),
            "the feed stays open: {chunk:?}"
        );
    }
    assert!(
        read_everything(&server.base(), &t).await.is_empty(),
        "nothing written"
    );
    assert_eq!(server.logged_errors(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idle_timeout_cuts_what_the_header_timeout_allows() {
    let (_dir, path) = sqlite_path();
    let flags = [
        "--header-timeout-secs",
        "60",
        "--idle-timeout-secs",
        "2",
        "--heartbeat-secs",
        "1",
    ];
    let server = ServerProcess::start(&path, &flags).await;
    let mut quiet = connect(&server).await;
    quiet.write_all(b"GET /health HTTP/1.1\r\n").await.unwrap();
    let (_, closed) = until_closed(&mut quiet, Duration::from_secs(20)).await;
    let closed = closed.expect("no byte for 2 s closes the connection");
    assert!(closed < Duration::from_secs(5), "{closed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_do_not_exhaust_a_server_with_few_file_descriptors() {
    let _heavy = crate::mode::heavy().await;
    let (_dir, path) = sqlite_path();
    let flags = ["--max-connections", "64", "--header-timeout-secs", "2"];
    let server = ServerProcess::start_wrapped(&path, &flags, &["prlimit", "--nofile=128"]).await;
    let mut sockets = Vec::new();
    for _ in 0..300 {
        sockets.push(connect(&server).await);
    }
    let t = token("t", "alice", None);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let started = Instant::now();
    let response = http
        .post(format!("{}/v1/streams/Order-1", server.base()))
        .bearer_auth(&t)
        .json(&append_body(json!("no_stream"), vec![event("E", json!(1))]))
        .send()
        .await
        .expect("served while 300 idle sockets wait");
    assert_eq!(response.status(), 200);
    let waited = started.elapsed();
    crate::mode::report(
        "idle sockets",
        json!({"idleSockets": 300, "maxConnections": 64, "nofile": 128, "servedAfterMs": waited.as_millis()}),
    );
    assert!(waited < Duration::from_secs(20), "{waited:?}");
    drop(sockets);
    assert_eq!(read_everything(&server.base(), &t).await.len(), 1);
    let log = server.log();
    assert!(
        !log.iter().any(|line| line.contains("Too many open files")),
        "{log:?}"
    );
    assert_eq!(server.logged_errors(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_methods_never_become_metric_series() {
    let (_dir, path) = sqlite_path();
    let server = ServerProcess::start(&path, &[]).await;
    let rss_before = server.rss_bytes();
    for i in 0..500 {
        let method: String = format!("M{i:05}{}", "X".repeat(30_000));
        let mut socket = connect(&server).await;
        let request =
            format!("{method} /v1/events HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        socket.write_all(request.as_bytes()).await.unwrap();
        let (answer, _) = until_closed(&mut socket, Duration::from_secs(10)).await;
        assert!(
            answer.starts_with("HTTP/1.1 4"),
            "{}",
            &answer[..answer.len().min(100)]
        );
    }
    let metrics = reqwest::get(format!("{}/metrics", server.base()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let grown = server.rss_bytes().saturating_sub(rss_before);
    crate::mode::report(
        "odd methods",
        json!({"requests": 500, "methodBytes": 30_005, "metricsBytes": metrics.len(), "rssGrowthBytes": grown}),
    );
    assert!(metrics.contains("method=\"OTHER\""), "{metrics}");
    assert!(!metrics.contains("M00001"), "no method text in a label");
    assert!(
        metrics.len() < 64 * 1024,
        "{} bytes of metrics",
        metrics.len()
    );
    assert!(grown < 32 << 20, "RSS grew {grown} bytes");
}
