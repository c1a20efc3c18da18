//! IndexedDB failures as fieldstream errors.
//!
//! rexie reports every IndexedDB failure as `rexie::Error::IdbError`, whose message drops the
//! DOMException's name; the name is what tells a full disk from a taken key, so this module
//! reads it from the `idb` error inside. The DOMException itself becomes the error's cause
//! (kept in [`held`], so that JavaScript sees it as `error.cause`).

use js_sys::Reflect;
use wasm_bindgen::JsValue;

use crate::core::{Detail, Error};
use crate::platform::held;

/// The DOMException (or other JS value) inside an `idb` error, when it carries one.
fn idb_source(error: &idb::Error) -> Option<JsValue> {
    use idb::Error as E;
    let value: &JsValue = match error {
        E::DomException(exception) => return Some(exception.clone().into()),
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
    Some(value.clone()).filter(|value| !value.is_undefined() && !value.is_null())
}

/// The `name` of a JS failure (a DOMException's, such as `ConstraintError`).
fn name_of(value: &JsValue) -> Option<String> {
    Reflect::get(value, &JsValue::from_str("name"))
        .ok()?
        .as_string()
}

/// Whether a failure means the storage quota is exhausted.
pub fn is_quota(name: Option<&str>) -> bool {
    name == Some("QuotaExceededError")
}

/// Maps an `idb` failure to a typed error, keeping its detail and its DOMException.
pub fn idb_error(context: &str, error: &idb::Error) -> Error {
    classify(context, &error.to_string(), idb_source(error).as_ref())
}

/// Maps a rexie failure to a typed error, keeping its detail and its DOMException.
pub fn storage_error(context: &str, error: &rexie::Error) -> Error {
    match error {
        rexie::Error::IdbError(inner) => idb_error(context, inner),
        other => classify(context, &other.to_string(), None),
    }
}

/// The error of a transaction that `cause` aborted; `otherwise` says what happened when it
/// carries no error (an abort the code asked for).
pub fn aborted(context: &str, cause: Option<&web_sys::DomException>, otherwise: &str) -> Error {
    let detail = cause.map_or_else(|| otherwise.to_owned(), |cause| cause.message());
    classify(context, &detail, cause.map(AsRef::as_ref))
}

/// Maps a failure in `context` with `detail` to a typed error: the name of its JS `source`
/// (a DOMException) tells the kind, and the source becomes the error's cause.
pub fn classify(context: &str, detail: &str, source: Option<&JsValue>) -> Error {
    let name = source.and_then(name_of);
    let cause = source.map(|source| held::cause(source.clone()));
    let message = match name.as_deref() {
        name if is_quota(name) => format!(
            "{context}: the browser's storage quota for this site is exhausted; nothing of this write was kept{}",
            if detail.is_empty() {
                String::new()
            } else {
                format!(" ({detail})")
            }
        ),
        Some("InvalidStateError") => format!(
            "{context}: the database connection is closed (another tab may have upgraded it; reload the page): {detail}"
        ),
        _ => format!("{context}: {detail}"),
    };
    let detail = Detail { message, cause };
    if is_quota(name.as_deref()) {
        Error::StorageFull(detail)
    } else {
        Error::Storage(detail)
    }
}
