//! Exactly-once retries: the same append sent three times, the last after a server restart
//! (the backend reopened on the same SQLite file or PostgreSQL database), grows the stream once.

use axum::http::StatusCode;
use fieldstream_server::AnyBackend;
use serde_json::{Value, json};

use crate::support::*;

async fn send_three_times(url: &str, expected: Value) {
    let t = token("t", "retrier", None);
    let events = vec![
        event("Paid", json!({"amount": 5})),
        event("Shipped", json!({})),
    ];
    let body = append_body(expected, events.clone());
    let other = append_body(json!("any"), vec![event("Noted", json!(1))]);

    let server = app(AnyBackend::open(url).await.unwrap(), config());
    let (status, first) = post(&server, "/v1/streams/Order-7", &t, &body).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(
        post(&server, "/v1/streams/Order-7", &t, &body).await,
        (StatusCode::OK, first.clone())
    );
    // Another append moves the stream on, so "no_stream" no longer holds: retries still succeed.
    assert_eq!(
        post(&server, "/v1/streams/Order-7", &t, &other).await.0,
        StatusCode::OK
    );
    drop(server);

    let restarted = app(AnyBackend::open(url).await.unwrap(), config());
    assert_eq!(
        post(&restarted, "/v1/streams/Order-7", &t, &body).await,
        (StatusCode::OK, first)
    );
    let (_, page) = get(&restarted, "/v1/streams/Order-7", &t).await;
    assert_eq!(page["currentVersion"], 3, "the stream grew once");
    let ids: Vec<_> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].clone())
        .collect();
    assert_eq!(ids[..2], [events[0]["id"].clone(), events[1]["id"].clone()]);
    assert_eq!(all_events(&restarted, &t).await.len(), 3);
}

#[tokio::test]
async fn sqlite_retries_across_a_restart() {
    for expected in [json!("no_stream"), json!("any")] {
        let (_dir, path) = sqlite_path();
        send_three_times(&path, expected).await;
    }
}

#[tokio::test]
async fn postgres_retries_across_a_restart() {
    for expected in [json!("no_stream"), json!("any")] {
        send_three_times(&postgres_database().await, expected).await;
    }
}
