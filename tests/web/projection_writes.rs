//! What a projection writes to IndexedDB, counted at the browser's own `put`: a command's
//! events change a document once and keep its base at most once (none while the base is
//! empty), and a build of a new version over many steps writes each final document once.

use std::rc::Rc;

use fieldstream::core::{
    Engine, EngineConfig, EventEnvelope, ExecuteOptions, Projection, ProjectionOptions, Result,
    Timestamp, View,
};
use fieldstream::store::{IndexedDbStore, SyncBatch};
use js_sys::{Function, Reflect};
use serde_json::json;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

use super::fixtures::{Counter, add_many, counter_engine, envelope, fresh_name};

/// Adds per counter.
struct Totals;

impl Projection for Totals {
    fn name(&self) -> &str {
        "totals"
    }
    fn apply(&self, event: &EventEnvelope, view: &mut View<'_>) -> Result<()> {
        let id = event.stream.aggregate_id().unwrap_or_default().to_owned();
        let adds = view
            .get(&id)
            .map_or(0, |doc| doc["adds"].as_u64().unwrap_or(0));
        view.put(id, json!({ "adds": adds + 1 }));
        Ok(())
    }
}

#[wasm_bindgen_test]
async fn a_commands_events_write_their_document_once_and_its_base_once() {
    let store = IndexedDbStore::open(&fresh_name("projection-writes"))
        .await
        .unwrap();
    let mut engine = counter_engine(store, EngineConfig::default());
    engine
        .register_projection(Rc::new(Totals), ProjectionOptions::default())
        .unwrap();
    engine.catch_up_projections().await.unwrap();

    let puts = PutCounter::install();
    engine
        .execute::<Counter>("c-1", &add_many(20), ExecuteOptions::default())
        .await
        .unwrap();
    assert_eq!(
        (puts.on("docs"), puts.on("undo")),
        (1, 1),
        "20 events on one document"
    );
    engine
        .execute::<Counter>("c-1", &add_many(5), ExecuteOptions::default())
        .await
        .unwrap();
    assert_eq!(
        (puts.on("docs"), puts.on("undo")),
        (2, 1),
        "its base is kept already"
    );
    puts.uninstall();
    let doc = engine.get("totals", "c-1").await.unwrap();
    assert_eq!(doc, Some(json!({ "adds": 25 })));
}

#[wasm_bindgen_test]
async fn a_build_over_many_steps_writes_each_document_once() {
    let name = fresh_name("build-writes");
    let store = IndexedDbStore::open(&name).await.unwrap();
    let mut engine = counter_engine(store, EngineConfig::default());
    for counter in 0..6 {
        for _ in 0..3 {
            engine
                .execute::<Counter>(
                    &format!("c-{counter}"),
                    &add_many(100),
                    ExecuteOptions::default(),
                )
                .await
                .unwrap();
        }
    }
    // 1,800 events, folded in steps of 500: the first step stores the build's start.
    let (docs, undo) = build_totals(&mut engine).await;
    assert_eq!(
        (docs, undo),
        (6, 1),
        "each document once, and one undo record: no document had a base (the events are pending)"
    );
    for counter in 0..6 {
        let doc = engine.get("totals", &format!("c-{counter}")).await.unwrap();
        assert_eq!(doc, Some(json!({ "adds": 300 })));
    }
}

#[wasm_bindgen_test]
async fn a_build_over_confirmed_events_writes_each_document_once_and_no_undo() {
    let store = IndexedDbStore::open(&fresh_name("build-confirmed"))
        .await
        .unwrap();
    let mut engine = counter_engine(store, EngineConfig::default());
    // 1,200 events of 6 counters from the server, folded in steps of 500.
    let confirmed: Vec<_> = (0..1_200u64)
        .map(|n| {
            let mut event = envelope(
                &format!("Counter-c-{}", n % 6),
                n / 6 + 1,
                "Added",
                json!({ "amount": 1 }),
            );
            event.position = Some(n + 1);
            event.recorded_at = Some(Timestamp(1_700_000_000_000));
            event
        })
        .collect();
    let batch = SyncBatch {
        confirmed,
        checkpoint: Some(1_200),
        ..Default::default()
    };
    engine.apply_sync(batch).await.unwrap();
    let (docs, undo) = build_totals(&mut engine).await;
    assert_eq!((docs, undo), (6, 0), "each document once, no undo record");
    let doc = engine.get("totals", "c-5").await.unwrap();
    assert_eq!(doc, Some(json!({ "adds": 200 })));
}

/// Registers `Totals` and builds it, answering the `put`s it made on `docs` and on `undo`.
async fn build_totals(engine: &mut Engine<IndexedDbStore>) -> (u32, u32) {
    engine
        .register_projection(Rc::new(Totals), ProjectionOptions::default())
        .unwrap();
    let puts = PutCounter::install();
    engine.catch_up_projections().await.unwrap();
    let counted = (puts.on("docs"), puts.on("undo"));
    puts.uninstall();
    counted
}

/// Counts `IDBObjectStore.prototype.put` calls by object store while installed.
struct PutCounter;

impl PutCounter {
    fn install() -> PutCounter {
        Function::new_no_args(
            "const original = IDBObjectStore.prototype.put;
             globalThis.fieldstreamPuts = {};
             IDBObjectStore.prototype.put = function (...args) {
               fieldstreamPuts[this.name] = (fieldstreamPuts[this.name] ?? 0) + 1;
               return original.apply(this, args);
             };
             globalThis.fieldstreamUnwrapPut = () => { IDBObjectStore.prototype.put = original; };",
        )
        .call0(&JsValue::NULL)
        .unwrap();
        PutCounter
    }

    fn on(&self, store: &str) -> u32 {
        let counts = Reflect::get(&js_sys::global(), &"fieldstreamPuts".into()).unwrap();
        let count = Reflect::get(&counts, &store.into()).unwrap();
        count.as_f64().unwrap_or(0.0) as u32
    }

    fn uninstall(self) {
        Function::new_no_args("globalThis.fieldstreamUnwrapPut()")
            .call0(&JsValue::NULL)
            .unwrap();
    }
}
