//! Typed errors with stable machine codes.
//!
//! Every failure fieldstream reports is one variant of [`Error`]; [`Error::code`] gives the
//! stable string a program can match on (the JS bindings expose it as `error.code`), and
//! [`Error::cause`] the failure under it ([`Cause`]), which JavaScript sees as `error.cause`.

use crate::core::cause::{Cause, Detail};
use crate::core::version::ExpectedVersion;

/// A refusal decided by the domain: the command does not hold on the current state.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, thiserror::Error)]
#[error("{message} ({code})")]
pub struct DomainError {
    /// The domain's own machine code, such as `order_not_payable`.
    pub code: String,
    /// A human-readable reason.
    pub message: String,
}

impl DomainError {
    /// Creates a domain error from its code and message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// What the app's own code (a `decide`, `evolve`, `apply` or upcaster written in the host
/// language) threw: described for people and dead letters, with the handle under which the
/// bindings keep the thrown value itself, so that they can hand the very same value back to the
/// caller (the core never sees it, and the error stays `Send` and `Sync`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thrown {
    /// Which function threw, such as `Order.decide`.
    pub what: String,
    /// A one-line description of the thrown value.
    pub description: String,
    /// The bindings' handle of the thrown value.
    pub handle: u64,
}

/// Every error fieldstream reports.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The stream was not at the expected version.
    #[error("conflict on stream {stream}: expected {expected}, actual version {actual}")]
    Conflict {
        /// The stream written to.
        stream: String,
        /// What the writer expected.
        expected: ExpectedVersion,
        /// The stream's version when the write was tried.
        actual: u64,
    },
    /// The domain refused the command.
    #[error("domain error: {0}")]
    Domain(DomainError),
    /// Something asked for does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The caller passed something malformed; nothing was written.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The storage layer failed.
    #[error("storage error: {0}")]
    Storage(Detail),
    /// The storage layer is out of space; nothing of the failed write was kept.
    #[error("storage full: {0}")]
    StorageFull(Detail),
    /// A value could not be encoded or decoded.
    #[error("codec error: {0}")]
    Codec(Detail),
    /// The app's own code threw (code `codec`, like a value it could not read).
    #[error("{} threw: {}", .0.what, .0.description)]
    Thrown(Thrown),
    /// The sync server could not be reached, or did not answer, after every retry.
    #[error("network error: {0}")]
    Network(Detail),
    /// The sync server refused the credentials, even fresh ones.
    #[error("unauthorized: {0}")]
    Unauthorized(Detail),
    /// Personal data did not decrypt (wrong key, moved or tampered ciphertext, a missing key)
    /// or could not be encrypted; nothing was written.
    #[error("crypto error: {0}")]
    Crypto(Detail),
}

/// Every kind of error fieldstream reports, as `(code, class)`: the stable machine code, and the
/// name of the error class it becomes in JavaScript (`code` `domain` stands for the domain's own
/// codes; `internal` is a panic, reported by the bindings). The package's `js/errors.js` and the
/// `ErrorCode` type of `js/errors.d.ts` are checked against this table (`tests/error_table.rs`).
pub const ERROR_KINDS: &[(&str, &str)] = &[
    ("domain", "DomainError"),
    ("conflict", "ConflictError"),
    ("invalid_input", "ValidationError"),
    ("not_found", "NotFoundError"),
    ("storage", "StorageError"),
    ("storage_full", "StorageError"),
    ("codec", "CodecError"),
    ("network", "NetworkError"),
    ("unauthorized", "UnauthorizedError"),
    ("crypto", "CryptoError"),
    ("internal", "FieldstreamError"),
];

impl Error {
    /// The name of the class this error becomes in JavaScript (from [`ERROR_KINDS`]).
    pub fn class_name(&self) -> &'static str {
        let code = self.code();
        ERROR_KINDS
            .iter()
            .find(|(kind, _)| *kind == code)
            .map_or("FieldstreamError", |(_, class)| class)
    }

    /// The stable machine code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Conflict { .. } => "conflict",
            Error::Domain(_) => "domain",
            Error::NotFound(_) => "not_found",
            Error::InvalidInput(_) => "invalid_input",
            Error::Storage(_) => "storage",
            Error::StorageFull(_) => "storage_full",
            Error::Codec(_) | Error::Thrown(_) => "codec",
            Error::Network(_) => "network",
            Error::Unauthorized(_) => "unauthorized",
            Error::Crypto(_) => "crypto",
        }
    }

    /// The failure under this error, when it has one (an app's thrown value is the error
    /// itself, not a cause).
    pub fn cause(&self) -> Option<&Cause> {
        match self {
            Error::Storage(detail)
            | Error::StorageFull(detail)
            | Error::Codec(detail)
            | Error::Network(detail)
            | Error::Unauthorized(detail)
            | Error::Crypto(detail) => detail.cause.as_ref(),
            _ => None,
        }
    }

    /// Shorthand for an [`Error::InvalidInput`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidInput(message.into())
    }
}

impl From<DomainError> for Error {
    fn from(error: DomainError) -> Self {
        Error::Domain(error)
    }
}

impl From<serde_json::Error> for Error {
    fn from(error: serde_json::Error) -> Self {
        let text = error.to_string();
        Error::Codec(Detail::caused(text.clone(), Cause::Described(text)))
    }
}

/// The result type used throughout fieldstream.
pub type Result<T, E = Error> = std::result::Result<T, E>;
