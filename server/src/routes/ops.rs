//! `/health`, `/v1/limits`, and the JSON answers for unknown routes and methods.

use axum::Json;
use axum::extract::State;
use fieldstream::protocol::{ErrorCode, ServerLimits};
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::AppError;
use crate::state::AppState;

/// `GET /health`.
pub async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /v1/limits`: what one request may carry, so clients refuse a command that could never
/// be appended before they store it.
pub async fn limits(State(state): State<AppState>, _caller: Caller) -> Json<ServerLimits> {
    let limits = &state.config.limits;
    Json(ServerLimits {
        max_events_per_append: limits.max_events_per_append,
        max_event_bytes: limits.max_event_bytes,
        max_body_bytes: limits.max_body_bytes,
    })
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
