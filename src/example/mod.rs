//! The reference domain: the architecture guide's Order aggregate (create, pay, ship) and its
//! read model.
//!
//! It is an example of how to write an aggregate with fieldstream, used by the tests, the
//! doctests and the server's tests; nothing in the library depends on it. It sits behind the
//! cargo feature `example` (on by default), which the published wasm (`scripts/build.mjs`) is
//! built without: apps write their aggregates in JavaScript (`tests/api/order.mjs` is this
//! domain written so).

pub mod order;
pub mod order_projection;

pub use order::{Order, OrderCommand, OrderEvent, OrderItem, OrderStatus};
pub use order_projection::OrderProjection;
