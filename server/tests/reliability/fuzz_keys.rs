//! Fuzzing the key service with proptest through the real router: near-valid and arbitrary
//! `PUT` bodies, odd subjects, every method, whole-tenant, restricted and scoped tokens, and odd
//! queries of the forgotten list. Properties: never a 5xx, a refused `PUT` stores nothing, and
//! every key answered is a 32-byte key.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::http::StatusCode;
use base64::Engine;
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::fuzz::{Harness, json_value, runner};
use crate::support::*;

fn key_id() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[A-Za-z0-9_-]{1,8}",
        1 => ".{0,70}",
    ]
}

fn key_material() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => any::<[u8; 32]>()
            .prop_map(|bytes| Value::from(base64::engine::general_purpose::STANDARD.encode(bytes))),
        1 => ".{0,50}".prop_map(Value::from),
        1 => json_value(),
    ]
}

fn put_body() -> impl Strategy<Value = Value> {
    let entry = (key_id(), key_material()).prop_map(|(id, key)| json!({"id": id, "key": key}));
    let stream = prop_oneof![
        2 => Just(None),
        4 => Just(Some(Value::from("Order-1"))),
        2 => prop::sample::select(vec!["Order-10", "Customer-1", "bad stream", ""])
            .prop_map(|s| Some(Value::from(s))),
    ];
    prop_oneof![
        8 => (prop::collection::vec(entry, 0..4), stream).prop_map(|(keys, stream)| {
            let mut body = json!({"keys": keys});
            if let Some(stream) = stream {
                body["stream"] = stream;
            }
            body
        }),
        1 => json_value(),
    ]
}

fn subject() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "(c|ü-ber|a b)[0-9]{1,3}",
        1 => ".{0,210}",
    ]
}

/// The keys of `subject` as a whole-tenant token sees them (`None` for an invalid subject).
fn held(harness: &Harness, path: &str) -> Option<Value> {
    let admin = token("fuzz", "admin", None);
    let request = request("GET", path, Some(&admin))
        .body(Body::empty())
        .unwrap();
    let (status, body) = harness.runtime.block_on(send(&harness.app, request));
    (status == StatusCode::OK).then(|| body["keys"].clone())
}

#[test]
fn key_requests_never_fail_with_5xx_and_a_refused_put_stores_nothing() {
    let harness = Harness::new();
    let (stored, cases) = (AtomicU64::new(0), AtomicU64::new(0));
    let tokens = [
        scoped_token("fuzz", "tablet", None, Some("keys:forget")),
        token("fuzz", "rep", Some(&["Order-1"])),
        scoped_token("fuzz", "dpo", Some(&["Order-1*"]), Some("keys:forget")),
        token("fuzz", "nobody", Some(&[])),
    ];
    let method = prop::sample::select(vec!["GET", "PUT", "PUT", "PUT", "DELETE"]);
    let query = prop_oneof![4 => Just(None), 1 => "[-0-9a-z=&%]{0,20}".prop_map(Some)];
    runner()
        .run(
            &(method, subject(), put_body(), 0..tokens.len(), query),
            |(method, subject, body, who, query)| {
                let encoded = percent_encoding::utf8_percent_encode(
                    &subject,
                    percent_encoding::NON_ALPHANUMERIC,
                );
                let path = match &query {
                    Some(query) => format!("/v1/keys?{query}"),
                    None => format!("/v1/keys/{encoded}"),
                };
                let method = if query.is_some() { "GET" } else { method };
                let before = held(&harness, &path);
                let request = request(method, &path, Some(&tokens[who]))
                    .header("content-type", "application/json")
                    .body(Body::from(body.to_string()))
                    .unwrap();
                let (status, answer, added) = harness.send(request)?;
                cases.fetch_add(1, Ordering::Relaxed);
                prop_assert_eq!(added, 0, "the key service writes no event");
                if method == "PUT" && status == StatusCode::OK && held(&harness, &path) != before {
                    stored.fetch_add(1, Ordering::Relaxed);
                }
                if status == StatusCode::OK {
                    for key in answer["keys"].as_array().into_iter().flatten() {
                        let text = key["key"].as_str().unwrap_or_default();
                        let bytes = base64::engine::general_purpose::STANDARD.decode(text);
                        prop_assert!(bytes.is_ok_and(|b| b.len() == 32), "{answer}");
                    }
                } else {
                    prop_assert!(answer["error"].is_string(), "{status}: {answer}");
                    if method == "PUT" && query.is_none() {
                        prop_assert_eq!(held(&harness, &path), before, "a refused PUT stored keys");
                    }
                }
                Ok(())
            },
        )
        .unwrap();
    let (stored, cases) = (stored.into_inner(), cases.into_inner());
    crate::mode::report(
        "fuzz-keys",
        json!({"cases": cases, "putsThatStored": stored, "5xx": 0}),
    );
    assert!(
        stored * 50 > cases,
        "the generator reaches the store: {stored}/{cases}"
    );
}
