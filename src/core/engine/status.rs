//! Operating projections: where each stands (mode, version, position, lag, rebuild progress,
//! whether it stopped, its dead letters, a retry it waits for), and an operator's retry or skip
//! of the events it failed on.

use serde::{Serialize, Serializer};
use uuid::Uuid;

use super::Engine;
use crate::core::error::{Error, Result};
use crate::core::projection::{
    DeadLetter, ProjectionMode, ProjectionOperation, error_code, error_message,
};
use crate::core::storage::{EventLog, KeyVault, ReadModelStore};

/// Where a projection stands, for the app.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectionStatus {
    /// The projection's name.
    pub name: String,
    /// Inline or background (`"inline"` / `"background"` in JSON).
    #[serde(serialize_with = "mode_name")]
    pub mode: ProjectionMode,
    /// The version queries read (0 until the first build finishes).
    pub version: u32,
    /// Its checkpoint: the last server position folded into the read model.
    pub position: u64,
    /// Events stored but not yet in the read model.
    pub lag: u64,
    /// A build of a newer version in progress.
    pub rebuild: Option<RebuildStatus>,
    /// Whether it stopped at a dead letter (it applies nothing until retried, skipped past, or
    /// raised to a new version).
    pub stopped: bool,
    /// The events it failed on for good, oldest first.
    pub dead_letters: Vec<DeadLetterStatus>,
    /// A failure waiting to be tried again.
    pub retry: Option<RetryStatus>,
}

/// A build of a newer version of a projection, in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RebuildStatus {
    /// The version being built.
    pub version: u32,
    /// Events processed so far.
    pub done: u64,
    /// Events in the store when the build started.
    pub total: u64,
}

/// An error as statuses show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureStatus {
    /// The error's stable code (a domain error's own code).
    pub code: String,
    /// What went wrong.
    pub message: String,
}

/// An event a projection failed on for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetterStatus {
    /// The event's id.
    pub event_id: Uuid,
    /// The event's stream.
    pub stream: String,
    /// The event's version in its stream.
    pub version: u64,
    /// The event's type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The last error.
    pub error: FailureStatus,
    /// How many times it was tried.
    pub attempts: u32,
    /// Whether the projection passed over it (otherwise it stopped there).
    pub skipped: bool,
}

/// A failure a projection waits to try again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryStatus {
    /// The event that failed; `None` when the step itself failed (the store, not an event).
    pub event_id: Option<Uuid>,
    /// Failures so far.
    pub attempts: u32,
    /// When it is tried next, in milliseconds since the epoch.
    pub next_at: i64,
    /// The last error.
    pub last_error: FailureStatus,
}

fn mode_name<S: Serializer>(mode: &ProjectionMode, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(match mode {
        ProjectionMode::Inline => "inline",
        ProjectionMode::Background { .. } => "background",
    })
}

impl From<&DeadLetter> for DeadLetterStatus {
    fn from(letter: &DeadLetter) -> Self {
        DeadLetterStatus {
            event_id: letter.event.id,
            stream: letter.event.stream.to_string(),
            version: letter.event.version,
            event_type: letter.event.event_type.clone(),
            error: FailureStatus {
                code: letter.code.clone(),
                message: letter.message.clone(),
            },
            attempts: letter.attempts,
            skipped: letter.skipped,
        }
    }
}

impl<S: EventLog + ReadModelStore + KeyVault> Engine<S> {
    /// Where projection `name` stands; `InvalidInput` for an unknown name.
    pub async fn projection_status(&self, name: &str) -> Result<ProjectionStatus> {
        let registered = self.projector.registered(name)?;
        let state = self.store.projection_state(name).await?.unwrap_or_default();
        let letters = self.store.dead_letters(name).await?;
        let event_retry = state.retry.as_ref().map(|retry| RetryStatus {
            event_id: Some(retry.event_id),
            attempts: retry.attempts,
            next_at: retry.next_at,
            last_error: FailureStatus {
                code: retry.code.clone(),
                message: retry.message.clone(),
            },
        });
        let step_retry = self.retries.borrow().get(name).and_then(|retry| {
            let error = retry.last_error.as_ref()?;
            Some(RetryStatus {
                event_id: None,
                attempts: retry.attempts,
                next_at: retry.next_at,
                last_error: FailureStatus::from(error),
            })
        });
        Ok(ProjectionStatus {
            name: name.to_owned(),
            mode: registered.options.mode,
            version: state.version,
            position: state.checkpoint,
            lag: self
                .store
                .unprocessed(state.checkpoint, state.pending_upto)
                .await?,
            rebuild: self
                .projector
                .rebuild_progress(&state)
                .map(|rebuild| RebuildStatus {
                    version: rebuild.version,
                    done: rebuild.done,
                    total: rebuild.total,
                }),
            stopped: state.stopped_at.is_some(),
            dead_letters: letters.iter().map(DeadLetterStatus::from).collect(),
            retry: step_retry.or(event_retry),
        })
    }

    /// Where every projection stands, in the order they were registered.
    pub async fn projection_statuses(&self) -> Result<Vec<ProjectionStatus>> {
        let mut statuses = Vec::new();
        for registered in self.projector.all() {
            statuses.push(self.projection_status(registered.projection.name()).await?);
        }
        Ok(statuses)
    }

    /// The events projection `name` failed on for good, as stored.
    pub async fn dead_letters(&self, name: &str) -> Result<Vec<DeadLetter>> {
        self.projector.registered(name)?;
        self.store.dead_letters(name).await
    }

    /// Processes the events projection `name` failed on again and resumes it, then catches it
    /// up (see [`ProjectionOperation::Retry`]: skipped events make it rebuild).
    pub async fn retry_projection(&self, name: &str) -> Result<ProjectionStatus> {
        self.operate(name, ProjectionOperation::Retry).await
    }

    /// Passes over the dead-lettered event `event_id` of projection `name` and resumes it,
    /// then catches it up; `NotFound` (and nothing written) when there is no such dead letter.
    pub async fn skip_dead_letter(&self, name: &str, event_id: Uuid) -> Result<ProjectionStatus> {
        self.operate(name, ProjectionOperation::Skip(event_id))
            .await
    }

    async fn operate(
        &self,
        name: &str,
        operation: ProjectionOperation,
    ) -> Result<ProjectionStatus> {
        self.projector.registered(name)?;
        self.ensure_keys().await?;
        self.store
            .operate_projection(&self.projector, name, operation)
            .await?;
        self.retries.borrow_mut().remove(name);
        self.catch_up_projection(name).await?;
        self.projection_status(name).await
    }

    /// Runs projection `name` until it is up to date, stopped, or waiting to retry an event.
    async fn catch_up_projection(&self, name: &str) -> Result<()> {
        let mut progressed = false;
        loop {
            let step = self
                .store
                .run_projection(&self.projector, name, 500)
                .await?;
            progressed |= step.processed > 0;
            if step.finished {
                break;
            }
        }
        if progressed {
            self.refresh_subscriptions().await;
        }
        Ok(())
    }
}

impl From<&Error> for FailureStatus {
    fn from(error: &Error) -> Self {
        FailureStatus {
            code: error_code(error),
            message: error_message(error),
        }
    }
}
