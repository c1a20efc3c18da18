//! Personal data across devices through the real router in-process: keys go up before the
//! events that need them and come down with them; a subject forgotten on one device is
//! forgotten on the server and, after a sync, on another device; the server's database and its
//! export hold only ciphertext.

use std::process::Command;
use std::rc::Rc;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use fieldstream::core::{Engine, REDACTED};
use fieldstream::protocol::{
    BatchRequest, BatchResponse, EventsPage, ForgottenPage, PutKeys, SubjectKeys,
};
use fieldstream::store::MemoryStore;
use fieldstream::sync::{SyncClient, SyncConfig, Transport, TransportError};
use fieldstream_server::AnyBackend;
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use tower::ServiceExt;

use crate::plaintext::holds_plaintext;
use crate::support::*;

#[path = "../../../tests/personal/mod.rs"]
pub mod personal;
pub use personal::{Delivery, DeliveryCommand, DeliveryProjection, book};

/// The sync requests, sent through the router with a token of tenant `acme`.
pub struct RouterTransport {
    router: Router,
    token: String,
    offline: std::cell::Cell<bool>,
}

impl RouterTransport {
    async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        uri: &str,
        body: Option<String>,
    ) -> Result<T, TransportError> {
        if self.offline.get() {
            return Err(TransportError::Offline("offline".into()));
        }
        let builder = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/json");
        let request = builder
            .body(body.map_or_else(Body::empty, Body::from))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        fieldstream::sync::decode_answer(status, &bytes, None)
    }
}

impl Transport for RouterTransport {
    async fn batch(&self, request: &BatchRequest) -> Result<BatchResponse, TransportError> {
        let body = serde_json::to_string(request).unwrap();
        self.call("POST", "/v1/batch", Some(body)).await
    }

    async fn events(&self, after: u64, limit: u32) -> Result<EventsPage, TransportError> {
        let uri = format!("/v1/events?after={after}&limit={limit}");
        self.call("GET", &uri, None).await
    }

    async fn pause(&self, _millis: u64) {}

    async fn subject_keys(&self, subject: &str) -> Result<SubjectKeys, TransportError> {
        self.call("GET", &format!("/v1/keys/{subject}"), None).await
    }

    async fn put_subject_keys(
        &self,
        subject: &str,
        keys: &PutKeys,
    ) -> Result<SubjectKeys, TransportError> {
        let body = serde_json::to_string(keys).unwrap();
        self.call("PUT", &format!("/v1/keys/{subject}"), Some(body))
            .await
    }

    async fn forget_subject(&self, subject: &str) -> Result<SubjectKeys, TransportError> {
        self.call("DELETE", &format!("/v1/keys/{subject}"), None)
            .await
    }

    async fn forgotten(&self, after: u64) -> Result<ForgottenPage, TransportError> {
        self.call("GET", &format!("/v1/keys?after={after}"), None)
            .await
    }
}

pub type Device = SyncClient<MemoryStore, RouterTransport>;

pub async fn device(router: &Router) -> Device {
    tab(router, MemoryStore::new()).await
}

/// A device's tab on `store` (tabs of one device share it).
async fn tab(router: &Router, store: MemoryStore) -> Device {
    let token = scoped_token("acme", "tablet", None, Some("keys:forget"));
    tab_with(router, store, token).await
}

/// A tab on `store` whose requests carry `token`.
async fn tab_with(router: &Router, store: MemoryStore, token: String) -> Device {
    let mut engine = Engine::new(store);
    engine.register::<Delivery>().unwrap();
    engine
        .register_projection(Rc::new(DeliveryProjection), Default::default())
        .unwrap();
    engine.catch_up_projections().await.unwrap();
    let transport = RouterTransport {
        router: router.clone(),
        token,
        offline: Default::default(),
    };
    SyncClient::new(Rc::new(engine), transport, SyncConfig::default())
}

pub async fn name_of(device: &Device, id: &str) -> String {
    let state = device.engine().load::<Delivery>(id).await.unwrap().state;
    let doc = device
        .engine()
        .get("deliveries", id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        doc["name"],
        state.customer_name.as_str(),
        "read model and state agree"
    );
    state.customer_name
}

#[tokio::test]
async fn a_subject_forgotten_on_one_device_is_forgotten_on_the_server_and_the_others() {
    let (dir, database) = sqlite_path();
    let router = app(AnyBackend::open(&database).await.unwrap(), config());
    let (a, b) = (device(&router).await, device(&router).await);
    for (id, customer, name) in [("d1", "c1", "Ada"), ("d2", "c2", "Bob")] {
        a.engine()
            .execute::<Delivery>(id, &book(customer, name, "555-0101"), Default::default())
            .await
            .unwrap();
    }
    a.sync().await.unwrap();
    b.sync().await.unwrap();
    assert_eq!(name_of(&b, "d1").await, "Ada", "device B fetched the key");

    let text =
        serde_json::to_string(&all_events(&router, &token("acme", "r", None)).await).unwrap();
    assert!(
        !holds_plaintext(&text, "Ada")
            && !holds_plaintext(&text, "555-0101")
            && text.contains("$enc")
    );

    a.forget_subject("c1").await.unwrap();
    assert_eq!(name_of(&a, "d1").await, REDACTED);
    let (_, on_server) = get(&router, "/v1/keys/c1", &token("acme", "r", None)).await;
    assert_eq!(on_server["forgotten"], true);
    b.sync().await.unwrap();
    assert_eq!(
        name_of(&b, "d1").await,
        REDACTED,
        "device B learnt the forget"
    );
    assert_eq!(name_of(&b, "d2").await, "Bob");

    // Decisions on device B go on, and a third device never sees the plaintext.
    let reschedule = DeliveryCommand::Reschedule {
        slot: "friday".into(),
    };
    b.engine()
        .execute::<Delivery>("d1", &reschedule, Default::default())
        .await
        .unwrap();
    b.sync().await.unwrap();
    let c = device(&router).await;
    c.sync().await.unwrap();
    assert_eq!(name_of(&c, "d1").await, REDACTED);
    assert_eq!(name_of(&c, "d2").await, "Bob");

    let file = dir.path().join("export.ndjson");
    let exported = Command::new(env!("CARGO_BIN_EXE_fieldstream-server"))
        .args([
            "export",
            "--database",
            &database,
            "--out",
            file.to_str().unwrap(),
        ])
        .env("FIELDSTREAM_LOG", "warn")
        .output()
        .unwrap();
    assert!(exported.status.success());
    let export = std::fs::read_to_string(&file).unwrap();
    let kinds: Vec<Option<String>> = export
        .lines()
        .map(|line| {
            let record: serde_json::Value = serde_json::from_str(line).unwrap();
            record["kind"].as_str().map(str::to_owned)
        })
        .collect();
    let count = |kind: Option<&str>| kinds.iter().filter(|k| k.as_deref() == kind).count();
    assert_eq!(
        (count(None), count(Some("key")), count(Some("forgotten"))),
        (3, 1, 1),
        "the events, Bob's sealed key, and Ada forgotten"
    );
    assert!(
        export.contains("$enc")
            && !holds_plaintext(&export, "Ada")
            && !holds_plaintext(&export, "Bob")
    );
    let bob_key = get(&router, "/v1/keys/c2", &token("acme", "r", None))
        .await
        .1;
    assert!(
        !export.contains(bob_key["keys"][0]["key"].as_str().unwrap()),
        "no key in exports"
    );
}

#[tokio::test]
async fn a_subject_forgotten_offline_is_forgotten_on_the_server_at_the_next_sync() {
    let router = app(sqlite_in_memory().await, config());
    let a = device(&router).await;
    a.engine()
        .execute::<Delivery>("d1", &book("c1", "Ada", "555-0101"), Default::default())
        .await
        .unwrap();
    a.sync().await.unwrap();
    a.transport().offline.set(true);
    a.forget_subject("c1").await.unwrap();
    assert_eq!(name_of(&a, "d1").await, REDACTED, "forgotten here at once");
    let reader = token("acme", "r", None);
    assert_eq!(
        get(&router, "/v1/keys/c1", &reader).await.1["forgotten"],
        false
    );
    a.transport().offline.set(false);
    a.sync().await.unwrap();
    assert_eq!(
        get(&router, "/v1/keys/c1", &reader).await.1["forgotten"],
        true
    );
    assert!(a.engine().unsent_forgets().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_syncing_tab_pushes_a_key_another_tab_made() {
    let router = app(sqlite_in_memory().await, config());
    let store = MemoryStore::new();
    let (leader, other) = (tab(&router, store.clone()).await, tab(&router, store).await);
    leader
        .engine()
        .execute::<Delivery>("d0", &book("c0", "Cy", "555-0100"), Default::default())
        .await
        .unwrap();
    other
        .engine()
        .execute::<Delivery>("d1", &book("c1", "Ada", "555-0101"), Default::default())
        .await
        .unwrap();
    leader.sync().await.unwrap();
    let reader = device(&router).await;
    reader.sync().await.unwrap();
    assert_eq!(name_of(&reader, "d1").await, "Ada");
}

#[tokio::test]
async fn a_forget_the_server_refuses_stays_queued_and_the_sync_goes_on() {
    let router = app(sqlite_in_memory().await, config());
    let unscoped = tab_with(&router, MemoryStore::new(), token("acme", "tablet", None)).await;
    for (id, customer) in [("d1", "c1"), ("d2", "c2")] {
        unscoped
            .engine()
            .execute::<Delivery>(id, &book(customer, "Ada", "555-0101"), Default::default())
            .await
            .unwrap();
    }
    unscoped.sync().await.unwrap();
    unscoped.forget_subject("c1").await.unwrap();
    assert_eq!(name_of(&unscoped, "d1").await, REDACTED, "forgotten here");
    unscoped
        .engine()
        .execute::<Delivery>("d3", &book("c3", "Cy", "555-0103"), Default::default())
        .await
        .unwrap();
    unscoped
        .sync()
        .await
        .expect("the round goes on without the refused forget");
    assert_eq!(unscoped.engine().unsent_forgets().await.unwrap(), ["c1"]);
    let reader = token("acme", "r", None);
    assert_eq!(
        get(&router, "/v1/keys/c1", &reader).await.1["forgotten"],
        false
    );
    assert_eq!(all_events(&router, &reader).await.len(), 3, "d3 was pushed");
}
