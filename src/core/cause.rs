//! What lies under an error: the failure of a lower layer (an IndexedDB `DOMException`, a
//! `fetch` `TypeError`, an HTTP answer, a parse error) that the error reports in its own words.
//!
//! The core knows nothing of JS, and its [`Error`](super::Error) stays `Send` and `Sync`: a JS
//! value is kept by the crate's wasm side under a handle (the same table that keeps the app's
//! thrown values), and the core carries only the handle and a description. The bindings hand the
//! value itself to JavaScript as the error's standard `cause`.

use std::fmt;

/// The underlying failure of an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// A JS value (a `DOMException`, a `TypeError`) kept under `handle`, described for people.
    Held {
        /// The handle under which the wasm side keeps the value.
        handle: u64,
        /// A one-line description of the value, such as `ConstraintError: Key already exists`.
        description: String,
    },
    /// An HTTP answer that was not one to act on.
    Http {
        /// The status code.
        status: u16,
        /// The body, as text.
        body: String,
    },
    /// A failure of Rust code (such as a JSON parse error), described.
    Described(String),
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Held { description, .. } | Cause::Described(description) => {
                f.write_str(description)
            }
            Cause::Http { status, body } if body.is_empty() => write!(f, "status {status}"),
            Cause::Http { status, body } => write!(f, "status {status}: {body}"),
        }
    }
}

/// An error's message, with the failure under it when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Detail {
    /// What failed, in fieldstream's words.
    pub message: String,
    /// The failure under it.
    pub cause: Option<Cause>,
}

impl Detail {
    /// A message caused by `cause`.
    pub fn caused(message: impl Into<String>, cause: Cause) -> Self {
        Detail {
            message: message.into(),
            cause: Some(cause),
        }
    }

    /// A message with its cause described after it, caused by `cause` (for sources whose
    /// description is all a message has to say, such as a parse error).
    pub fn described(context: &str, cause: Cause) -> Self {
        Detail::caused(format!("{context}: {cause}"), cause)
    }

    /// The message.
    pub fn as_str(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Detail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<String> for Detail {
    fn from(message: String) -> Self {
        Detail {
            message,
            cause: None,
        }
    }
}

impl From<&str> for Detail {
    fn from(message: &str) -> Self {
        Detail::from(message.to_owned())
    }
}

impl std::ops::Deref for Detail {
    type Target = str;

    fn deref(&self) -> &str {
        &self.message
    }
}
