//! The key service of personal data: `GET`, `PUT` and `DELETE /v1/keys/{subject}` (a subject's
//! keys; `DELETE` forgets it for good) and `GET /v1/keys?after=…&limit=…` (the subjects
//! forgotten, for devices to redact them too). Same auth and tenant isolation as the streams,
//! and the grant rules of `docs/protocol.md`:
//!
//! - a token limited by `streams` sees a subject's keys only when they are used in a stream it
//!   may read (a `PUT` naming that stream, with the key itself, records the use), and adds keys
//!   only for a stream it may write, named in the `PUT`;
//! - forgetting needs the `keys:forget` scope, and a limited token may forget only a subject all
//!   of whose keys are used in streams it may read;
//! - keys are standard base64 of exactly 32 bytes, key ids 1-64 of `A-Z a-z 0-9 _ -`;
//! - keys are listed in the order they were created, and a client seals with the first.
//!
//! Keys are sealed under the server's KEK before they reach the database and opened only to
//! answer; they appear in no log line, metric or error message.

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use fieldstream::protocol::keys::{MAX_SUBJECT_LEN, is_valid_key_id};
use fieldstream::protocol::{ErrorCode, ForgottenPage, KeyEntry, PutKeys, SubjectKeys};
use serde::Deserialize;

use crate::auth::Caller;
use crate::backend::{KeyService, KeyView, NewKey, PutOutcome, StoreError};
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

/// Whether `key` is standard base64 (padded) of exactly 32 bytes.
pub fn is_valid_key(key: &str) -> bool {
    key.len() == 44
        && STANDARD
            .decode(key)
            .is_ok_and(|bytes| bytes.len() == 32 && STANDARD.encode(&bytes) == key)
}

fn forbidden(message: &str) -> AppError {
    AppError::new(ErrorCode::Forbidden, message)
}

/// The answer for `view`: its keys opened with the KEK.
fn answer(
    state: &AppState,
    caller: &Caller,
    subject: &str,
    view: KeyView,
) -> Result<Json<SubjectKeys>, AppError> {
    let kek = &state.config.kek;
    let keys = view
        .keys
        .into_iter()
        .map(|stored| {
            let key = kek
                .open_key(&caller.tenant, subject, &stored.id, &stored.sealed)
                .map_err(|error| StoreError::Data(error.to_string()))?;
            Ok(KeyEntry { id: stored.id, key })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    Ok(Json(SubjectKeys {
        subject: subject.to_owned(),
        keys,
        forgotten: view.forgotten,
    }))
}

/// `GET /v1/keys/{subject}`.
pub async fn get_keys(
    State(state): State<AppState>,
    caller: Caller,
    SubjectPath(subject): SubjectPath,
) -> Result<Json<SubjectKeys>, AppError> {
    let view = state
        .backend
        .subject_keys(&caller.tenant, &subject, caller.grants.restricted())
        .await?;
    if !view.visible {
        return Err(forbidden(
            "this token may not read the keys of this subject: none is used in its streams",
        ));
    }
    answer(&state, &caller, &subject, view)
}

/// Checks a `PUT` body against the protocol's rules.
fn check_put(body: serde_json::Value) -> Result<PutKeys, AppError> {
    let put: PutKeys = serde_json::from_value(body).map_err(|_| {
        AppError::new(
            ErrorCode::InvalidJson,
            "expected {\"keys\": [{\"id\", \"key\"}], \"stream\"}",
        )
    })?;
    if put.keys.is_empty() || put.keys.len() > MAX_KEYS_PER_PUT {
        return Err(AppError::new(
            ErrorCode::InvalidJson,
            format!("a PUT carries 1-{MAX_KEYS_PER_PUT} keys"),
        ));
    }
    for key in &put.keys {
        if !is_valid_key_id(&key.id) {
            return Err(AppError::new(
                ErrorCode::InvalidJson,
                "a key id is 1-64 characters of A-Z a-z 0-9 _ -",
            ));
        }
        if !is_valid_key(&key.key) {
            return Err(AppError::new(
                ErrorCode::InvalidJson,
                "a key is standard base64 (with padding) of exactly 32 bytes",
            ));
        }
    }
    let mut ids: Vec<&str> = put.keys.iter().map(|key| key.id.as_str()).collect();
    ids.sort_unstable();
    if ids.windows(2).any(|pair| pair[0] == pair[1]) {
        return Err(AppError::new(
            ErrorCode::InvalidJson,
            "a key id appears twice in one PUT",
        ));
    }
    Ok(put)
}

/// `PUT /v1/keys/{subject}` with `{"keys": [{"id", "key"}], "stream"}`: adds keys unless the
/// subject was forgotten (the answer then says `forgotten: true` and holds no key).
pub async fn put_keys(
    State(state): State<AppState>,
    caller: Caller,
    SubjectPath(subject): SubjectPath,
    JsonBody(body): JsonBody,
) -> Result<Json<SubjectKeys>, AppError> {
    let put = check_put(body)?;
    match &put.stream {
        Some(stream) => caller.check(stream)?,
        None if !caller.grants.is_all() => {
            return Err(forbidden(
                "a token limited to some streams must name the stream the keys are for",
            ));
        }
        None => {}
    }
    let kek = &state.config.kek;
    let keys: Vec<NewKey> = put
        .keys
        .iter()
        .map(|key| NewKey {
            id: key.id.clone(),
            sealed: kek.seal_key(&caller.tenant, &subject, &key.id, &key.key),
            fingerprint: kek.fingerprint(&caller.tenant, &subject, &key.id, &key.key),
        })
        .collect();
    let outcome = state
        .backend
        .put_subject_keys(
            &caller.tenant,
            &subject,
            &keys,
            put.stream.as_ref().map(|stream| stream.as_str()),
            caller.grants.restricted(),
        )
        .await?;
    match outcome {
        PutOutcome::Stored(view) => answer(&state, &caller, &subject, view),
        PutOutcome::IdTaken(id) => Err(AppError::new(
            ErrorCode::IdempotencyMismatch,
            format!("key id {id} of this subject is held with another key; nothing was stored"),
        )),
    }
}

/// `DELETE /v1/keys/{subject}`: forgets the subject (idempotent); needs `keys:forget`.
pub async fn forget(
    State(state): State<AppState>,
    caller: Caller,
    SubjectPath(subject): SubjectPath,
) -> Result<Json<SubjectKeys>, AppError> {
    if !caller.may_forget {
        return Err(forbidden(
            "forgetting a subject needs a token with the scope keys:forget",
        ));
    }
    let forgotten = state
        .backend
        .forget_subject(&caller.tenant, &subject, caller.grants.restricted())
        .await?;
    match forgotten {
        Some(view) => answer(&state, &caller, &subject, view),
        None => Err(forbidden(
            "this token may not forget this subject: its keys are not all used in its streams",
        )),
    }
}

/// Query of the forgotten list.
#[derive(Debug, Deserialize)]
pub struct ForgottenQuery {
    after: Option<u64>,
    limit: Option<u32>,
}

/// `GET /v1/keys?after&limit`: subjects forgotten after number `after` that the caller may see.
pub async fn forgotten(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<ForgottenQuery>,
) -> Result<Json<ForgottenPage>, AppError> {
    let after = counter(query.after.unwrap_or(0), "after")?;
    let limit = read_limit(query.limit)?;
    let forgotten = state
        .backend
        .forgotten_subjects(&caller.tenant, after, limit, caller.grants.restricted())
        .await?;
    Ok(Json(ForgottenPage { forgotten }))
}
