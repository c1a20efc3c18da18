//! `POST /v1/batch`: several appends, each atomic on its own, applied in order. The appends that
//! pass their checks go to the backend together, so they commit one right after the other
//! (often in one commit group); the answer says where the caller's readable head stands.

use axum::Json;
use axum::extract::State;
use fieldstream::core::StreamId;
use fieldstream::protocol::{BatchResponse, BatchResult, ErrorCode};
use serde_json::Value;
use tracing::Instrument;

use crate::auth::{Caller, rate_limited};
use crate::backend::{AppendInput, Backend};
use crate::error::AppError;
use crate::extract::JsonBody;
use crate::routes::append::{CheckedAppend, check_append, conflict_page, counted};
use crate::state::AppState;

/// One item of a batch, checked: its stream and append, or why it is refused.
fn check(
    caller: &Caller,
    state: &AppState,
    item: Value,
) -> Result<(StreamId, CheckedAppend), AppError> {
    let stream = item
        .get("stream")
        .and_then(Value::as_str)
        .ok_or_else(|| AppError::new(ErrorCode::InvalidStreamId, "each append needs a stream"))?;
    let stream = StreamId::parse(stream)
        .map_err(|error| AppError::new(ErrorCode::InvalidStreamId, error.to_string()))?;
    caller.check(&stream)?;
    let append = check_append(item, &state.config.limits)?;
    Ok((stream, append))
}

/// The result of one batch item that ended in `outcome`.
fn result_of(outcome: Result<fieldstream::protocol::AppendResponse, AppError>) -> BatchResult {
    match outcome {
        Ok(response) => BatchResult::Ok(response),
        Err(AppError::Conflict(conflict)) => BatchResult::Conflict(*conflict),
        Err(AppError::Internal(error)) => {
            tracing::error!(%error, "batch append failed");
            BatchResult::Error(AppError::Internal(error).to_body())
        }
        Err(refused) => BatchResult::Error(refused.to_body()),
    }
}

/// `POST /v1/batch`.
pub async fn batch(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(mut body): JsonBody,
) -> Result<Json<BatchResponse>, AppError> {
    let Some(Value::Array(appends)) = body.get_mut("appends").map(Value::take) else {
        return Err(AppError::new(
            ErrorCode::InvalidJson,
            "appends must be an array",
        ));
    };
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
    let checked: Vec<Result<(StreamId, CheckedAppend), AppError>> = appends
        .into_iter()
        .map(|item| check(&caller, &state, item))
        .collect();
    let inputs: Vec<AppendInput<'_>> = checked
        .iter()
        .flatten()
        .map(|(stream, append)| AppendInput {
            stream,
            expected: append.expected,
            events: &append.events,
        })
        .collect();
    let backend = &state.backend;
    let appended = match inputs.is_empty() {
        true => None,
        false => {
            // Carried into the group-commit writer, whose transaction span becomes its child.
            let span = tracing::info_span!(
                "append",
                appends = inputs.len(),
                events = inputs.iter().map(|input| input.events.len()).sum::<usize>(),
            );
            let appended = backend
                .append_many(&caller.tenant, &inputs, conflict_page(&state))
                .instrument(span)
                .await?;
            Some(appended)
        }
    };
    let written_head = appended.as_ref().and_then(|appended| appended.head);
    let mut outcomes = appended.map(|a| a.outcomes).unwrap_or_default().into_iter();
    let mut results = Vec::with_capacity(checked.len());
    for item in checked {
        results.push(result_of(match item {
            Err(refused) => Err(refused),
            Ok((_, append)) => match outcomes.next() {
                Some(Ok(outcome)) => counted(&state, append.events.len(), outcome),
                Some(Err(error)) => Err(AppError::Internal(error)),
                None => Err(AppError::new(ErrorCode::Internal, "no answer")),
            },
        }));
    }
    // A caller limited to some streams learns only the newest position it may read.
    let head = match (caller.grants.restricted(), written_head) {
        (Some(grants), _) => backend.readable_head(&caller.tenant, grants).await?,
        (None, Some(head)) => head,
        (None, None) => backend.head(&caller.tenant).await?,
    };
    Ok(Json(BatchResponse {
        results,
        head: Some(head),
    }))
}
