//! Appends as the SQL backends run them: encoded in the caller's task, handed to the group
//! commit writer together (so a batch's appends commit one after another, nothing of another
//! caller between them), and each writer answer turned into an [`AppendOutcome`]; a conflict
//! reads the events the caller lacks after the commit.

use std::sync::Arc;

use fieldstream::core::{ExpectedVersion, StreamId};
use fieldstream::protocol::{ClientEvent, ConflictResponse};

use super::group::{Dialect, GroupCommit, NewAppend, NewEvent, Written};
use super::{AppendOutcome, Backend, PageSize, StoreError};

/// One append of a call to [`Backend::append_many`].
#[derive(Debug, Clone, Copy)]
pub struct AppendInput<'a> {
    /// The stream appended to.
    pub stream: &'a StreamId,
    /// The optimistic-concurrency check.
    pub expected: ExpectedVersion,
    /// The events, checked.
    pub events: &'a [ClientEvent],
}

/// What [`Backend::append_many`] did: each append's outcome, and the tenant's head as the writer
/// last saw it (when it did).
#[derive(Debug)]
pub struct Appended {
    /// Per append, in order; a failed one failed alone or with its commit group.
    pub outcomes: Vec<Result<AppendOutcome, StoreError>>,
    /// The tenant's head right after the last commit that wrote, when the writer knows it.
    pub head: Option<u64>,
}

/// Runs `appends` of `tenant` through `commits`; `backend` reads the events of a conflict.
pub async fn append_many<D: Dialect, B: Backend>(
    commits: &GroupCommit<D>,
    backend: &B,
    tenant: &str,
    appends: &[AppendInput<'_>],
    conflict: PageSize,
) -> Result<Appended, StoreError> {
    let encoded = appends
        .iter()
        .map(|append| {
            Ok(NewAppend {
                stream: append.stream.clone(),
                expected: append.expected,
                events: append
                    .events
                    .iter()
                    .map(NewEvent::encode)
                    .collect::<Result<_, StoreError>>()?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let answers = commits.submit(tenant, encoded).await;
    let mut head: Option<u64> = None;
    let mut outcomes = Vec::with_capacity(answers.len());
    for (append, answer) in appends.iter().zip(answers) {
        let answer = match answer {
            Ok(answer) => answer,
            Err(error) => {
                outcomes.push(Err(StoreError::Writer(error)));
                continue;
            }
        };
        head = head.max(answer.head);
        outcomes.push(match answer.written {
            Written::Appended(response) => Ok(AppendOutcome::Appended(response)),
            Written::Replayed(response) => Ok(AppendOutcome::Replayed(response)),
            Written::Mismatch(reason) => Ok(AppendOutcome::IdempotencyMismatch(reason)),
            Written::Conflict { current } => {
                conflicted(backend, tenant, append, current, conflict).await
            }
        });
    }
    Ok(Appended { outcomes, head })
}

/// The conflict answer of `append`, refused with the stream at `current`: when it pinned a
/// version, the stream's events after it and the version they reach, read after the commit.
async fn conflicted<B: Backend>(
    backend: &B,
    tenant: &str,
    append: &AppendInput<'_>,
    current: u64,
    page: PageSize,
) -> Result<AppendOutcome, StoreError> {
    let (current, events) = match append.expected.exact() {
        Some(known) => {
            let (now, events) = backend
                .read_stream(tenant, append.stream, known + 1, page)
                .await?;
            (now.max(current), events)
        }
        None => (current, Vec::new()),
    };
    Ok(AppendOutcome::Conflict(Box::new(ConflictResponse::new(
        append.stream.clone(),
        append.expected,
        current,
        events,
    ))))
}

/// The one outcome of a call to [`append_many`] with one append.
pub fn single(appended: Appended) -> Result<AppendOutcome, StoreError> {
    appended.outcomes.into_iter().next().unwrap_or_else(|| {
        Err(StoreError::Writer(Arc::new(StoreError::Data(
            "no answer".into(),
        ))))
    })
}
