//! Abuse of the server, each refused with the right 4xx and nothing written in any tenant
//! (counted in the database itself, not through the caller's eyes).
//!
//! Already covered elsewhere, each with "nothing written": malformed JSON, non-UUID ids,
//! duplicate ids in one request, oversized body / too many events / oversized event, rate limit
//! (`tests/server/router_errors.rs`); bad tokens on `/v1/events`, prefixes on append, read,
//! batch and `/v1/events` (`tests/server/router_auth.rs`); prefixes and tenants on
//! `/v1/subscribe` (`tests/server/router_subscribe.rs`). This module adds every bad token on
//! every endpoint, tenant A against tenant B through every endpoint, and prefixes everywhere;
//! `abuse_input.rs` adds wrong types, stream ids with SQL and path tricks, more id forms and deep
//! nesting; `abuse_http.rs` adds what needs a socket.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::StatusCode;
use fieldstream_server::{AnyBackend, Backend};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::support::*;

/// A router over a real SQLite file, and the backend to count its rows.
pub struct Arena {
    /// The router.
    pub app: Router,
    backend: AnyBackend,
}

impl Arena {
    /// A fresh arena.
    pub async fn new() -> Self {
        let backend: AnyBackend = sqlite().await.into();
        Arena {
            app: app(backend.clone(), config()),
            backend,
        }
    }

    /// Events in the database, all tenants together.
    pub async fn count(&self) -> u64 {
        self.backend.count_events().await.expect("count events")
    }

    /// Sends `request`; asserts `status` and `code`, and that no tenant gained an event.
    pub async fn refused(
        &self,
        request: axum::http::Request<Body>,
        status: StatusCode,
        code: &str,
    ) {
        self.refused_as("", request, status, code).await;
    }

    /// [`Arena::refused`], with `label` in the failure message.
    pub async fn refused_as(
        &self,
        label: &str,
        request: axum::http::Request<Body>,
        status: StatusCode,
        code: &str,
    ) {
        let what = format!("{label} {} {}", request.method(), request.uri());
        let before = self.count().await;
        let (got, body) = send(&self.app, request).await;
        assert_eq!(
            (got, body["error"].as_str()),
            (status, Some(code)),
            "{what}: {body}"
        );
        assert_eq!(self.count().await, before, "{what} wrote something");
    }
}

/// A request with a JSON content type and `body`.
pub fn json_request(
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: String,
) -> axum::http::Request<Body> {
    request(method, uri, token)
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap()
}

fn one_append(stream: &str) -> (String, String, String) {
    let single = append_body(json!("any"), vec![event("E", json!(1))]).to_string();
    let batch = json!({"appends": [{"stream": stream, "expectedVersion": "any",
                                    "events": [event("E", json!(2))]}]})
    .to_string();
    (format!("/v1/streams/{stream}"), single, batch)
}

#[tokio::test]
async fn every_bad_token_on_every_endpoint_is_unauthorized() {
    let arena = Arena::new().await;
    let claims = |exp: u64| json!({"sub": "a", "tenant": "t", "exp": exp});
    let b64 = |v: Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let sign_with = |alg, key: &[u8]| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(alg),
            &claims(now_secs() + 3600),
            &jsonwebtoken::EncodingKey::from_secret(key),
        )
        .unwrap()
    };
    let valid = sign(&claims(now_secs() + 3600));
    let tampered = {
        let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
        parts[1] = b64(json!({"sub": "a", "tenant": "other", "exp": now_secs() + 3600}));
        parts.join(".")
    };
    let bad_tokens: Vec<(&str, Option<String>)> = vec![
        ("no token", None),
        ("expired", Some(sign(&claims(now_secs() - 3600)))),
        (
            "wrong signature",
            Some(sign_with(jsonwebtoken::Algorithm::HS256, b"not the secret")),
        ),
        (
            "HS512",
            Some(sign_with(jsonwebtoken::Algorithm::HS512, SECRET)),
        ),
        (
            "alg none",
            Some(format!(
                "{}.{}.",
                b64(json!({"alg": "none"})),
                b64(claims(now_secs() + 3600))
            )),
        ),
        ("tampered claims", Some(tampered)),
        ("garbage", Some("a.b.c".into())),
        ("empty", Some(String::new())),
    ];
    let (stream_uri, single, batch) = one_append("Order-1");
    for (name, bad) in &bad_tokens {
        let t = bad.as_deref();
        let requests = vec![
            json_request("POST", &stream_uri, t, single.clone()),
            json_request("POST", "/v1/batch", t, batch.clone()),
            request("GET", &stream_uri, t).body(Body::empty()).unwrap(),
            request("GET", "/v1/events", t).body(Body::empty()).unwrap(),
            request("GET", "/v1/subscribe", t)
                .body(Body::empty())
                .unwrap(),
        ];
        for request in requests {
            arena
                .refused_as(name, request, StatusCode::UNAUTHORIZED, "unauthorized")
                .await;
        }
        if let Some(token) = bad {
            let query = format!("/v1/subscribe?access_token={token}");
            let request = request("GET", &query, None).body(Body::empty()).unwrap();
            arena
                .refused(request, StatusCode::UNAUTHORIZED, "unauthorized")
                .await;
        }
    }
    // A valid token in the query string counts only for /v1/subscribe.
    for uri in [
        format!("{stream_uri}?access_token={valid}"),
        format!("/v1/events?access_token={valid}"),
    ] {
        let request = request("GET", &uri, None).body(Body::empty()).unwrap();
        arena
            .refused(request, StatusCode::UNAUTHORIZED, "unauthorized")
            .await;
    }
    assert_eq!(arena.count().await, 0);
}

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

    assert_eq!(all_events(&arena.app, &b).await, b_before, "B is untouched");
    assert_eq!(all_events(&arena.app, &a).await.len(), 2);
    assert_eq!(arena.count().await, 4);
}

#[tokio::test]
async fn streams_outside_the_prefixes_are_forbidden_everywhere() {
    let arena = Arena::new().await;
    let clerk = token("t", "clerk", Some(&["Order-*"]));
    for stream in ["Customer-1", "order-1", "Orde", "XOrder-1"] {
        let (uri, single, _) = one_append(stream);
        arena
            .refused(
                json_request("POST", &uri, Some(&clerk), single),
                StatusCode::FORBIDDEN,
                "forbidden",
            )
            .await;
        arena
            .refused(
                json_request("POST", &uri, Some(&clerk), "{broken".into()),
                StatusCode::FORBIDDEN,
                "forbidden",
            )
            .await;
        arena
            .refused(
                request("GET", &uri, Some(&clerk))
                    .body(Body::empty())
                    .unwrap(),
                StatusCode::FORBIDDEN,
                "forbidden",
            )
            .await;
        let before = arena.count().await;
        let (_, answer) = post(
            &arena.app,
            "/v1/batch",
            &clerk,
            &serde_json::from_str(&one_append(stream).2).unwrap(),
        )
        .await;
        assert_eq!(answer["results"][0]["error"], "forbidden", "{stream}");
        assert_eq!(arena.count().await, before);
    }
    assert_eq!(arena.count().await, 0);
}
