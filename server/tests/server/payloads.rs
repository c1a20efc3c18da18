//! What the server normalises in `data` and `metadata`, exactly as `docs/protocol.md` says, on
//! SQLite and PostgreSQL: compact JSON with object members sorted by key, escapes in their
//! shortest form, integers from -2^63 to 2^64-1 exact, every other number as the nearest 64-bit
//! float; a number beyond the float range is refused.

use axum::Router;
use axum::body::Body;
use axum::http::StatusCode;
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::support::*;

async fn raw(app: &Router, method: &str, uri: &str, body: Option<String>) -> (StatusCode, String) {
    let t = token("t", "alice", None);
    let builder = request(method, uri, Some(&t)).header("content-type", "application/json");
    let request = builder
        .body(body.map_or_else(Body::empty, Body::from))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

async fn normalised(app: Router) {
    let data = r#"{"z": [1 , 2], "a": {"d": 2, "c": 3}, "exact": 18446744073709551615,
        "low": -9223372036854775808, "big": 12345678901234567890123, "one": 1.0, "e": 1e2,
        "neg": -0, "tenth": 0.1, "text": "\u0041\/"}"#;
    let metadata = r#"{"second": 2, "first": 1}"#;
    let body = format!(
        r#"{{"expectedVersion": 0, "events": [{{"id": "{}", "type": "E", "data": {data}, "metadata": {metadata}}}]}}"#,
        uuid::Uuid::new_v4()
    );
    let (status, answer) = raw(&app, "POST", "/v1/streams/P-1", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (_, page) = raw(&app, "GET", "/v1/streams/P-1", None).await;
    let stored = r#""data":{"a":{"c":3,"d":2},"big":1.2345678901234568e+22,"e":100.0,"exact":18446744073709551615,"low":-9223372036854775808,"neg":-0.0,"one":1.0,"tenth":0.1,"text":"A/","z":[1,2]},"metadata":{"first":1,"second":2}"#;
    assert!(page.contains(stored), "{page}");

    let beyond = format!(
        r#"{{"expectedVersion": 1, "events": [{{"id": "{}", "type": "E", "data": 1e400}}]}}"#,
        uuid::Uuid::new_v4()
    );
    let (status, answer) = raw(&app, "POST", "/v1/streams/P-1", Some(beyond)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(answer.contains("invalid_json"));
}

#[tokio::test]
async fn payload_normalisation_on_sqlite() {
    normalised(sqlite_app().await).await;
}

#[tokio::test]
async fn payload_normalisation_on_postgres() {
    normalised(app(postgres().await, config())).await;
}
