//! Wire types of protocol v1 (`docs/protocol.md`), shared by the sync client and `fieldstream-server`.
//!
//! Plain serde types with no I/O, so they compile for wasm32 as well as for the server. Field
//! names are camelCase on the wire, as the protocol writes them.

pub mod append;
pub mod batch;
pub mod error;
pub mod event;
pub mod keys;
pub mod limits;
pub mod read;

pub use append::{AppendRequest, AppendResponse, ConflictResponse};
pub use batch::{BatchAppend, BatchRequest, BatchResponse, BatchResult};
pub use error::{ErrorBody, ErrorCode};
pub use event::{ClientEvent, ServerEvent};
pub use keys::{ForgottenPage, ForgottenSubject, KeyEntry, PutKeys, SubjectKeys};
pub use limits::ServerLimits;
pub use read::{EventsPage, StreamPage};

/// The protocol version these types implement; every path starts with `/v{PROTOCOL_VERSION}`.
pub const PROTOCOL_VERSION: u32 = 1;
/// How many events a read returns when the request names no `limit`.
pub const DEFAULT_READ_LIMIT: u32 = 1_000;
/// The largest `limit` a read accepts.
pub const MAX_READ_LIMIT: u32 = 10_000;
/// At most this many events ride along in a `wrong_expected_version` answer.
pub const MAX_CONFLICT_EVENTS: u32 = 1_000;
