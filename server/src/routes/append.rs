//! `POST /v1/streams/{stream}`: parse, check and run one append.

use std::collections::HashSet;

use axum::Json;
use axum::extract::State;
use fieldstream::core::{ExpectedVersion, StreamId};
use fieldstream::protocol::{AppendResponse, ClientEvent, ErrorCode, MAX_CONFLICT_EVENTS};
use serde_json::Value;
use tracing::Instrument;

use crate::auth::Caller;
use crate::backend::{AppendOutcome, Backend, PageSize};
use crate::config::Limits;
use crate::error::AppError;
use crate::extract::{JsonBody, MAX_COUNTER, StreamPath};
use crate::state::AppState;

/// An append that passed every input check.
#[derive(Debug)]
pub struct CheckedAppend {
    /// The optimistic-concurrency check.
    pub expected: ExpectedVersion,
    /// The events, validated.
    pub events: Vec<ClientEvent>,
}

fn invalid_event(index: usize, message: impl std::fmt::Display) -> AppError {
    AppError::new(
        ErrorCode::InvalidEvent,
        format!("events[{index}]: {message}"),
    )
}

/// Checks an append body (`{"expectedVersion", "events"}`) against protocol v1 and `limits`.
/// The body is taken so that each event moves into its typed form without a copy.
pub fn check_append(body: Value, limits: &Limits) -> Result<CheckedAppend, AppError> {
    let Value::Object(mut object) = body else {
        return Err(AppError::new(
            ErrorCode::InvalidJson,
            "an append must be a JSON object",
        ));
    };
    let expected = object
        .remove("expectedVersion")
        .ok_or_else(|| AppError::new(ErrorCode::InvalidJson, "missing field expectedVersion"))?;
    let expected: ExpectedVersion = serde_json::from_value(expected).map_err(|error| {
        AppError::new(ErrorCode::InvalidJson, format!("expectedVersion: {error}"))
    })?;
    if expected
        .exact()
        .is_some_and(|version| version > MAX_COUNTER)
    {
        return Err(AppError::new(
            ErrorCode::InvalidJson,
            format!("expectedVersion is out of range: at most {MAX_COUNTER}"),
        ));
    }
    let Some(Value::Array(events)) = object.remove("events") else {
        return Err(AppError::new(
            ErrorCode::InvalidJson,
            "events must be an array",
        ));
    };
    if events.is_empty() {
        return Err(AppError::new(
            ErrorCode::InvalidEvent,
            "an append needs at least one event",
        ));
    }
    if events.len() > limits.max_events_per_append {
        return Err(AppError::new(
            ErrorCode::TooLarge,
            format!(
                "{} events in one append; the limit is {}",
                events.len(),
                limits.max_events_per_append
            ),
        ));
    }
    let mut checked = Vec::with_capacity(events.len());
    let mut ids = HashSet::with_capacity(events.len());
    for (index, raw) in events.into_iter().enumerate() {
        let size = compact_size(&raw);
        if size > limits.max_event_bytes {
            return Err(AppError::new(
                ErrorCode::TooLarge,
                format!(
                    "events[{index}] is {size} bytes; the limit is {}",
                    limits.max_event_bytes
                ),
            ));
        }
        let event: ClientEvent =
            serde_json::from_value(raw).map_err(|error| invalid_event(index, error))?;
        event
            .validate()
            .map_err(|error| invalid_event(index, error))?;
        if !ids.insert(event.id) {
            return Err(invalid_event(
                index,
                format!("id {} appears twice", event.id),
            ));
        }
        checked.push(event);
    }
    Ok(CheckedAppend {
        expected,
        events: checked,
    })
}

/// The length of `value` written as compact JSON, counted without writing it anywhere.
fn compact_size(value: &Value) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    serde_json::to_writer(&mut counter, value).map_or(usize::MAX, |()| counter.0)
}

/// Runs a checked append for `caller` and counts it; a conflict or mismatch is an [`AppError`].
pub async fn run_append(
    state: &AppState,
    caller: &Caller,
    stream: &StreamId,
    append: CheckedAppend,
) -> Result<AppendResponse, AppError> {
    // Carried into the group-commit writer, whose transaction span becomes its child.
    let span = tracing::info_span!(
        "append",
        stream = %stream,
        events = append.events.len(),
        expected = ?append.expected,
    );
    let outcome = state
        .backend
        .append(
            &caller.tenant,
            stream,
            append.expected,
            &append.events,
            conflict_page(state),
        )
        .instrument(span)
        .await;
    counted(state, append.events.len(), outcome?)
}

/// How much a conflict's answer carries: at most one page of the events the caller lacks.
pub fn conflict_page(state: &AppState) -> PageSize {
    PageSize::new(MAX_CONFLICT_EVENTS, state.config.limits.max_read_bytes)
}

/// Counts an append of `events` events that ended in `outcome` and answers it: a conflict or a
/// mismatch is an [`AppError`].
pub fn counted(
    state: &AppState,
    events: usize,
    outcome: AppendOutcome,
) -> Result<AppendResponse, AppError> {
    let metrics = &state.metrics;
    match outcome {
        AppendOutcome::Appended(response) => {
            metrics.appends.inc();
            metrics.events.inc_by(events as u64);
            Ok(response)
        }
        AppendOutcome::Replayed(response) => {
            metrics.replays.inc();
            Ok(response)
        }
        AppendOutcome::Conflict(conflict) => {
            metrics.conflicts.inc();
            Err(AppError::Conflict(conflict))
        }
        AppendOutcome::IdempotencyMismatch(reason) => {
            Err(AppError::new(ErrorCode::IdempotencyMismatch, reason))
        }
    }
}

/// `POST /v1/streams/{stream}`.
pub async fn append(
    State(state): State<AppState>,
    caller: Caller,
    StreamPath(stream): StreamPath,
    body: Result<JsonBody, AppError>,
) -> Result<Json<AppendResponse>, AppError> {
    // Permission before the body, so a forbidden stream is refused whatever the body holds.
    caller.check(&stream)?;
    let JsonBody(body) = body?;
    let append = check_append(body, &state.config.limits)?;
    run_append(&state, &caller, &stream, append).await.map(Json)
}

#[cfg(test)]
#[path = "append_tests.rs"]
mod tests;
