//! Request extractors whose rejections speak protocol v1 instead of axum's plain text.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use fieldstream::core::StreamId;
use fieldstream::protocol::ErrorCode;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::AppError;

/// A JSON request body parsed as a [`Value`]; `invalid_json` or `too_large` when it can't be.
#[derive(Debug)]
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json"
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            });
        if !is_json {
            return Err(AppError::new(
                ErrorCode::InvalidJson,
                "the body must be JSON, sent with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(body_failure)?;
        crate::json::parse(&bytes).map(JsonBody).map_err(|error| {
            AppError::new(ErrorCode::InvalidJson, format!("malformed JSON: {error}"))
        })
    }
}

/// The refusal of a body that could not be read: too large, too slow, or cut off.
fn body_failure(rejection: BytesRejection) -> AppError {
    if let BytesRejection::FailedToBufferBody(failure) = &rejection {
        if failure.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            return AppError::new(
                ErrorCode::TooLarge,
                "the request body is over the size limit",
            );
        }
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(failure);
        while let Some(error) = source {
            if error.is::<crate::deadline::BodyTimedOut>() {
                return AppError::new(
                    ErrorCode::RequestTimeout,
                    "the request body did not arrive in time; nothing was written",
                );
            }
            source = error.source();
        }
    }
    AppError::new(ErrorCode::InvalidJson, rejection.body_text())
}

/// The `{stream}` path segment, validated; `invalid_stream_id` when it breaks the rules.
#[derive(Debug)]
pub struct StreamPath(pub StreamId);

impl<S: Send + Sync> FromRequestParts<S> for StreamPath {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(text) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| {
                AppError::new(ErrorCode::InvalidStreamId, rejection.body_text())
            })?;
        StreamId::parse(text)
            .map(StreamPath)
            .map_err(|error| AppError::new(ErrorCode::InvalidStreamId, error.to_string()))
    }
}

/// Query parameters deserialized into `T`; `invalid_query` when they don't fit.
#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| QueryParams(value))
            .map_err(|rejection| AppError::new(ErrorCode::InvalidQuery, rejection.body_text()))
    }
}

/// Checks a read `limit`: absent means the default, else 1 to the maximum.
pub fn read_limit(limit: Option<u32>) -> Result<u32, AppError> {
    use fieldstream::protocol::{DEFAULT_READ_LIMIT, MAX_READ_LIMIT};
    match limit {
        None => Ok(DEFAULT_READ_LIMIT),
        Some(n) if (1..=MAX_READ_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(AppError::new(
            ErrorCode::InvalidQuery,
            format!("limit {n} is out of range: use 1 to {MAX_READ_LIMIT}"),
        )),
    }
}

/// The largest version or position a request may name: the databases store signed 64-bit integers.
pub const MAX_COUNTER: u64 = i64::MAX as u64;

/// Checks a version or position named by a query parameter or header.
pub fn counter(value: u64, name: &str) -> Result<u64, AppError> {
    if value <= MAX_COUNTER {
        Ok(value)
    } else {
        Err(AppError::new(
            ErrorCode::InvalidQuery,
            format!("{name} {value} is out of range: at most {MAX_COUNTER}"),
        ))
    }
}
