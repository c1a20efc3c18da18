//! `GET /v1/streams/{stream}` and `GET /v1/events`. A page ends at the request's `limit` or at
//! the server's read budget (`--max-read-bytes`), whichever comes first; the client continues
//! from the last event it got until it reaches `currentVersion` or `head`.

use axum::Json;
use axum::extract::State;
use fieldstream::protocol::{ErrorCode, EventsPage, StreamPage};
use serde::Deserialize;

use crate::auth::Caller;
use crate::backend::{Backend, PageSize};
use crate::error::AppError;
use crate::extract::{QueryParams, StreamPath, counter, read_limit};
use crate::state::AppState;

/// Query of a stream read.
#[derive(Debug, Deserialize)]
pub struct StreamQuery {
    from: Option<u64>,
    limit: Option<u32>,
}

/// `GET /v1/streams/{stream}?from&limit`.
pub async fn read_stream(
    State(state): State<AppState>,
    caller: Caller,
    StreamPath(stream): StreamPath,
    QueryParams(query): QueryParams<StreamQuery>,
) -> Result<Json<StreamPage>, AppError> {
    caller.check(&stream)?;
    let from = counter(query.from.unwrap_or(1), "from")?;
    if from == 0 {
        return Err(AppError::new(
            ErrorCode::InvalidQuery,
            "from is a version, 1 or more",
        ));
    }
    let page = PageSize::new(read_limit(query.limit)?, state.config.limits.max_read_bytes);
    let (current_version, events) = state
        .backend
        .read_stream(&caller.tenant, &stream, from, page)
        .await?;
    Ok(Json(StreamPage {
        stream,
        current_version,
        events,
    }))
}

/// Query of a log read.
#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    after: Option<u64>,
    limit: Option<u32>,
}

/// `GET /v1/events?after&limit`.
pub async fn read_all(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<EventsQuery>,
) -> Result<Json<EventsPage>, AppError> {
    let page = PageSize::new(read_limit(query.limit)?, state.config.limits.max_read_bytes);
    let after = counter(query.after.unwrap_or(0), "after")?;
    let grants = caller.grants.restricted();
    // Head first: every event returned is then at or below a head that was already committed.
    // A caller limited to some streams learns only the newest position it may read.
    let head = match grants {
        None => state.backend.head(&caller.tenant).await?,
        Some(grants) => state.backend.readable_head(&caller.tenant, grants).await?,
    };
    let events = state
        .backend
        .read_all(&caller.tenant, after, page, grants)
        .await?
        .events;
    let head = events.last().map_or(head, |last| head.max(last.position));
    Ok(Json(EventsPage { events, head }))
}
