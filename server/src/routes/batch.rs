//! `POST /v1/batch`: several appends, each atomic on its own, applied in order.

use axum::Json;
use axum::extract::State;
use fieldstream::core::StreamId;
use fieldstream::protocol::{BatchResponse, BatchResult, ErrorCode};
use serde_json::Value;

use crate::auth::{Caller, rate_limited};
use crate::error::AppError;
use crate::extract::JsonBody;
use crate::routes::append::{check_append, run_append};
use crate::state::AppState;

async fn one(state: &AppState, caller: &Caller, item: &Value) -> Result<BatchResult, AppError> {
    let stream = item
        .get("stream")
        .and_then(Value::as_str)
        .ok_or_else(|| AppError::new(ErrorCode::InvalidStreamId, "each append needs a stream"))?;
    let stream = StreamId::parse(stream)
        .map_err(|error| AppError::new(ErrorCode::InvalidStreamId, error.to_string()))?;
    caller.check(&stream)?;
    let append = check_append(item, &state.config.limits)?;
    Ok(BatchResult::Ok(
        run_append(state, caller, &stream, append).await?,
    ))
}

/// `POST /v1/batch`.
pub async fn batch(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Json<BatchResponse>, AppError> {
    let appends = body
        .get("appends")
        .and_then(Value::as_array)
        .ok_or_else(|| AppError::new(ErrorCode::InvalidJson, "appends must be an array"))?;
    let limit = state.config.limits.max_events_per_append;
    if appends.len() > limit {
        return Err(AppError::new(
            ErrorCode::TooLarge,
            format!(
                "{} appends in one batch; the limit is {limit}",
                appends.len()
            ),
        ));
    }
    // The request counted as one against the subject's rate; each further append counts too.
    if let Some(limiter) = &state.limiter
        && !limiter.allow_n(&caller.limit_key(), appends.len().saturating_sub(1) as u32)
    {
        return Err(rate_limited(
            "too many appends; a batch counts each of its appends against the rate limit",
        ));
    }
    let mut results = Vec::with_capacity(appends.len());
    for item in appends {
        results.push(match one(&state, &caller, item).await {
            Ok(result) => result,
            Err(AppError::Conflict(conflict)) => BatchResult::Conflict(*conflict),
            Err(AppError::Internal(error)) => {
                tracing::error!(%error, "batch append failed");
                BatchResult::Error(AppError::Internal(error).to_body())
            }
            Err(refused) => BatchResult::Error(refused.to_body()),
        });
    }
    Ok(Json(BatchResponse { results }))
}
