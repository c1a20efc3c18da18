//! Abuse of the server, each refused with the right 4xx and nothing written in any tenant
//! (counted in the database itself, not through the caller's eyes).
//!
//! Already covered elsewhere, each with "nothing written": malformed JSON, non-UUID ids,
//! duplicate ids in one request, oversized body / too many events / oversized event, rate limit
//! (`tests/server/router_errors.rs`); grants at their boundary on every endpoint
//! (`tests/server/grants.rs`). This module adds every bad token on every endpoint (the key
//! service's included) and grants everywhere; `abuse_tenants.rs` adds tenant A against tenant B
//! through every endpoint; `abuse_input.rs` wrong types, repeated keys, stream ids with SQL and
//! path tricks, more id forms and deep nesting; `abuse_http.rs`, `abuse_slow.rs` and
//! `abuse_limits.rs` what needs a socket and the real binary.

use axum::Router;
use axum::body::Body;
use axum::http::StatusCode;
use fieldstream_server::{AnyBackend, Backend};
use serde_json::{Value, json};

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

/// A valid key PUT for stream `Order-1`.
pub const KEY_PUT: &str = r#"{"keys": [{"id": "k1", "key": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}], "stream": "Order-1"}"#;

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
            request("GET", "/v1/keys/c1", t)
                .body(Body::empty())
                .unwrap(),
            json_request("PUT", "/v1/keys/c1", t, KEY_PUT.into()),
            request("DELETE", "/v1/keys/c1", t)
                .body(Body::empty())
                .unwrap(),
            request("GET", "/v1/keys", t).body(Body::empty()).unwrap(),
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
        let put = KEY_PUT.replace("Order-1", stream);
        let (status, _) = send(
            &arena.app,
            json_request("PUT", "/v1/keys/c1", Some(&clerk), put),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "a key PUT for {stream}");
    }
    let admin = token("t", "admin", None);
    let put = KEY_PUT.replace("Order-1", "Customer-1");
    send(
        &arena.app,
        json_request("PUT", "/v1/keys/c9", Some(&admin), put),
    )
    .await;
    for (method, uri) in [("GET", "/v1/keys/c9"), ("DELETE", "/v1/keys/c9")] {
        let forget = scoped_token("t", "clerk", Some(&["Order-*"]), Some("keys:forget"));
        let request = request(method, uri, Some(&forget))
            .body(Body::empty())
            .unwrap();
        let (status, _) = send(&arena.app, request).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{method} a subject of Customer-1"
        );
    }
    assert_eq!(arena.count().await, 0);
}
