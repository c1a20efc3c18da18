//! Shared helpers: backends on temp files or fresh PostgreSQL databases, a router, requests
//! through `oneshot`, tokens and events.

#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use fieldstream_server::auth::Claims;
use fieldstream_server::backend::{PostgresBackend, SqliteBackend};
use fieldstream_server::{AnyBackend, AppState, AuthMode, Config, JwtRules, router};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sqlx::Connection;
use tower::ServiceExt;
use uuid::Uuid;

/// The HMAC secret of test tokens.
pub const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";

/// The key-encryption key the real binary gets in the tests (standard base64 of 32 bytes).
pub const TEST_KEK: &str = "dGVzdC1rZWstdGVzdC1rZWstdGVzdC1rZWstdGVzdCE=";

/// The admin URL of the throwaway PostgreSQL cluster; fails the test when it is not set.
pub fn postgres_admin_url() -> String {
    std::env::var("FIELDSTREAM_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "FIELDSTREAM_TEST_POSTGRES_URL is not set: PostgreSQL tests are never skipped. \
             Run them as `scripts/with-postgres.sh cargo test -p fieldstream-server`."
        )
    })
}

/// A fresh, empty PostgreSQL database; returns its URL.
pub async fn postgres_database() -> String {
    let admin = postgres_admin_url();
    let name = format!("fs_{}", Uuid::new_v4().simple());
    let mut connection = sqlx::PgConnection::connect(&admin)
        .await
        .expect("connect to PostgreSQL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut connection)
        .await
        .expect("create a test database");
    let (base, _) = admin.rsplit_once('/').expect("the URL names a database");
    format!("{base}/{name}")
}

/// A SQLite file in a fresh temp dir (keep the dir alive as long as the file is used).
pub fn sqlite_path() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("events.db").to_string_lossy().into_owned();
    (dir, path)
}

/// A backend that lives in a temp dir (the dir is leaked, which is fine for a test process).
pub async fn sqlite() -> SqliteBackend {
    let (dir, path) = sqlite_path();
    std::mem::forget(dir);
    SqliteBackend::open(&path).await.expect("open SQLite")
}

/// A private in-memory SQLite backend.
pub async fn sqlite_in_memory() -> SqliteBackend {
    SqliteBackend::open(":memory:")
        .await
        .expect("open in-memory SQLite")
}

/// A backend on a fresh PostgreSQL database.
pub async fn postgres() -> PostgresBackend {
    PostgresBackend::connect(&postgres_database().await)
        .await
        .expect("connect PostgreSQL")
}

/// A configuration for tests: JWT auth with [`SECRET`], no rate limit.
pub fn config() -> Config {
    let mut config = Config::new(AuthMode::Jwt(JwtRules::new(SECRET)));
    config.limits.requests_per_second = 0;
    config
}

/// A router over `backend` with `config`.
pub fn app(backend: impl Into<AnyBackend>, config: Config) -> Router {
    router(AppState::new(backend.into(), config)).expect("router")
}

/// A router over a fresh SQLite backend with [`config`].
pub async fn sqlite_app() -> Router {
    app(sqlite().await, config())
}

/// A token for `sub` in `tenant`, valid for an hour, limited to `streams` grants if given.
pub fn token(tenant: &str, sub: &str, streams: Option<&[&str]>) -> String {
    scoped_token(tenant, sub, streams, None)
}

/// [`token`] with a `scope` claim, such as `keys:forget`.
pub fn scoped_token(
    tenant: &str,
    sub: &str,
    streams: Option<&[&str]>,
    scope: Option<&str>,
) -> String {
    let claims = Claims {
        sub: sub.into(),
        tenant: tenant.into(),
        exp: now_secs() + 3600,
        streams: streams.map(|s| s.iter().map(|p| p.to_string()).collect()),
        scope: scope.map(str::to_owned),
    };
    sign(&claims)
}

/// Signs any claims with [`SECRET`] and HS256.
pub fn sign(claims: &impl serde::Serialize) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET),
    )
    .expect("sign")
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// A client event of `event_type` with a fresh id.
pub fn event(event_type: &str, data: Value) -> Value {
    json!({"id": Uuid::new_v4(), "type": event_type, "data": data})
}

/// An append body.
pub fn append_body(expected: Value, events: Vec<Value>) -> Value {
    json!({"expectedVersion": expected, "events": events})
}

/// A request builder with `token` as bearer (when given).
pub fn request(method: &str, uri: &str, token: Option<&str>) -> axum::http::request::Builder {
    let builder = Request::builder().method(method).uri(uri);
    match token {
        Some(token) => builder.header("authorization", format!("Bearer {token}")),
        None => builder,
    }
}

/// Sends a request through the router; returns the status and the JSON body (or `Null`).
pub async fn send(app: &Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    (status, body)
}

/// `GET uri` with `token`.
pub async fn get(app: &Router, uri: &str, token: &str) -> (StatusCode, Value) {
    send(
        app,
        request("GET", uri, Some(token))
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

/// `POST uri` with a JSON body and `token`.
pub async fn post(app: &Router, uri: &str, token: &str, body: &Value) -> (StatusCode, Value) {
    let request = request("POST", uri, Some(token))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    send(app, request).await
}

/// Every event of the caller's tenant, through `/v1/events`.
pub async fn all_events(app: &Router, token: &str) -> Vec<Value> {
    let mut events = Vec::new();
    loop {
        let after = events
            .last()
            .map_or(0, |e: &Value| e["position"].as_u64().unwrap());
        let (status, page) =
            get(app, &format!("/v1/events?after={after}&limit=10000"), token).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let page = page["events"].as_array().unwrap().clone();
        if page.is_empty() {
            return events;
        }
        events.extend(page);
    }
}
