//! The sync client's drain against the real router in-process, with every request counted:
//! commands are confirmed from the push answers (no pull while nothing else was written),
//! another device's events are pulled as the gap only, two batches fly at once, and each
//! request carries a `traceparent` derived from its first command's correlation id.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use fieldstream::core::{Engine, ExecuteOptions};
use fieldstream::example::{Order, OrderCommand, OrderItem};
use fieldstream::protocol::{BatchRequest, BatchResponse, EventsPage, ServerLimits};
use fieldstream::store::{CommandQueue, EventLog, MemoryStore};
use fieldstream::sync::{SyncClient, SyncConfig, TraceParent, Transport, TransportError};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use tower::ServiceExt;

use crate::support::*;

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    uri: String,
    traceparent: Option<String>,
    events: usize,
    /// The answer's body, in bytes.
    received: usize,
}

/// The router, with every request recorded and the most requests in flight at once counted.
struct Counting {
    router: Router,
    seen: Rc<RefCell<Vec<Seen>>>,
    flying: Cell<usize>,
    most: Rc<Cell<usize>>,
}

impl Counting {
    async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        uri: &str,
        body: Option<String>,
        trace: Option<&TraceParent>,
    ) -> Result<T, TransportError> {
        self.flying.set(self.flying.get() + 1);
        self.most.set(self.most.get().max(self.flying.get()));
        let mut builder = Request::builder()
            .method(method)
            .uri(uri)
            .header(
                "authorization",
                format!("Bearer {}", token("t", "rep", None)),
            )
            .header("content-type", "application/json");
        if let Some(trace) = trace {
            builder = builder.header("traceparent", trace.as_str());
        }
        let response = self
            .router
            .clone()
            .oneshot(
                builder
                    .body(body.map_or_else(Body::empty, Body::from))
                    .unwrap(),
            )
            .await
            .unwrap();
        // Lets the other request in flight make progress before this one lands.
        tokio::task::yield_now().await;
        self.flying.set(self.flying.get() - 1);
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        self.seen.borrow_mut().push(Seen {
            method: method.into(),
            uri: uri.into(),
            traceparent: trace.map(|t| t.as_str().to_owned()),
            events: value["events"].as_array().map_or(0, Vec::len),
            received: bytes.len(),
        });
        fieldstream::sync::decode_answer(status, &bytes, None)
    }
}

impl Transport for Counting {
    async fn batch(&self, request: &BatchRequest) -> Result<BatchResponse, TransportError> {
        let body = serde_json::to_string(request).unwrap();
        self.call("POST", "/v1/batch", Some(body), None).await
    }

    async fn batch_traced(
        &self,
        request: &BatchRequest,
        trace: &TraceParent,
    ) -> Result<BatchResponse, TransportError> {
        let body = serde_json::to_string(request).unwrap();
        self.call("POST", "/v1/batch", Some(body), Some(trace))
            .await
    }

    async fn events(&self, after: u64, limit: u32) -> Result<EventsPage, TransportError> {
        let uri = format!("/v1/events?after={after}&limit={limit}");
        self.call("GET", &uri, None, None).await
    }

    async fn pause(&self, _millis: u64) {}

    async fn limits(&self) -> Result<ServerLimits, TransportError> {
        self.call("GET", "/v1/limits", None, None).await
    }
}

type Device = SyncClient<MemoryStore, Counting>;
/// The requests a device's transport saw.
type SeenLog = Rc<RefCell<Vec<Seen>>>;

fn device(router: &Router, batch_size: usize) -> (Device, SeenLog, Rc<Cell<usize>>) {
    let mut engine = Engine::new(MemoryStore::new());
    engine.register::<Order>().unwrap();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let most = Rc::new(Cell::new(0));
    let transport = Counting {
        router: router.clone(),
        seen: seen.clone(),
        flying: Cell::new(0),
        most: most.clone(),
    };
    let config = SyncConfig {
        batch_size,
        ..SyncConfig::default()
    };
    (
        SyncClient::new(Rc::new(engine), transport, config),
        seen,
        most,
    )
}

fn create() -> OrderCommand {
    OrderCommand::CreateOrder {
        customer_id: "c".into(),
        items: vec![OrderItem {
            product_id: "p".into(),
            quantity: 1,
            unit_price: 10,
        }],
    }
}

async fn create_orders(device: &Device, prefix: &str, n: usize) -> Vec<String> {
    let mut correlations = Vec::new();
    for i in 0..n {
        let options = ExecuteOptions {
            correlation_id: (i % 2 == 0).then(|| format!("{prefix}-flow-{i}")),
            ..ExecuteOptions::default()
        };
        let result = device
            .engine()
            .execute::<Order>(&format!("{prefix}{i}"), &create(), options)
            .await
            .unwrap();
        // Without a correlation id of its own, a command is correlated by its id.
        let metadata = &result.events[0].metadata;
        correlations.push(
            metadata
                .correlation_id
                .clone()
                .or(metadata.command_id.clone())
                .unwrap(),
        );
    }
    correlations
}

async fn fresh_router() -> Router {
    app(sqlite_in_memory().await, config())
}

#[tokio::test(flavor = "current_thread")]
async fn a_drain_confirms_from_the_answers_and_pipelines_its_batches() {
    let router = fresh_router().await;
    let (device, seen, most) = device(&router, 5);
    let correlations = create_orders(&device, "o", 23).await;
    let report = device.sync().await.unwrap();
    assert_eq!(report.pushed, 23);
    let seen = seen.borrow().clone();
    let batches: Vec<&Seen> = seen.iter().filter(|s| s.uri == "/v1/batch").collect();
    assert_eq!(batches.len(), 5, "23 commands in batches of 5 events");
    assert_eq!(seen.len(), 6, "the limits, then the batches: {seen:#?}");
    assert!(
        seen.iter()
            .all(|s| s.uri != "/v1/events?after=0&limit=1000"),
        "nothing pulled: the answers placed every event"
    );
    assert_eq!(
        most.get(),
        2,
        "one batch in flight beyond the one answered next"
    );
    // All the answers together are smaller than the log that a pull of the device's own events
    // would have brought back on top of them.
    let (_, log) = get(
        &router,
        "/v1/events?after=0&limit=1000",
        &token("t", "rep", None),
    )
    .await;
    let log_bytes = serde_json::to_vec(&log).unwrap().len();
    let received: usize = seen.iter().map(|s| s.received).sum();
    assert!(
        received < log_bytes,
        "received {received} bytes, the log alone is {log_bytes}"
    );
    // Each batch's trace is its first command's: commands 0, 5, 10, 15, 20.
    let mut expected: Vec<String> = correlations
        .iter()
        .step_by(5)
        .map(|c| TraceParent::for_correlation(c, 1).trace_id().to_owned())
        .collect();
    let mut traced: Vec<String> = batches
        .iter()
        .map(|s| s.traceparent.as_deref().unwrap()[3..35].to_owned())
        .collect();
    expected.sort();
    traced.sort();
    assert_eq!(traced, expected);
    assert!(batches.iter().all(|s| s.method == "POST"));

    let store = device.engine().store();
    assert_eq!(store.pull_checkpoint().await.unwrap(), 23);
    assert!(store.read_outbox(100).await.unwrap().is_empty());
    let mut positions: Vec<u64> = Vec::new();
    for stored in store.read_all(0, 100).await.unwrap() {
        assert!(
            stored.event.recorded_at.is_some(),
            "confirmed with its commit time"
        );
        positions.push(stored.event.position.expect("confirmed"));
    }
    positions.sort_unstable();
    assert_eq!(positions, (1..=23).collect::<Vec<_>>());
    let server = all_events(&router, &token("t", "rep", None)).await;
    for event in &server {
        let local = store
            .read_stream(
                &fieldstream::core::StreamId::parse(event["stream"].as_str().unwrap()).unwrap(),
                1,
                1,
            )
            .await
            .unwrap();
        assert_eq!(local[0].position, event["position"].as_u64());
        assert_eq!(
            local[0].recorded_at.map(|t| t.millis()),
            event["recordedAt"].as_i64()
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn another_devices_events_are_pulled_as_the_gaps_only() {
    let router = fresh_router().await;
    let (a, seen, _) = device(&router, 4);
    let (b, _, _) = device(&router, 4);
    create_orders(&a, "a", 6).await;
    create_orders(&b, "b", 3).await;
    b.sync().await.unwrap();
    let report = a.sync().await.unwrap();
    assert_eq!(report.pushed, 6);
    assert_eq!(report.pulled, 3, "only b's events");
    let pulls: Vec<Seen> = seen
        .borrow()
        .iter()
        .filter(|s| s.uri.starts_with("/v1/events"))
        .cloned()
        .collect();
    assert_eq!(
        pulls.iter().map(|s| s.events).sum::<usize>(),
        3,
        "no event of a's came back: {pulls:#?}"
    );
    assert!(
        pulls.iter().all(|s| s.uri.ends_with("limit=3")),
        "{pulls:#?}"
    );
    let store = a.engine().store();
    assert_eq!(store.pull_checkpoint().await.unwrap(), 9);
    assert_eq!(store.read_all(0, 100).await.unwrap().len(), 9);
    assert!(
        store
            .read_all(0, 100)
            .await
            .unwrap()
            .iter()
            .all(|stored| stored.event.position.is_some())
    );
    // Nothing left: the next sync pulls once and finds nothing.
    let before = seen.borrow().len();
    a.sync().await.unwrap();
    assert_eq!(seen.borrow().len(), before + 1);
}
