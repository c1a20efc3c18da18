//! Rust panics as rejected promises. The module is built with `panic = "abort"`: a panic stops
//! it where it stands, and a call whose future was running would never settle. The hook set
//! here reports the panic's message to the package's JS layer first, which rejects every call in
//! flight with a `FieldstreamError` of code `internal` and refuses later calls at once (the
//! module cannot be trusted after a panic).

use std::cell::RefCell;

use js_sys::Function;
use wasm_bindgen::prelude::*;

thread_local! {
    static HANDLER: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Registers `handler(message)`, called when Rust panics, before the module stops.
#[wasm_bindgen(js_name = setPanicHandler)]
pub fn set_panic_handler(handler: Function) {
    HANDLER.with(|slot| *slot.borrow_mut() = Some(handler));
    std::panic::set_hook(Box::new(report));
}

/// Hands the panic's message to the registered handler.
fn report(info: &std::panic::PanicHookInfo<'_>) {
    let message = JsValue::from_str(&info.to_string());
    HANDLER.with(|slot| {
        if let Ok(slot) = slot.try_borrow() {
            if let Some(handler) = slot.as_ref() {
                // Nothing is left to tell if the handler itself throws.
                let _ = handler.call1(&JsValue::NULL, &message);
            }
        }
    });
}

/// Panics with `message`: the package's tests check through it that a panic rejects the calls
/// in flight. Not part of the package's API (no entry exports it).
#[wasm_bindgen(js_name = panicForTests)]
pub fn panic_for_tests(message: String) {
    panic!("{message}");
}
