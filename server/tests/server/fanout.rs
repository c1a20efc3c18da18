//! Live fan-out from memory: a commit's events reach every subscriber of the tenant, each
//! filtered by its grants, without a database read per event or per subscriber (the reads are
//! counted by the `subscription_reads` metric).

use axum::Router;
use axum::body::Body;
use axum::http::StatusCode;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::router_subscribe::SseReader;
use crate::support::*;

const LIVE_APPENDS: usize = 20;

async fn feed(app: &Router, token: &str) -> SseReader {
    let response = app
        .clone()
        .oneshot(
            request("GET", "/v1/subscribe?after=0", Some(token))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    SseReader::new(response.into_body())
}

async fn append(app: &Router, token: &str, stream: &str, data: Value) {
    let body = append_body(json!("any"), vec![event("E", data)]);
    let (status, answer) = post(app, &format!("/v1/streams/{stream}"), token, &body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

/// The `fieldstream_subscription_reads` counter.
async fn reads(app: &Router) -> u64 {
    let (_, metrics) = send(
        app,
        request("GET", "/metrics", None)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let text = metrics.as_str().unwrap().to_owned();
    text.lines()
        .find_map(|line| line.strip_prefix("fieldstream_subscription_reads_total "))
        .unwrap_or_else(|| panic!("no subscription_reads in {text}"))
        .trim()
        .parse()
        .unwrap()
}

/// The position of the next event message.
async fn next_position(feed: &mut SseReader) -> u64 {
    let message = feed.next_event().await;
    message.id.unwrap().parse().unwrap()
}

#[tokio::test]
async fn live_events_go_to_every_subscriber_from_memory_filtered_by_grants() {
    let app = sqlite_app().await;
    let all = token("t", "alice", None);
    let orders = token("t", "clerk", Some(&["Order-*"]));
    let mut everyone = vec![
        feed(&app, &all).await,
        feed(&app, &all).await,
        feed(&app, &all).await,
    ];
    let mut clerk = feed(&app, &orders).await;

    // Catch-up: the first event is read from the database.
    append(&app, &all, "Order-0", json!(0)).await;
    for feed in &mut everyone {
        assert_eq!(next_position(feed).await, 1);
    }
    assert_eq!(next_position(&mut clerk).await, 1);
    let caught_up = reads(&app).await;

    // Live: every other event goes to a stream the clerk may not read.
    for i in 1..=LIVE_APPENDS {
        let stream = match i % 2 {
            0 => format!("Order-{i}"),
            _ => format!("Note-{i}"),
        };
        append(&app, &all, &stream, json!(i)).await;
        let position = i as u64 + 1;
        for feed in &mut everyone {
            assert_eq!(next_position(feed).await, position);
        }
        if i % 2 == 0 {
            let message = clerk.next_event().await;
            assert_eq!(message.id.as_deref(), Some(position.to_string().as_str()));
            assert_eq!(message.data.unwrap()["stream"], json!(stream));
        }
    }
    let live_reads = reads(&app).await - caught_up;
    // Each subscriber may look once more after its catch-up; reading per event would take at
    // least one read per event and subscriber (80 here).
    assert!(
        live_reads <= 4,
        "{live_reads} reads for {LIVE_APPENDS} live events to 4 subscribers"
    );
}
