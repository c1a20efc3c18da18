//! Router-level tests of `/v1/subscribe`: catch-up, live events, `Last-Event-ID`, heartbeats,
//! tenant isolation and query-string tokens.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::StatusCode;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::support::*;

/// Reads server-sent messages from a response body.
pub struct SseReader {
    body: Body,
    buffer: String,
}

/// One server-sent message: its fields, or a comment.
#[derive(Debug, Default, PartialEq)]
pub struct Message {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: Option<Value>,
    pub comment: Option<String>,
}

impl SseReader {
    /// A reader of a subscription's response body.
    pub fn new(body: Body) -> Self {
        SseReader {
            body,
            buffer: String::new(),
        }
    }

    /// The next message, failing the test after 10 s.
    pub async fn next(&mut self) -> Message {
        tokio::time::timeout(Duration::from_secs(10), self.read())
            .await
            .expect("an SSE message within 10 s")
    }

    async fn read(&mut self) -> Message {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut message = Message::default();
                for line in block.lines() {
                    if let Some(comment) = line.strip_prefix(':') {
                        message.comment = Some(comment.trim().to_owned());
                    } else if let Some((field, value)) = line.split_once(": ") {
                        match field {
                            "id" => message.id = Some(value.to_owned()),
                            "event" => message.event = Some(value.to_owned()),
                            "data" => {
                                message.data = Some(serde_json::from_str(value).expect("JSON data"))
                            }
                            _ => {}
                        }
                    }
                }
                return message;
            }
            let frame = self
                .body
                .frame()
                .await
                .expect("stream open")
                .expect("body frame");
            if let Ok(data) = frame.into_data() {
                self.buffer
                    .push_str(std::str::from_utf8(&data).expect("UTF-8"));
            }
        }
    }

    /// The next event message (skipping heartbeats).
    pub async fn next_event(&mut self) -> Message {
        loop {
            let message = self.next().await;
            if message.event.is_some() {
                return message;
            }
        }
    }
}

async fn subscribe(app: &Router, uri: &str, token: &str, last_event_id: Option<&str>) -> SseReader {
    let mut request = request("GET", uri, Some(token));
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    SseReader {
        body: response.into_body(),
        buffer: String::new(),
    }
}

async fn append(app: &Router, token: &str, stream: &str, data: Value) {
    let body = append_body(json!("any"), vec![event("E", data)]);
    assert_eq!(
        post(app, &format!("/v1/streams/{stream}"), token, &body)
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn catches_up_then_goes_live() {
    let app = sqlite_app().await;
    let t = token("t", "alice", None);
    for i in 1..=3 {
        append(&app, &t, "s", json!(i)).await;
    }
    let mut feed = subscribe(&app, "/v1/subscribe?after=1", &t, None).await;
    let message = feed.next_event().await;
    assert_eq!(
        (message.id.as_deref(), message.event.as_deref()),
        (Some("2"), Some("event"))
    );
    let data = message.data.unwrap();
    assert_eq!(
        (
            data["position"].clone(),
            data["data"].clone(),
            data["stream"].clone()
        ),
        (json!(2), json!(2), json!("s"))
    );
    assert_eq!(feed.next_event().await.id.as_deref(), Some("3"));

    append(&app, &t, "other", json!("live")).await;
    let live = feed.next_event().await;
    assert_eq!(live.id.as_deref(), Some("4"));
    assert_eq!(live.data.unwrap()["data"], "live");

    // A reconnect resumes after Last-Event-ID, whatever `after` says.
    let mut again = subscribe(&app, "/v1/subscribe?after=0", &t, Some("3")).await;
    assert_eq!(again.next_event().await.id.as_deref(), Some("4"));
}

#[tokio::test]
async fn heartbeats_and_subscriber_gauge() {
    let mut config = config();
    config.heartbeat = Duration::from_millis(100);
    let app = app(sqlite().await, config);
    let t = token("t", "alice", None);
    let mut feed = subscribe(&app, "/v1/subscribe", &t, None).await;
    assert_eq!(feed.next().await.comment.as_deref(), Some("heartbeat"));
    let metrics = send(
        &app,
        request("GET", "/metrics", None)
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .1;
    assert!(
        metrics
            .as_str()
            .unwrap()
            .contains("fieldstream_live_subscribers 1")
    );
    drop(feed);
    let metrics = send(
        &app,
        request("GET", "/metrics", None)
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .1;
    assert!(
        metrics
            .as_str()
            .unwrap()
            .contains("fieldstream_live_subscribers 0")
    );
}

#[tokio::test]
async fn isolated_by_tenant_and_prefix_with_query_tokens() {
    let app = sqlite_app().await;
    let a = token("a", "alice", None);
    let b = token("b", "bob", None);
    let orders = token("a", "clerk", Some(&["Order-*"]));
    let mut feed_b = subscribe(&app, "/v1/subscribe", &b, None).await;
    // EventSource cannot send headers: the token may come as `access_token`.
    let response = app
        .clone()
        .oneshot(
            request("GET", &format!("/v1/subscribe?access_token={orders}"), None)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut feed_orders = SseReader {
        body: response.into_body(),
        buffer: String::new(),
    };
    let (status, _) = get(&app, "/v1/events?access_token=x", "").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "query tokens only for /v1/subscribe"
    );

    append(&app, &a, "Customer-1", json!("a1")).await;
    append(&app, &a, "Order-1", json!("a2")).await;
    append(&app, &b, "Customer-1", json!("b1")).await;
    let message = feed_b.next_event().await;
    assert_eq!(
        (message.id.as_deref(), message.data.unwrap()["data"].clone()),
        (Some("1"), json!("b1"))
    );
    let message = feed_orders.next_event().await;
    assert_eq!(
        (message.id.as_deref(), message.data.unwrap()["data"].clone()),
        (Some("2"), json!("a2"))
    );
}
