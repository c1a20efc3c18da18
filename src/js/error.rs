//! Errors as JavaScript sees them: real `Error` objects with a `name` and a stable `code`.
//!
//! | Rust error | JS `name` | JS `code` |
//! |---|---|---|
//! | `Domain` | `DomainError` | the domain's own code |
//! | `Conflict` | `ConflictError` | `conflict` (plus `stream`, `expected`, `actual`) |
//! | `InvalidInput` | `ValidationError` | `invalid_input` |
//! | `NotFound` | `NotFoundError` | `not_found` |
//! | `Storage`, `StorageFull` | `StorageError` | `storage`, `storage_full` |
//! | `Codec` | `CodecError` | `codec` |
//! | `Network` | `NetworkError` | `network` |
//! | `Unauthorized` | `UnauthorizedError` | `unauthorized` |

use js_sys::Reflect;
use wasm_bindgen::JsValue;

use crate::core::{Error, ExpectedVersion};

/// The JS `name` of an error's class.
pub fn error_name(error: &Error) -> &'static str {
    match error {
        Error::Domain(_) => "DomainError",
        Error::Conflict { .. } => "ConflictError",
        Error::InvalidInput(_) => "ValidationError",
        Error::NotFound(_) => "NotFoundError",
        Error::Storage(_) | Error::StorageFull(_) => "StorageError",
        Error::Codec(_) => "CodecError",
        Error::Network(_) => "NetworkError",
        Error::Unauthorized(_) => "UnauthorizedError",
    }
}

/// Converts an error into a JS `Error` with `name`, `code` and the variant's details.
pub fn to_js_error(error: Error) -> JsValue {
    let (message, code) = match &error {
        Error::Domain(domain) => (domain.message.clone(), domain.code.clone()),
        other => (other.to_string(), other.code().to_owned()),
    };
    let js_error = js_sys::Error::new(&message);
    js_error.set_name(error_name(&error));
    set(&js_error, "code", &JsValue::from_str(&code));
    if let Error::Conflict {
        stream,
        expected,
        actual,
    } = &error
    {
        set(&js_error, "stream", &JsValue::from_str(stream));
        let expected = match expected {
            ExpectedVersion::Exact(n) => JsValue::from_f64(*n as f64),
            other => JsValue::from_str(&other.to_string()),
        };
        set(&js_error, "expected", &expected);
        set(&js_error, "actual", &JsValue::from_f64(*actual as f64));
    }
    js_error.into()
}

fn set(target: &js_sys::Error, key: &str, value: &JsValue) {
    // Defining a property on a fresh, unfrozen Error object cannot fail.
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}
