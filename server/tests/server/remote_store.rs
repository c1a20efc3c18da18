//! `RemoteStore` (storage "remote") against the real router in-process: commands read the
//! stream from the server and append with the expected version; lost answers are resent
//! unchanged; conflicts are decided again (or rejected) by the aggregate's policy; idempotency
//! keys hold within the instance; read models are fed by what the instance appended and read.

use std::cell::Cell;
use std::rc::Rc;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use fieldstream::core::{
    Aggregate, ConflictPolicy, DomainError, Engine, Error, EventEnvelope, ExecuteOptions,
    ProjectionOptions,
};
use fieldstream::example::{Order, OrderCommand, OrderProjection, OrderStatus};
use fieldstream::protocol::{AppendRequest, ConflictResponse, ErrorBody, StreamPage};
use fieldstream::sync::{AppendAnswer, RemoteConfig, RemoteStore, StreamTransport, TransportError};
use fieldstream_server::{AuthMode, Config};
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tower::ServiceExt;

use crate::support::{app, sqlite_in_memory};

#[path = "../shared/orders.rs"]
mod orders;
use orders::command;

/// The router in-process, with faults and a meeting point for concurrent appends.
#[derive(Clone)]
struct RouterStreams {
    router: Router,
    /// Answers of appends still to lose after the server committed them.
    lose_answers: Rc<Cell<u32>>,
    /// Appends still to answer with a 503 before the server sees them.
    unavailable: Rc<Cell<u32>>,
    /// Appends wait here until this many appends are waiting (0: no waiting).
    meet: Rc<(Cell<u32>, Cell<u32>)>,
    appends: Rc<Cell<u32>>,
}

impl RouterStreams {
    fn new(router: &Router) -> Self {
        RouterStreams {
            router: router.clone(),
            lose_answers: Rc::default(),
            unavailable: Rc::default(),
            meet: Rc::default(),
            appends: Rc::default(),
        }
    }

    async fn call(&self, request: Request<Body>) -> (u16, Vec<u8>) {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, body.to_vec())
    }
}

fn refused(body: &[u8]) -> TransportError {
    TransportError::Refused(serde_json::from_slice::<ErrorBody>(body).unwrap())
}

impl StreamTransport for RouterStreams {
    async fn read_stream(
        &self,
        stream: &fieldstream::core::StreamId,
        from: u64,
        limit: u32,
    ) -> Result<StreamPage, TransportError> {
        let uri = format!("/v1/streams/{stream}?from={from}&limit={limit}");
        match self
            .call(Request::get(uri).body(Body::empty()).unwrap())
            .await
        {
            (200, body) => Ok(serde_json::from_slice(&body).unwrap()),
            (_, body) => Err(refused(&body)),
        }
    }

    async fn append(
        &self,
        stream: &fieldstream::core::StreamId,
        request: &AppendRequest,
    ) -> Result<AppendAnswer, TransportError> {
        let (waiting, target) = (&self.meet.0, &self.meet.1);
        if target.get() > 0 {
            waiting.set(waiting.get() + 1);
            while waiting.get() < target.get() {
                tokio::task::yield_now().await;
            }
        }
        self.appends.set(self.appends.get() + 1);
        if self.unavailable.get() > 0 {
            self.unavailable.set(self.unavailable.get() - 1);
            return Err(TransportError::Unknown("status 503".into()));
        }
        let request = Request::post(format!("/v1/streams/{stream}"))
            .header("content-type", "application/json")
            .body(Body::from(serde_json::to_vec(request).unwrap()))
            .unwrap();
        let answer = match self.call(request).await {
            (200, body) => AppendAnswer::Appended(serde_json::from_slice(&body).unwrap()),
            (409, body) => match serde_json::from_slice::<ConflictResponse>(&body) {
                Ok(conflict) => AppendAnswer::Conflict(conflict),
                Err(_) => return Err(refused(&body)),
            },
            (_, body) => return Err(refused(&body)),
        };
        if self.lose_answers.get() > 0 {
            self.lose_answers.set(self.lose_answers.get() - 1);
            return Err(TransportError::Unknown("the answer was lost".into()));
        }
        Ok(answer)
    }

    async fn pause(&self, _millis: u64) {}
}

async fn server() -> Router {
    app(sqlite_in_memory().await, Config::new(AuthMode::Dev))
}

/// One instance: an engine with the Order aggregate and read model on a remote store.
async fn instance(transport: &RouterStreams) -> Engine<RemoteStore<RouterStreams>> {
    let store = RemoteStore::new(transport.clone(), RemoteConfig::default());
    let mut engine = Engine::new(store).with_config(RemoteStore::<RouterStreams>::engine_config());
    engine.register::<Order>().unwrap();
    engine.register::<Tally>().unwrap();
    engine
        .register_projection(Rc::new(OrderProjection), ProjectionOptions::default())
        .unwrap();
    engine.store().use_projector(engine.projector().clone());
    engine.catch_up_projections().await.unwrap();
    engine
}

/// Every event the server holds, as `(stream, version, type)`.
async fn server_log(router: &Router) -> Vec<(String, u64, String)> {
    let transport = RouterStreams::new(router);
    let request = Request::get("/v1/events?after=0&limit=10000")
        .body(Body::empty())
        .unwrap();
    let (_, body) = transport.call(request).await;
    let page: Value = serde_json::from_slice(&body).unwrap();
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let stream = e["stream"].as_str().unwrap().to_owned();
            let event_type = e["type"].as_str().unwrap().to_owned();
            (stream, e["version"].as_u64().unwrap(), event_type)
        })
        .collect()
}

/// A counter whose concurrent increments conflict and are rejected, not decided again.
#[derive(Default, Serialize, Deserialize)]
struct Tally(u64);

#[derive(Serialize, Deserialize)]
struct Add;

#[derive(Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
enum Added {
    Added,
}

impl Aggregate for Tally {
    const TYPE: &'static str = "Tally";
    type Command = Add;
    type Event = Added;
    fn decide(&self, _: &Add) -> Result<Vec<Added>, DomainError> {
        Ok(vec![Added::Added])
    }
    fn evolve(&mut self, _: &Added) {
        self.0 += 1;
    }
    fn on_conflict(_: &Add, _: &[EventEnvelope]) -> ConflictPolicy {
        ConflictPolicy::Reject
    }
}

#[tokio::test]
async fn commands_read_from_and_append_to_the_server() {
    let router = server().await;
    let engine = instance(&RouterStreams::new(&router)).await;
    for kind in 0..3 {
        let result = engine
            .execute::<Order>("1", &command(kind), ExecuteOptions::default())
            .await
            .unwrap();
        assert_eq!(result.version, kind + 1);
        assert_eq!(result.events[0].position, Some(kind + 1));
    }
    let loaded = engine.load::<Order>("1").await.unwrap();
    assert_eq!(
        (loaded.state.status, loaded.version),
        (OrderStatus::Shipped, 3)
    );
    let history = engine.history("Order", "1").await.unwrap();
    let positions: Vec<_> = history.iter().map(|e| e.position).collect();
    assert_eq!(positions, [Some(1), Some(2), Some(3)]);
    let doc = engine.get("orders", "1").await.unwrap().unwrap();
    assert_eq!(doc["status"], "Shipped");
    let refused = engine
        .execute::<Order>("1", &command(1), ExecuteOptions::default())
        .await;
    assert!(matches!(refused, Err(Error::Domain(e)) if e.code == "order_not_payable"));
    assert_eq!(
        server_log(&router).await.len(),
        3,
        "a refusal writes nothing"
    );

    let other = instance(&RouterStreams::new(&router)).await;
    assert_eq!(
        other.get("orders", "1").await.unwrap(),
        None,
        "not seen yet"
    );
    assert_eq!(other.load::<Order>("1").await.unwrap().version, 3);
    let doc = other.get("orders", "1").await.unwrap().unwrap();
    assert_eq!(doc["status"], "Shipped", "fed by what the instance read");
}

#[tokio::test]
async fn an_unknown_outcome_resends_the_same_append_and_writes_once() {
    let router = server().await;
    let transport = RouterStreams::new(&router);
    let engine = instance(&transport).await;
    transport.lose_answers.set(2);
    transport.unavailable.set(1);
    let created = engine
        .execute::<Order>("1", &command(0), ExecuteOptions::default())
        .await
        .unwrap();
    assert_eq!((created.version, transport.appends.get()), (1, 4));
    assert_eq!(server_log(&router).await.len(), 1);

    transport.unavailable.set(10);
    let failed = engine
        .execute::<Order>("1", &command(1), ExecuteOptions::default())
        .await;
    assert!(matches!(failed, Err(Error::Network(_))), "{failed:?}");
    assert_eq!(server_log(&router).await.len(), 1);
}

#[tokio::test]
async fn concurrent_pays_in_two_instances_write_one_payment() {
    let router = server().await;
    let (a, b) = (RouterStreams::new(&router), RouterStreams::new(&router));
    let meet = Rc::new((Cell::new(0), Cell::new(2)));
    let first = instance(&a).await;
    first
        .execute::<Order>("1", &command(0), ExecuteOptions::default())
        .await
        .unwrap();
    let (a, b) = (
        RouterStreams {
            meet: meet.clone(),
            ..a
        },
        RouterStreams { meet, ..b },
    );
    let (one, two) = (instance(&a).await, instance(&b).await);
    let pay = command(1);
    let (x, y) = futures_util::join!(
        one.execute::<Order>("1", &pay, ExecuteOptions::default()),
        two.execute::<Order>("1", &pay, ExecuteOptions::default()),
    );
    let outcomes = [x, y];
    let paid = outcomes.iter().filter(|r| r.is_ok()).count();
    let refused = outcomes
        .iter()
        .filter(|r| matches!(r, Err(Error::Domain(e)) if e.code == "order_not_payable"))
        .count();
    assert_eq!((paid, refused), (1, 1), "{outcomes:?}");
    let payments = server_log(&router)
        .await
        .into_iter()
        .filter(|(_, _, t)| t == "OrderPaid")
        .count();
    assert_eq!(payments, 1);
    let retried = one.stats().conflict_retries + two.stats().conflict_retries;
    assert_eq!(retried, 1, "the loser decided once more");
}

#[tokio::test]
async fn a_reject_policy_fails_the_conflicting_command() {
    let router = server().await;
    let meet = Rc::new((Cell::new(0), Cell::new(2)));
    let a = RouterStreams {
        meet: meet.clone(),
        ..RouterStreams::new(&router)
    };
    let b = RouterStreams {
        meet,
        ..RouterStreams::new(&router)
    };
    let (one, two) = (instance(&a).await, instance(&b).await);
    let (x, y) = futures_util::join!(
        one.execute::<Tally>("t", &Add, ExecuteOptions::default()),
        two.execute::<Tally>("t", &Add, ExecuteOptions::default()),
    );
    let conflicts = [&x, &y]
        .iter()
        .filter(|r| matches!(r, Err(Error::Conflict { actual: 1, .. })))
        .count();
    assert_eq!(
        (conflicts, x.is_ok() || y.is_ok()),
        (1, true),
        "{x:?} {y:?}"
    );
    assert_eq!(server_log(&router).await.len(), 1);
}

#[tokio::test]
async fn an_idempotency_key_holds_within_the_instance() {
    let router = server().await;
    let engine = instance(&RouterStreams::new(&router)).await;
    let keyed = || ExecuteOptions {
        idempotency_key: Some("create-1".into()),
        ..ExecuteOptions::default()
    };
    let create = command(0);
    let (x, y) = futures_util::join!(
        engine.execute::<Order>("1", &create, keyed()),
        engine.execute::<Order>("1", &create, keyed()),
    );
    let (x, y) = (x.unwrap(), y.unwrap());
    assert_eq!([x.deduplicated, y.deduplicated], [false, true]);
    let ids =
        |r: &fieldstream::core::ExecuteResult| r.events.iter().map(|e| e.id).collect::<Vec<_>>();
    assert_eq!(ids(&x), ids(&y));
    let again = engine
        .execute::<Order>("1", &create, keyed())
        .await
        .unwrap();
    assert!(again.deduplicated);
    assert_eq!(again.version, 1);
    assert_eq!(server_log(&router).await.len(), 1);
    let bad = OrderCommand::PayOrder {
        payment_method: "card".into(),
        amount: 10,
    };
    assert!(matches!(
        engine.execute::<Order>("2", &bad, keyed()).await,
        Err(Error::InvalidInput(_))
    ));
}

#[tokio::test]
async fn a_stream_past_the_read_budget_is_read_page_by_page() {
    let mut config = Config::new(AuthMode::Dev);
    config.limits.max_read_bytes = 16 * 1024;
    let router = app(sqlite_in_memory().await, config);
    let transport = RouterStreams::new(&router);
    for i in 0..30 {
        let body = serde_json::json!({"expectedVersion": i, "events": [
            {"id": uuid::Uuid::new_v4(), "type": "Big", "data": "x".repeat(2_000)}]});
        let request = Request::post("/v1/streams/Big-1")
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        assert_eq!(transport.call(request).await.0, 200);
    }
    let first = transport
        .read_stream(
            &fieldstream::core::StreamId::parse("Big-1").unwrap(),
            1,
            1_000,
        )
        .await
        .unwrap();
    assert!(first.events.len() < 30, "one page ends at the budget");
    let store = RemoteStore::new(transport, RemoteConfig::default());
    let stream = fieldstream::core::StreamId::parse("Big-1").unwrap();
    let events = fieldstream::store::EventLog::read_stream(&store, &stream, 1, 1_000)
        .await
        .unwrap();
    let versions: Vec<u64> = events.iter().map(|event| event.version).collect();
    assert_eq!(
        versions,
        (1..=30).collect::<Vec<_>>(),
        "every page read, in order"
    );
}
