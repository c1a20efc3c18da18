//! Catching a projection up, one bounded step at a time: a build of a newer version (in its own
//! namespace while queries read the old one), newly confirmed events, then pending ones; and
//! starting over from an empty read model when asked to.

use std::collections::HashSet;

use super::fold::{End, Run};
use super::projector::{CatchUp, Projector};
use super::storage::DocTx;
use super::warm::may_defer;
use super::{ProjectionState, Rebuild, namespace};
use crate::core::error::Result;

impl Projector {
    /// One step of catching up projection `name` (up to `limit` events): starts or continues a
    /// rebuild when its version changed (also when it had stopped), folds newly confirmed
    /// events, then applies pending ones. A stopped projection does nothing else; one waiting
    /// to retry a failed event does nothing until the clock shows the time of its next try.
    pub async fn catch_up<T: DocTx>(&self, tx: &T, name: &str, limit: usize) -> Result<CatchUp> {
        let registered = self.registered(name)?;
        let version = registered.projection.version();
        let mut state = tx
            .state(name)
            .await?
            .unwrap_or_else(|| ProjectionState::named(name));
        let mut changed = false;
        let mut started = false;
        if self.forced_rebuilds.borrow_mut().remove(name) {
            self.restart(tx, &mut state, true).await?;
            changed = true;
        }
        let rebuilding = state.version != version;
        if rebuilding
            && state
                .rebuild
                .as_ref()
                .is_none_or(|rebuild| rebuild.version != version)
        {
            self.start_rebuild(tx, &mut state, version).await?;
            changed = true;
            started = true;
        }
        let waiting_until = (state.retry.as_ref())
            .map(|retry| retry.next_at)
            .filter(|next_at| *next_at > self.now());
        if state.stopped_at.is_some() || waiting_until.is_some() {
            if changed {
                self.warm.store(tx, &mut state, None)?;
            }
            return Ok(CatchUp {
                processed: 0,
                finished: true,
                retry_at: waiting_until,
            });
        }
        let target_version = if rebuilding { version } else { state.version };
        let ns = namespace(name, target_version);
        let mut warm = self.warm.take(&ns, &state);
        if started {
            // A build begins with its namespace and undo log empty.
            warm.complete = true;
            warm.undone = Some(HashSet::new());
        }
        let stored_build = state.rebuild.clone();
        // A build that kept its last steps in memory goes on from there.
        if let Some(ahead) = warm.build.take().filter(|_| rebuilding) {
            state.rebuild = Some(ahead);
        }
        let mut fold = match (&state.rebuild, rebuilding) {
            (Some(rebuild), true) => rebuild.fold,
            _ => state.fold(),
        };
        let stored_stamp = state.stamp;
        let (processed, end, must_store, mut warm) = {
            let mut run = Run::new(registered, ns.clone(), &mut state, warm);
            let (processed, end) = self.fold_step(tx, &mut run, &mut fold, limit).await?;
            (processed, end, run.must_store, run.into_warm())
        };
        if end == End::CaughtUp {
            // Whatever failed before is no longer in the way (it went, or it was passed).
            state.retry = None;
        }
        match state.rebuild.as_mut().filter(|_| rebuilding) {
            Some(rebuild) => {
                rebuild.fold = fold;
                rebuild.done += processed;
                // A build with more to go that wrote nothing itself keeps its writes in memory
                // (see `warm.rs`), storing at most its start; anything else stores them, each
                // document once.
                let stored_done = stored_build.as_ref().map_or(0, |build| build.done);
                let unstored = rebuild.done.saturating_sub(stored_done);
                let alone = !self.warm.contended(&ns);
                if end == End::More && !must_store && alone && may_defer(&warm, unstored) {
                    let ahead = rebuild.clone();
                    let mut stamp = stored_stamp;
                    if changed || stamp == 0 {
                        state.rebuild = stored_build;
                        self.warm.store(tx, &mut state, None)?;
                        stamp = state.stamp;
                    }
                    warm.build = Some(ahead);
                    self.warm.defer(ns, stamp, warm);
                    return Ok(CatchUp {
                        processed,
                        finished: false,
                        retry_at: None,
                    });
                }
                if end == End::CaughtUp {
                    self.warm.settle(&ns);
                    let old = namespace(name, state.version);
                    tx.clear_namespace(&old)?;
                    tx.clear_undo(&old)?;
                    state.version = version;
                    state.rebuild = None;
                    state.set_fold(fold);
                }
            }
            None => state.set_fold(fold),
        }
        let mut run = Run::new(registered, ns.clone(), &mut state, warm);
        run.flush(tx)?;
        let warm = run.into_warm();
        self.warm.store(tx, &mut state, Some((ns, warm)))?;
        Ok(CatchUp {
            processed,
            finished: end != End::More,
            retry_at: state.retry.as_ref().map(|retry| retry.next_at),
        })
    }

    /// The build of a newer version of the projection whose stored state is `state`, as far as
    /// it got: ahead of the stored progress while its latest steps are kept in memory.
    pub fn rebuild_progress(&self, state: &ProjectionState) -> Option<Rebuild> {
        let stored = state.rebuild.as_ref()?;
        let ns = namespace(&state.name, stored.version);
        let ahead = self.warm.build_ahead(&ns, state);
        Some(
            ahead
                .filter(|ahead| ahead.version == stored.version)
                .unwrap_or_else(|| stored.clone()),
        )
    }

    /// Starts a build of `version` in its own, empty namespace (queries keep reading the
    /// current one). The new code starts clean: nothing stopped, no retry, no dead letters, nothing
    /// passed over — those were the old code's.
    pub(super) async fn start_rebuild<T: DocTx>(
        &self,
        tx: &T,
        state: &mut ProjectionState,
        version: u32,
    ) -> Result<()> {
        if let Some(stale) = state.rebuild.take() {
            let stale = namespace(&state.name, stale.version);
            tx.clear_namespace(&stale)?;
            tx.clear_undo(&stale)?;
        }
        let fresh = namespace(&state.name, version);
        tx.clear_namespace(&fresh)?;
        tx.clear_undo(&fresh)?;
        state.rebuild = Some(Rebuild {
            version,
            total: tx.event_count().await?,
            ..Default::default()
        });
        state.stopped_at = None;
        state.retry = None;
        state.passed.clear();
        tx.replace_dead_letters(&state.name, &[]).await
    }

    /// Empties the read model (every namespace of it) and starts it over from the first
    /// event, with nothing stopped and no retry pending. With `keep_skipped`, the events an
    /// operator or `on_failure: skip` passed over stay passed over (and their dead letters
    /// stay); otherwise every dead letter goes and every event is applied again, in order.
    pub(super) async fn restart<T: DocTx>(
        &self,
        tx: &T,
        state: &mut ProjectionState,
        keep_skipped: bool,
    ) -> Result<()> {
        let versions =
            std::iter::once(state.version).chain(state.rebuild.as_ref().map(|r| r.version));
        for ns in versions.map(|version| namespace(&state.name, version)) {
            tx.clear_namespace(&ns)?;
            tx.clear_undo(&ns)?;
        }
        let mut letters = tx.dead_letters(&state.name).await?;
        letters.retain(|letter| keep_skipped && letter.skipped);
        tx.replace_dead_letters(&state.name, &letters).await?;
        let passed = if keep_skipped {
            std::mem::take(&mut state.passed)
        } else {
            Vec::new()
        };
        *state = ProjectionState {
            passed,
            ..ProjectionState::named(&state.name)
        };
        Ok(())
    }
}
