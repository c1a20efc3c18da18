//! Group commit: the appends waiting for one writer are decided together ([`plan`]) and
//! committed in one transaction, in the order they arrived, with contiguous positions; each one
//! is answered on its own, and a refused one refuses only itself.
//!
//! A writer serves a *lane*: on PostgreSQL one per tenant (appends of different tenants commit
//! side by side, each lane's commit holding only its tenant's head row), on SQLite one for the
//! whole database (SQLite has one writer anyway). A lane's writer task runs while appends wait
//! and ends when its lane is empty; the next append starts another. The database's part of the
//! algorithm is a [`Dialect`]: read what the group's ids and streams look like, write the
//! planned rows and move the head, commit. Where the database's unique keys refuse a wrong
//! guess, the read is skipped when this process knows its streams' versions ([`versions`]).

mod commit;
mod dialect;
mod versions;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;
use tracing::Span;

use super::StoreError;
pub use dialect::{Answer, Dialect, NewAppend, NewEvent, Row, WriteError, Written};
use versions::Versions;

/// Most appends one transaction takes.
const MAX_GROUP_APPENDS: usize = 1_024;
/// Most events one transaction takes (an append larger than this goes alone).
const MAX_GROUP_EVENTS: usize = 8_192;

struct Call {
    tenant: Arc<str>,
    append: NewAppend,
    reply: oneshot::Sender<Result<Answer, Arc<StoreError>>>,
    span: Span,
}

struct Shared<D> {
    dialect: D,
    /// The lanes whose writer runs, with the appends waiting in each.
    lanes: Mutex<HashMap<Arc<str>, VecDeque<Call>>>,
    /// The stream versions this process last committed (used when [`Dialect::GUESSES`]).
    versions: Versions,
}

/// The group-commit writers of one database.
pub struct GroupCommit<D> {
    shared: Arc<Shared<D>>,
}

impl<D> Clone for GroupCommit<D> {
    fn clone(&self) -> Self {
        GroupCommit {
            shared: self.shared.clone(),
        }
    }
}

impl<D> std::fmt::Debug for GroupCommit<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GroupCommit")
    }
}

impl<D: Dialect> GroupCommit<D> {
    /// Writers over `dialect`.
    pub fn new(dialect: D) -> Self {
        GroupCommit {
            shared: Arc::new(Shared {
                dialect,
                lanes: Mutex::default(),
                versions: Versions::default(),
            }),
        }
    }

    /// Queues `appends` of `tenant` one after another (nothing of another caller between them)
    /// and waits for each one's answer.
    pub async fn submit(
        &self,
        tenant: &str,
        appends: Vec<NewAppend>,
    ) -> Vec<Result<Answer, Arc<StoreError>>> {
        let tenant: Arc<str> = Arc::from(tenant);
        let key: Arc<str> = if D::PER_TENANT {
            tenant.clone()
        } else {
            Arc::from("")
        };
        let span = Span::current();
        let mut replies = Vec::with_capacity(appends.len());
        let start = {
            let mut lanes = self.shared.lanes.lock().unwrap_or_else(|e| e.into_inner());
            let start = !lanes.contains_key(&key);
            let lane = lanes.entry(key.clone()).or_default();
            for append in appends {
                let (reply, answer) = oneshot::channel();
                replies.push(answer);
                lane.push_back(Call {
                    tenant: tenant.clone(),
                    append,
                    reply,
                    span: span.clone(),
                });
            }
            start
        };
        if start {
            tokio::spawn(drain_lane(self.shared.clone(), key));
        }
        let mut answers = Vec::with_capacity(replies.len());
        for reply in replies {
            answers.push(
                reply.await.unwrap_or_else(|_| {
                    Err(Arc::new(StoreError::Data("the writer stopped".into())))
                }),
            );
        }
        answers
    }
}

/// Removes a lane whose writer stops, also when it panics (its waiting appends then fail).
struct LaneGuard<D: Dialect> {
    shared: Arc<Shared<D>>,
    key: Arc<str>,
    done: bool,
}

impl<D: Dialect> Drop for LaneGuard<D> {
    fn drop(&mut self) {
        if !self.done {
            let mut lanes = self.shared.lanes.lock().unwrap_or_else(|e| e.into_inner());
            lanes.remove(&self.key);
        }
    }
}

/// The writer of one lane: groups and commits what waits, until nothing does.
async fn drain_lane<D: Dialect>(shared: Arc<Shared<D>>, key: Arc<str>) {
    let mut guard = LaneGuard {
        shared: shared.clone(),
        key: key.clone(),
        done: false,
    };
    loop {
        let calls = {
            let mut lanes = shared.lanes.lock().unwrap_or_else(|e| e.into_inner());
            let lane = lanes.entry(key.clone()).or_default();
            let mut calls = Vec::new();
            let mut events = 0;
            while let Some(next) = lane.front() {
                let size = next.append.events.len();
                if !calls.is_empty()
                    && (calls.len() >= MAX_GROUP_APPENDS || events + size > MAX_GROUP_EVENTS)
                {
                    break;
                }
                events += size;
                calls.extend(lane.pop_front());
            }
            if calls.is_empty() {
                lanes.remove(&key);
                guard.done = true;
                return;
            }
            calls
        };
        commit::commit_group(&shared.dialect, &shared.versions, calls).await;
    }
}
