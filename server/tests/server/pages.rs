//! Reads end at the byte budget as well as at the event count, on SQLite and PostgreSQL: pages of
//! a stream and of the log stay within `--max-read-bytes` (an event larger than the budget
//! comes alone), following `currentVersion` / `head` gets everything, a conflict carries at most
//! one page, and the sync client pulls a log of short pages whole.

use axum::Router;
use axum::http::StatusCode;
use fieldstream_server::{AnyBackend, Config};
use serde_json::{Value, json};

use crate::personal_sync::{Delivery, book, device, name_of};
use crate::support::*;

const BUDGET: usize = 32 * 1024;

/// What a page counts for an event: its data and metadata text, plus a fixed overhead.
fn counted(event: &Value) -> usize {
    event["data"].to_string().len() + event["metadata"].to_string().len() + 256
}

fn small_budget(bytes: usize) -> Config {
    let mut config = config();
    config.limits.max_read_bytes = bytes;
    config
}

fn check_page(events: &[Value]) {
    assert!(
        !events.is_empty(),
        "a page is never empty while events remain"
    );
    let size: usize = events.iter().map(counted).sum();
    assert!(
        events.len() == 1 || size <= BUDGET,
        "{} events, {size} bytes, in a page of {BUDGET}",
        events.len()
    );
}

async fn fill(app: &Router, t: &str) {
    for round in 0..6 {
        let events = (0..10)
            .map(|i| event("Big", json!(format!("{i:02}{}", "x".repeat(2_000)))))
            .collect();
        let body = append_body(json!(round * 10), events);
        assert_eq!(
            post(app, "/v1/streams/Big-1", t, &body).await.0,
            StatusCode::OK
        );
    }
    let huge = append_body(json!(60), vec![event("Huge", json!("y".repeat(50_000)))]);
    assert_eq!(
        post(app, "/v1/streams/Big-1", t, &huge).await.0,
        StatusCode::OK
    );
}

async fn budget(backend: AnyBackend) {
    let app = app(backend, small_budget(BUDGET));
    let t = token("t", "writer", None);
    fill(&app, &t).await;

    let (mut from, mut versions, mut pages) = (1, Vec::new(), 0);
    loop {
        let uri = format!("/v1/streams/Big-1?from={from}&limit=10000");
        let (status, page) = get(&app, &uri, &t).await;
        assert_eq!(status, StatusCode::OK);
        let events = page["events"].as_array().unwrap();
        check_page(events);
        versions.extend(events.iter().map(|e| e["version"].as_u64().unwrap()));
        pages += 1;
        from = versions.last().unwrap() + 1;
        if from > page["currentVersion"].as_u64().unwrap() {
            assert_eq!(events.last().unwrap()["type"], "Huge");
            assert_eq!(events.len(), 1, "the event over the budget comes alone");
            break;
        }
    }
    assert_eq!(versions, (1..=61).collect::<Vec<u64>>());
    assert!(pages >= 5, "{pages} pages");

    let (mut after, mut positions) = (0, Vec::new());
    loop {
        let (_, page) = get(&app, &format!("/v1/events?after={after}&limit=10000"), &t).await;
        let events = page["events"].as_array().unwrap();
        check_page(events);
        positions.extend(events.iter().map(|e| e["position"].as_u64().unwrap()));
        after = *positions.last().unwrap();
        if after >= page["head"].as_u64().unwrap() {
            break;
        }
    }
    assert_eq!(positions, (1..=61).collect::<Vec<u64>>());

    // A conflicting append carries one page of what the caller lacks, not the whole stream.
    let stale = append_body(json!(0), vec![event("E", json!(0))]);
    let (status, conflict) = post(&app, "/v1/streams/Big-1", &t, &stale).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let events = conflict["events"].as_array().unwrap();
    check_page(events);
    assert_eq!(events[0]["version"], 1);
    assert!(events.len() < 61 && conflict["currentVersion"] == 61);
    let batch = json!({"appends": [{"stream": "Big-1", "expectedVersion": 0, "events": [event("E", json!(0))]}]});
    let (_, answer) = post(&app, "/v1/batch", &t, &batch).await;
    assert_eq!(answer["results"][0]["status"], "conflict");
    check_page(answer["results"][0]["events"].as_array().unwrap());
}

#[tokio::test]
async fn pages_end_at_the_byte_budget_on_sqlite() {
    budget(sqlite().await.into()).await;
}

#[tokio::test]
async fn pages_end_at_the_byte_budget_on_postgres() {
    budget(postgres().await.into()).await;
}

#[tokio::test]
async fn the_sync_client_pulls_a_log_of_short_pages_whole() {
    let router = app(sqlite().await, small_budget(4 * 1024));
    let (a, b) = (device(&router).await, device(&router).await);
    for i in 0..25 {
        let id = format!("d{i}");
        let command = book(&format!("c{i}"), &format!("name {i}"), "555-0101");
        a.engine()
            .execute::<Delivery>(&id, &command, Default::default())
            .await
            .unwrap();
    }
    a.sync().await.unwrap();
    let (_, first) = get(
        &router,
        "/v1/events?after=0&limit=10000",
        &token("acme", "r", None),
    )
    .await;
    assert!(
        first["events"].as_array().unwrap().len() < 25,
        "the log takes several pages"
    );
    b.sync().await.unwrap();
    for i in 0..25 {
        assert_eq!(name_of(&b, &format!("d{i}")).await, format!("name {i}"));
    }
}
