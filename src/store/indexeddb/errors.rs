//! IndexedDB failures as fieldstream errors.
//!
//! rexie reports every IndexedDB failure as `rexie::Error::IdbError`, whose message drops the
//! DOMException's name; the name is what tells a full disk from a taken key, so this module
//! reads it from the `idb` error inside.

use js_sys::Reflect;
use wasm_bindgen::JsValue;

use crate::core::Error;

/// The DOMException name of an IndexedDB failure, when it carries one.
pub fn dom_name(error: &rexie::Error) -> Option<String> {
    let rexie::Error::IdbError(inner) = error else {
        return None;
    };
    idb_dom_name(inner)
}

/// The DOMException name inside an `idb` error, when it carries one.
pub fn idb_dom_name(error: &idb::Error) -> Option<String> {
    use idb::Error as E;
    let value: &JsValue = match error {
        E::DomException(exception) => return Some(exception.name()),
        E::AddFailed(value)
        | E::UpdateFailed(value)
        | E::GetFailed(value)
        | E::GetAllFailed(value)
        | E::GetKeyFailed(value)
        | E::GetAllKeysFailed(value)
        | E::DeleteFailed(value)
        | E::CountFailed(value)
        | E::ClearFailed(value)
        | E::IndexedDbOpenFailed(value)
        | E::TransactionOpenFailed(value)
        | E::TransactionCommitError(value)
        | E::TransactionAbortError(value)
        | E::ObjectStoreNotFound(value)
        | E::IndexNotFound(value)
        | E::OpenCursorFailed(value)
        | E::CursorContinueFailed(value)
        | E::CursorAdvanceFailed(value) => value,
        _ => return None,
    };
    Reflect::get(value, &JsValue::from_str("name"))
        .ok()?
        .as_string()
}

/// Whether a failure means the storage quota is exhausted.
pub fn is_quota(name: Option<&str>) -> bool {
    name == Some("QuotaExceededError")
}

/// Maps an `idb` failure to a typed error, keeping its detail.
pub fn idb_error(context: &str, error: &idb::Error) -> Error {
    classify(context, idb_dom_name(error).as_deref(), &error.to_string())
}

/// Maps a rexie failure to a typed error, keeping its detail.
pub fn storage_error(context: &str, error: &rexie::Error) -> Error {
    let name = dom_name(error);
    let detail = match error {
        rexie::Error::IdbError(inner) => inner.to_string(),
        other => other.to_string(),
    };
    classify(context, name.as_deref(), &detail)
}

/// Maps a DOMException name and detail to a typed error.
pub fn classify(context: &str, name: Option<&str>, detail: &str) -> Error {
    match name {
        _ if is_quota(name) => Error::StorageFull(format!(
            "{context}: the browser's storage quota for this site is exhausted; nothing of this write was kept{}",
            if detail.is_empty() {
                String::new()
            } else {
                format!(" ({detail})")
            }
        )),
        Some("InvalidStateError") => Error::Storage(format!(
            "{context}: the database connection is closed (another tab may have upgraded it; reload the page): {detail}"
        )),
        _ => Error::Storage(format!("{context}: {detail}")),
    }
}
