//! Abuse through the request body and path: wrong types, odd id spellings, deep nesting, and
//! stream ids with SQL or path tricks; each refused with the right 4xx and nothing written.

use axum::body::Body;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::abuse::{Arena, json_request};
use crate::support::*;

#[tokio::test]
async fn wrong_types_and_deep_nesting_are_invalid_and_write_nothing() {
    let arena = Arena::new().await;
    let t = token("t", "alice", None);
    let id = uuid::Uuid::new_v4();
    let ok = json!({"id": id, "type": "E"});
    let mut bodies: Vec<(Value, &str)> = Vec::new();
    for expected in [
        json!(true),
        json!(1.5),
        json!("1"),
        json!(null),
        json!([]),
        json!({}),
        json!(-0.0),
        json!("NO_STREAM"),
    ] {
        bodies.push((
            json!({"expectedVersion": expected, "events": [ok]}),
            "invalid_json",
        ));
    }
    for events in [json!("E"), json!(null), json!({"0": ok}), json!(7)] {
        bodies.push((
            json!({"expectedVersion": "any", "events": events}),
            "invalid_json",
        ));
    }
    for bad in [
        json!({"id": 5, "type": "E"}),
        json!({"id": id, "type": 5}),
        json!({"id": id, "type": ["E"]}),
        json!({"id": id, "type": "E", "schemaVersion": "1"}),
        json!({"id": id, "type": "E", "schemaVersion": 1.5}),
        json!({"id": id, "type": "E", "schemaVersion": -1}),
        json!({"id": id, "type": "E", "schemaVersion": 4294967296u64}),
        json!({"id": id, "type": "E", "metadata": "x"}),
        json!({"id": id, "type": "E", "metadata": 5}),
        json!({"id": null, "type": "E"}),
        json!({"id": "", "type": "E"}),
        json!({"id": format!("{id}0"), "type": "E"}),
        json!({"id": "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", "type": "E"}),
        json!({"id": id, "type": "E'; DROP TABLE fieldstream_events; --"}),
        json!(null),
        json!([ok]),
    ] {
        bodies.push((
            json!({"expectedVersion": "any", "events": [bad]}),
            "invalid_event",
        ));
    }
    // One id twice, spelt two ways: still a duplicate.
    let upper = id.to_string().to_uppercase();
    bodies.push((
        json!({"expectedVersion": "any", "events": [ok, {"id": upper, "type": "E"}]}),
        "invalid_event",
    ));
    for (body, code) in bodies {
        let request = json_request("POST", "/v1/streams/s", Some(&t), body.to_string());
        arena.refused(request, StatusCode::BAD_REQUEST, code).await;
    }
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    for raw in [
        format!(
            "{{\"expectedVersion\": \"any\", \"events\": [{{\"id\": \"{id}\", \"type\": \"E\", \"data\": {deep}}}]}}"
        ),
        deep.clone(),
        "\u{feff}{}".into(),
        "\"\\ud800\"".into(),
    ] {
        let request = json_request("POST", "/v1/streams/s", Some(&t), raw);
        let before = arena.count().await;
        let (status, body) = send(&arena.app, request).await;
        assert!(status.is_client_error(), "{status} {body}");
        assert_eq!(arena.count().await, before);
    }
    let batch = format!("{{\"appends\": {deep}}}");
    let request = json_request("POST", "/v1/batch", Some(&t), batch);
    arena
        .refused(request, StatusCode::BAD_REQUEST, "invalid_json")
        .await;
    assert_eq!(arena.count().await, 0);
}

#[tokio::test]
async fn a_key_repeated_anywhere_in_a_body_is_invalid_json_and_writes_nothing() {
    let arena = Arena::new().await;
    let t = token("t", "alice", None);
    let id = || uuid::Uuid::new_v4();
    let event = |extra: &str| format!("{{\"id\": \"{}\", \"type\": \"E\"{extra}}}", id());
    let append = |body: &str| json_request("POST", "/v1/streams/s", Some(&t), body.to_owned());
    // Each body is accepted without its repeated key, so a refusal is for the repetition.
    let cases: Vec<(String, String)> = vec![
        (
            format!(
                "{{\"expectedVersion\": \"any\", \"expectedVersion\": 0, \"events\": [{}]}}",
                event("")
            ),
            format!(
                "{{\"expectedVersion\": \"any\", \"events\": [{}]}}",
                event("")
            ),
        ),
        (
            format!(
                "{{\"expectedVersion\": \"any\", \"events\": [{}], \"events\": [{}]}}",
                event(""),
                event("")
            ),
            format!(
                "{{\"expectedVersion\": \"any\", \"events\": [{}]}}",
                event("")
            ),
        ),
        (
            format!(
                "{{\"expectedVersion\": \"any\", \"events\": [{{\"id\": \"{}\", \"id\": \"{}\", \"type\": \"E\"}}]}}",
                id(),
                id()
            ),
            format!(
                "{{\"expectedVersion\": \"any\", \"events\": [{}]}}",
                event("")
            ),
        ),
        (
            format!(
                "{{\"expectedVersion\": \"any\", \"events\": [{}]}}",
                event(", \"data\": {\"a\": 1, \"a\": 2}")
            ),
            format!(
                "{{\"expectedVersion\": \"any\", \"events\": [{}]}}",
                event(", \"data\": {\"a\": 1}")
            ),
        ),
        (
            format!(
                "{{\"expectedVersion\": \"any\", \"events\": [{}]}}",
                event(", \"metadata\": {\"m\": {\"x\": 1, \"x\": 1}}")
            ),
            format!(
                "{{\"expectedVersion\": \"any\", \"events\": [{}]}}",
                event(", \"metadata\": {\"m\": {\"x\": 1}}")
            ),
        ),
    ];
    for (repeated, fine) in cases {
        arena
            .refused(append(&repeated), StatusCode::BAD_REQUEST, "invalid_json")
            .await;
        let (status, body) = send(&arena.app, append(&fine)).await;
        assert_eq!(status, StatusCode::OK, "{fine}: {body}");
    }
    let batch = |appends: &str| json_request("POST", "/v1/batch", Some(&t), appends.to_owned());
    let one = format!(
        "[{{\"stream\": \"s\", \"expectedVersion\": \"any\", \"events\": [{}]}}]",
        event("")
    );
    arena
        .refused(
            batch(&format!("{{\"appends\": [], \"appends\": {one}}}")),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        )
        .await;
    let key = "{\"id\": \"k1\", \"key\": \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}";
    let put = json_request(
        "PUT",
        "/v1/keys/c1",
        Some(&t),
        format!("{{\"keys\": [{key}], \"keys\": [{key}]}}"),
    );
    arena
        .refused(put, StatusCode::BAD_REQUEST, "invalid_json")
        .await;
    let (_, keys) = get(&arena.app, "/v1/keys/c1", &t).await;
    assert_eq!(keys["keys"], json!([]), "the refused PUT stored nothing");
}

#[tokio::test]
async fn stream_ids_with_sql_or_path_tricks_are_refused_and_the_table_survives() {
    let arena = Arena::new().await;
    let t = token("t", "alice", None);
    let body = append_body(json!("any"), vec![event("E", json!(1))]).to_string();
    for stream in [
        "Order-1%27%3B%20DROP%20TABLE%20fieldstream_events%3B--",
        "Order-1'--",
        "Order-1%22%20OR%20%221%22%3D%221",
        "%27%20OR%201%3D1",
        "..",
        "%2E%2E",
        "..%2F..%2Fetc%2Fpasswd",
        "Order%2F1",
        "Order%5C1",
        "Order-1%00",
        "Order-1%0Aevil",
        "%25",
        "Order-1%3Fa%3D1",
        "Order-1%23x",
        "Order%E2%80%AE1",
        "_hidden",
        ".hidden",
    ] {
        let uri = format!("/v1/streams/{stream}");
        arena
            .refused(
                json_request("POST", &uri, Some(&t), body.clone()),
                StatusCode::BAD_REQUEST,
                "invalid_stream_id",
            )
            .await;
        arena
            .refused(
                request("GET", &uri, Some(&t)).body(Body::empty()).unwrap(),
                StatusCode::BAD_REQUEST,
                "invalid_stream_id",
            )
            .await;
        let batch = json!({"appends": [{"stream": percent_encoding::percent_decode_str(stream).decode_utf8_lossy(), "expectedVersion": "any", "events": [event("E", json!(1))]}]});
        let (_, answer) = post(&arena.app, "/v1/batch", &t, &batch).await;
        assert_eq!(
            answer["results"][0]["error"], "invalid_stream_id",
            "{stream}"
        );
    }
    for uri in [
        "/v1/streams/../events",
        "/v1/streams/a/../../b",
        "/v1/streams//",
        "/v1/streams/a/b",
    ] {
        let (status, answer) = send(
            &arena.app,
            json_request("POST", uri, Some(&t), body.clone()),
        )
        .await;
        assert!(
            status == StatusCode::NOT_FOUND || status == StatusCode::BAD_REQUEST,
            "{uri}: {status} {answer}"
        );
    }
    assert_eq!(arena.count().await, 0);
    let (status, _) = post(
        &arena.app,
        "/v1/streams/Order-1",
        &t,
        &serde_json::from_str(&body).unwrap(),
    )
    .await;
    assert_eq!(
        (status, arena.count().await),
        (StatusCode::OK, 1),
        "the table is still there"
    );
}
