//! Exceptions thrown by the app's own functions, carried through the core's [`Error`] so that
//! the caller's promise rejects with the very same JS value.
//!
//! The core knows nothing of JS: a thrown value is kept here under a fresh handle, and the core
//! carries [`Error::Thrown`] with that handle beside the value's description. When the error
//! reaches the binding's edge, [`take`] hands back the original value. A small bound keeps
//! values whose error never reached the edge (say, a projection's failure that went to a dead
//! letter) from piling up.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};

use crate::core::{DomainError, Error, Thrown};

/// How many thrown values are kept at most.
const KEPT: usize = 64;

thread_local! {
    static NEXT: Cell<u64> = const { Cell::new(1) };
    static KEPT_VALUES: RefCell<VecDeque<(u64, JsValue)>> = const { RefCell::new(VecDeque::new()) };
}

/// Turns a value thrown by the app's `what` (such as `Order.decide`) into an [`Error`]:
/// a `DomainError` (by `name === "DomainError"` and a string `code`) becomes
/// [`Error::Domain`]; anything else is kept and travels as [`Error::Thrown`].
pub fn from_thrown(what: &str, thrown: JsValue) -> Error {
    if let Some(domain) = domain_error(&thrown) {
        return Error::Domain(domain);
    }
    let handle = NEXT.with(|next| {
        let handle = next.get();
        next.set(handle + 1);
        handle
    });
    let description = describe(&thrown);
    KEPT_VALUES.with(|kept| {
        let mut kept = kept.borrow_mut();
        if kept.len() == KEPT {
            kept.pop_front();
        }
        kept.push_back((handle, thrown));
    });
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
    KEPT_VALUES.with(|kept| {
        let mut kept = kept.borrow_mut();
        let index = kept
            .iter()
            .position(|(handle, _)| *handle == thrown.handle)?;
        kept.remove(index).map(|(_, value)| value)
    })
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
