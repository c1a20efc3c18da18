//! Races through the real router on both backends: writers fighting over one stream with
//! numeric expected versions, and writers on many streams with a reader tailing `/v1/events`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use fieldstream_server::AnyBackend;
use serde_json::{Value, json};

use crate::support::*;

const WRITERS: usize = 8;
const ATTEMPTS: usize = 1_000;

/// Each writer tries `ATTEMPTS` appends of one event at the version it last saw.
async fn race_on_one_stream(backend: AnyBackend) {
    let (kind, started) = (backend.kind(), Instant::now());
    let app = app(backend, config());
    let t = token("t", "racer", None);
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let (app, t) = (app.clone(), t.clone());
        writers.push(tokio::spawn(async move {
            let mut known = 0u64;
            let mut wins: Vec<(u64, Value)> = Vec::new();
            for _ in 0..ATTEMPTS {
                let sent = event("Raced", json!({"writer": writer}));
                let (status, answer) = post(
                    &app,
                    "/v1/streams/contended",
                    &t,
                    &append_body(json!(known), vec![sent.clone()]),
                )
                .await;
                match status {
                    StatusCode::OK => {
                        let version = answer["firstVersion"].as_u64().unwrap();
                        assert_eq!(
                            version,
                            known + 1,
                            "a win lands right after the expected version"
                        );
                        wins.push((version, sent["id"].clone()));
                        known = version;
                    }
                    StatusCode::CONFLICT => {
                        assert_eq!(answer["error"], "wrong_expected_version");
                        let current = answer["currentVersion"].as_u64().unwrap();
                        assert!(current > known);
                        let rebased = answer["events"].as_array().unwrap();
                        assert_eq!(
                            rebased.len() as u64,
                            current - known,
                            "the conflict carries what was missed"
                        );
                        known = current;
                    }
                    other => panic!("unexpected {other}: {answer}"),
                }
            }
            wins
        }));
    }
    let mut winners: HashMap<u64, Value> = HashMap::new();
    for writer in writers {
        for (version, id) in writer.await.unwrap() {
            assert!(
                winners.insert(version, id).is_none(),
                "version {version} won twice"
            );
        }
    }
    let (status, page) = get(&app, "/v1/streams/contended?limit=10000", &t).await;
    assert_eq!(status, StatusCode::OK);
    let stored = page["events"].as_array().unwrap();
    assert_eq!(
        page["currentVersion"].as_u64().unwrap() as usize,
        stored.len()
    );
    assert_eq!(
        stored.len(),
        winners.len(),
        "every stored event had exactly one winner"
    );
    assert!(
        stored.len() >= ATTEMPTS,
        "at least one writer won every round it saw"
    );
    for (index, event) in stored.iter().enumerate() {
        let version = index as u64 + 1;
        assert_eq!(event["version"], version, "versions 1..N with no gaps");
        assert_eq!(event["position"], version);
        assert_eq!(
            event["id"], winners[&version],
            "the stored event is the winner's"
        );
    }
    let elapsed = started.elapsed().as_secs_f64();
    let attempts = WRITERS * ATTEMPTS;
    eprintln!(
        "{kind}: {attempts} racing appends, {} won, in {elapsed:.1} s ({:.0} appends/s)",
        stored.len(),
        attempts as f64 / elapsed
    );
}

/// 16 writers on their own streams; one reader polls `/v1/events` and must see every position
/// exactly once, in order, never a later one before an earlier one.
async fn tail_while_writing(backend: AnyBackend) {
    const STREAMS: usize = 16;
    const APPENDS: u64 = 40;
    const PER_APPEND: u64 = 2;
    let (kind, started) = (backend.kind(), Instant::now());
    let app = app(backend, config());
    let t = token("t", "tail", None);
    let total = STREAMS as u64 * APPENDS * PER_APPEND;
    let reader = {
        let (app, t) = (app.clone(), t.clone());
        tokio::spawn(async move { tail(&app, &t, total).await })
    };
    let mut writers = Vec::new();
    for stream in 0..STREAMS {
        let (app, t) = (app.clone(), t.clone());
        writers.push(tokio::spawn(async move {
            for append in 0..APPENDS {
                let events = (0..PER_APPEND)
                    .map(|i| event("Written", json!([stream, append, i])))
                    .collect();
                let body = append_body(json!(append * PER_APPEND), events);
                let (status, answer) =
                    post(&app, &format!("/v1/streams/w-{stream}"), &t, &body).await;
                assert_eq!(status, StatusCode::OK, "{answer}");
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let seen = reader.await.unwrap();
    assert_eq!(seen.len() as u64, total);
    let mut versions: HashMap<String, u64> = HashMap::new();
    for event in &seen {
        let version = versions
            .entry(event["stream"].as_str().unwrap().to_owned())
            .or_insert(0);
        *version += 1;
        assert_eq!(event["version"], *version, "each stream in version order");
    }
    let elapsed = started.elapsed().as_secs_f64();
    eprintln!("{kind}: {total} events by {STREAMS} writers tailed in order in {elapsed:.1} s");
}

async fn tail(app: &Router, token: &str, total: u64) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen: Vec<Value> = Vec::new();
    while (seen.len() as u64) < total {
        assert!(
            Instant::now() < deadline,
            "the reader saw only {} of {total} events",
            seen.len()
        );
        let after = seen.len();
        let (status, page) = get(app, &format!("/v1/events?after={after}&limit=37"), token).await;
        assert_eq!(status, StatusCode::OK);
        let events = page["events"].as_array().unwrap();
        for event in events {
            assert_eq!(
                event["position"],
                seen.len() as u64 + 1,
                "positions arrive once each, in order"
            );
            seen.push(event.clone());
        }
        assert!(page["head"].as_u64().unwrap() >= seen.len() as u64);
        if events.is_empty() {
            // Polling interval of the tailing reader, not synchronisation.
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_one_winner_per_version() {
    race_on_one_stream(sqlite().await.into()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_one_winner_per_version() {
    race_on_one_stream(postgres().await.into()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_tailing_reader_sees_every_position_in_order() {
    tail_while_writing(sqlite().await.into()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_tailing_reader_sees_every_position_in_order() {
    tail_while_writing(postgres().await.into()).await;
}
