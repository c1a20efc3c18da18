//! JS values kept under a handle, so that the crate's errors, which stay `Send` and `Sync`, can
//! refer to them: the app's own thrown values ([`Error::Thrown`](crate::core::Error)) and the
//! failures under an error (a `DOMException` of IndexedDB, the `TypeError` of a failed `fetch`:
//! [`Cause::Held`]). The bindings hand the value back at the edge to JavaScript.
//!
//! A small bound keeps values whose error never reached the edge (a projection's failure that
//! went to a dead letter, a retried request) from piling up: the oldest goes first.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use wasm_bindgen::JsValue;

use crate::core::{Cause, Detail};

/// How many values are kept at most.
const KEPT: usize = 64;

thread_local! {
    static NEXT: Cell<u64> = const { Cell::new(1) };
    static KEPT_VALUES: RefCell<VecDeque<(u64, JsValue)>> = const { RefCell::new(VecDeque::new()) };
}

/// Keeps `value` and returns its fresh handle.
pub fn keep(value: JsValue) -> u64 {
    let handle = NEXT.with(|next| {
        let handle = next.get();
        next.set(handle + 1);
        handle
    });
    KEPT_VALUES.with(|kept| {
        let mut kept = kept.borrow_mut();
        if kept.len() == KEPT {
            kept.pop_front();
        }
        kept.push_back((handle, value));
    });
    handle
}

/// The value kept under `handle`, which is kept no longer.
pub fn take(handle: u64) -> Option<JsValue> {
    KEPT_VALUES.with(|kept| {
        let mut kept = kept.borrow_mut();
        let index = kept.iter().position(|(kept, _)| *kept == handle)?;
        kept.remove(index).map(|(_, value)| value)
    })
}

/// The value kept under `handle`, which stays kept (clones of one error share their cause).
pub fn get(handle: u64) -> Option<JsValue> {
    KEPT_VALUES.with(|kept| {
        let kept = kept.borrow();
        kept.iter()
            .find(|(kept, _)| *kept == handle)
            .map(|(_, value)| value.clone())
    })
}

/// `value` kept as the cause of an error.
pub fn cause(value: JsValue) -> Cause {
    let description = describe(&value);
    Cause::Held {
        handle: keep(value),
        description,
    }
}

/// A message, `context: description`, caused by the JS value `value`.
pub fn detail(context: &str, value: JsValue) -> Detail {
    Detail::described(context, cause(value))
}

/// A one-line description of a JS value (`name: message` for an `Error` or a `DOMException`),
/// for messages and dead letters.
pub fn describe(value: &JsValue) -> String {
    let field = |key: &str| {
        js_sys::Reflect::get(value, &JsValue::from_str(key))
            .ok()
            .and_then(|field| field.as_string())
    };
    if value.is_object() {
        if let (Some(name), Some(message)) = (field("name"), field("message")) {
            return format!("{name}: {message}");
        }
    }
    value
        .as_string()
        .or_else(|| {
            js_sys::JSON::stringify(value)
                .ok()
                .and_then(|s| s.as_string())
        })
        .unwrap_or_else(|| format!("{value:?}"))
}
