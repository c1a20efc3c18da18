//! Fuzzing the request decoding and the append path with proptest: arbitrary and near-valid
//! bodies, paths, queries and headers through the real router on an in-memory SQLite database.
//! Properties: no panic, never a 5xx, and the database grows by exactly the events of the
//! requests answered 200 (a refused request writes nothing).
//!
//! 256 cases per property by default; `PROPTEST_CASES=100000` for a long run (`scripts/soak.sh`).

use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::StatusCode;
use fieldstream_server::routes::append::check_append;
use fieldstream_server::{AnyBackend, Backend, Limits};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value, json};

use crate::mode::report;
use crate::support::*;

pub fn runner() -> TestRunner {
    // No regression files next to the sources; a failure prints its minimal case.
    TestRunner::new(Config {
        failure_persistence: None,
        ..Config::default()
    })
}

fn json_key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "id",
            "type",
            "schemaVersion",
            "data",
            "metadata",
            "expectedVersion",
            "events",
            "appends",
            "stream",
        ])
        .prop_map(str::to_owned),
        ".{0,6}",
    ]
}

/// Any JSON value, biased towards what the protocol uses.
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
        prop::sample::select(vec![
            "any",
            "no_stream",
            "stream_exists",
            "E",
            "Order-1",
            ""
        ])
        .prop_map(Value::from),
        any::<u128>().prop_map(|n| Value::from(uuid::Uuid::from_u128(n).to_string())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((json_key(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// An event that is valid more often than not, with any field possibly replaced or dropped.
fn event_like() -> impl Strategy<Value = Value> {
    let id = prop_oneof![
        12 => any::<u128>().prop_map(|n| json!(uuid::Uuid::from_u128(n))),
        1 => json_value(),
    ];
    let event_type =
        prop_oneof![12 => "[A-Za-z][A-Za-z0-9._:-]{0,12}".prop_map(Value::from), 1 => json_value()];
    let schema = prop_oneof![
        6 => Just(None),
        6 => (1u32..5).prop_map(|n| Some(json!(n))),
        1 => json_value().prop_map(Some),
    ];
    let metadata = prop_oneof![
        6 => Just(None),
        6 => Just(Some(json!({"c": 1}))),
        1 => json_value().prop_map(Some),
    ];
    (
        id,
        event_type,
        schema,
        json_value(),
        metadata,
        prop::bool::weighted(0.05),
    )
        .prop_map(|(id, event_type, schema, data, metadata, drop_id)| {
            let mut event = Map::new();
            if !drop_id {
                event.insert("id".into(), id);
            }
            event.insert("type".into(), event_type);
            event.insert("data".into(), data);
            if let Some(schema) = schema {
                event.insert("schemaVersion".into(), schema);
            }
            if let Some(metadata) = metadata {
                event.insert("metadata".into(), metadata);
            }
            Value::Object(event)
        })
}

fn expected_version() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => prop::sample::select(vec!["any", "no_stream", "stream_exists"]).prop_map(Value::from),
        3 => (0u64..4).prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => json_value(),
    ]
}

/// An append body that is valid more often than not.
fn append_like() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => (expected_version(), prop::collection::vec(event_like(), 1..4))
            .prop_map(|(expected, events)| json!({"expectedVersion": expected, "events": events})),
        1 => expected_version().prop_map(|e| json!({"expectedVersion": e, "events": []})),
        1 => json_value(),
    ]
}

fn stream_id() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z0-9][A-Za-z0-9._:@-]{0,10}",
        1 => ".{0,12}",
    ]
}

fn events_in(body: &Value) -> u64 {
    body["events"].as_array().map_or(0, |e| e.len() as u64)
}

/// The router on an in-memory database, and a runtime to drive it from proptest.
pub struct Harness {
    /// Runs the requests.
    pub runtime: tokio::runtime::Runtime,
    /// The router.
    pub app: Router,
    backend: AnyBackend,
    /// A token of tenant `fuzz` for every stream.
    pub token: String,
}

impl Harness {
    /// A fresh harness.
    pub fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let backend: AnyBackend = runtime.block_on(sqlite_in_memory()).into();
        let mut config = config();
        config.limits.max_event_bytes = 2048;
        Harness {
            app: app(backend.clone(), config),
            backend,
            runtime,
            token: token("fuzz", "fuzzer", None),
        }
    }

    /// Sends `request`; fails the case on a 5xx; returns the status, body and events added.
    pub fn send(
        &self,
        request: axum::http::Request<Body>,
    ) -> Result<(StatusCode, Value, u64), TestCaseError> {
        self.runtime.block_on(async {
            let before = self.backend.count_events().await.unwrap();
            let (status, body) = send(&self.app, request).await;
            let added = self.backend.count_events().await.unwrap() - before;
            prop_assert!(!status.is_server_error(), "{status}: {body}");
            Ok((status, body, added))
        })
    }

    fn post(&self, uri: &str, body: String) -> axum::http::Request<Body> {
        request("POST", uri, Some(&self.token))
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap()
    }
}

#[test]
fn check_append_never_panics_and_refuses_with_4xx() {
    let limits = Limits::default();
    runner()
        .run(&prop_oneof![append_like(), json_value()], |body| {
            if let Err(error) = check_append(body.clone(), &limits) {
                let status = error.code().status();
                prop_assert!((400..500).contains(&status), "{status} for {body}");
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn appends_write_all_or_nothing_and_never_fail_with_5xx() {
    let harness = Harness::new();
    let (accepted, cases) = (AtomicU64::new(0), AtomicU64::new(0));
    runner()
        .run(&(stream_id(), append_like()), |(stream, body)| {
            let uri = format!(
                "/v1/streams/{}",
                percent_encoding::utf8_percent_encode(&stream, percent_encoding::NON_ALPHANUMERIC)
            );
            let (status, answer, added) = harness.send(harness.post(&uri, body.to_string()))?;
            cases.fetch_add(1, Ordering::Relaxed);
            if status == StatusCode::OK {
                accepted.fetch_add(1, Ordering::Relaxed);
                let first = answer["firstVersion"].as_u64().unwrap();
                let last = answer["lastVersion"].as_u64().unwrap();
                prop_assert!(added == 0 || added == last - first + 1, "{answer}");
                prop_assert!(added == 0 || added == events_in(&body));
            } else {
                prop_assert_eq!(added, 0, "a {} wrote: {}", status, answer);
                prop_assert!(answer["error"].is_string(), "{answer}");
            }
            Ok(())
        })
        .unwrap();
    let (accepted, cases) = (accepted.into_inner(), cases.into_inner());
    report(
        "fuzz-appends",
        json!({"cases": cases, "accepted": accepted, "panics": 0, "5xx": 0}),
    );
    assert!(
        accepted * 25 > cases,
        "the generator reaches the append path: {accepted}/{cases}"
    );
}

#[test]
fn raw_bytes_as_a_body_are_refused_with_4xx() {
    let harness = Harness::new();
    let bytes = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        append_like().prop_map(|v| {
            let mut text = v.to_string().into_bytes();
            text.truncate(text.len() / 2);
            text
        }),
    ];
    runner()
        .run(&(bytes, any::<bool>()), |(bytes, batch)| {
            let uri = if batch {
                "/v1/batch"
            } else {
                "/v1/streams/Order-1"
            };
            let request = request("POST", uri, Some(&harness.token))
                .header("content-type", "application/json")
                .body(Body::from(bytes))
                .unwrap();
            let (status, answer, added) = harness.send(request)?;
            prop_assert!(status == StatusCode::OK || added == 0, "{status} {answer}");
            Ok(())
        })
        .unwrap();
}

#[test]
fn batches_write_exactly_their_ok_results() {
    let harness = Harness::new();
    let item = (stream_id(), append_like()).prop_map(|(stream, mut body)| {
        if let Value::Object(map) = &mut body {
            map.insert("stream".into(), Value::from(stream));
        }
        body
    });
    let batch = prop_oneof![
        5 => prop::collection::vec(item, 0..5).prop_map(|appends| json!({"appends": appends})),
        1 => json_value(),
    ];
    runner()
        .run(&batch, |batch| {
            let (status, answer, added) =
                harness.send(harness.post("/v1/batch", batch.to_string()))?;
            if status != StatusCode::OK {
                prop_assert_eq!(added, 0);
                return Ok(());
            }
            let written: u64 = answer["results"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["status"] == "ok")
                .map(|r| {
                    r["lastPosition"].as_u64().unwrap() + 1 - r["firstPosition"].as_u64().unwrap()
                })
                .sum();
            // A replayed append is "ok" without writing: added is at most what the results say.
            prop_assert!(added <= written, "{added} > {written}: {answer}");
            Ok(())
        })
        .unwrap();
}

#[test]
fn odd_paths_queries_and_headers_never_fail_with_5xx() {
    let harness = Harness::new();
    let path = prop_oneof![
        Just("/v1/events".to_owned()),
        Just("/v1/subscribe".to_owned()),
        stream_id().prop_map(|s| format!(
            "/v1/streams/{}",
            percent_encoding::utf8_percent_encode(&s, percent_encoding::NON_ALPHANUMERIC)
        )),
        "/[a-z0-9/%._-]{0,24}",
    ];
    let query = prop_oneof![
        Just(String::new()),
        ("(after|from|limit|access_token|x)", "[-0-9a-z%]{0,22}")
            .prop_map(|(k, v)| format!("?{k}={v}")),
        "\\?[ -~]{0,20}".prop_filter("no space or hash", |q| !q.contains(' ') && !q.contains('#')),
    ];
    let header = prop_oneof![Just(None), "[ -~]{0,30}".prop_map(Some)];
    let method = prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD"]);
    runner()
        .run(
            &(method, path, query, header.clone(), header),
            |(method, path, query, last_id, auth)| {
                let mut builder = axum::http::Request::builder()
                    .method(method)
                    .uri(format!("{path}{query}"));
                builder = match auth {
                    Some(auth) => builder.header("authorization", auth),
                    None => builder.header("authorization", format!("Bearer {}", harness.token)),
                };
                if let Some(last_id) = last_id {
                    builder = builder.header("last-event-id", last_id);
                }
                let Ok(request) = builder.body(Body::empty()) else {
                    return Ok(()); // Not a valid HTTP request at all: nothing to send.
                };
                if path == "/v1/subscribe" && method == "GET" {
                    // A successful subscription never ends; only its status is checked.
                    let response = harness
                        .runtime
                        .block_on(tower::ServiceExt::oneshot(harness.app.clone(), request))
                        .unwrap();
                    prop_assert!(!response.status().is_server_error());
                    return Ok(());
                }
                let (_, _, added) = harness.send(request)?;
                prop_assert_eq!(added, 0);
                Ok(())
            },
        )
        .unwrap();
}
