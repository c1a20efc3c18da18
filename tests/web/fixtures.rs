//! Helpers of the browser tests: fresh databases, engines, a layout-1 database, a page counter.

#![allow(dead_code)]

use fieldstream::core::{
    Engine, EngineConfig, EventEnvelope, EventMetadata, ExpectedVersion, StreamId, Timestamp,
};
use fieldstream::example::{Order, OrderCommand, OrderItem};
use fieldstream::store::{Commit, CommitOutcome, EventStore, IndexedDbStore, StoredEvent};
use rexie::{Index, ObjectStore, Rexie, TransactionMode};
use serde_json::json;
use wasm_bindgen::JsValue;

#[path = "../common/mod.rs"]
mod common;

pub use common::{Counter, CounterCommand};

/// A database name no other test uses.
pub fn fresh_name(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4())
}

/// An engine with the Order and Counter aggregates.
pub fn order_engine<S: EventStore>(store: S) -> Engine<S> {
    counter_engine(store, EngineConfig::default())
}

/// An engine with the Order and Counter aggregates and the given config.
pub fn counter_engine<S: EventStore>(store: S, config: EngineConfig) -> Engine<S> {
    let mut engine = Engine::new(store).with_config(config);
    engine.register::<Order>().unwrap();
    engine.register::<Counter>().unwrap();
    engine
}

/// A `CreateOrder` totalling 750.
pub fn create() -> OrderCommand {
    let items = vec![OrderItem {
        product_id: "p-1".into(),
        quantity: 3,
        unit_price: 250,
    }];
    OrderCommand::CreateOrder {
        customer_id: "c-1".into(),
        items,
    }
}

/// The `PayOrder` that pays [`create`]'s order in full.
pub fn pay() -> OrderCommand {
    OrderCommand::PayOrder {
        payment_method: "card".into(),
        amount: 750,
    }
}

/// Adds `amount` to a counter.
pub fn add(amount: i64) -> CounterCommand {
    CounterCommand::Add { amount }
}

/// Adds 1 to a counter `count` times, in one command.
pub fn add_many(count: u32) -> CounterCommand {
    CounterCommand::AddMany { count }
}

fn envelope(
    stream: &str,
    version: u64,
    event_type: &str,
    data: serde_json::Value,
) -> EventEnvelope {
    EventEnvelope {
        id: uuid::Uuid::new_v4(),
        stream: StreamId::parse(stream).unwrap(),
        version,
        position: None,
        event_type: event_type.into(),
        schema_version: 1,
        data,
        metadata: EventMetadata {
            occurred_at: Timestamp(1_700_000_000_000),
            ..Default::default()
        },
        recorded_at: None,
    }
}

/// Creates database `name` as layout 1 wrote it: an order created, paid and shipped, and event
/// records without a top-level id. Returns the connection, still open.
pub async fn make_layout_1_database(name: &str, _events: u64) -> Rexie {
    let db = Rexie::builder(name)
        .version(1)
        .add_object_store(
            ObjectStore::new("events")
                .key_path_array(["stream", "version"])
                .add_index(Index::new("by_seq", "seq").unique(true)),
        )
        .add_object_store(ObjectStore::new("outbox").key_path("seq"))
        .add_object_store(ObjectStore::new("snapshots").key_path("stream"))
        .add_object_store(ObjectStore::new("idempotency").key_path("key"))
        .add_object_store(ObjectStore::new("meta").key_path("key"))
        .build()
        .await
        .unwrap();
    let items = json!([{"productId": "p", "quantity": 1, "unitPrice": 5}]);
    let history = [
        envelope(
            "Order-legacy",
            1,
            "OrderCreated",
            json!({"customerId": "c", "items": items, "total": 5}),
        ),
        envelope(
            "Order-legacy",
            2,
            "OrderPaid",
            json!({"paymentMethod": "cash", "amount": 5}),
        ),
        envelope(
            "Order-legacy",
            3,
            "OrderShipped",
            json!({"trackingNumber": "T-9"}),
        ),
    ];
    let tx = db
        .transaction(&["events", "outbox", "meta"], TransactionMode::ReadWrite)
        .unwrap();
    // The last command waits in the outbox, in the shape before layout 5 (no `stream`).
    let entry = fieldstream::core::OutboxEntry {
        seq: 3,
        command_id: "cmd-ship".into(),
        aggregate_type: "Order".into(),
        aggregate_id: "legacy".into(),
        stream: StreamId::parse("Order-legacy").unwrap(),
        command: json!({"type": "ShipOrder", "trackingNumber": "T-9"}),
        expected_version: 2,
        event_ids: vec![history[2].id],
        idempotency_key: None,
        correlation_id: None,
        causation_id: None,
        attempt: 0,
        created_at: Timestamp(3),
    };
    let record = json!({ "seq": 3, "body": serde_json::to_string(&entry).unwrap() });
    let record = js_sys::JSON::parse(&record.to_string()).unwrap();
    tx.store("outbox")
        .unwrap()
        .add(&record, None)
        .await
        .unwrap();
    let events = tx.store("events").unwrap();
    for (seq, event) in history.iter().enumerate() {
        let record = json!({
            "stream": event.stream, "version": event.version, "seq": seq + 1,
            "body": serde_json::to_string(event).unwrap(),
        });
        let record = js_sys::JSON::parse(&record.to_string()).unwrap();
        events.add(&record, None).await.unwrap();
    }
    let meta = tx.store("meta").unwrap();
    for (key, value) in [
        ("layout", JsValue::from_f64(1.0)),
        ("seq", JsValue::from_f64(3.0)),
    ] {
        let record = js_sys::Object::new();
        js_sys::Reflect::set(&record, &"key".into(), &key.into()).unwrap();
        js_sys::Reflect::set(&record, &"value".into(), &value).unwrap();
        meta.put(&record, None).await.unwrap();
    }
    tx.done().await.unwrap();
    db
}

/// Asserts that every event can be found through the `by_id` index layout 2 added.
pub async fn assert_ids_backfilled(name: &str, events: &[StoredEvent]) {
    let db = Rexie::builder(name)
        .version(fieldstream::store::indexeddb::LAYOUT_VERSION)
        .build()
        .await
        .unwrap();
    let tx = db
        .transaction(&["events"], TransactionMode::ReadOnly)
        .unwrap();
    let by_id = tx.store("events").unwrap().index("by_id").unwrap();
    for stored in events {
        let found = by_id
            .get(JsValue::from_str(&stored.event.id.to_string()))
            .await
            .unwrap();
        assert!(
            found.is_some(),
            "event {} is in the by_id index",
            stored.event.id
        );
    }
    db.close();
}

/// Appends `total` counter events to `stream`, `per_commit` at a time, straight to the store.
pub async fn append_counter_events(
    store: &IndexedDbStore,
    stream: &str,
    total: u64,
    per_commit: u64,
) -> u64 {
    let mut written = 0;
    while written < total {
        let events = (1..=per_commit.min(total - written))
            .map(|n| {
                envelope(
                    stream,
                    written + n,
                    "Added",
                    json!({"amount": 1, "unit": "pcs", "note": "x".repeat(200)}),
                )
            })
            .map(|mut event| {
                event.schema_version = 3;
                event
            })
            .collect();
        let commit = Commit::events(
            StreamId::parse(stream).unwrap(),
            ExpectedVersion::Exact(written),
            events,
        );
        match store.commit(commit).await.unwrap() {
            CommitOutcome::Committed(events) => written += events.len() as u64,
            other => panic!("unexpected {other:?}"),
        }
    }
    written
}
