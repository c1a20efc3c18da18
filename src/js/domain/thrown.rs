//! Exceptions thrown by the app's own functions, carried through the core's [`Error`] so that
//! the caller's promise rejects with the very same JS value.
//!
//! The core knows nothing of JS: a thrown value is kept under a fresh handle (in
//! [`held`](crate::platform::held), which also keeps the JS failures under other errors), and
//! the core carries [`Error::Thrown`] with that handle beside the value's description. When the
//! error reaches the binding's edge, [`take`] hands back the original value.

use js_sys::Reflect;
use wasm_bindgen::JsValue;

use crate::core::{DomainError, Error, Thrown};
use crate::platform::held;

/// Turns a value thrown by the app's `what` (such as `Order.decide`) into an [`Error`]:
/// a `DomainError` (by `name === "DomainError"` and a string `code`) becomes
/// [`Error::Domain`]; anything else is kept and travels as [`Error::Thrown`].
pub fn from_thrown(what: &str, thrown: JsValue) -> Error {
    if let Some(domain) = domain_error(&thrown) {
        return Error::Domain(domain);
    }
    let description = held::describe(&thrown);
    let handle = held::keep(thrown);
    Error::Thrown(Thrown {
        what: what.to_owned(),
        description,
        handle,
    })
}

/// The original JS value behind `error`, when the app's code threw it and it is still kept.
pub fn take(error: &Error) -> Option<JsValue> {
    let Error::Thrown(thrown) = error else {
        return None;
    };
    held::take(thrown.handle)
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
