//! Tenant A against tenant B through every endpoint, each refused or answered with A's own
//! view, with nothing of B read, written or forgotten (counted in the database itself).

use std::time::Duration;

use axum::body::Body;
use axum::http::StatusCode;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::abuse::{Arena, KEY_PUT, json_request};
use crate::support::*;

/// Reads SSE frames until the first event; returns its data.
async fn first_event(body: Body) -> Value {
    let mut body = body;
    let mut text = String::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let frame = body.frame().await.expect("stream open").expect("a frame");
            if let Ok(data) = frame.into_data() {
                text.push_str(std::str::from_utf8(&data).unwrap());
            }
            if let Some(data) = text.lines().find_map(|l| l.strip_prefix("data: ")) {
                return serde_json::from_str(data).unwrap();
            }
        }
    })
    .await
    .expect("an event within 10 s")
}

#[tokio::test]
async fn tenant_a_cannot_reach_tenant_b_through_any_endpoint() {
    let arena = Arena::new().await;
    let (a, b) = (
        token("tenant-a", "alice", None),
        token("tenant-b", "bob", None),
    );
    let b_events = vec![event("Secret", json!("b1")), event("Secret", json!("b2"))];
    let (status, _) = post(
        &arena.app,
        "/v1/streams/Order-1",
        &b,
        &append_body(json!(0), b_events.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let b_before = all_events(&arena.app, &b).await;

    // A subscribes before anything of A exists: the first event it gets must be A's own.
    let live = request("GET", "/v1/subscribe?after=0", Some(&a))
        .body(Body::empty())
        .unwrap();
    let live = arena.app.clone().oneshot(live).await.unwrap();
    assert_eq!(live.status(), StatusCode::OK);

    // Reads: A sees its own (empty) stream and log, whatever it adds to name B.
    for uri in ["/v1/streams/Order-1", "/v1/streams/Order-1?tenant=tenant-b"] {
        let (status, page) = get(&arena.app, uri, &a).await;
        assert_eq!(
            (
                status,
                page["currentVersion"].clone(),
                page["events"].clone()
            ),
            (StatusCode::OK, json!(0), json!([]))
        );
    }
    for uri in [
        "/v1/events",
        "/v1/events?tenant=tenant-b",
        "/v1/events?after=0&limit=10000",
    ] {
        let (status, page) = get(&arena.app, uri, &a).await;
        assert_eq!(
            (status, page),
            (StatusCode::OK, json!({"events": [], "head": 0})),
            "{uri}"
        );
    }
    let sneaky = request("GET", "/v1/events", Some(&a))
        .header("x-tenant", "tenant-b")
        .header("x-forwarded-user", "bob")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send(&arena.app, sneaky).await.1,
        json!({"events": [], "head": 0})
    );

    // Writes: B's version means nothing in A's stream, and a conflict leaks none of B's events.
    let at_b_version = append_body(json!(2), vec![event("E", json!("a"))]).to_string();
    let request = json_request("POST", "/v1/streams/Order-1", Some(&a), at_b_version);
    arena
        .refused(request, StatusCode::CONFLICT, "wrong_expected_version")
        .await;
    let (_, conflict) = post(
        &arena.app,
        "/v1/streams/Order-1",
        &a,
        &append_body(json!(2), vec![event("E", json!(0))]),
    )
    .await;
    assert_eq!(
        (
            conflict["currentVersion"].clone(),
            conflict["events"].clone()
        ),
        (json!(0), json!([]))
    );
    let batch = json!({"tenant": "tenant-b", "appends": [
        {"stream": "Order-1", "tenant": "tenant-b", "expectedVersion": 2, "events": [event("E", json!("a"))]}]});
    let before = arena.count().await;
    let (status, answer) = post(&arena.app, "/v1/batch", &a, &batch).await;
    assert_eq!(
        (
            status,
            answer["results"][0]["status"].clone(),
            answer["results"][0]["currentVersion"].clone()
        ),
        (StatusCode::OK, json!("conflict"), json!(0))
    );
    assert_eq!(
        arena.count().await,
        before,
        "a conflicting batch wrote nothing"
    );

    // B's event ids, resent by A, are a new append in A's tenant, not a replay of B's answer.
    let (status, answer) = post(
        &arena.app,
        "/v1/streams/Order-1",
        &a,
        &append_body(json!("any"), b_events),
    )
    .await;
    assert_eq!(
        (
            status,
            answer["firstPosition"].clone(),
            answer["firstVersion"].clone()
        ),
        (StatusCode::OK, json!(1), json!(1))
    );
    let first = first_event(live.into_body()).await;
    assert_eq!(
        (first["position"].clone(), first["stream"].clone()),
        (json!(1), json!("Order-1"))
    );
    assert_eq!(first["data"], "b1", "A's own copy, at A's position 1");

    // Keys: B's subject is another subject in A's tenant, and A's forget leaves B's key.
    let b_forget = scoped_token("tenant-b", "bob", None, Some("keys:forget"));
    let a_forget = scoped_token("tenant-a", "alice", None, Some("keys:forget"));
    send(
        &arena.app,
        json_request("PUT", "/v1/keys/c1", Some(&b_forget), KEY_PUT.into()),
    )
    .await;
    let (_, seen) = get(&arena.app, "/v1/keys/c1", &a).await;
    assert_eq!(
        (seen["keys"].clone(), seen["forgotten"].clone()),
        (json!([]), json!(false))
    );
    let forget = crate::support::request("DELETE", "/v1/keys/c1", Some(&a_forget))
        .body(Body::empty())
        .unwrap();
    send(&arena.app, forget).await;
    let (_, theirs) = get(&arena.app, "/v1/keys/c1", &b).await;
    assert_eq!(
        (
            theirs["keys"].as_array().unwrap().len(),
            theirs["forgotten"].clone()
        ),
        (1, json!(false))
    );
    assert_eq!(
        get(&arena.app, "/v1/keys", &b).await.1,
        json!({"forgotten": []})
    );

    assert_eq!(all_events(&arena.app, &b).await, b_before, "B is untouched");
    assert_eq!(all_events(&arena.app, &a).await.len(), 2);
    assert_eq!(arena.count().await, 4);
}
