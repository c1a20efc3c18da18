//! `/health`, and the JSON answers for unknown routes and methods.

use axum::Json;
use fieldstream::protocol::ErrorCode;
use serde_json::{Value, json};

use crate::error::AppError;

/// `GET /health`.
pub async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Any path no route claims.
pub async fn not_found() -> AppError {
    AppError::new(ErrorCode::NotFound, "no such endpoint")
}

/// A known path with a method it does not take.
pub async fn method_not_allowed() -> AppError {
    AppError::new(
        ErrorCode::MethodNotAllowed,
        "this endpoint does not take that method",
    )
}
