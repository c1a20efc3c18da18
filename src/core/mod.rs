//! The pure event-sourcing core: events, streams, expected versions, aggregates, snapshots,
//! upcasting, idempotency and the engine that ties them together.
//!
//! Nothing here knows about JavaScript, IndexedDB or the network. Decisions are synchronous, so
//! a command can be decided and committed inside one storage transaction.

pub mod aggregate;
pub mod cause;
pub mod engine;
pub mod error;
pub mod event;
pub mod idempotency;
pub mod limits;
pub mod outbox;
pub mod personal;
pub mod projection;
pub mod runtime;
pub mod snapshot;
pub mod storage;
pub mod stream;
pub mod testing;
pub mod upcast;
pub mod version;

pub use aggregate::{
    Aggregate, AggregateHandler, ConflictPolicy, DEFAULT_SNAPSHOT_EVERY, State, handler_for,
};
pub use cause::{Cause, Detail};
pub use engine::{
    ConflictRetry, Engine, EngineConfig, EngineStats, ExecuteOptions, ExecuteResult, Loaded,
};
pub use error::{DomainError, ERROR_KINDS, Error, Result, Thrown};
pub use event::{EventEnvelope, EventMetadata, NewEvent, StoredEvent, Timestamp};
pub use idempotency::{
    CommandOutcome, DEFAULT_IDEMPOTENCY_TTL_MS, IdempotencyRecord, IdempotencyUpdate,
};
pub use limits::CommandLimits;
pub use outbox::{OutboxEntry, RejectedCommand, RejectionReason};
pub use personal::{
    KeyStore, KeyUpdate, PersonalData, PersonalFields, REDACTED, Shredder, SubjectKey,
};
pub use projection::{
    OnFailure, Projection, ProjectionMode, ProjectionOptions, ProjectionState, View,
};
pub use runtime::{
    Clock, IdSource, Jitter, ManualClock, NoJitter, RandomIds, RandomJitter, SequentialIds, Sleeper,
};
pub use snapshot::Snapshot;
pub use stream::{StreamHead, StreamId, check_aggregate_type, check_event_type};
pub use upcast::{UpcastFn, Upcasters};
pub use version::ExpectedVersion;
