//! What a server instance is configured with, independent of how it was given (flags, env, tests).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::kek::Kek;

/// Per-request limits; each one answers `too_large`, `rate_limited` or `request_timeout` past it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Most events in one append (and most appends in one batch).
    pub max_events_per_append: usize,
    /// Largest event, in bytes of its compact JSON.
    pub max_event_bytes: usize,
    /// Requests per second allowed per subject (the token's tenant and `sub`); 0 turns it off.
    /// An append in a batch counts as one request.
    pub requests_per_second: u32,
    /// Requests per second allowed per client IP address without a valid token (none, or one
    /// that fails); 0 turns it off.
    pub unauthenticated_per_second: u32,
    /// A read page ends once its events reach this many bytes (at least one event is sent).
    pub max_read_bytes: usize,
    /// Most live subscriptions one subject (tenant and `sub`) holds at once, per process.
    pub max_subscriptions_per_subject: usize,
    /// Most live subscriptions one tenant holds at once, per process.
    pub max_subscriptions_per_tenant: usize,
    /// A request body must have arrived whole within this time.
    pub body_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 1024 * 1024,
            max_events_per_append: 500,
            max_event_bytes: 64 * 1024,
            requests_per_second: 100,
            unauthenticated_per_second: 20,
            max_read_bytes: 4 * 1024 * 1024,
            max_subscriptions_per_subject: 16,
            max_subscriptions_per_tenant: 1_000,
            body_timeout: Duration::from_secs(30),
        }
    }
}

/// How HS256 tokens are checked.
#[derive(Clone, PartialEq, Eq)]
pub struct JwtRules {
    /// The shared HMAC secret (at least [`MIN_SECRET_BYTES`]).
    pub secret: Vec<u8>,
    /// When set, a token's `iss` must be exactly this.
    pub issuer: Option<String>,
    /// When set, a token's `aud` must name this; when not, `aud` is not looked at.
    pub audience: Option<String>,
    /// When set, a token whose `exp` lies further than this past its `iat` (or past now) is
    /// refused.
    pub max_lifetime: Option<Duration>,
}

impl std::fmt::Debug for JwtRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtRules")
            .field("secret", &"<hidden>")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("max_lifetime", &self.max_lifetime)
            .finish()
    }
}

/// The shortest HS256 secret the server accepts, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

impl JwtRules {
    /// Rules checking only the signature, `exp`, `nbf` and the claims the protocol requires.
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        JwtRules {
            secret: secret.into(),
            issuer: None,
            audience: None,
            max_lifetime: None,
        }
    }
}

/// How callers are authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMode {
    /// No authentication: every caller is subject `dev` of tenant `dev`. Never in production.
    Dev,
    /// `Authorization: Bearer <JWT>` signed with HS256 and checked by these rules.
    Jwt(JwtRules),
}

/// Everything a router needs besides its backend.
#[derive(Debug, Clone)]
pub struct Config {
    /// How callers are authenticated.
    pub auth: AuthMode,
    /// Request limits.
    pub limits: Limits,
    /// Origins allowed to call the API from a browser (`https://app.example`, or `*` for any);
    /// none by default.
    pub cors_origins: Vec<String>,
    /// A folder served on every path the API does not claim.
    pub static_dir: Option<PathBuf>,
    /// How often an idle subscription gets a heartbeat comment (and re-reads the database).
    pub heartbeat: Duration,
    /// When set, `GET /metrics` needs `Authorization: Bearer <this>`.
    pub metrics_token: Option<String>,
    /// Answer only requests whose `Host` is a loopback name (`localhost`, `127.0.0.1`, `[::1]`),
    /// so that a web page cannot reach a development server through DNS rebinding.
    pub loopback_host_only: bool,
    /// The key-encryption key that seals the key service's keys at rest.
    pub kek: Arc<Kek>,
}

impl Config {
    /// A configuration with default limits, no CORS origins, no static folder, no metrics
    /// token, and a fresh random key-encryption key (the binary always sets its own).
    pub fn new(auth: AuthMode) -> Self {
        Config {
            auth,
            limits: Limits::default(),
            cors_origins: Vec::new(),
            static_dir: None,
            heartbeat: Duration::from_secs(15),
            metrics_token: None,
            loopback_host_only: false,
            kek: Arc::new(Kek::random()),
        }
    }
}
