//! Router-level tests of authentication, stream prefixes and tenant isolation.

use axum::body::Body;
use axum::http::StatusCode;
use fieldstream_server::{AuthMode, Config};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn unauthorized_without_a_valid_token() {
    let app = sqlite_app().await;
    let expired = sign(&json!({"sub": "a", "tenant": "t", "exp": now_secs() - 3600}));
    let no_tenant = sign(&json!({"sub": "a", "exp": now_secs() + 3600}));
    let no_sub = sign(&json!({"tenant": "t", "exp": now_secs() + 3600}));
    let no_exp = sign(&json!({"sub": "a", "tenant": "t"}));
    let empty_tenant = sign(&json!({"sub": "a", "tenant": "", "exp": now_secs() + 3600}));
    let nul_tenant = sign(&json!({"sub": "a", "tenant": "t\u{0}", "exp": now_secs() + 3600}));
    let long_tenant =
        sign(&json!({"sub": "a", "tenant": "t".repeat(201), "exp": now_secs() + 3600}));
    let other_key = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({"sub": "a", "tenant": "t", "exp": now_secs() + 3600}),
        &jsonwebtoken::EncodingKey::from_secret(b"another secret"),
    )
    .unwrap();
    let hs512 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS512),
        &json!({"sub": "a", "tenant": "t", "exp": now_secs() + 3600}),
        &jsonwebtoken::EncodingKey::from_secret(SECRET),
    )
    .unwrap();
    // An unsigned token: header {"alg":"none"} and an empty signature.
    let b64 = |v: serde_json::Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let alg_none = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"})),
        b64(json!({"sub": "a", "tenant": "t", "exp": now_secs() + 3600}))
    );
    for token in [
        expired,
        no_tenant,
        no_sub,
        no_exp,
        empty_tenant,
        nul_tenant,
        long_tenant,
        other_key,
        hs512,
        alg_none,
        "garbage".into(),
    ] {
        let (status, body) = get(&app, "/v1/events", &token).await;
        assert_eq!(
            (status, body["error"].clone()),
            (StatusCode::UNAUTHORIZED, json!("unauthorized")),
            "{token}"
        );
    }
    let (status, body) = send(
        &app,
        request("GET", "/v1/events", None)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::UNAUTHORIZED, json!("unauthorized"))
    );
    let basic = request("GET", "/v1/events", None)
        .header("authorization", "Basic YTpi")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, basic).await.0, StatusCode::UNAUTHORIZED);
    let body = append_body(json!("any"), vec![event("E", json!(1))]);
    assert_eq!(
        post(&app, "/v1/streams/s", "garbage", &body).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert!(all_events(&app, &token("t", "a", None)).await.is_empty());
}

#[tokio::test]
async fn stream_prefixes_limit_a_token() {
    let app = sqlite_app().await;
    let admin = token("t", "admin", None);
    let orders = token("t", "clerk", Some(&["Order-*"]));
    let body = |i: i32| append_body(json!("any"), vec![event("E", json!(i))]);
    assert_eq!(
        post(&app, "/v1/streams/Customer-1", &admin, &body(1))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        post(&app, "/v1/streams/Order-1", &orders, &body(2)).await.0,
        StatusCode::OK
    );
    let (status, answer) = post(&app, "/v1/streams/Customer-1", &orders, &body(3)).await;
    assert_eq!(
        (status, answer["error"].clone()),
        (StatusCode::FORBIDDEN, json!("forbidden"))
    );
    assert_eq!(
        get(&app, "/v1/streams/Customer-1", &orders).await.1["error"],
        "forbidden"
    );
    let broken = request("POST", "/v1/streams/Customer-1", Some(&orders))
        .header("content-type", "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    assert_eq!(
        send(&app, broken).await.1["error"],
        "forbidden",
        "permission before body"
    );
    let batch = json!({"appends": [{"stream": "Customer-1", "expectedVersion": "any", "events": [event("E", json!(4))]}]});
    assert_eq!(
        post(&app, "/v1/batch", &orders, &batch).await.1["results"][0]["error"],
        "forbidden"
    );

    let seen = all_events(&app, &orders).await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["stream"], "Order-1");
    assert_eq!(all_events(&app, &admin).await.len(), 2);
    let nothing = token("t", "nobody", Some(&[]));
    assert!(all_events(&app, &nothing).await.is_empty());
}

#[tokio::test]
async fn tenants_never_see_each_other() {
    let app = sqlite_app().await;
    let a = token("tenant-a", "alice", None);
    let b = token("tenant-b", "bob", None);
    let body = |i: i32| append_body(json!("any"), vec![event("E", json!(i))]);
    for i in 0..3 {
        post(&app, "/v1/streams/shared", &a, &body(i)).await;
    }
    let (_, answer) = post(&app, "/v1/streams/shared", &b, &body(9)).await;
    assert_eq!(
        (
            answer["firstVersion"].clone(),
            answer["firstPosition"].clone()
        ),
        (json!(1), json!(1))
    );
    let (_, page) = get(&app, "/v1/streams/shared", &b).await;
    assert_eq!(
        (
            page["currentVersion"].clone(),
            page["events"].as_array().unwrap().len()
        ),
        (json!(1), 1)
    );
    let (_, page) = get(&app, "/v1/events", &b).await;
    assert_eq!(
        (page["head"].clone(), page["events"][0]["data"].clone()),
        (json!(1), json!(9))
    );
    let (_, page) = get(&app, "/v1/events?after=1", &b).await;
    assert_eq!(
        page,
        json!({"events": [], "head": 1}),
        "b does not learn a's head"
    );
    let c = token("tenant-c", "carol", None);
    assert_eq!(
        get(&app, "/v1/events", &c).await.1,
        json!({"events": [], "head": 0})
    );
}

#[tokio::test]
async fn dev_mode_needs_no_token() {
    let app = app(sqlite().await, Config::new(AuthMode::Dev));
    let request = request("POST", "/v1/streams/s", None)
        .header("content-type", "application/json")
        .body(Body::from(
            append_body(json!("any"), vec![event("E", json!(1))]).to_string(),
        ))
        .unwrap();
    assert_eq!(send(&app, request).await.0, StatusCode::OK);
    let (status, page) = send(
        &app,
        crate::support::request("GET", "/v1/events", None)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!((status, page["head"].clone()), (StatusCode::OK, json!(1)));
}
