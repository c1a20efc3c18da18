//! Abuse that needs a real socket and the real binary: a flood past the rate limit, bodies over
//! the limit (declared or streamed without a length), and oversized headers. Each is refused with
//! a 4xx, and the database holds exactly what was acknowledged. Slow and idle clients are in
//! `abuse_slow.rs`, per-address limits and batches in `abuse_limits.rs`.

use std::time::Duration;

use serde_json::json;

use crate::ledger::read_everything;
use crate::process::ServerProcess;
use crate::support::{append_body, event, sqlite_path, token};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_past_the_rate_limit_is_429_and_writes_only_what_was_accepted() {
    let (_dir, path) = sqlite_path();
    let server = ServerProcess::start(&path, &["--rate-limit", "20"]).await;
    let (flooder, auditor) = (token("t", "flooder", None), token("t", "auditor", None));
    let http = reqwest::Client::new();
    let sends = (0..300).map(|i| {
        let (http, url, t) = (
            http.clone(),
            format!("{}/v1/streams/Flood-{i}", server.base()),
            flooder.clone(),
        );
        async move {
            let response = http
                .post(url)
                .bearer_auth(t)
                .json(&append_body(json!("no_stream"), vec![event("E", json!(i))]))
                .send()
                .await
                .expect("an answer");
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.expect("a JSON body");
            (status, body["error"].clone())
        }
    });
    let started = std::time::Instant::now();
    let answers = futures_util::future::join_all(sends).await;
    let elapsed = started.elapsed().as_secs_f64();
    let accepted = answers.iter().filter(|(s, _)| *s == 200).count();
    let limited = answers
        .iter()
        .filter(|(s, e)| *s == 429 && e == "rate_limited")
        .count();
    assert_eq!(
        accepted + limited,
        answers.len(),
        "only 200 or 429: {answers:?}"
    );
    assert!(
        limited > 0 && accepted > 0,
        "{accepted} accepted, {limited} limited"
    );
    // A burst of 20, then 20 a second while the flood lasts (plus one for rounding).
    let allowed = 20 + (20.0 * elapsed).ceil() as usize + 1;
    assert!(
        accepted <= allowed,
        "the limit held: {accepted} accepted in {elapsed:.2} s"
    );
    // Another subject of the same tenant is not held up by the flood.
    let stored = read_everything(&server.base(), &auditor).await;
    assert_eq!(stored.len(), accepted, "every 429 wrote nothing");
    assert_eq!(server.logged_errors(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_and_headers_are_refused_before_anything_is_written() {
    let (_dir, path) = sqlite_path();
    let server = ServerProcess::start(&path, &["--max-body-bytes", "65536"]).await;
    let t = token("t", "alice", None);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let url = format!("{}/v1/streams/Order-1", server.base());
    let huge = append_body(json!("any"), vec![event("E", json!("x".repeat(200_000)))]).to_string();

    // Declared length over the limit.
    let response = http
        .post(&url)
        .bearer_auth(&t)
        .header("content-type", "application/json")
        .body(huge.clone())
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), 413);
    assert_eq!(
        response.headers()["connection"],
        "close",
        "the body is left unread, so the connection is not reused"
    );
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap()["error"],
        "too_large"
    );

    // No length at all: the body streams in chunks until the server stops reading.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = huge
        .into_bytes()
        .chunks(4096)
        .map(|c| Ok(c.to_vec()))
        .collect();
    let streamed = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let response = http
        .post(&url)
        .bearer_auth(&t)
        .header("content-type", "application/json")
        .body(streamed)
        .send()
        .await;
    if let Ok(response) = response {
        assert_eq!(response.status(), 413);
    } // else: the server closed the connection mid-upload, which also refuses it.

    // A 200 KB header beside a valid token: 431 for its size, not 401 for a broken token.
    let response = http
        .get(format!("{}/v1/events", server.base()))
        .bearer_auth(&t)
        .header("x-padding", "A".repeat(200_000))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), 431, "a head over --max-header-bytes");
    // A header well under the limit passes.
    let response = http
        .get(format!("{}/v1/events", server.base()))
        .bearer_auth(&t)
        .header("x-padding", "A".repeat(30_000))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), 200);

    assert!(
        read_everything(&server.base(), &t).await.is_empty(),
        "nothing written"
    );
    let fits = append_body(json!("any"), vec![event("E", json!("x".repeat(1000)))]);
    let response = http
        .post(&url)
        .bearer_auth(&t)
        .json(&fits)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the server still serves");
    assert_eq!(server.logged_errors(), 0);
}
