//! Exceptions thrown by the app's own functions, carried through the core's [`Error`] so that
//! the caller's promise rejects with the very same JS value.
//!
//! The core knows nothing of JS: a thrown value is parked here under a fresh number, and the
//! core sees an [`Error::Codec`] whose message names that number. When the error reaches the
//! binding's edge, [`take`] finds the number and hands back the original value. A small bound
//! keeps values whose error never reached the edge (say, a projection's failure that went to a
//! dead letter) from piling up.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};

use crate::core::{DomainError, Error};

/// How many parked exceptions are kept at most.
const KEPT: usize = 64;
const MARKER: &str = "[js exception #";

thread_local! {
    static NEXT: Cell<u64> = const { Cell::new(1) };
    static PARKED: RefCell<VecDeque<(u64, JsValue)>> = const { RefCell::new(VecDeque::new()) };
}

/// Turns a value thrown by the app's `what` (such as `Order.decide`) into an [`Error`]:
/// a `DomainError` (by `name === "DomainError"` and a string `code`) becomes
/// [`Error::Domain`]; anything else is parked and travels as an [`Error::Codec`].
pub fn from_thrown(what: &str, thrown: JsValue) -> Error {
    if let Some(domain) = domain_error(&thrown) {
        return Error::Domain(domain);
    }
    let id = NEXT.with(|next| {
        let id = next.get();
        next.set(id + 1);
        id
    });
    let description = describe(&thrown);
    PARKED.with(|parked| {
        let mut parked = parked.borrow_mut();
        if parked.len() == KEPT {
            parked.pop_front();
        }
        parked.push_back((id, thrown));
    });
    Error::Codec(format!("{what} threw: {description} {MARKER}{id}]"))
}

/// The original JS value behind `error`, if it carries one that is still parked.
pub fn take(error: &Error) -> Option<JsValue> {
    let Error::Codec(message) = error else {
        return None;
    };
    let start = message.rfind(MARKER)? + MARKER.len();
    let id: u64 = message[start..].trim_end_matches(']').parse().ok()?;
    PARKED.with(|parked| {
        let mut parked = parked.borrow_mut();
        let index = parked.iter().position(|(parked_id, _)| *parked_id == id)?;
        parked.remove(index).map(|(_, value)| value)
    })
}

/// `message` without the marker of a parked exception (for text shown to people, such as a
/// dead letter's error).
pub fn without_marker(message: &str) -> &str {
    match message.rfind(MARKER) {
        Some(start) if message.ends_with(']') => message[..start].trim_end(),
        _ => message,
    }
}

/// Reads a thrown `DomainError`: `name === "DomainError"` and a string `code`.
pub fn domain_error(thrown: &JsValue) -> Option<DomainError> {
    if !thrown.is_object() {
        return None;
    }
    let field = |key: &str| Reflect::get(thrown, &JsValue::from_str(key)).ok();
    if field("name")?.as_string()? != "DomainError" {
        return None;
    }
    let code = field("code")?.as_string()?;
    let message = field("message")
        .and_then(|m| m.as_string())
        .unwrap_or_default();
    Some(DomainError::new(code, message))
}

/// A one-line description of a thrown value, for messages and dead letters.
fn describe(thrown: &JsValue) -> String {
    if let Some(error) = thrown.dyn_ref::<js_sys::Error>() {
        return format!(
            "{}: {}",
            String::from(error.name()),
            String::from(error.message())
        );
    }
    thrown
        .as_string()
        .or_else(|| {
            js_sys::JSON::stringify(thrown)
                .ok()
                .and_then(|s| s.as_string())
        })
        .unwrap_or_else(|| format!("{thrown:?}"))
}
