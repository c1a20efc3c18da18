//! Upgrades in Chromium: databases written by earlier layouts, opened by this code, keep every
//! record they held and go on working.

use fieldstream::core::{
    EventEnvelope, IdempotencyRecord, OutboxEntry, RejectedCommand, RejectionReason, StreamId,
    Timestamp,
};
use fieldstream::example::{Order, OrderStatus};
use fieldstream::store::{CommandQueue, EventLog, IndexedDbStore, StoredEvent, SyncBatch};
use rexie::{Index, ObjectStore, Rexie, TransactionMode};
use serde_json::json;
use std::collections::HashSet;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

use super::fixtures::{envelope, fresh_name, open_as_is, order_engine};

#[wasm_bindgen_test]
async fn a_layout_1_database_is_migrated_in_place_without_being_blocked() {
    let name = fresh_name("upgrade");
    let old_connection = make_layout_1_database(&name).await;
    let store = IndexedDbStore::open(&name).await.unwrap();
    let events = store.read_all(0, 100).await.unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(events[2].event.version, 3);
    let engine = order_engine(store.clone());
    let loaded = engine.load::<Order>("legacy").await.unwrap();
    assert_eq!(
        (loaded.version, loaded.state.status),
        (3, OrderStatus::Shipped)
    );
    assert_records_keep_their_ids(&name, &events).await;
    let legacy = StreamId::parse("Order-legacy").unwrap();
    let waiting = store.read_outbox_of(&[legacy]).await.unwrap();
    let commands: Vec<&str> = waiting.iter().map(|e| e.command_id.as_str()).collect();
    assert_eq!(
        commands,
        vec!["cmd-ship"],
        "the outbox is indexed by stream"
    );
    drop(old_connection);
}

#[wasm_bindgen_test]
async fn a_layout_6_database_keeps_its_queue_and_confirms_it_after_the_upgrade() {
    let name = fresh_name("upgrade-6");
    let old = Layout6::make(&name).await;
    let store = IndexedDbStore::open(&name).await.unwrap();
    assert_eq!(
        has_indexes(&name, &["by_seq", "by_position", "by_pending", "by_id"]).await,
        [true, true, true, true],
        "the indexes are kept"
    );

    let events = store.read_all(0, 100).await.unwrap();
    let places: Vec<_> = events
        .iter()
        .map(|stored| (stored.seq, stored.event.version, stored.event.position))
        .collect();
    assert_eq!(places, [(1, 1, Some(7)), (2, 2, None)]);
    assert_eq!(events[0].event.recorded_at, Some(Timestamp(5_000)));
    assert_records_keep_their_ids(&name, &events).await;
    assert_eq!(
        log_counts(&name).await,
        (2, 2, 1),
        "sequence, events, pending"
    );
    assert_eq!(store.pull_checkpoint().await.unwrap(), 7);
    assert_eq!(
        store.rejected().await.unwrap(),
        std::slice::from_ref(&old.rejected)
    );
    let kept = store
        .idempotency_record("pay-once", Timestamp(7_000))
        .await
        .unwrap();
    assert_eq!(kept.map(|record| record.command_id), Some("cmd-pay".into()));

    let queue = store.read_queue(10, &HashSet::new()).await.unwrap();
    assert_eq!(queue.len(), 1, "the pending command is still queued");
    assert_eq!(queue[0].entry, old.entry);
    assert_eq!(queue[0].events, std::slice::from_ref(&old.pending));

    let mut confirmed = old.pending.clone();
    confirmed.position = Some(8);
    confirmed.recorded_at = Some(Timestamp(9_000));
    let batch = SyncBatch {
        drop_outbox: vec![old.entry.seq],
        confirmed: vec![confirmed.clone()],
        checkpoint: Some(8),
        ..SyncBatch::default()
    };
    store.apply_sync(batch, None).await.unwrap();
    let events = store.read_all(0, 100).await.unwrap();
    assert_eq!(events[1].event, confirmed, "confirmed in place");
    assert_eq!(log_counts(&name).await, (2, 2, 0));
    assert!(store.read_outbox(10).await.unwrap().is_empty());
    let engine = order_engine(store.clone());
    let loaded = engine.load::<Order>("six").await.unwrap();
    assert_eq!(
        (loaded.version, loaded.state.status),
        (2, OrderStatus::Paid)
    );
    drop(old.connection);
}

/// Asserts that every event's record (a run of one event after an upgrade) sits at its key
/// and names its id beside its body.
async fn assert_records_keep_their_ids(name: &str, events: &[StoredEvent]) {
    let db = open_as_is(name).await;
    let tx = db
        .transaction(&["events"], TransactionMode::ReadOnly)
        .unwrap();
    let store = tx.store("events").unwrap();
    for stored in events {
        let event = &stored.event;
        let key = js_sys::Array::of2(
            &JsValue::from_str(event.stream.as_str()),
            &JsValue::from_f64(event.version as f64),
        );
        let record = store.get(key.into()).await.unwrap().unwrap();
        let ids = js_sys::Reflect::get(&record, &"ids".into()).unwrap();
        let ids: Vec<String> = js_sys::Array::from(&ids)
            .iter()
            .filter_map(|id| id.as_string())
            .collect();
        assert_eq!(ids, [event.id.to_string()]);
    }
    db.close();
}

/// The `seq` record of `meta`: the local sequence counter, and how many events and pending
/// events the log holds.
async fn log_counts(name: &str) -> (u64, u64, u64) {
    let db = open_as_is(name).await;
    let tx = db
        .transaction(&["meta"], TransactionMode::ReadOnly)
        .unwrap();
    let record = tx
        .store("meta")
        .unwrap()
        .get("seq".into())
        .await
        .unwrap()
        .unwrap();
    let number = |key: &str| {
        js_sys::Reflect::get(&record, &key.into())
            .unwrap()
            .as_f64()
            .unwrap() as u64
    };
    let counts = (number("value"), number("events"), number("pending"));
    db.close();
    counts
}

/// Which of `names` the `events` store has as indexes.
async fn has_indexes(name: &str, names: &[&str]) -> Vec<bool> {
    let db = open_as_is(name).await;
    let tx = db
        .transaction(&["events"], TransactionMode::ReadOnly)
        .unwrap();
    let events = tx.store("events").unwrap();
    let found = names.iter().map(|n| events.index(n).is_ok()).collect();
    db.close();
    found
}

/// A record's `body`: the value as JSON text.
fn text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap()
}

/// A database as layout 6 wrote it: `Order-six` created (confirmed at position 7, its time and
/// position in the body) and paid (pending, its command in the outbox), a pull checkpoint, an
/// idempotency record and a rejected command.
struct Layout6 {
    connection: Rexie,
    pending: EventEnvelope,
    entry: OutboxEntry,
    rejected: RejectedCommand,
}

impl Layout6 {
    async fn make(name: &str) -> Layout6 {
        let events = ObjectStore::new("events")
            .key_path_array(["stream", "version"])
            .add_index(Index::new("by_seq", "seq").unique(true))
            .add_index(Index::new("by_id", "id").unique(true))
            .add_index(Index::new("by_position", "position").unique(true))
            .add_index(Index::new("by_pending", "pending").unique(true));
        let connection = Rexie::builder(name)
            .version(6)
            .add_object_store(events)
            .add_object_store(
                ObjectStore::new("outbox")
                    .key_path("seq")
                    .add_index(Index::new("by_stream", "stream")),
            )
            .add_object_store(ObjectStore::new("snapshots").key_path("stream"))
            .add_object_store(
                ObjectStore::new("idempotency")
                    .key_path("key")
                    .add_index(Index::new("by_expiry", "expiresAt")),
            )
            .add_object_store(ObjectStore::new("meta").key_path("key"))
            .add_object_store(
                ObjectStore::new("docs")
                    .key_path_array(["ns", "key"])
                    .add_index(Index::new("ix", "ix").multi_entry(true)),
            )
            .add_object_store(ObjectStore::new("undo").key_path_array(["ns", "seq", "key"]))
            .add_object_store(ObjectStore::new("projections").key_path("name"))
            .add_object_store(
                ObjectStore::new("dead_letters")
                    .auto_increment(true)
                    .add_index(Index::new("by_projection", "projection")),
            )
            .add_object_store(
                ObjectStore::new("rejected")
                    .auto_increment(true)
                    .add_index(Index::new("by_command", "commandId").unique(true)),
            )
            .build()
            .await
            .unwrap();
        let items = json!([{"productId": "p", "quantity": 2, "unitPrice": 5}]);
        let mut created = envelope(
            "Order-six",
            1,
            "OrderCreated",
            json!({"customerId": "c", "items": items, "total": 10}),
        );
        created.position = Some(7);
        created.recorded_at = Some(Timestamp(5_000));
        let pending = envelope(
            "Order-six",
            2,
            "OrderPaid",
            json!({"paymentMethod": "cash", "amount": 10}),
        );
        let entry = OutboxEntry {
            seq: 2,
            command_id: "cmd-pay".into(),
            aggregate_type: "Order".into(),
            aggregate_id: "six".into(),
            stream: pending.stream.clone(),
            command: json!({"type": "PayOrder", "paymentMethod": "cash", "amount": 10}),
            expected_version: 1,
            event_ids: vec![pending.id],
            idempotency_key: Some("pay-once".into()),
            correlation_id: None,
            causation_id: None,
            attempt: 0,
            created_at: Timestamp(6_000),
        };
        let rejected = RejectedCommand {
            command_id: "cmd-old".into(),
            aggregate_type: "Order".into(),
            aggregate_id: "gone".into(),
            command: json!({"type": "ShipOrder", "trackingNumber": "T"}),
            reason: RejectionReason {
                code: "order_not_shippable".into(),
                message: "only a paid order can be shipped".into(),
            },
            caused_by: Vec::new(),
            at: Timestamp(4_000),
        };
        let idempotency = IdempotencyRecord {
            key: "pay-once".into(),
            stream: pending.stream.clone(),
            command_id: "cmd-pay".into(),
            first_version: 2,
            last_version: 2,
            created_at: Timestamp(6_000),
            expires_at: Timestamp(i64::MAX / 2),
            rejected: None,
        };
        let records = [
            (
                "events",
                json!({
                    "stream": "Order-six", "version": 1, "seq": 1, "id": created.id,
                    "position": 7, "body": text(&created),
                }),
            ),
            (
                "events",
                json!({
                    "stream": "Order-six", "version": 2, "seq": 2, "id": pending.id,
                    "pending": 2, "body": text(&pending),
                }),
            ),
            (
                "outbox",
                json!({"seq": 2, "stream": "Order-six", "body": text(&entry)}),
            ),
            (
                "idempotency",
                json!({
                    "key": "pay-once", "expiresAt": idempotency.expires_at.0, "body": text(&idempotency),
                }),
            ),
            (
                "rejected",
                json!({"commandId": "cmd-old", "body": text(&rejected)}),
            ),
            ("meta", json!({"key": "layout", "value": 6})),
            ("meta", json!({"key": "seq", "value": 2})),
            ("meta", json!({"key": "checkpoint", "value": 7})),
            ("meta", json!({"key": "clientId", "value": "device-six"})),
        ];
        let names = ["events", "outbox", "idempotency", "rejected", "meta"];
        let tx = connection
            .transaction(&names, TransactionMode::ReadWrite)
            .unwrap();
        for (store, record) in records {
            let record = js_sys::JSON::parse(&record.to_string()).unwrap();
            tx.store(store).unwrap().add(&record, None).await.unwrap();
        }
        tx.done().await.unwrap();
        Layout6 {
            connection,
            pending,
            entry,
            rejected,
        }
    }
}

/// Creates database `name` as layout 1 wrote it: an order created, paid and shipped, and event
/// records without a top-level id. Returns the connection, still open.
async fn make_layout_1_database(name: &str) -> Rexie {
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
