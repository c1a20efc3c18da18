//! Authentication: HS256 JWTs (or `--dev`), the [`Caller`] they yield, its stream grants and
//! scopes, and the rate limits that apply before a handler runs.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Query};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use fieldstream::core::StreamId;
use fieldstream::protocol::ErrorCode;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};

use crate::config::{AuthMode, JwtRules};
use crate::error::AppError;
use crate::grants::Grants;
use crate::state::AppState;

/// The longest tenant name a token may carry.
pub const MAX_TENANT_LEN: usize = 200;

/// Clock leeway for `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS: u64 = 60;

/// The scope that allows `DELETE /v1/keys/{subject}` (forgetting a data subject for good).
pub const FORGET_SCOPE: &str = "keys:forget";

/// The claims of a fieldstream token (besides the registered ones the validator reads: `nbf`,
/// `iat`, `iss`, `aud`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The subject: who calls (rate limits are per subject).
    pub sub: String,
    /// The tenant whose events the token reads and writes.
    pub tenant: String,
    /// Expiry, in Unix epoch seconds.
    pub exp: u64,
    /// The streams the token may read and write: exact stream ids, or prefixes ending in `*`;
    /// absent means every stream of its tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streams: Option<Vec<String>>,
    /// Space-separated extra permissions, such as `keys:forget`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// The claims read beyond [`Claims`] for the lifetime check.
#[derive(Deserialize)]
struct TokenClaims {
    #[serde(flatten)]
    claims: Claims,
    #[serde(default)]
    iat: Option<u64>,
}

/// Who makes a request, once authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The tenant.
    pub tenant: String,
    /// The subject.
    pub subject: String,
    /// The streams the caller may read and write.
    pub grants: Grants,
    /// Whether the token carries the `keys:forget` scope.
    pub may_forget: bool,
}

impl Caller {
    /// The caller `--dev` mode gives every request: every stream, every scope.
    pub fn dev() -> Self {
        Caller {
            tenant: "dev".into(),
            subject: "dev".into(),
            grants: Grants::all(),
            may_forget: true,
        }
    }

    /// Whether the caller may read and write `stream`.
    pub fn may_access(&self, stream: &StreamId) -> bool {
        self.grants.allows(stream.as_str())
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

    /// The key of the per-subject limits: tenant and `sub` (the same `sub` in two tenants is
    /// two subjects).
    pub fn limit_key(&self) -> String {
        format!("{}\u{0}{}", self.tenant, self.subject)
    }
}

/// Checks tokens against the configured [`AuthMode`].
#[derive(Clone)]
pub struct Authenticator {
    verifier: Option<(DecodingKey, Validation, JwtRules)>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("dev", &self.verifier.is_none())
            .finish()
    }
}

fn unauthorized(message: impl Into<String>) -> AppError {
    AppError::new(ErrorCode::Unauthorized, message)
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

impl Authenticator {
    /// An authenticator for `mode`.
    pub fn new(mode: &AuthMode) -> Self {
        let verifier = match mode {
            AuthMode::Dev => None,
            AuthMode::Jwt(rules) => {
                // Only HS256: a token whose header names another algorithm (or `none`) fails.
                let mut validation = Validation::new(Algorithm::HS256);
                let mut required = vec!["exp", "sub"];
                validation.leeway = LEEWAY_SECS;
                validation.validate_nbf = true;
                if let Some(issuer) = &rules.issuer {
                    validation.set_issuer(&[issuer]);
                    required.push("iss");
                }
                match &rules.audience {
                    Some(audience) => {
                        validation.set_audience(&[audience]);
                        required.push("aud");
                    }
                    // An `aud` the server was not told to check is not a reason to refuse.
                    None => validation.validate_aud = false,
                }
                validation.set_required_spec_claims(&required);
                Some((
                    DecodingKey::from_secret(&rules.secret),
                    validation,
                    rules.clone(),
                ))
            }
        };
        Authenticator { verifier }
    }

    /// The caller a bearer token (if any) stands for; `unauthorized` when it is missing or bad.
    pub fn authenticate(&self, token: Option<&str>) -> Result<Caller, AppError> {
        let Some((key, validation, rules)) = &self.verifier else {
            return Ok(Caller::dev());
        };
        let token = token
            .ok_or_else(|| unauthorized("missing bearer token (Authorization: Bearer <JWT>)"))?;
        let TokenClaims { claims, iat } =
            jsonwebtoken::decode::<TokenClaims>(token, key, validation)
                .map_err(|error| unauthorized(format!("invalid token: {error}")))?
                .claims;
        if let Some(max) = rules.max_lifetime {
            let max = max.as_secs();
            let from = iat.unwrap_or_else(now_secs);
            if claims.exp.saturating_sub(from) > max + LEEWAY_SECS {
                return Err(unauthorized(format!(
                    "invalid token: it lives longer than the {max} s this server allows"
                )));
            }
        }
        if claims.tenant.is_empty() || claims.tenant.chars().count() > MAX_TENANT_LEN {
            return Err(unauthorized(format!(
                "invalid token: tenant must be 1-{MAX_TENANT_LEN} characters"
            )));
        }
        if claims.tenant.chars().any(char::is_control) {
            return Err(unauthorized("invalid token: control characters in tenant"));
        }
        if claims.sub.is_empty() {
            return Err(unauthorized("invalid token: empty sub"));
        }
        let grants = Grants::from_claim(claims.streams.as_deref())
            .map_err(|message| unauthorized(format!("invalid token: {message}")))?;
        let may_forget = claims
            .scope
            .as_deref()
            .is_some_and(|scope| scope.split(' ').any(|item| item == FORGET_SCOPE));
        Ok(Caller {
            tenant: claims.tenant,
            subject: claims.sub,
            grants,
            may_forget,
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
            .ok_or_else(|| unauthorized("Authorization must be 'Bearer <JWT>'"))?;
        return Ok(Some(token.trim().to_owned()));
    }
    if parts.uri.path() == "/v1/subscribe"
        && let Ok(Query(query)) = Query::<TokenQuery>::try_from_uri(&parts.uri)
    {
        return Ok(query.access_token);
    }
    Ok(None)
}

/// The `429` of every limit.
pub fn rate_limited(message: &str) -> AppError {
    AppError::new(ErrorCode::RateLimited, message)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller =
            bearer_token(parts).and_then(|token| state.auth.authenticate(token.as_deref()));
        let caller = match caller {
            Ok(caller) => caller,
            Err(refusal) => {
                // Without a valid token, the client's address is all there is to count.
                let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>();
                if let (Some(limiter), Some(ConnectInfo(peer))) = (&state.ip_limiter, peer)
                    && !limiter.allow(&peer.ip())
                {
                    return Err(rate_limited(
                        "too many requests without a valid token from this address; slow down",
                    ));
                }
                return Err(refusal);
            }
        };
        if let Some(limiter) = &state.limiter
            && !limiter.allow(&caller.limit_key())
        {
            return Err(rate_limited("too many requests; slow down"));
        }
        Ok(caller)
    }
}
