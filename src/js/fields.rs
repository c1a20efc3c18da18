//! Reading the app's option objects field by field; every error names the option at fault
//! (`aggregates.Order.decide must be a function`) and is an `invalid_input` error.

use js_sys::{Function, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::core::{Error, Result};

/// An `invalid_input` error about option `path`.
pub fn invalid(path: &str, what: impl std::fmt::Display) -> Error {
    Error::InvalidInput(format!("{path} {what}"))
}

/// The error for `option`, which needs cargo feature `feature` that this module was built
/// without (the package's browser entry loads the full module for such options; storage
/// "durable-object" is in the workerd entry's module only).
#[cfg(not(all(feature = "sync", feature = "personal", feature = "sql")))]
pub fn missing_feature(option: &str, feature: &str) -> Error {
    invalid(
        option,
        format!(
            "needs a fieldstream module built with cargo feature `{feature}` (the full one, or \
             for `sql` the workerd entry's); this one was built without it"
        ),
    )
}

/// Whether `value` is a plain object: `{}`-made or `Object.create(null)`, not an array,
/// a class instance, a function or a primitive.
pub fn is_plain_object(value: &JsValue) -> bool {
    if !value.is_object() || js_sys::Array::is_array(value) {
        return false;
    }
    let proto = Object::get_prototype_of(value);
    proto.is_null() || proto == Object::get_prototype_of(&Object::new())
}

/// A plain object, or an error naming `path`.
pub fn object(value: &JsValue, path: &str) -> Result<Object> {
    if is_plain_object(value) {
        Ok(value.clone().unchecked_into())
    } else {
        Err(invalid(path, "must be a plain object"))
    }
}

/// Field `key` of `object`, `None` when absent or `undefined`.
pub fn get(object: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(object, &JsValue::from_str(key))
        .ok()
        .filter(|value| !value.is_undefined())
}

/// The own enumerable keys of `object`.
pub fn keys(object: &Object) -> Vec<String> {
    Object::keys(object)
        .iter()
        .filter_map(|key| key.as_string())
        .collect()
}

/// Refuses keys of `object` not in `known`, naming the first.
pub fn only(object: &Object, known: &[&str], path: &str) -> Result<()> {
    match keys(object)
        .into_iter()
        .find(|key| !known.contains(&key.as_str()))
    {
        Some(key) => Err(invalid(
            &format!("{path}.{key}"),
            format!("is not an option (known: {})", known.join(", ")),
        )),
        None => Ok(()),
    }
}

/// Field `key` as a function.
pub fn function(object: &JsValue, key: &str, path: &str) -> Result<Function> {
    optional_function(object, key, path)?
        .ok_or_else(|| invalid(&format!("{path}.{key}"), "must be a function"))
}

/// Field `key` as a function, when present.
pub fn optional_function(object: &JsValue, key: &str, path: &str) -> Result<Option<Function>> {
    match get(object, key) {
        None => Ok(None),
        Some(value) => value
            .dyn_into::<Function>()
            .map(Some)
            .map_err(|_| invalid(&format!("{path}.{key}"), "must be a function")),
    }
}

/// Field `key` as a string, when present.
pub fn optional_string(object: &JsValue, key: &str, path: &str) -> Result<Option<String>> {
    match get(object, key) {
        None => Ok(None),
        Some(value) => value
            .as_string()
            .map(Some)
            .ok_or_else(|| invalid(&format!("{path}.{key}"), "must be a string")),
    }
}

/// Field `key` as a boolean, when present.
#[cfg(feature = "sync")]
pub fn optional_bool(object: &JsValue, key: &str, path: &str) -> Result<Option<bool>> {
    match get(object, key) {
        None => Ok(None),
        Some(value) => value
            .as_bool()
            .map(Some)
            .ok_or_else(|| invalid(&format!("{path}.{key}"), "must be a boolean")),
    }
}

/// Field `key` as an integer within `min..=max`, when present.
pub fn optional_integer(
    object: &JsValue,
    key: &str,
    path: &str,
    min: u64,
    max: u64,
) -> Result<Option<u64>> {
    let Some(value) = get(object, key) else {
        return Ok(None);
    };
    match value.as_f64() {
        Some(n) if n.fract() == 0.0 && n >= min as f64 && n <= max as f64 => Ok(Some(n as u64)),
        _ => Err(invalid(
            &format!("{path}.{key}"),
            format!("must be an integer from {min} to {max}"),
        )),
    }
}

/// A value as a string argument, or an error naming `what`.
pub fn string_arg(value: &JsValue, what: &str) -> Result<String> {
    value
        .as_string()
        .ok_or_else(|| invalid(what, "must be a string"))
}
