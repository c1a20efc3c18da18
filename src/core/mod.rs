//! The pure event-sourcing core: events, streams, expected versions, aggregates, snapshots,
//! upcasting, idempotency and the engine that ties them together.
//!
//! Nothing here knows about JavaScript, IndexedDB or the network. Decisions are synchronous, so
//! a command can be decided and committed inside one storage transaction.

pub mod error;
pub mod event;
pub mod stream;
pub mod version;

pub use error::{DomainError, Error, Result};
pub use event::{EventEnvelope, EventMetadata, NewEvent, Timestamp};
pub use stream::{StreamId, check_aggregate_type, check_event_type};
pub use version::ExpectedVersion;
