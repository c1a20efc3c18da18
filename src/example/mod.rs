//! The reference domain: the architecture guide's Order aggregate (create, pay, ship) and its
//! read model.
//!
//! It is an example of how to write an aggregate with fieldstream, used by the tests, the
//! benchmarks, the wasm demo surface and `npm start`; nothing in the library depends on it.

pub mod order;
pub mod order_projection;

pub use order::{Order, OrderCommand, OrderEvent, OrderItem, OrderStatus};
pub use order_projection::OrderProjection;
