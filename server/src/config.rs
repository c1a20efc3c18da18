//! What a server instance is configured with, independent of how it was given (flags, env, tests).

use std::path::PathBuf;
use std::time::Duration;

/// Per-request limits; each one answers `too_large` or `rate_limited` past it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Most events in one append (and most appends in one batch).
    pub max_events_per_append: usize,
    /// Largest event, in bytes of its compact JSON.
    pub max_event_bytes: usize,
    /// Requests per second allowed per subject (the token's tenant and `sub`); 0 turns it off.
    pub requests_per_second: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 1024 * 1024,
            max_events_per_append: 500,
            max_event_bytes: 64 * 1024,
            requests_per_second: 100,
        }
    }
}

/// How callers are authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMode {
    /// No authentication: every caller is subject `dev` of tenant `dev`. Never in production.
    Dev,
    /// `Authorization: Bearer <JWT>` signed with HS256 by this secret.
    Jwt {
        /// The shared HMAC secret.
        secret: Vec<u8>,
    },
}

/// Everything a router needs besides its backend.
#[derive(Debug, Clone)]
pub struct Config {
    /// How callers are authenticated.
    pub auth: AuthMode,
    /// Request limits.
    pub limits: Limits,
    /// Origins allowed to call the API from a browser (`https://app.example`); none by default.
    pub cors_origins: Vec<String>,
    /// A folder served on every path the API does not claim.
    pub static_dir: Option<PathBuf>,
    /// How often an idle subscription gets a heartbeat comment (and re-reads the database).
    pub heartbeat: Duration,
}

impl Config {
    /// A configuration with default limits, no CORS origins, no static folder.
    pub fn new(auth: AuthMode) -> Self {
        Config {
            auth,
            limits: Limits::default(),
            cors_origins: Vec::new(),
            static_dir: None,
            heartbeat: Duration::from_secs(15),
        }
    }
}
