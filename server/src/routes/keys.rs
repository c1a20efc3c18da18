//! The key service of personal data: `GET`, `PUT` and `DELETE /v1/keys/{subject}` (a subject's
//! keys; `DELETE` forgets it for good) and `GET /v1/keys?after=…&limit=…` (the subjects
//! forgotten, for devices to redact them too). Same auth and tenant isolation as the streams;
//! keys appear in no log line, metric or error message.

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use fieldstream::protocol::keys::MAX_SUBJECT_LEN;
use fieldstream::protocol::{ErrorCode, ForgottenPage, PutKeys, SubjectKeys};
use serde::Deserialize;

use crate::auth::Caller;
use crate::backend::KeyService;
use crate::error::AppError;
use crate::extract::{JsonBody, QueryParams, counter, read_limit};
use crate::state::AppState;

/// The most keys one `PUT` may carry.
pub const MAX_KEYS_PER_PUT: usize = 100;

/// The `{subject}` path segment: 1-200 characters, no control characters.
#[derive(Debug)]
pub struct SubjectPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for SubjectPath {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(subject) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| AppError::new(ErrorCode::InvalidQuery, rejection.body_text()))?;
        let length = subject.chars().count();
        if length == 0 || length > MAX_SUBJECT_LEN || subject.chars().any(char::is_control) {
            return Err(AppError::new(
                ErrorCode::InvalidQuery,
                format!("a subject is 1-{MAX_SUBJECT_LEN} characters, none a control character"),
            ));
        }
        Ok(SubjectPath(subject))
    }
}

/// `GET /v1/keys/{subject}`.
pub async fn get_keys(
    State(state): State<AppState>,
    caller: Caller,
    SubjectPath(subject): SubjectPath,
) -> Result<Json<SubjectKeys>, AppError> {
    Ok(Json(
        state.backend.subject_keys(&caller.tenant, &subject).await?,
    ))
}

/// `PUT /v1/keys/{subject}` with `{"keys": [{"id", "key"}]}`: adds keys unless the subject was
/// forgotten (the answer then says `forgotten: true` and holds no key).
pub async fn put_keys(
    State(state): State<AppState>,
    caller: Caller,
    SubjectPath(subject): SubjectPath,
    JsonBody(body): JsonBody,
) -> Result<Json<SubjectKeys>, AppError> {
    let put: PutKeys = serde_json::from_value(body).map_err(|_| {
        AppError::new(
            ErrorCode::InvalidJson,
            "expected {\"keys\": [{\"id\", \"key\"}]}",
        )
    })?;
    if put.keys.is_empty() || put.keys.len() > MAX_KEYS_PER_PUT {
        return Err(AppError::new(
            ErrorCode::InvalidJson,
            format!("a PUT carries 1-{MAX_KEYS_PER_PUT} keys"),
        ));
    }
    let well_formed = |text: &str, max: usize| {
        !text.is_empty() && text.len() <= max && text.chars().all(|c| c.is_ascii_graphic())
    };
    if !put
        .keys
        .iter()
        .all(|key| well_formed(&key.id, 64) && well_formed(&key.key, 64))
    {
        return Err(AppError::new(
            ErrorCode::InvalidJson,
            "a key's id and key are 1-64 printable ASCII characters",
        ));
    }
    Ok(Json(
        state
            .backend
            .put_subject_keys(&caller.tenant, &subject, &put.keys)
            .await?,
    ))
}

/// `DELETE /v1/keys/{subject}`: forgets the subject (idempotent).
pub async fn forget(
    State(state): State<AppState>,
    caller: Caller,
    SubjectPath(subject): SubjectPath,
) -> Result<Json<SubjectKeys>, AppError> {
    Ok(Json(
        state
            .backend
            .forget_subject(&caller.tenant, &subject)
            .await?,
    ))
}

/// Query of the forgotten list.
#[derive(Debug, Deserialize)]
pub struct ForgottenQuery {
    after: Option<u64>,
    limit: Option<u32>,
}

/// `GET /v1/keys?after&limit`: subjects forgotten after number `after`.
pub async fn forgotten(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<ForgottenQuery>,
) -> Result<Json<ForgottenPage>, AppError> {
    let after = counter(query.after.unwrap_or(0), "after")?;
    let limit = read_limit(query.limit)?;
    let forgotten = state
        .backend
        .forgotten_subjects(&caller.tenant, after, limit)
        .await?;
    Ok(Json(ForgottenPage { forgotten }))
}
