//! The live feed: events the server pushes over `GET /v1/subscribe` while the device is online,
//! stored without another request.
//!
//! The feed is a run of consecutive events of the server's order that starts right after a known
//! position. Events reach the store only when that run covers the local checkpoint, so nothing
//! between the checkpoint and the feed can be skipped; otherwise the next round pulls them over
//! `GET /v1/events` as usual. Stored events go through the same settling as a round's pull:
//! they confirm this device's own pending events, and overtaken commands are resolved by their
//! aggregate's conflict policy.

use super::round::{Learnt, settle};
use super::{SyncClient, SyncPhase, SyncReport, Transport};
use crate::core::{EventEnvelope, Result};
use crate::store::EventStore;

/// A run of the server's events, consecutive in its order.
#[derive(Debug)]
pub(super) struct LiveFeed {
    /// The position the run starts after.
    after: u64,
    /// The last position the run reached (`after` while it is empty).
    through: u64,
    /// The events after `after`, in position order.
    events: Vec<EventEnvelope>,
}

impl<S: EventStore, T: Transport> SyncClient<S, T> {
    /// Takes events of the live feed: `events` follow position `after` in the server's order
    /// (the subscription's start, or the last event given before). A batch that does not continue
    /// the run held so far starts a new run.
    pub fn receive_live(&self, after: u64, events: Vec<EventEnvelope>) {
        let mut live = self.live.borrow_mut();
        let continues = live.as_ref().is_some_and(|feed| feed.through == after);
        if !continues {
            *live = Some(LiveFeed {
                after,
                through: after,
                events: Vec::new(),
            });
        }
        let feed = live.as_mut().expect("the feed was just set");
        for event in events {
            if event
                .position
                .is_some_and(|position| position > feed.through)
            {
                feed.through = event.position.unwrap_or(feed.through);
                feed.events.push(event);
            }
        }
        let through = feed.through;
        drop(live);
        self.status
            .update(|status| status.lag = status.lag.max(through.saturating_sub(after)));
    }

    /// Stores the live events after the local checkpoint, when the feed covers it; answers
    /// `None` when it does not, and a round should pull instead.
    pub async fn apply_live(&self) -> Result<Option<SyncReport>> {
        let _running = self.running.lock().await;
        let store = self.engine.store();
        let checkpoint = store.pull_checkpoint().await?;
        let pulled = {
            let mut live = self.live.borrow_mut();
            let Some(feed) = live.as_mut() else {
                return Ok(None);
            };
            if feed.after > checkpoint {
                return Ok(None);
            }
            feed.events
                .retain(|event| event.position.is_some_and(|p| p > checkpoint));
            if feed.events.is_empty() {
                return Ok(Some(SyncReport::default()));
            }
            feed.after = feed.through;
            std::mem::take(&mut feed.events)
        };
        let head = pulled
            .last()
            .and_then(|event| event.position)
            .unwrap_or(checkpoint);
        let mut report = SyncReport {
            pulled: pulled.len(),
            ..SyncReport::default()
        };
        let work = async {
            self.status
                .update(|status| status.phase = Some(SyncPhase::Pulling));
            let learnt = Learnt {
                pulled,
                checkpoint: head,
                ..Learnt::default()
            };
            let (batch, rejected) = settle(self, learnt).await?;
            report.rejected = rejected;
            self.engine.apply_sync(batch).await?;
            self.status.update(|status| status.lag = 0);
            Ok(report)
        };
        self.observed(work).await.map(Some)
    }
}
