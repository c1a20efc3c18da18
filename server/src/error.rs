//! [`AppError`]: every failure a handler can answer with, turned into protocol v1's error body.
//!
//! Internal failures are logged with their detail and answered with a bare `internal` code, so
//! nothing about the database or the code leaks to the caller.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fieldstream::protocol::{ConflictResponse, ErrorBody, ErrorCode};

use crate::backend::StoreError;

/// A failed request: a protocol error code with its message, or a conflict with its body.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A refusal with a code and a message for the caller.
    #[error("{code}: {message}")]
    Refused {
        /// The machine code.
        code: ErrorCode,
        /// The caller-facing explanation.
        message: String,
    },
    /// `wrong_expected_version`, with the events the caller needs to rebase.
    #[error("wrong expected version")]
    Conflict(Box<ConflictResponse>),
    /// The server failed; the detail goes to the log only.
    #[error("internal error: {0}")]
    Internal(#[from] StoreError),
}

impl AppError {
    /// A refusal with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError::Refused {
            code,
            message: message.into(),
        }
    }

    /// The code this error answers with.
    pub fn code(&self) -> ErrorCode {
        match self {
            AppError::Refused { code, .. } => *code,
            AppError::Conflict(_) => ErrorCode::WrongExpectedVersion,
            AppError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The body of a batch item that failed this way (conflicts are reported separately).
    pub fn to_body(&self) -> ErrorBody {
        match self {
            AppError::Refused { code, message } => ErrorBody::new(*code, message.clone()),
            AppError::Conflict(conflict) => {
                ErrorBody::new(ErrorCode::WrongExpectedVersion, conflict.message.clone())
            }
            AppError::Internal(_) => ErrorBody::new(ErrorCode::Internal, "internal server error"),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let code = self.code();
        let status =
            StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = match self {
            AppError::Conflict(conflict) => (status, Json(conflict)).into_response(),
            AppError::Internal(ref error) => {
                tracing::error!(%error, "request failed");
                (status, Json(self.to_body())).into_response()
            }
            refused => (status, Json(refused.to_body())).into_response(),
        };
        if code == ErrorCode::RateLimited {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        // Read by the metrics middleware to count rejected requests by code.
        response.extensions_mut().insert(code);
        response
    }
}
