//! Read models whose undo log an earlier version wrote (one record per pending event and
//! document) go on working: the first fold that meets the log takes the oldest record of each
//! document as its base, and acknowledgements and corrections then agree with a rebuild.

use std::rc::Rc;

use fieldstream::core::projection::UndoEntry;
use fieldstream::core::{ExecuteOptions, ProjectionOptions};
use fieldstream::example::{Order, OrderProjection};
use fieldstream::store::{CommandQueue, EventLog, IndexedDbStore, SyncBatch};
use rexie::TransactionMode;
use serde_json::{Value, json};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

use super::conformance::projections::{all_orders, foreign, orders_engine, pay, rebuilt};
use super::fixtures::{fresh_name, open_as_is};

#[wasm_bindgen_test]
async fn an_undo_log_of_the_earlier_layout_is_taken_into_bases() {
    let name = fresh_name("undo-upgrade");
    let store = IndexedDbStore::open(&name).await.unwrap();
    let projection = || Rc::new(OrderProjection);
    let engine = orders_engine(&store, projection(), ProjectionOptions::default()).await;
    let created = json!({"customerId": "c-0", "items": [], "total": 100});
    let theirs = foreign("Order-o-0", 1, 1, "OrderCreated", created);
    let batch = SyncBatch {
        confirmed: vec![theirs],
        checkpoint: Some(1),
        ..Default::default()
    };
    engine.apply_sync(batch).await.unwrap();
    let base = engine.get("orders", "o-0").await.unwrap().unwrap();
    let paid = engine
        .execute::<Order>("o-0", &pay(100), ExecuteOptions::default())
        .await
        .unwrap();
    let later = engine
        .execute::<Order>("o-1", &super::fixtures::create(), ExecuteOptions::default())
        .await
        .unwrap();
    drop(engine);

    // The log as an earlier version wrote it: a record per pending event and document, the
    // oldest holding the base; a newer one for the same document holds a later value.
    let pay_seq = seq_of(&store, paid.events[0].id).await;
    let later_seq = seq_of(&store, later.events[0].id).await;
    rewrite_undo_log(
        &name,
        &[
            ("o-0", pay_seq, Some(base)),
            ("o-0", later_seq + 1, Some(json!({"stale": true}))),
            ("o-1", later_seq, None),
        ],
    )
    .await;

    // A new engine (nothing warm) acknowledges the payment alone, then a correction comes.
    let engine = orders_engine(&store, projection(), ProjectionOptions::default()).await;
    let outbox = store.read_outbox(10).await.unwrap();
    let mut accepted = paid.events[0].clone();
    accepted.position = Some(2);
    let batch = SyncBatch {
        confirmed: vec![accepted],
        drop_outbox: vec![outbox[0].seq],
        checkpoint: Some(2),
        ..Default::default()
    };
    engine.apply_sync(batch).await.unwrap();
    assert_eq!(all_orders(&engine).await, rebuilt(&store).await);
    let theirs = foreign(
        "Order-o-9",
        1,
        3,
        "OrderCreated",
        json!({"customerId": "c-9", "items": [], "total": 9}),
    );
    let batch = SyncBatch {
        confirmed: vec![theirs],
        checkpoint: Some(3),
        ..Default::default()
    };
    engine.apply_sync(batch).await.unwrap();
    let orders = all_orders(&engine).await;
    assert_eq!(orders, rebuilt(&store).await);
    assert_eq!(orders.len(), 3);
    assert_eq!(
        orders[0].1["status"],
        json!("Paid"),
        "o-0 keeps its payment"
    );
    assert!(
        orders[0].1.get("stale").is_none(),
        "no newer record became a base"
    );
}

/// The local sequence number of the event with id `id`.
async fn seq_of(store: &IndexedDbStore, id: uuid::Uuid) -> u64 {
    let events = store.read_all(0, 1_000).await.unwrap();
    events.iter().find(|e| e.event.id == id).unwrap().seq
}

/// Replaces the `orders@1` undo log with `records` (document key, event seq, value before).
async fn rewrite_undo_log(name: &str, records: &[(&str, u64, Option<Value>)]) {
    let db = open_as_is(name).await;
    let tx = db
        .transaction(&["undo"], TransactionMode::ReadWrite)
        .unwrap();
    let undo = tx.store("undo").unwrap();
    undo.clear().await.unwrap();
    for (key, seq, before) in records {
        let entry = UndoEntry {
            ns: "orders@1".into(),
            seq: *seq,
            key: (*key).into(),
            before: before.clone(),
        };
        let record = js_sys::Object::new();
        let set = |field: &str, value: JsValue| {
            js_sys::Reflect::set(&record, &field.into(), &value).unwrap();
        };
        set("ns", "orders@1".into());
        set("seq", JsValue::from_f64(*seq as f64));
        set("key", (*key).into());
        set("body", serde_json::to_string(&entry).unwrap().into());
        undo.add(&record, None).await.unwrap();
    }
    tx.done().await.unwrap();
    db.close();
}
