//! fieldstream: offline-first event sourcing for the web.
//!
//! Aggregates decide commands into events, projections turn events into read models, and a
//! store keeps both, in memory or in IndexedDB, with an outbox that syncs to a server stream.
//!
//! - [`core`]: the pure event-sourcing model and the [`Engine`](core::Engine); no JS, no I/O.
//! - [`store`]: the storage traits (all four: [`EventStore`](store::EventStore)) and the stores.
//! - [`protocol`]: the wire types of protocol v1, shared with `fieldstream-server`.
//! - [`sync`]: the sync client: outbox push, pull, conflict resolution, rejected inbox (cargo
//!   feature `sync`, on by default; the browser's lite module is built without it, and without
//!   `personal`, the cipher of personal data in [`core::personal`]).
//! - `example` (cargo feature `example`, on by default; off in the published wasm): the
//!   reference Order domain used by the tests and the server's tests.
//! - `js` (wasm32 only): the WebAssembly bindings.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod core;
#[cfg(feature = "example")]
pub mod example;
pub mod platform;
pub mod protocol;
pub mod store;
pub mod sync;

#[cfg(target_arch = "wasm32")]
pub mod js;

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
