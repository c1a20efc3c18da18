//! The core, the memory store and the JS surface compiled to wasm. `npm test` runs this file
//! twice: in Node.js and in headless Chromium (`WASM_BINDGEN_USE_BROWSER=1`).

#![cfg(target_arch = "wasm32")]

mod conformance;

use fieldstream::core::{Engine, ExecuteOptions};
use fieldstream::example::{Order, OrderCommand, OrderItem, OrderStatus};
use fieldstream::js::JsStore;
use fieldstream::store::MemoryStore;
use js_sys::{Array, Function, Reflect};
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

/// `open()`'s options for a memory store with the Order domain written in JavaScript: the
/// package's `DomainError` (`js/errors.js`) and `tests/api/order.mjs`, evaluated from their
/// sources (wasm-bindgen's Node.js runner takes no local JS modules).
fn order_options() -> JsValue {
    let module = |source: &str| source.replace("export ", "");
    let body = format!(
        "{}\n{}\nreturn {{ storage: \"memory\", aggregates: {{ Order: orderAggregate(DomainError) }}, \
         projections: {{ orders: ordersProjection }} }};",
        module(include_str!("../js/errors.js")),
        module(include_str!("api/order.mjs")),
    );
    Function::new_no_args(&body)
        .call0(&JsValue::UNDEFINED)
        .expect("the Order domain evaluates")
}

/// A `WasmStore` (what `open()` wraps) in memory with the JavaScript Order domain.
async fn order_store() -> JsStore {
    JsStore::open(order_options())
        .await
        .unwrap_or_else(|_| panic!("a store"))
}

fn s(text: &str) -> JsValue {
    JsValue::from_str(text)
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
    let store = order_store().await;
    let options = js(r#"{"correlationId":"corr-1","idempotencyKey":"k-1"}"#);
    let result = JsFuture::from(store.execute(s("Order"), s("o-1"), js(CREATE), options.clone()))
        .await
        .unwrap();
    assert_eq!(get(&result, "stream"), "Order-o-1");
    assert_eq!(get(&result, "version"), 1);
    assert_eq!(get(&result, "deduplicated"), false);
    let again = JsFuture::from(store.execute(s("Order"), s("o-1"), js(CREATE), options))
        .await
        .unwrap();
    assert_eq!(get(&again, "deduplicated"), true);

    let pay = js(r#"{"type":"PayOrder","paymentMethod":"card","amount":750}"#);
    JsFuture::from(store.execute(s("Order"), s("o-1"), pay, JsValue::UNDEFINED))
        .await
        .unwrap();

    let loaded = JsFuture::from(store.load(s("Order"), s("o-1")))
        .await
        .unwrap();
    assert_eq!(get(&get(&loaded, "state"), "status"), "Paid");
    assert_eq!(get(&get(&loaded, "state"), "total"), 750);
    let earlier = JsFuture::from(store.state_at(s("Order"), s("o-1"), JsValue::from(1)))
        .await
        .unwrap();
    assert_eq!(get(&get(&earlier, "state"), "status"), "Pending");

    let history: Array = JsFuture::from(store.history(s("Order"), s("o-1")))
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
    let store = order_store().await;
    let none = || JsValue::UNDEFINED;
    let ship = js(r#"{"type":"ShipOrder","trackingNumber":"T"}"#);
    let error = rejection(store.execute(s("Order"), s("o-1"), ship, none())).await;
    assert_eq!(error.name(), "DomainError");
    assert_eq!(get(&error, "code"), "order_not_shippable");

    let error = rejection(store.execute(s("Invoice"), s("1"), js(CREATE), none())).await;
    assert_eq!(
        (String::from(error.name()), get(&error, "code")),
        ("ValidationError".into(), "invalid_input".into())
    );

    let retries = js(r#"{"retries":3}"#);
    let error = rejection(store.execute(s("Order"), s("1"), js(CREATE), retries)).await;
    assert_eq!(error.name(), "ValidationError");

    JsFuture::from(store.execute(s("Order"), s("o-2"), js(CREATE), none()))
        .await
        .unwrap();
    let no_stream = js(r#"{"expectedVersion":"no_stream"}"#);
    let error = rejection(store.execute(s("Order"), s("o-2"), js(CREATE), no_stream)).await;
    assert_eq!(error.name(), "ConflictError");
    assert_eq!(get(&error, "code"), "conflict");
    assert_eq!(get(&error, "expected"), "no_stream");
    assert_eq!(get(&error, "actual"), 1);

    let error = rejection(store.state_at(s("Order"), s("o-2"), JsValue::from(5))).await;
    assert_eq!(get(&error, "code"), "not_found");
    let history: Array = JsFuture::from(store.history(s("Order"), s("1")))
        .await
        .unwrap()
        .into();
    assert_eq!(history.length(), 0, "refused commands wrote nothing");
}
