//! Errors as JavaScript sees them: real `Error` objects with a `name` and a stable `code`.
//!
//! Each error's class and code come from the core's table,
//! [`ERROR_KINDS`](crate::core::ERROR_KINDS); a domain refusal keeps the domain's own code, and
//! a conflict carries `stream`, `expected` and `actual` too. An error with a failure under it
//! ([`Error::cause`]) carries it as the standard `cause`: the JS value itself where there is
//! one (a `DOMException`, a `TypeError` of `fetch`), else `{ status, body }` of an HTTP answer
//! or an `Error` describing it.
//!
//! The package's JS layer registers its error classes through `setErrorFactory`, and errors
//! are then instances of them (`err instanceof ConflictError`); before that they are plain
//! `Error`s with the same `name`, `code` and fields. An exception the app's own code threw
//! (see [`thrown`](super::domain::thrown)) is handed back as itself.

use std::cell::RefCell;

use js_sys::{Function, Object, Reflect};
use wasm_bindgen::prelude::*;

use super::domain::thrown;
use crate::core::{Cause, Error, ExpectedVersion};
use crate::platform::held;

thread_local! {
    static FACTORY: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Registers `(name, message, details) => Error`, which makes the errors fieldstream reports;
/// `details` holds `code`, for conflicts `stream`, `expected` and `actual`, and `cause` when
/// the error has one.
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
    let cause = error.cause().map(cause_value);
    if let Some(cause) = &cause {
        set(&details, "cause", cause);
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
    // `cause` as `new Error(message, { cause })` makes it: own, not enumerable.
    if let Some(cause) = cause {
        let descriptor = Object::new();
        set(&descriptor, "value", &cause);
        set(&descriptor, "enumerable", &JsValue::FALSE);
        let _ = Reflect::define_property(&js_error, &JsValue::from_str("cause"), &descriptor);
    }
    js_error.into()
}

/// The JS value of an error's `cause`: the kept JS value itself (a `DOMException`, a
/// `TypeError`), an HTTP answer as `{ status, body }`, or an `Error` with the description.
fn cause_value(cause: &Cause) -> JsValue {
    match cause {
        Cause::Held {
            handle,
            description,
        } => held::get(*handle).unwrap_or_else(|| js_sys::Error::new(description).into()),
        Cause::Http { status, body } => {
            let answer = Object::new();
            set(&answer, "status", &JsValue::from(*status));
            set(&answer, "body", &JsValue::from_str(body));
            answer.into()
        }
        Cause::Described(description) => js_sys::Error::new(description).into(),
    }
}

fn set(target: &Object, key: &str, value: &JsValue) {
    // Defining a property on a fresh plain object cannot fail.
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}
