//! The observable state of sync, for status bars: a value, and the observer that hears of each
//! change to it.

#[cfg(feature = "sync")]
use std::cell::RefCell;
use std::rc::Rc;

use serde::Serialize;

use crate::core::Timestamp;

/// What a running sync is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SyncPhase {
    /// Sending outbox entries to the server.
    Pushing,
    /// Fetching and storing what other devices did.
    Pulling,
}

/// How far the draining of the queue has come, in commands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// Commands settled (accepted or rejected) since the drain began.
    pub done: usize,
    /// Commands in the queue when the drain began, and those added while it runs.
    pub total: usize,
}

/// Where sync stands.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    /// Whether the last request reached the server.
    pub online: bool,
    /// Commands waiting in the outbox.
    pub pending: usize,
    /// Commands in the rejected inbox.
    pub rejected: usize,
    /// Whether a round is running.
    pub syncing: bool,
    /// What the running round is doing, if one runs.
    pub phase: Option<SyncPhase>,
    /// How far the current (or last) drain of the queue has come.
    pub progress: Progress,
    /// When the last round succeeded.
    pub last_sync_at: Option<Timestamp>,
    /// The last round's failure, until a round succeeds.
    pub last_error: Option<String>,
    /// The server's head minus the local pull checkpoint, as of the last pull.
    pub lag: u64,
}

/// A function told of every change of a [`SyncStatus`].
pub type StatusObserver = Rc<dyn Fn(&SyncStatus)>;

/// A [`SyncStatus`] that tells its observer of each change.
#[cfg(feature = "sync")]
#[derive(Default)]
pub(super) struct ObservedStatus {
    status: RefCell<SyncStatus>,
    observer: RefCell<Option<StatusObserver>>,
}

#[cfg(feature = "sync")]
impl ObservedStatus {
    pub(super) fn get(&self) -> SyncStatus {
        self.status.borrow().clone()
    }

    pub(super) fn observe(&self, observer: Option<StatusObserver>) {
        *self.observer.borrow_mut() = observer;
    }

    /// Changes the status and, when it changed, tells the observer (no borrow is held while it
    /// runs, so it may read the status again).
    pub(super) fn update(&self, change: impl FnOnce(&mut SyncStatus)) {
        let changed = {
            let mut status = self.status.borrow_mut();
            let before = status.clone();
            change(&mut status);
            (*status != before).then(|| status.clone())
        };
        let observer = self.observer.borrow().clone();
        if let (Some(status), Some(observer)) = (changed, observer) {
            observer(&status);
        }
    }
}
