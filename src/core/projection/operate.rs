//! What an operator can do about a projection that failed on events: retry them, or skip one.
//!
//! Both run in one write of the store ([`ReadModelStore::operate_projection`]) and change only the
//! projection's stored state, its dead letters and (for a rebuild) its documents; the next
//! catch-up step does the work.
//!
//! [`ReadModelStore::operate_projection`]: crate::core::storage::ReadModelStore::operate_projection

use uuid::Uuid;

use super::ProjectionState;
use super::projector::Projector;
use super::storage::DocTx;
use crate::core::error::{Error, Result};

/// An operator's request about a projection's failed events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectionOperation {
    /// Process the dead-lettered events again and resume (also: try a waiting event now).
    ///
    /// A projection that stopped at a dead letter goes on from that event, in order, with its
    /// retries counted afresh. Events that were *skipped* cannot be applied again in their
    /// place, since later events were applied after them: then the read model is rebuilt
    /// from the first event (while a newer version is being built, only that build starts
    /// over, and queries keep reading the current version).
    Retry,
    /// Pass over the dead-lettered event with this id (the projection never applies it) and
    /// resume; an event already skipped stays so. `NotFound` when the projection has no dead
    /// letter for it.
    Skip(Uuid),
}

impl Projector {
    /// Carries out `operation` on projection `name` in the write of `tx`; fails before writing
    /// anything when the projection or the dead letter does not exist.
    pub async fn operate<T: DocTx>(
        &self,
        tx: &T,
        name: &str,
        operation: ProjectionOperation,
    ) -> Result<()> {
        let registered = self.registered(name)?;
        let mut state = tx
            .state(name)
            .await?
            .unwrap_or_else(|| ProjectionState::named(name));
        let mut letters = tx.dead_letters(name).await?;
        match operation {
            ProjectionOperation::Retry if letters.iter().any(|letter| letter.skipped) => {
                let version = registered.projection.version();
                if state.rebuild.is_some() && state.version != version {
                    self.start_rebuild(tx, &mut state, version).await?;
                } else {
                    self.restart(tx, &mut state, false).await?;
                }
            }
            ProjectionOperation::Retry => {
                if !letters.is_empty() {
                    tx.replace_dead_letters(name, &[]).await?;
                }
                state.stopped_at = None;
                state.retry = None;
            }
            ProjectionOperation::Skip(event_id) => {
                let letter = letters
                    .iter_mut()
                    .find(|letter| letter.event.id == event_id)
                    .ok_or_else(|| {
                        Error::NotFound(format!(
                            "projection {name} has no dead letter for event {event_id}"
                        ))
                    })?;
                if letter.skipped {
                    return Ok(());
                }
                letter.skipped = true;
                tx.replace_dead_letters(name, &letters).await?;
                if !state.passed.contains(&event_id) {
                    state.passed.push(event_id);
                }
                if letters.iter().all(|letter| letter.skipped) {
                    state.stopped_at = None;
                    state.retry = None;
                }
            }
        }
        self.warm.store(tx, &mut state, None)
    }
}
