//! A command decided inside a store's write: the store hands the decision the stream as stored
//! and commits what it decides in the same atomic write, so no other write lands between the
//! load and the commit, and one command costs one transaction.
//!
//! Everything a [`Decision`] does is synchronous: in IndexedDB it runs inside the readwrite
//! transaction, which ends as soon as anything but an IndexedDB request is awaited.

use super::{Commit, CommitOutcome};
use crate::core::{EventEnvelope, Result, Snapshot, StreamHead};

/// The load-decide half of a command, run by the store inside its write.
pub trait Decision {
    /// The most events the store hands to one [`Decision::fold`].
    fn page_size(&self) -> usize;

    /// The stream head the decision already holds the state of, if any. A store that can read
    /// the head cheaply inside its write checks it first: when the stream still ends there, it
    /// calls [`Decision::resume`] and reads nothing else; otherwise it goes on with
    /// [`Decision::start`] as usual. A store may also ignore it.
    fn warm_head(&self) -> Option<StreamHead> {
        None
    }

    /// Whether the commit will run inline projections, which read their states first: a store
    /// may read those states with its first reads.
    fn runs_projections(&self) -> bool {
        false
    }

    /// Decides on the state the decision holds, the store having found the stream's head
    /// equal to [`Decision::warm_head`].
    fn resume(&mut self) -> Result<()> {
        Err(crate::core::Error::Storage(
            "this decision holds no state to resume".into(),
        ))
    }

    /// Takes the stream's latest snapshot; answers the version after which the store reads
    /// the stream's events (0 to fold from the first event; one less than the snapshot's
    /// version when it is used, so the first page shows whether the log still holds the
    /// snapshot's last event).
    fn start(&mut self, snapshot: Option<Snapshot>) -> Result<u64>;

    /// Folds the next page of the stream's events, in version order.
    fn fold(&mut self, page: Vec<EventEnvelope>) -> Result<()>;

    /// Decides on the folded state; `None` when there is nothing to write.
    fn decide(&mut self) -> Result<Option<Commit>>;
}

/// What [`EventLog::decide_and_commit`](super::EventLog::decide_and_commit) did.
#[derive(Debug, Clone, PartialEq)]
pub enum Decided {
    /// This store cannot decide inside its write: the caller loads and commits in steps.
    InSteps,
    /// The decision wrote nothing.
    Nothing,
    /// The decision's commit, as [`EventLog::commit`](super::EventLog::commit) says.
    Done(CommitOutcome),
}
