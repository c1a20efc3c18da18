//! Measures the two ways values can cross between wasm and JS for event-sized payloads (about
//! 300 bytes of JSON): JSON text with one `JSON.parse`/`JSON.stringify`, and serde-wasm-bindgen
//! building or reading the value field by field. Prints figures; asserts nothing about speed.
//!
//! `cargo test --release --target wasm32-unknown-unknown --test crossing -- --nocapture`

#![cfg(target_arch = "wasm32")]

use serde::Serialize;
use serde_json::{Value, json};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

const ROUNDS: usize = 20_000;

fn event() -> Value {
    json!({
        "id": "0b8f5a4e-7d4c-4c1e-9a55-1c2d3e4f5a6b", "stream": "Order-1001", "version": 3,
        "type": "OrderCreated", "schemaVersion": 1,
        "data": { "customerId": "acme-coffee", "total": 8880,
                  "items": [{ "productId": "espresso-beans-1kg", "quantity": 2, "unitPrice": 2490 },
                            { "productId": "milk-frother", "quantity": 1, "unitPrice": 3900 }] },
        "metadata": { "correlationId": "visit-42", "clientId": "c-1", "occurredAt": 1764200000000u64 }
    })
}

fn time(label: &str, mut work: impl FnMut()) -> f64 {
    let start = js_sys::Date::now();
    for _ in 0..ROUNDS {
        work();
    }
    let per_call = (js_sys::Date::now() - start) * 1_000.0 / ROUNDS as f64;
    console_log!("{label}: {per_call:.2} µs per event");
    per_call
}

#[wasm_bindgen_test]
fn json_text_and_serde_wasm_bindgen_compared() {
    let event = event();
    console_log!("event: {} bytes of JSON", event.to_string().len());
    let to_json = time("wasm → JS, JSON.parse of text", || {
        let text = serde_json::to_string(&event).unwrap();
        std::hint::black_box(js_sys::JSON::parse(&text).unwrap());
    });
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let to_swb = time("wasm → JS, serde-wasm-bindgen", || {
        std::hint::black_box(event.serialize(&serializer).unwrap());
    });
    let js: JsValue = js_sys::JSON::parse(&event.to_string()).unwrap();
    let from_json = time("JS → wasm, JSON.stringify to text", || {
        let text = js_sys::JSON::stringify(&js).unwrap().as_string().unwrap();
        std::hint::black_box(serde_json::from_str::<Value>(&text).unwrap());
    });
    let from_swb = time("JS → wasm, serde-wasm-bindgen", || {
        std::hint::black_box(serde_wasm_bindgen::from_value::<Value>(js.clone()).unwrap());
    });
    console_log!(
        "JSON text is {:.1}× (to JS) and {:.1}× (from JS) the speed of serde-wasm-bindgen",
        to_swb / to_json,
        from_swb / from_json
    );
}
