//! The app's domain written in JavaScript: aggregates, projections and upcasters, adapted to
//! the core's traits. Each file holds one concept; none holds domain logic of its own.

pub mod aggregate;
pub mod projection;
pub mod thrown;
pub mod upcaster;

pub use aggregate::JsAggregate;
pub use projection::JsProjection;
pub use upcaster::read_upcasters;
