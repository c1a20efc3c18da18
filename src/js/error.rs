//! Errors as JavaScript sees them: real `Error` objects with a `name` and a stable `code`.
//!
//! Each error's class and code come from the core's table,
//! [`ERROR_KINDS`](crate::core::ERROR_KINDS); a domain refusal keeps the domain's own code, and
//! a conflict carries `stream`, `expected` and `actual` too.
//!
//! The package's JS layer registers its error classes through `setErrorFactory`, and errors
//! are then instances of them (`err instanceof ConflictError`); before that they are plain
//! `Error`s with the same `name`, `code` and fields. An exception the app's own code threw
//! (see [`thrown`](super::domain::thrown)) is handed back as itself.

use std::cell::RefCell;

use js_sys::{Function, Object, Reflect};
use wasm_bindgen::prelude::*;

use super::domain::thrown;
use crate::core::{Error, ExpectedVersion};

thread_local! {
    static FACTORY: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Registers `(name, message, details) => Error`, which makes the errors fieldstream reports;
/// `details` holds `code` and, for conflicts, `stream`, `expected` and `actual`.
#[wasm_bindgen(js_name = setErrorFactory)]
pub fn set_error_factory(factory: Function) {
    FACTORY.with(|slot| *slot.borrow_mut() = Some(factory));
}

/// Converts an error into a JS error with `name`, `code` and the variant's details, or into the
/// app's own exception when it carries one.
pub fn to_js_error(error: Error) -> JsValue {
    if let Some(original) = thrown::take(&error) {
        return original;
    }
    let (message, code) = match &error {
        Error::Domain(domain) => (domain.message.clone(), domain.code.clone()),
        other => (other.to_string(), other.code().to_owned()),
    };
    let details = Object::new();
    set(&details, "code", &JsValue::from_str(&code));
    if let Error::Conflict {
        stream,
        expected,
        actual,
    } = &error
    {
        set(&details, "stream", &JsValue::from_str(stream));
        let expected = match expected {
            ExpectedVersion::Exact(n) => JsValue::from_f64(*n as f64),
            other => JsValue::from_str(&other.to_string()),
        };
        set(&details, "expected", &expected);
        set(&details, "actual", &JsValue::from_f64(*actual as f64));
    }
    let name = JsValue::from_str(error.class_name());
    let message = JsValue::from_str(&message);
    let made = FACTORY.with(|slot| {
        let factory = slot.borrow().clone()?;
        factory
            .call3(&JsValue::UNDEFINED, &name, &message, &details)
            .ok()
            .filter(|made| made.is_object())
    });
    if let Some(made) = made {
        return made;
    }
    let js_error = js_sys::Error::new(&message.as_string().unwrap_or_default());
    js_error.set_name(error.class_name());
    let _ = Object::assign(&js_error, &details);
    js_error.into()
}

fn set(target: &Object, key: &str, value: &JsValue) {
    // Defining a property on a fresh plain object cannot fail.
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}
