//! The key service on SQLite and PostgreSQL: a subject's keys per tenant, `DELETE` forgets for
//! good (no key accepted again), the forgotten list in order, auth and tenant isolation.

use axum::Router;
use axum::body::Body;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let builder = request(method, uri, token);
    let request = match body {
        Some(body) => builder
            .header("content-type", "application/json")
            .body(Body::from(body.to_string())),
        None => builder.body(Body::empty()),
    };
    send(app, request.unwrap()).await
}

fn keys(ids: &[&str]) -> Value {
    json!({"keys": ids.iter().map(|id| json!({"id": id, "key": format!("key-of-{id}")})).collect::<Vec<_>>()})
}

async fn key_service(app: Router) {
    let (a, b) = (
        token("acme", "tablet", None),
        token("globex", "tablet", None),
    );
    let restricted = token("acme", "reader", Some(&["Order-"]));
    for (method, body) in [
        ("GET", None),
        ("PUT", Some(keys(&["k1"]))),
        ("DELETE", None),
    ] {
        let (status, answer) = call(&app, method, "/v1/keys/c1", None, body).await;
        assert_eq!(
            (status, answer["error"].clone()),
            (StatusCode::UNAUTHORIZED, json!("unauthorized"))
        );
    }
    let (status, answer) = call(&app, "GET", "/v1/keys/c1", Some(&a), None).await;
    assert_eq!(
        (status, answer),
        (
            StatusCode::OK,
            json!({"subject": "c1", "keys": [], "forgotten": false})
        )
    );

    let (status, answer) = call(
        &app,
        "PUT",
        "/v1/keys/c1",
        Some(&a),
        Some(keys(&["k1", "k2"])),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["keys"].as_array().unwrap().len(), 2);
    let (_, again) = call(
        &app,
        "PUT",
        "/v1/keys/c1",
        Some(&restricted),
        Some(keys(&["k1"])),
    )
    .await;
    assert_eq!(
        again["keys"], answer["keys"],
        "a key id already held is left as it is"
    );
    let (_, seen) = call(&app, "GET", "/v1/keys/c1", Some(&a), None).await;
    assert_eq!(seen["keys"][0], json!({"id": "k1", "key": "key-of-k1"}));

    // Tenant isolation: the same subject in another tenant is another subject.
    let (_, other) = call(&app, "GET", "/v1/keys/c1", Some(&b), None).await;
    assert_eq!(other["keys"], json!([]));
    call(&app, "PUT", "/v1/keys/c1", Some(&b), Some(keys(&["g1"]))).await;
    let (_, forgotten) = call(&app, "DELETE", "/v1/keys/c1", Some(&b), None).await;
    assert_eq!(
        forgotten,
        json!({"subject": "c1", "keys": [], "forgotten": true})
    );
    let (_, still) = call(&app, "GET", "/v1/keys/c1", Some(&a), None).await;
    assert_eq!(
        (
            still["keys"].as_array().unwrap().len(),
            still["forgotten"].clone()
        ),
        (2, json!(false))
    );

    // Forgetting is for good, and listed in order.
    call(&app, "PUT", "/v1/keys/c2", Some(&a), Some(keys(&["k3"]))).await;
    for subject in ["c1", "c2", "c1"] {
        let (status, answer) = call(
            &app,
            "DELETE",
            &format!("/v1/keys/{subject}"),
            Some(&a),
            None,
        )
        .await;
        assert_eq!(
            (status, answer["forgotten"].clone(), answer["keys"].clone()),
            (StatusCode::OK, json!(true), json!([]))
        );
    }
    let (_, refused) = call(&app, "PUT", "/v1/keys/c1", Some(&a), Some(keys(&["k9"]))).await;
    assert_eq!(
        refused,
        json!({"subject": "c1", "keys": [], "forgotten": true})
    );
    let (status, list) = get(&app, "/v1/keys?after=0", &a).await;
    assert_eq!(
        (status, list),
        (
            StatusCode::OK,
            json!({"forgotten": [{"subject": "c1", "seq": 1}, {"subject": "c2", "seq": 2}]})
        )
    );
    let (_, later) = get(&app, "/v1/keys?after=1&limit=5", &a).await;
    assert_eq!(later, json!({"forgotten": [{"subject": "c2", "seq": 2}]}));
    let (_, theirs) = get(&app, "/v1/keys", &b).await;
    assert_eq!(theirs, json!({"forgotten": [{"subject": "c1", "seq": 1}]}));

    // Malformed requests.
    let long = format!("/v1/keys/{}", "s".repeat(201));
    for (method, uri, body) in [
        ("GET", long.as_str(), None),
        ("PUT", "/v1/keys/c3", Some(json!({"keys": []}))),
        (
            "PUT",
            "/v1/keys/c3",
            Some(json!({"keys": [{"id": "", "key": "x"}]})),
        ),
        ("PUT", "/v1/keys/c3", Some(json!({"nope": 1}))),
        ("GET", "/v1/keys?after=-1", None),
    ] {
        let (status, answer) = call(&app, method, uri, Some(&a), body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {uri}: {answer}");
    }
}

#[tokio::test]
async fn the_key_service_on_sqlite() {
    key_service(sqlite_app().await).await;
}

#[tokio::test]
async fn the_key_service_on_postgres() {
    key_service(app(postgres().await, config())).await;
}
