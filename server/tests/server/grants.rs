//! Stream grants at their boundary on every endpoint, on SQLite and PostgreSQL: `Order-1` grants
//! `Order-1` and nothing else (not `Order-10`, `Order-123`, `Order-1@x`); `Order-1*` grants the
//! streams starting with `Order-1`. And what a restricted token may not learn: the tenant's head
//! beyond what it reads, or whether an event id is used in a stream it cannot read.

use axum::Router;
use axum::body::Body;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::keys::{call, keys};
use crate::router_subscribe::SseReader;
use crate::support::*;

const STREAMS: [&str; 5] = ["Order-1", "Order-10", "Order-123", "Order-1@x", "Order-2"];

fn one(i: usize) -> Value {
    append_body(json!("any"), vec![event("E", json!(i))])
}

fn streams_of(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["stream"].as_str().unwrap().to_owned())
        .collect()
}

async fn subscribe(app: &Router, token: &str) -> SseReader {
    let request = request("GET", "/v1/subscribe?after=0", Some(token))
        .body(Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(app.clone(), request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    SseReader::new(response.into_body())
}

async fn boundaries(app: Router) {
    let admin = token("t", "admin", None);
    for (i, stream) in STREAMS.iter().enumerate() {
        let (status, _) = post(&app, &format!("/v1/streams/{stream}"), &admin, &one(i)).await;
        assert_eq!(status, StatusCode::OK);
    }
    let exact = token("t", "rep", Some(&["Order-1"]));
    let wild = token("t", "rep", Some(&["Order-1*"]));
    for (label, t, stream, allowed) in [
        ("exact", &exact, "Order-1", true),
        ("exact", &exact, "Order-10", false),
        ("exact", &exact, "Order-123", false),
        ("exact", &exact, "Order-1@x", false),
        ("exact", &exact, "Order-", false),
        ("wildcard", &wild, "Order-1", true),
        ("wildcard", &wild, "Order-10", true),
        ("wildcard", &wild, "Order-1@x", true),
        ("wildcard", &wild, "Order-2", false),
        ("wildcard", &wild, "Order-", false),
    ] {
        let what = format!("{label} grant on {stream}");
        let uri = format!("/v1/streams/{stream}");
        let expected = if allowed {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(
            post(&app, &uri, t, &one(9)).await.0,
            expected,
            "append: {what}"
        );
        assert_eq!(get(&app, &uri, t).await.0, expected, "read: {what}");
        let batch = json!({"appends": [{"stream": stream, "expectedVersion": "any",
                                        "events": [event("E", json!(9))]}]});
        let (_, answer) = post(&app, "/v1/batch", t, &batch).await;
        let status = &answer["results"][0]["status"];
        assert_eq!(status == "ok", allowed, "batch: {what}: {answer}");
        let id = format!("k{}", stream.len());
        let put = keys(&[id.as_str()], Some(stream));
        let (status, _) = call(&app, "PUT", "/v1/keys/c1", Some(t), Some(put)).await;
        assert_eq!(status, expected, "key PUT: {what}");
    }
    let admin_view = streams_of(&all_events(&app, &admin).await);
    let view = |t: &str| {
        let app = app.clone();
        let t = t.to_owned();
        async move { streams_of(&all_events(&app, &t).await) }
    };
    let only = |names: &[&str]| -> Vec<String> {
        admin_view
            .iter()
            .filter(|s| names.contains(&s.as_str()))
            .cloned()
            .collect()
    };
    assert_eq!(view(&exact).await, only(&["Order-1"]));
    assert_eq!(
        view(&wild).await,
        only(&["Order-1", "Order-10", "Order-123", "Order-1@x"])
    );
    // Live: an exact grant receives its stream's events and nothing of the near names.
    let mut live = subscribe(&app, &exact).await;
    for _ in 0..only(&["Order-1"]).len() {
        assert_eq!(live.next_event().await.data.unwrap()["stream"], "Order-1");
    }
    post(&app, "/v1/streams/Order-10", &admin, &one(20)).await;
    post(&app, "/v1/streams/Order-1", &admin, &one(21)).await;
    let next = live.next_event().await.data.unwrap();
    assert_eq!(
        (next["stream"].clone(), next["data"].clone()),
        (json!("Order-1"), json!(21))
    );
    // Keys: only the key PUT for a stream the token reads is visible to it.
    let (status, seen) = call(&app, "GET", "/v1/keys/c1", Some(&exact), None).await;
    assert_eq!(
        (status, seen["keys"].as_array().unwrap().len()),
        (StatusCode::OK, 1)
    );
    let (_, seen) = call(&app, "GET", "/v1/keys/c1", Some(&wild), None).await;
    assert_eq!(seen["keys"].as_array().unwrap().len(), 3);
    // A grant that is neither exact nor a wildcard at its end makes the token invalid.
    for bad in ["Or*der", "Order-1**", "bad stream", "", "-x*"] {
        let t = token("t", "rep", Some(&[bad]));
        assert_eq!(
            get(&app, "/v1/events", &t).await.0,
            StatusCode::UNAUTHORIZED,
            "{bad:?}"
        );
    }
}

async fn leaks(app: Router) {
    let admin = token("t", "admin", None);
    let rep = token("t", "rep", Some(&["Order-1"]));
    let secret = event("Secret", json!("s"));
    let secret_id = secret["id"].as_str().unwrap().to_owned();
    let body = append_body(json!("any"), vec![secret, event("Secret", json!(2))]);
    post(&app, "/v1/streams/Secret-1", &admin, &body).await;
    let (_, mine) = post(&app, "/v1/streams/Order-1", &rep, &one(1)).await;
    assert_eq!(mine["lastPosition"], 3);
    for i in 0..4 {
        post(&app, "/v1/streams/Secret-1", &admin, &one(i)).await;
    }
    let (_, page) = get(&app, "/v1/events?after=0", &rep).await;
    assert_eq!(
        (
            page["head"].clone(),
            page["events"].as_array().unwrap().len()
        ),
        (json!(3), 1)
    );
    let (_, page) = get(&app, "/v1/events?after=3", &rep).await;
    assert_eq!(
        page,
        json!({"events": [], "head": 3}),
        "nothing past its own newest event"
    );
    let nothing = token("t", "x", Some(&[]));
    assert_eq!(
        get(&app, "/v1/events", &nothing).await.1,
        json!({"events": [], "head": 0})
    );
    assert_eq!(get(&app, "/v1/events", &admin).await.1["head"], 7);

    // An id used in a stream the token cannot read is refused exactly like any other misuse
    // of an id: no stream, no id in the answer.
    let theirs = append_body(json!("any"), vec![json!({"id": secret_id, "type": "E"})]);
    let (status, refused) = post(&app, "/v1/streams/Order-1", &rep, &theirs).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let own_id = all_events(&app, &rep).await[0]["id"].clone();
    let reused = append_body(
        json!("any"),
        vec![json!({"id": own_id, "type": "E"}), event("E", json!(0))],
    );
    let (_, own) = post(&app, "/v1/streams/Order-1", &rep, &reused).await;
    assert_eq!(refused, own, "the same answer whoever holds the id");
    let text = refused.to_string();
    assert!(
        !text.contains("Secret") && !text.contains(&secret_id),
        "{text}"
    );
}

#[tokio::test]
async fn grants_at_the_boundary_on_sqlite() {
    boundaries(sqlite_app().await).await;
}

#[tokio::test]
async fn grants_at_the_boundary_on_postgres() {
    boundaries(app(postgres().await, config())).await;
}

#[tokio::test]
async fn restricted_tokens_learn_nothing_beyond_their_streams_on_sqlite() {
    leaks(sqlite_app().await).await;
}

#[tokio::test]
async fn restricted_tokens_learn_nothing_beyond_their_streams_on_postgres() {
    leaks(app(postgres().await, config())).await;
}
