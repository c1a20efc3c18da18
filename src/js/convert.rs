//! Moving values between JavaScript and Rust: plain JS objects ↔ `serde` types.

use js_sys::Promise;
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::future_to_promise;

use super::error::to_js_error;

use crate::core::{Error, Result};

/// Reads a JS value into a Rust value; a shape mismatch (including an unknown field where the
/// type denies them) is an `invalid_input` error naming `what`.
///
/// The value passes through `serde_json::Value` because serde-wasm-bindgen reads only the fields
/// a struct names and so cannot notice unknown ones.
pub fn from_js<T: DeserializeOwned>(value: JsValue, what: &str) -> Result<T> {
    let invalid = |error: &dyn std::fmt::Display| Error::InvalidInput(format!("{what}: {error}"));
    let json: serde_json::Value = serde_wasm_bindgen::from_value(value).map_err(|e| invalid(&e))?;
    serde_json::from_value(json).map_err(|e| invalid(&e))
}

/// Writes a Rust value as a plain JS value (objects, not `Map`s; numbers, not `BigInt`s).
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|error| Error::Codec(error.to_string()))
}

/// Runs `work` as a JS promise that resolves to its value as plain JS or rejects with a typed error.
pub fn spawn<T: Serialize>(work: impl Future<Output = Result<T>> + 'static) -> Promise {
    future_to_promise(async move {
        let value = work.await.map_err(to_js_error)?;
        to_js(&value).map_err(to_js_error)
    })
}
