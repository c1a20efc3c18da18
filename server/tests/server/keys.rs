//! The key service on SQLite and PostgreSQL, through the router: keys per tenant in creation
//! order, the grant rules (a token limited by `streams` sees keys only when they are used in its
//! streams, adds them only for a stream it names and may write, forgets only with
//! `keys:forget` and only subjects wholly inside its streams), key validation, forgetting for
//! good, and the forgotten list.

use axum::Router;
use axum::body::Body;
use axum::http::StatusCode;
use base64::Engine;
use serde_json::{Value, json};

use crate::support::*;

pub async fn call(
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

/// A valid key (standard base64 of 32 bytes) made from `seed`.
pub fn material(seed: &str) -> String {
    let mut bytes = [0u8; 32];
    for (i, b) in seed.bytes().cycle().take(32).enumerate() {
        bytes[i] = b ^ (i as u8);
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A `PUT` body with keys `ids` (each key made from its id) for `stream`.
pub fn keys(ids: &[&str], stream: Option<&str>) -> Value {
    let keys: Vec<Value> = ids
        .iter()
        .map(|id| json!({"id": id, "key": material(id)}))
        .collect();
    match stream {
        Some(stream) => json!({"keys": keys, "stream": stream}),
        None => json!({"keys": keys}),
    }
}

fn ids(answer: &Value) -> Vec<String> {
    answer["keys"]
        .as_array()
        .unwrap_or_else(|| panic!("keys in {answer}"))
        .iter()
        .map(|key| key["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn grants_and_order(app: &Router) {
    let admin = scoped_token("acme", "admin", None, Some("keys:forget"));
    let plain = token("acme", "tablet", None);
    let on = |stream: &str| token("acme", "rep", Some(&[stream]));
    let (one, two, none) = (on("Order-1"), on("Order-2"), token("acme", "x", Some(&[])));
    for (method, body) in [
        ("GET", None),
        ("PUT", Some(keys(&["k1"], None))),
        ("DELETE", None),
    ] {
        let (status, _) = call(app, method, "/v1/keys/c1", None, body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, answer) = call(app, "GET", "/v1/keys/c1", Some(&plain), None).await;
    assert_eq!(
        (status, answer),
        (
            StatusCode::OK,
            json!({"subject": "c1", "keys": [], "forgotten": false})
        )
    );
    // Creation order, not the order of the ids.
    let put = keys(&["zz", "aa"], Some("Order-1"));
    let (status, answer) = call(app, "PUT", "/v1/keys/c1", Some(&plain), Some(put)).await;
    assert_eq!(
        (status, ids(&answer)),
        (StatusCode::OK, vec!["zz".into(), "aa".into()])
    );
    let (_, answer) = call(
        app,
        "PUT",
        "/v1/keys/c1",
        Some(&plain),
        Some(keys(&["0"], None)),
    )
    .await;
    assert_eq!(ids(&answer), ["zz", "aa", "0"]);
    assert_eq!(answer["keys"][0]["key"], material("zz"));

    // Restricted readers see only keys used in their streams; no key, no answer.
    let (_, seen) = call(app, "GET", "/v1/keys/c1", Some(&one), None).await;
    assert_eq!(ids(&seen), ["zz", "aa"]);
    for other in [&two, &none, &on("Order-10")] {
        let (status, answer) = call(app, "GET", "/v1/keys/c1", Some(other), None).await;
        assert_eq!(
            (status, answer["error"].clone()),
            (StatusCode::FORBIDDEN, json!("forbidden"))
        );
    }
    let (status, _) = call(app, "GET", "/v1/keys/nobody", Some(&one), None).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an unknown subject looks the same"
    );

    // Restricted writers name a stream they may write; they see only what they may read.
    for (token, body) in [
        (&two, keys(&["k9"], None)),
        (&two, keys(&["k9"], Some("Order-1"))),
        (&two, keys(&["k9"], Some("Order-20"))),
        (&none, keys(&["k9"], Some("Order-2"))),
    ] {
        let (status, answer) = call(app, "PUT", "/v1/keys/c1", Some(token), Some(body)).await;
        assert_eq!(
            (status, answer["error"].clone()),
            (StatusCode::FORBIDDEN, json!("forbidden"))
        );
    }
    let (status, answer) = call(
        app,
        "PUT",
        "/v1/keys/c1",
        Some(&two),
        Some(keys(&["k9"], Some("Order-2"))),
    )
    .await;
    assert_eq!(
        (status, ids(&answer)),
        (StatusCode::OK, vec!["k9".to_owned()])
    );
    // A known id with other key material is refused whole, and grants nothing.
    let stolen = json!({"keys": [{"id": "k8", "key": material("k8")}, {"id": "zz", "key": material("guess")}],
                        "stream": "Order-2"});
    let (status, answer) = call(app, "PUT", "/v1/keys/c1", Some(&two), Some(stolen)).await;
    assert_eq!(
        (status, answer["error"].clone()),
        (StatusCode::CONFLICT, json!("idempotency_mismatch"))
    );
    let (_, seen) = call(app, "GET", "/v1/keys/c1", Some(&two), None).await;
    assert_eq!(ids(&seen), ["k9"], "nothing of the refused PUT was stored");
    // The same key sent again for another stream (a device sealing with it there) grants it.
    let again = json!({"keys": [{"id": "zz", "key": material("zz")}], "stream": "Order-2"});
    let (status, answer) = call(app, "PUT", "/v1/keys/c1", Some(&two), Some(again)).await;
    assert_eq!(
        (status, ids(&answer)),
        (StatusCode::OK, vec!["zz".into(), "k9".into()])
    );
    let (_, all) = call(app, "GET", "/v1/keys/c1", Some(&plain), None).await;
    assert_eq!(ids(&all), ["zz", "aa", "0", "k9"]);

    // Forgetting needs the scope, and a limited token only forgets what it wholly reads.
    let (status, _) = call(app, "DELETE", "/v1/keys/c1", Some(&plain), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let narrow = scoped_token("acme", "dpo", Some(&["Order-1"]), Some("keys:forget"));
    let (status, _) = call(app, "DELETE", "/v1/keys/c1", Some(&narrow), None).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "c1's keys are used beyond Order-1"
    );
    let (_, still) = call(app, "GET", "/v1/keys/c1", Some(&plain), None).await;
    assert_eq!(still["forgotten"], false);
    call(
        app,
        "PUT",
        "/v1/keys/c2",
        Some(&one),
        Some(keys(&["q"], Some("Order-1"))),
    )
    .await;
    let (status, answer) = call(app, "DELETE", "/v1/keys/c2", Some(&narrow), None).await;
    assert_eq!(
        (status, answer["forgotten"].clone()),
        (StatusCode::OK, json!(true))
    );
    let (status, answer) = call(app, "DELETE", "/v1/keys/c1", Some(&admin), None).await;
    assert_eq!(
        (status, answer),
        (
            StatusCode::OK,
            json!({"subject": "c1", "keys": [], "forgotten": true})
        )
    );
    // Forgotten for good, and visible as forgotten to the streams that used it.
    let (_, refused) = call(
        app,
        "PUT",
        "/v1/keys/c1",
        Some(&plain),
        Some(keys(&["new"], None)),
    )
    .await;
    assert_eq!(
        refused,
        json!({"subject": "c1", "keys": [], "forgotten": true})
    );
    let (_, seen) = call(app, "GET", "/v1/keys/c1", Some(&two), None).await;
    assert_eq!(
        seen,
        json!({"subject": "c1", "keys": [], "forgotten": true})
    );
    let (_, list) = get(app, "/v1/keys?after=0", &plain).await;
    assert_eq!(
        list,
        json!({"forgotten": [{"subject": "c2", "seq": 1}, {"subject": "c1", "seq": 2}]})
    );
    let (_, list) = get(app, "/v1/keys", &two).await;
    assert_eq!(
        list,
        json!({"forgotten": [{"subject": "c1", "seq": 2}]}),
        "only its subjects"
    );
    let (_, list) = get(app, "/v1/keys", &none).await;
    assert_eq!(list, json!({"forgotten": []}));
}

async fn isolation_and_validation(app: &Router) {
    let a = scoped_token("acme", "tablet", None, Some("keys:forget"));
    let b = scoped_token("globex", "tablet", None, Some("keys:forget"));
    call(
        app,
        "PUT",
        "/v1/keys/c1",
        Some(&a),
        Some(keys(&["k1"], None)),
    )
    .await;
    let (_, other) = call(app, "GET", "/v1/keys/c1", Some(&b), None).await;
    assert_eq!(other["keys"], json!([]));
    call(
        app,
        "PUT",
        "/v1/keys/c1",
        Some(&b),
        Some(keys(&["g1"], None)),
    )
    .await;
    call(app, "DELETE", "/v1/keys/c1", Some(&b), None).await;
    let (_, still) = call(app, "GET", "/v1/keys/c1", Some(&a), None).await;
    assert_eq!(
        (ids(&still), still["forgotten"].clone()),
        (vec!["k1".into()], json!(false))
    );
    let (_, theirs) = get(app, "/v1/keys", &b).await;
    assert_eq!(theirs, json!({"forgotten": [{"subject": "c1", "seq": 1}]}));

    let long = format!("/v1/keys/{}", "s".repeat(201));
    let many: Vec<String> = (0..101).map(|i| format!("k{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    for (method, uri, body) in [
        ("GET", long.as_str(), None),
        ("PUT", "/v1/keys/c3", Some(json!({"keys": []}))),
        ("PUT", "/v1/keys/c3", Some(keys(&many, None))),
        (
            "PUT",
            "/v1/keys/c3",
            Some(json!({"keys": [{"id": "", "key": material("x")}]})),
        ),
        (
            "PUT",
            "/v1/keys/c3",
            Some(json!({"keys": [{"id": "!", "key": material("x")}]})),
        ),
        (
            "PUT",
            "/v1/keys/c3",
            Some(json!({"keys": [{"id": "a b", "key": material("x")}]})),
        ),
        (
            "PUT",
            "/v1/keys/c3",
            Some(json!({"keys": [{"id": "x".repeat(65), "key": material("x")}]})),
        ),
        (
            "PUT",
            "/v1/keys/c3",
            Some(json!({"keys": [{"id": "k", "key": "key-of-k"}]})),
        ),
        (
            "PUT",
            "/v1/keys/c3",
            Some(json!({"keys": [{"id": "k", "key": "AAAA"}]})),
        ),
        (
            "PUT",
            "/v1/keys/c3",
            Some(json!({"keys": [{"id": "k", "key": material("x").replace('=', "")}]})),
        ),
        ("PUT", "/v1/keys/c3", Some(keys(&["k", "k"], None))),
        (
            "PUT",
            "/v1/keys/c3",
            Some(json!({"keys": [{"id": "k", "key": material("x")}], "stream": "bad stream"})),
        ),
        ("PUT", "/v1/keys/c3", Some(json!({"nope": 1}))),
        ("GET", "/v1/keys?after=-1", None),
    ] {
        let (status, answer) = call(app, method, uri, Some(&a), body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {uri}: {answer}");
    }
    let (_, untouched) = call(app, "GET", "/v1/keys/c3", Some(&a), None).await;
    assert_eq!(untouched["keys"], json!([]), "a refused PUT stores nothing");
}

#[tokio::test]
async fn the_key_service_on_sqlite() {
    grants_and_order(&sqlite_app().await).await;
    isolation_and_validation(&sqlite_app().await).await;
}

#[tokio::test]
async fn the_key_service_on_postgres() {
    grants_and_order(&app(postgres().await, config())).await;
    isolation_and_validation(&app(postgres().await, config())).await;
}
