//! Authentication: HS256 JWTs (or `--dev`), the [`Caller`] they yield, and stream-prefix rules.

use axum::extract::{FromRequestParts, Query};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use fieldstream::core::StreamId;
use fieldstream::protocol::ErrorCode;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};

use crate::config::AuthMode;
use crate::error::AppError;
use crate::state::AppState;

/// The longest tenant name a token may carry.
pub const MAX_TENANT_LEN: usize = 200;

/// The claims of a fieldstream token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The subject: who calls (rate limits are per subject).
    pub sub: String,
    /// The tenant whose events the token reads and writes.
    pub tenant: String,
    /// Expiry, in Unix epoch seconds.
    pub exp: u64,
    /// Stream-id prefixes the token may read and write; absent means every stream of its tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streams: Option<Vec<String>>,
}

/// Who makes a request, once authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The tenant.
    pub tenant: String,
    /// The subject.
    pub subject: String,
    /// Stream-id prefixes the caller may touch; `None` means all of its tenant.
    pub streams: Option<Vec<String>>,
}

impl Caller {
    /// The caller `--dev` mode gives every request.
    pub fn dev() -> Self {
        Caller {
            tenant: "dev".into(),
            subject: "dev".into(),
            streams: None,
        }
    }

    /// Whether the caller may read and write `stream`.
    pub fn may_access(&self, stream: &StreamId) -> bool {
        self.streams.as_ref().is_none_or(|prefixes| {
            prefixes
                .iter()
                .any(|prefix| stream.as_str().starts_with(prefix.as_str()))
        })
    }

    /// `forbidden` unless the caller may touch `stream`.
    pub fn check(&self, stream: &StreamId) -> Result<(), AppError> {
        if self.may_access(stream) {
            Ok(())
        } else {
            Err(AppError::new(
                ErrorCode::Forbidden,
                format!("this token may not access stream {stream}"),
            ))
        }
    }
}

/// Checks tokens against the configured [`AuthMode`].
#[derive(Clone)]
pub struct Authenticator {
    verifier: Option<(DecodingKey, Validation)>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("dev", &self.verifier.is_none())
            .finish()
    }
}

impl Authenticator {
    /// An authenticator for `mode`.
    pub fn new(mode: &AuthMode) -> Self {
        let verifier = match mode {
            AuthMode::Dev => None,
            AuthMode::Jwt { secret } => {
                // Only HS256: a token whose header names another algorithm (or `none`) fails.
                let mut validation = Validation::new(Algorithm::HS256);
                validation.set_required_spec_claims(&["exp", "sub"]);
                Some((DecodingKey::from_secret(secret), validation))
            }
        };
        Authenticator { verifier }
    }

    /// The caller a bearer token (if any) stands for; `unauthorized` when it is missing or bad.
    pub fn authenticate(&self, token: Option<&str>) -> Result<Caller, AppError> {
        let Some((key, validation)) = &self.verifier else {
            return Ok(Caller::dev());
        };
        let token = token.ok_or_else(|| {
            AppError::new(
                ErrorCode::Unauthorized,
                "missing bearer token (Authorization: Bearer <JWT>)",
            )
        })?;
        let claims = jsonwebtoken::decode::<Claims>(token, key, validation)
            .map_err(|error| {
                AppError::new(ErrorCode::Unauthorized, format!("invalid token: {error}"))
            })?
            .claims;
        if claims.tenant.is_empty() || claims.tenant.chars().count() > MAX_TENANT_LEN {
            return Err(AppError::new(
                ErrorCode::Unauthorized,
                format!("invalid token: tenant must be 1-{MAX_TENANT_LEN} characters"),
            ));
        }
        let has_control = |text: &str| text.chars().any(char::is_control);
        if has_control(&claims.tenant)
            || claims
                .streams
                .iter()
                .flatten()
                .any(|prefix| has_control(prefix))
        {
            return Err(AppError::new(
                ErrorCode::Unauthorized,
                "invalid token: control characters in tenant or streams",
            ));
        }
        if claims.sub.is_empty() {
            return Err(AppError::new(
                ErrorCode::Unauthorized,
                "invalid token: empty sub",
            ));
        }
        Ok(Caller {
            tenant: claims.tenant,
            subject: claims.sub,
            streams: claims.streams,
        })
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    access_token: Option<String>,
}

/// The bearer token of a request: the `Authorization` header, or for `/v1/subscribe` (which
/// browsers' `EventSource` opens without headers) the `access_token` query parameter.
fn bearer_token(parts: &Parts) -> Result<Option<String>, AppError> {
    if let Some(header) = parts.headers.get(AUTHORIZATION) {
        let text = header.to_str().unwrap_or_default();
        let token = text
            .strip_prefix("Bearer ")
            .or_else(|| text.strip_prefix("bearer "))
            .ok_or_else(|| {
                AppError::new(
                    ErrorCode::Unauthorized,
                    "Authorization must be 'Bearer <JWT>'",
                )
            })?;
        return Ok(Some(token.trim().to_owned()));
    }
    if parts.uri.path() == "/v1/subscribe"
        && let Ok(Query(query)) = Query::<TokenQuery>::try_from_uri(&parts.uri)
    {
        return Ok(query.access_token);
    }
    Ok(None)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = state.auth.authenticate(bearer_token(parts)?.as_deref())?;
        if let Some(limiter) = &state.limiter {
            // Keyed by tenant and subject: the same `sub` in two tenants is two subjects.
            if !limiter.allow(&format!("{}\u{0}{}", caller.tenant, caller.subject)) {
                return Err(AppError::new(
                    ErrorCode::RateLimited,
                    "too many requests; slow down",
                ));
            }
        }
        Ok(caller)
    }
}
