//! WebAssembly bindings: the only part of fieldstream that knows about JavaScript.
//!
//! Thin by design: each file converts between `JsValue` and the core's types and calls the
//! core; no domain logic lives here. JS-facing types hold `Rc` state and take `&self`, and
//! async methods return a `Promise` built from a cloned `Rc`, so overlapping calls from JS never
//! hold a borrow across an await.

mod api;
mod convert;
pub mod domain;
#[cfg(feature = "sql")]
mod durable_object;
mod error;
#[cfg(feature = "sync")]
mod fetch;
mod fields;
mod panic;
mod store;
#[cfg(feature = "sync")]
mod sync_client;

pub use api::JsStore;
#[cfg(feature = "sync")]
pub use sync_client::JsSyncClient;
