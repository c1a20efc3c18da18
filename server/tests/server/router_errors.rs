//! Router-level tests of every error code: the status, the `{error, message}` body, and that
//! bad input writes nothing.

use axum::Router;
use axum::body::Body;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

/// Posts a raw body; asserts the status and code; asserts nothing was written.
async fn refused(
    app: &Router,
    uri: &str,
    content_type: &str,
    body: String,
    status: StatusCode,
    code: &str,
) -> Value {
    let t = token("t", "alice", None);
    let before = all_events(app, &t).await.len();
    let request = request("POST", uri, Some(&t))
        .header("content-type", content_type)
        .body(Body::from(body))
        .unwrap();
    let (got, answer) = send(app, request).await;
    assert_eq!(
        (got, answer["error"].as_str()),
        (status, Some(code)),
        "{answer}"
    );
    assert!(
        answer["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{answer}"
    );
    assert_eq!(
        all_events(app, &t).await.len(),
        before,
        "bad input wrote something: {answer}"
    );
    answer
}

#[tokio::test]
async fn invalid_json() {
    let app = sqlite_app().await;
    let bad = StatusCode::BAD_REQUEST;
    let ok_events = json!([event("E", json!(1))]);
    for body in [
        "{\"expectedVersion\": 0, \"events\": [".to_string(),
        "not json".into(),
        "[]".into(),
        json!({"events": ok_events}).to_string(),
        json!({"expectedVersion": -1, "events": ok_events}).to_string(),
        json!({"expectedVersion": "latest", "events": ok_events}).to_string(),
        json!({"expectedVersion": 0, "events": {}}).to_string(),
        json!({"expectedVersion": u64::MAX, "events": ok_events}).to_string(),
    ] {
        refused(
            &app,
            "/v1/streams/s",
            "application/json",
            body,
            bad,
            "invalid_json",
        )
        .await;
    }
    let valid = append_body(json!(0), vec![event("E", json!(1))]).to_string();
    refused(
        &app,
        "/v1/streams/s",
        "text/plain",
        valid,
        bad,
        "invalid_json",
    )
    .await;
    refused(
        &app,
        "/v1/batch",
        "application/json",
        "{}".into(),
        bad,
        "invalid_json",
    )
    .await;
}

#[tokio::test]
async fn invalid_stream_id() {
    let app = sqlite_app().await;
    let body = append_body(json!(0), vec![event("E", json!(1))]).to_string();
    for uri in [
        "/v1/streams/-leading",
        "/v1/streams/a%20b",
        "/v1/streams/%C3%A9",
    ] {
        refused(
            &app,
            uri,
            "application/json",
            body.clone(),
            StatusCode::BAD_REQUEST,
            "invalid_stream_id",
        )
        .await;
    }
    let long = format!("/v1/streams/{}", "a".repeat(201));
    refused(
        &app,
        &long,
        "application/json",
        body,
        StatusCode::BAD_REQUEST,
        "invalid_stream_id",
    )
    .await;
    let t = token("t", "alice", None);
    assert_eq!(
        get(&app, "/v1/streams/-x", &t).await.1["error"],
        "invalid_stream_id"
    );
}

#[tokio::test]
async fn invalid_event() {
    let app = sqlite_app().await;
    let id = uuid::Uuid::new_v4();
    let bad = StatusCode::BAD_REQUEST;
    for events in [
        json!([]),
        json!([{"id": "not-a-uuid", "type": "E"}]),
        json!([{"type": "E"}]),
        json!([{"id": id, "type": "1E"}]),
        json!([{"id": id, "type": ""}]),
        json!([{"id": id, "type": "E", "schemaVersion": 0}]),
        json!([{"id": id, "type": "E", "metadata": [1]}]),
        json!([{"id": id, "type": "E"}, {"id": id, "type": "E"}]),
        json!([event("E", json!(1)), 42]),
    ] {
        let body = json!({"expectedVersion": "any", "events": events}).to_string();
        refused(
            &app,
            "/v1/streams/s",
            "application/json",
            body,
            bad,
            "invalid_event",
        )
        .await;
    }
}

#[tokio::test]
async fn too_large() {
    let mut config = config();
    config.limits.max_body_bytes = 4096;
    config.limits.max_events_per_append = 3;
    config.limits.max_event_bytes = 300;
    let app = app(sqlite().await, config);
    let big = StatusCode::PAYLOAD_TOO_LARGE;
    let many =
        append_body(json!("any"), (0..4).map(|i| event("E", json!(i))).collect()).to_string();
    refused(
        &app,
        "/v1/streams/s",
        "application/json",
        many,
        big,
        "too_large",
    )
    .await;
    let fat = append_body(json!("any"), vec![event("E", json!("x".repeat(300)))]).to_string();
    refused(
        &app,
        "/v1/streams/s",
        "application/json",
        fat,
        big,
        "too_large",
    )
    .await;
    let huge = append_body(json!("any"), vec![event("E", json!("x".repeat(5000)))]).to_string();
    refused(
        &app,
        "/v1/streams/s",
        "application/json",
        huge,
        big,
        "too_large",
    )
    .await;
    let appends: Vec<_> = (0..4)
        .map(|_| json!({"stream": "s", "expectedVersion": "any", "events": [event("E", json!(1))]}))
        .collect();
    refused(
        &app,
        "/v1/batch",
        "application/json",
        json!({"appends": appends}).to_string(),
        big,
        "too_large",
    )
    .await;
    // Just under every limit passes.
    let fits = append_body(
        json!("any"),
        (0..3).map(|_| event("E", json!("x".repeat(150)))).collect(),
    );
    assert_eq!(
        post(&app, "/v1/streams/s", &token("t", "a", None), &fits)
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn conflicts_and_idempotency_mismatch() {
    let app = sqlite_app().await;
    let t = token("t", "alice", None);
    let first = vec![event("E", json!(1)), event("E", json!(2))];
    assert_eq!(
        post(
            &app,
            "/v1/streams/s",
            &t,
            &append_body(json!(0), first.clone())
        )
        .await
        .0,
        StatusCode::OK
    );

    let body = append_body(json!(1), vec![event("E", json!(3))]).to_string();
    let conflict = refused(
        &app,
        "/v1/streams/s",
        "application/json",
        body,
        StatusCode::CONFLICT,
        "wrong_expected_version",
    )
    .await;
    assert_eq!(
        (
            conflict["stream"].clone(),
            conflict["expectedVersion"].clone()
        ),
        (json!("s"), json!(1))
    );
    assert_eq!(conflict["currentVersion"], 2);
    assert_eq!(conflict["events"].as_array().unwrap().len(), 1);
    assert_eq!(conflict["events"][0]["id"], first[1]["id"]);
    let body = append_body(json!("no_stream"), vec![event("E", json!(3))]).to_string();
    let conflict = refused(
        &app,
        "/v1/streams/s",
        "application/json",
        body,
        StatusCode::CONFLICT,
        "wrong_expected_version",
    )
    .await;
    assert_eq!(conflict["expectedVersion"], "no_stream");
    assert_eq!(conflict["events"].as_array().unwrap().len(), 2);

    let partial =
        append_body(json!("any"), vec![first[0].clone(), event("E", json!(9))]).to_string();
    refused(
        &app,
        "/v1/streams/s",
        "application/json",
        partial,
        StatusCode::CONFLICT,
        "idempotency_mismatch",
    )
    .await;
    let elsewhere = append_body(json!("any"), first.clone()).to_string();
    refused(
        &app,
        "/v1/streams/other",
        "application/json",
        elsewhere,
        StatusCode::CONFLICT,
        "idempotency_mismatch",
    )
    .await;
}

#[tokio::test]
async fn not_found_method_not_allowed_and_bad_queries() {
    let app = sqlite_app().await;
    let t = token("t", "alice", None);
    for uri in [
        "/nothing",
        "/v1",
        "/v1/streams",
        "/v1/streams/a/b",
        "/v2/events",
    ] {
        let (status, body) = get(&app, uri, &t).await;
        assert_eq!(
            (status, body["error"].clone()),
            (StatusCode::NOT_FOUND, json!("not_found")),
            "{uri}"
        );
    }
    let (status, body) = send(
        &app,
        request("DELETE", "/v1/streams/s", Some(&t))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::METHOD_NOT_ALLOWED, json!("method_not_allowed"))
    );
    for uri in [
        "/v1/events?after=-1",
        "/v1/events?after=x",
        "/v1/events?limit=0",
        "/v1/events?limit=10001",
        "/v1/streams/s?from=0",
        "/v1/streams/s?limit=abc",
        "/v1/streams/s?from=9223372036854775808",
        "/v1/events?after=18446744073709551615",
        "/v1/subscribe?after=9223372036854775808",
    ] {
        let (status, body) = get(&app, uri, &t).await;
        assert_eq!(
            (status, body["error"].clone()),
            (StatusCode::BAD_REQUEST, json!("invalid_query")),
            "{uri}"
        );
    }
    assert_eq!(
        get(&app, "/v1/events?limit=10000", &t).await.0,
        StatusCode::OK
    );
    let request = request("GET", "/v1/subscribe", Some(&t))
        .header("last-event-id", "x")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, request).await.1["error"], "invalid_query");
}

#[tokio::test]
async fn rate_limited_per_subject() {
    let mut config = config();
    // One request per second: the second of two back-to-back requests is over the limit.
    config.limits.requests_per_second = 1;
    let app = app(sqlite().await, config);
    let alice = token("t", "alice", None);
    assert_eq!(get(&app, "/v1/events", &alice).await.0, StatusCode::OK);
    assert_eq!(
        get(&app, "/v1/events", &alice).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    let (_, body) = get(&app, "/v1/events", &alice).await;
    assert_eq!(body["error"], "rate_limited");
    assert_eq!(
        get(&app, "/v1/events", &token("t", "bob", None)).await.0,
        StatusCode::OK,
        "per subject"
    );
    assert_eq!(
        get(&app, "/v1/events", &token("u", "alice", None)).await.0,
        StatusCode::OK,
        "per tenant too"
    );
    let body = append_body(json!("any"), vec![event("E", json!(1))]);
    assert_eq!(
        post(&app, "/v1/streams/s", &alice, &body).await.1["error"],
        "rate_limited"
    );
    assert!(
        all_events(&app, &token("t", "carol", None))
            .await
            .is_empty(),
        "a limited append wrote nothing"
    );
}
