//! Router-level tests of every endpoint's success path, CORS, static files and request ids.

use axum::body::Body;
use axum::http::StatusCode;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn health_and_metrics() {
    let app = sqlite_app().await;
    let (status, body) = send(
        &app,
        request("GET", "/health", None).body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ok"})));

    let t = token("t", "alice", None);
    let body = append_body(
        json!("no_stream"),
        vec![event("A", json!(1)), event("B", json!(2))],
    );
    assert_eq!(
        post(&app, "/v1/streams/s", &t, &body).await.0,
        StatusCode::OK
    );
    assert_eq!(
        post(&app, "/v1/streams/s", &t, &body).await.0,
        StatusCode::OK
    );
    let conflict = append_body(json!(0), vec![event("C", json!(3))]);
    assert_eq!(
        post(&app, "/v1/streams/s", &t, &conflict).await.0,
        StatusCode::CONFLICT
    );
    assert_eq!(
        get(&app, "/v1/events", "bad").await.0,
        StatusCode::UNAUTHORIZED
    );

    let (status, text) = send(
        &app,
        request("GET", "/metrics", None)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let text = text.as_str().unwrap();
    for line in [
        "fieldstream_appends_total 1",
        "fieldstream_events_appended_total 2",
        "fieldstream_idempotent_replays_total 1",
        "fieldstream_conflicts_total 1",
        "fieldstream_live_subscribers 0",
        "fieldstream_rejected_requests_total{code=\"wrong_expected_version\"} 1",
        "fieldstream_rejected_requests_total{code=\"unauthorized\"} 1",
        "fieldstream_request_duration_seconds_count{method=\"POST\",route=\"/v1/streams/{stream}\"} 3",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
}

#[tokio::test]
async fn append_then_read_a_stream() {
    let app = sqlite_app().await;
    let t = token("t", "alice", None);
    let first = event("OrderCreated", json!({"total": 3}));
    let body = append_body(
        json!("no_stream"),
        vec![first.clone(), event("OrderPaid", json!({}))],
    );
    let (status, response) = post(&app, "/v1/streams/Order-1", &t, &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        response,
        json!({"stream": "Order-1", "firstVersion": 1, "lastVersion": 2, "firstPosition": 1, "lastPosition": 2, "recordedAt": response["recordedAt"]})
    );
    assert!(response["recordedAt"].as_i64().unwrap() > 1_700_000_000_000);
    let (status, page) = get(&app, "/v1/streams/Order-1", &t).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["stream"], "Order-1");
    assert_eq!(page["currentVersion"], 2);
    let stored = &page["events"][0];
    assert_eq!(stored["id"], first["id"]);
    assert_eq!(stored["type"], "OrderCreated");
    assert_eq!(
        (stored["version"].clone(), stored["position"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(
        (stored["schemaVersion"].clone(), stored["metadata"].clone()),
        (json!(1), json!({}))
    );
    assert!(stored["recordedAt"].as_i64().unwrap() > 1_600_000_000_000);

    let (_, page) = get(&app, "/v1/streams/Order-1?from=2&limit=5", &t).await;
    assert_eq!(page["events"].as_array().unwrap().len(), 1);
    assert_eq!(page["events"][0]["version"], 2);
    let (status, page) = get(&app, "/v1/streams/Order-404", &t).await;
    assert_eq!(
        (status, page),
        (
            StatusCode::OK,
            json!({"stream": "Order-404", "currentVersion": 0, "events": []})
        )
    );
}

#[tokio::test]
async fn read_the_log_by_position() {
    let app = sqlite_app().await;
    let t = token("t", "alice", None);
    for stream in ["a", "b", "a"] {
        let body = append_body(json!("any"), vec![event("E", json!(stream))]);
        assert_eq!(
            post(&app, &format!("/v1/streams/{stream}"), &t, &body)
                .await
                .0,
            StatusCode::OK
        );
    }
    let (status, page) = get(&app, "/v1/events", &t).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["head"], 3);
    let positions: Vec<_> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["position"].clone())
        .collect();
    assert_eq!(positions, [json!(1), json!(2), json!(3)]);
    let (_, page) = get(&app, "/v1/events?after=1&limit=1", &t).await;
    assert_eq!(
        (page["events"][0]["position"].clone(), page["head"].clone()),
        (json!(2), json!(3))
    );
    let (_, page) = get(&app, "/v1/events?after=3", &t).await;
    assert_eq!(page, json!({"events": [], "head": 3}));
}

#[tokio::test]
async fn batch_reports_each_append() {
    let app = sqlite_app().await;
    let t = token("t", "alice", None);
    let body = json!({"appends": [
        {"stream": "a", "expectedVersion": "no_stream", "events": [event("E", json!(1))]},
        {"stream": "a", "expectedVersion": 1, "events": [event("E", json!(2))]},
        {"stream": "a", "expectedVersion": 1, "events": [event("E", json!(3))]},
        {"stream": "bad/id", "expectedVersion": "any", "events": [event("E", json!(4))]},
        {"stream": "b", "expectedVersion": "any", "events": [{"id": "x", "type": "E"}]},
        {"stream": "b", "expectedVersion": "any", "events": [event("E", json!(5))]},
    ]});
    let (status, response) = post(&app, "/v1/batch", &t, &body).await;
    assert_eq!(status, StatusCode::OK);
    let results = response["results"].as_array().unwrap();
    assert_eq!(results.len(), 6);
    assert_eq!(
        results[0],
        json!({"status": "ok", "stream": "a", "firstVersion": 1, "lastVersion": 1, "firstPosition": 1, "lastPosition": 1, "recordedAt": results[0]["recordedAt"]})
    );
    assert_eq!(
        (
            results[1]["status"].clone(),
            results[1]["lastVersion"].clone()
        ),
        (json!("ok"), json!(2))
    );
    assert_eq!(results[2]["status"], "conflict");
    assert_eq!(results[2]["error"], "wrong_expected_version");
    assert_eq!(results[2]["currentVersion"], 2);
    assert_eq!(results[2]["events"][0]["version"], 2);
    assert_eq!(
        (results[3]["status"].clone(), results[3]["error"].clone()),
        (json!("error"), json!("invalid_stream_id"))
    );
    assert_eq!(results[4]["error"], "invalid_event");
    assert_eq!(
        (
            results[5]["status"].clone(),
            results[5]["firstPosition"].clone()
        ),
        (json!("ok"), json!(3))
    );
    assert_eq!(response["head"], 3, "the head after the batch");
    assert_eq!(
        all_events(&app, &t).await.len(),
        3,
        "failed appends did not undo the others"
    );

    let replay = post(&app, "/v1/batch", &t, &body).await.1;
    assert_eq!(
        replay["results"][0], results[0],
        "a replayed batch answers the same"
    );
}

#[tokio::test]
async fn cors_preflight_and_request_ids() {
    let mut config = config();
    config.cors_origins = vec!["https://app.example".into()];
    let app = app(sqlite().await, config);
    let preflight = |origin: &'static str| {
        request("OPTIONS", "/v1/streams/s", None)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .body(Body::empty())
            .unwrap()
    };
    use tower::ServiceExt;
    let response = app
        .clone()
        .oneshot(preflight("https://app.example"))
        .await
        .unwrap();
    assert!(response.status().is_success());
    let headers = response.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://app.example"
    );
    assert!(
        headers["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    assert!(
        headers["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );
    let response = app
        .clone()
        .oneshot(preflight("https://evil.example"))
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let traced = request("GET", "/health", None)
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .header("x-request-id", "my-request-1")
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(traced).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-request-id"], "my-request-1");
    let response = app
        .oneshot(request("GET", "/health", None).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(
        response.headers()["x-request-id"].len(),
        36,
        "a generated UUID"
    );
}

#[tokio::test]
async fn static_folder_behind_the_api() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "<h1>demo</h1>").unwrap();
    std::fs::write(dir.path().join("health"), "shadowed").unwrap();
    let mut config = config();
    config.static_dir = Some(dir.path().to_path_buf());
    let app = app(sqlite().await, config);
    let page =
        |uri: &'static str| send(&app, request("GET", uri, None).body(Body::empty()).unwrap());
    assert_eq!(page("/").await, (StatusCode::OK, json!("<h1>demo</h1>")));
    assert_eq!(page("/index.html").await.0, StatusCode::OK);
    assert_eq!(
        page("/health").await,
        (StatusCode::OK, json!({"status": "ok"})),
        "the API wins"
    );
    assert_eq!(page("/missing.js").await.0, StatusCode::NOT_FOUND);
    let (status, body) = page("/v1/nothing").await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::NOT_FOUND, json!("not_found"))
    );
}
