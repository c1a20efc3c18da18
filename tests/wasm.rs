//! The core, the memory store and the JS surface compiled to wasm. `npm test` runs this file
//! twice: in Node.js and in headless Chromium (`WASM_BINDGEN_USE_BROWSER=1`).

#![cfg(target_arch = "wasm32")]

mod conformance;

use fieldstream::core::{Engine, ExecuteOptions};
use fieldstream::example::{Order, OrderCommand, OrderItem, OrderStatus};
use fieldstream::js::JsEngine;
use fieldstream::store::MemoryStore;
use js_sys::{Array, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;

/// The conformance suite on `MemoryStore` compiled to wasm, one test per case.
mod suite {
    use super::*;

    conformance::each_case!(conformance::wasm_case_tests; MemoryStore::new());
}

#[wasm_bindgen_test]
async fn the_engine_runs_an_order_in_wasm() {
    let mut engine = Engine::new(MemoryStore::new());
    engine.register::<Order>().unwrap();
    let items = vec![OrderItem {
        product_id: "p".into(),
        quantity: 2,
        unit_price: 300,
    }];
    let create = OrderCommand::CreateOrder {
        customer_id: "c".into(),
        items,
    };
    let created = engine
        .execute::<Order>("o-1", &create, ExecuteOptions::default())
        .await
        .unwrap();
    assert!(
        created.events[0].metadata.occurred_at.millis() > 1_600_000_000_000,
        "the JS clock is used"
    );
    let pay = OrderCommand::PayOrder {
        payment_method: "card".into(),
        amount: 600,
    };
    engine
        .execute::<Order>("o-1", &pay, ExecuteOptions::default())
        .await
        .unwrap();
    let loaded = engine.load::<Order>("o-1").await.unwrap();
    assert_eq!(
        (loaded.version, loaded.state.status),
        (2, OrderStatus::Paid)
    );
}

fn js(text: &str) -> JsValue {
    js_sys::JSON::parse(text).unwrap()
}

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap()
}

async fn rejection(promise: js_sys::Promise) -> js_sys::Error {
    let error = JsFuture::from(promise)
        .await
        .expect_err("the promise should reject");
    error
        .dyn_into::<js_sys::Error>()
        .expect("rejections are Error objects")
}

const CREATE: &str = r#"{"type":"CreateOrder","customerId":"c-7","items":[{"productId":"p-1","quantity":3,"unitPrice":250}]}"#;

#[wasm_bindgen_test]
async fn javascript_runs_the_order_aggregate_and_reads_its_history() {
    let engine = JsEngine::in_memory()
        .await
        .unwrap_or_else(|_| panic!("an engine"));
    let options = js(r#"{"correlationId":"corr-1","idempotencyKey":"k-1"}"#);
    let result = JsFuture::from(engine.execute(
        "Order".into(),
        "o-1".into(),
        js(CREATE),
        Some(options.clone()),
    ))
    .await
    .unwrap();
    assert_eq!(get(&result, "stream"), "Order-o-1");
    assert_eq!(get(&result, "version"), 1);
    assert_eq!(get(&result, "deduplicated"), false);
    let again =
        JsFuture::from(engine.execute("Order".into(), "o-1".into(), js(CREATE), Some(options)))
            .await
            .unwrap();
    assert_eq!(get(&again, "deduplicated"), true);

    let pay = js(r#"{"type":"PayOrder","paymentMethod":"card","amount":750}"#);
    JsFuture::from(engine.execute("Order".into(), "o-1".into(), pay, None))
        .await
        .unwrap();

    let loaded = JsFuture::from(engine.load("Order".into(), "o-1".into()))
        .await
        .unwrap();
    assert_eq!(get(&get(&loaded, "state"), "status"), "Paid");
    assert_eq!(get(&get(&loaded, "state"), "total"), 750);
    let earlier = JsFuture::from(engine.state_at("Order".into(), "o-1".into(), 1.0))
        .await
        .unwrap();
    assert_eq!(get(&get(&earlier, "state"), "status"), "Pending");

    let history: Array = JsFuture::from(engine.history("Order".into(), "o-1".into()))
        .await
        .unwrap()
        .into();
    assert_eq!(history.length(), 2);
    let first = history.get(0);
    assert_eq!(get(&first, "type"), "OrderCreated");
    assert_eq!(get(&get(&first, "metadata"), "correlationId"), "corr-1");
    assert_eq!(get(&get(&first, "data"), "total"), 750);
    assert!(get(&first, "id").is_string());
}

#[wasm_bindgen_test]
async fn javascript_receives_typed_errors() {
    let engine = JsEngine::in_memory()
        .await
        .unwrap_or_else(|_| panic!("an engine"));
    let ship = js(r#"{"type":"ShipOrder","trackingNumber":"T"}"#);
    let error = rejection(engine.execute("Order".into(), "o-1".into(), ship, None)).await;
    assert_eq!(error.name(), "DomainError");
    assert_eq!(get(&error, "code"), "order_not_shippable");

    let error = rejection(engine.execute("Invoice".into(), "1".into(), js(CREATE), None)).await;
    assert_eq!(
        (String::from(error.name()), get(&error, "code")),
        ("ValidationError".into(), "invalid_input".into())
    );

    let error = rejection(engine.execute(
        "Order".into(),
        "1".into(),
        js(CREATE),
        Some(js(r#"{"retries":3}"#)),
    ))
    .await;
    assert_eq!(error.name(), "ValidationError");

    JsFuture::from(engine.execute("Order".into(), "o-2".into(), js(CREATE), None))
        .await
        .unwrap();
    let error = rejection(engine.execute(
        "Order".into(),
        "o-2".into(),
        js(CREATE),
        Some(js(r#"{"expectedVersion":"no_stream"}"#)),
    ))
    .await;
    assert_eq!(error.name(), "ConflictError");
    assert_eq!(get(&error, "code"), "conflict");
    assert_eq!(get(&error, "expected"), "no_stream");
    assert_eq!(get(&error, "actual"), 1);

    let error = rejection(engine.state_at("Order".into(), "o-2".into(), 5.0)).await;
    assert_eq!(get(&error, "code"), "not_found");
    let history: Array = JsFuture::from(engine.history("Order".into(), "1".into()))
        .await
        .unwrap()
        .into();
    assert_eq!(history.length(), 0, "refused commands wrote nothing");
}
