//! `IndexedDbStore` in a dedicated worker (no `window`): the conformance suite and an order.

#![cfg(target_arch = "wasm32")]

mod conformance;

use fieldstream::core::{Engine, ExecuteOptions};
use fieldstream::example::{Order, OrderCommand, OrderItem, OrderStatus};
use fieldstream::store::IndexedDbStore;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_dedicated_worker);

fn fresh_name(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4())
}

#[wasm_bindgen_test]
fn there_is_no_window_here() {
    let global = js_sys::global();
    assert!(!js_sys::Reflect::has(&global, &"window".into()).unwrap());
    assert!(js_sys::Reflect::has(&global, &"indexedDB".into()).unwrap());
}

/// The conformance suite on `IndexedDbStore` in a dedicated worker, one test per case.
mod suite {
    use super::*;

    conformance::each_case!(
        conformance::wasm_case_tests;
        IndexedDbStore::open(&fresh_name("worker")).await.unwrap()
    );
}

#[wasm_bindgen_test]
async fn an_order_runs_and_persists_in_a_worker() {
    let name = fresh_name("worker-order");
    let mut engine = Engine::new(IndexedDbStore::open(&name).await.unwrap());
    engine.register::<Order>().unwrap();
    let items = vec![OrderItem {
        product_id: "p".into(),
        quantity: 1,
        unit_price: 10,
    }];
    let create = OrderCommand::CreateOrder {
        customer_id: "c".into(),
        items,
    };
    engine
        .execute::<Order>("o", &create, ExecuteOptions::default())
        .await
        .unwrap();
    let pay = OrderCommand::PayOrder {
        payment_method: "card".into(),
        amount: 10,
    };
    engine
        .execute::<Order>("o", &pay, ExecuteOptions::default())
        .await
        .unwrap();
    engine.store().close();
    let mut reopened = Engine::new(IndexedDbStore::open(&name).await.unwrap());
    reopened.register::<Order>().unwrap();
    let loaded = reopened.load::<Order>("o").await.unwrap();
    assert_eq!(
        (loaded.version, loaded.state.status),
        (2, OrderStatus::Paid)
    );
}
