//! Pulling what the push answers leave open: the server's events after the pull checkpoint, up
//! to the server's head, except the positions this device's own placed commands fill (those
//! it knows already). Each gap between them is asked for with a `limit` of its size, so a pull
//! reads other devices' events only.

use super::{SyncClient, TraceParent, Transport};
use crate::core::{EventEnvelope, Result};
use crate::store::EventStore;

/// What a pull brought: the events it read (in position order, none of the skipped ranges'),
/// and the position it reached (the new checkpoint).
#[derive(Debug, Default)]
pub(super) struct Pulled {
    /// The events read.
    pub events: Vec<EventEnvelope>,
    /// Every position up to here is accounted for.
    pub reached: u64,
}

/// Pulls from `checkpoint` up to the server's head (at least `target`), skipping the
/// positions in `known` (sorted, non-overlapping `(first, last)` ranges).
pub(super) async fn pull_gaps<S: EventStore, T: Transport>(
    client: &SyncClient<S, T>,
    checkpoint: u64,
    known: &[(u64, u64)],
    target: Option<u64>,
    trace: &TraceParent,
) -> Result<Pulled> {
    let page_size = u64::from(client.config.pull_page.max(1));
    let inside = |position: u64| {
        known
            .iter()
            .any(|&(first, last)| first <= position && position <= last)
    };
    let mut pulled = Pulled {
        events: Vec::new(),
        reached: checkpoint,
    };
    let mut target = target;
    loop {
        // Over what this device holds, as far as it reaches.
        while let Some(&(_, last)) = known
            .iter()
            .find(|&&(first, last)| first <= pulled.reached + 1 && last > pulled.reached)
        {
            pulled.reached = last;
        }
        if target.is_some_and(|target| pulled.reached >= target) {
            return Ok(pulled);
        }
        let next_known = known
            .iter()
            .map(|&(first, _)| first)
            .filter(|&first| first > pulled.reached)
            .min();
        let limit = next_known.map_or(page_size, |first| {
            (first - pulled.reached - 1).clamp(1, page_size)
        });
        let after = pulled.reached;
        let page = client
            .pull_page(after, u32::try_from(limit).unwrap_or(u32::MAX), trace)
            .await?;
        client
            .status
            .update(|status| status.lag = page.head.saturating_sub(after));
        target = Some(target.unwrap_or(0).max(page.head));
        let Some(last) = page.events.last().map(|event| event.position) else {
            // Nothing more this caller may read: every position up to the head is accounted for.
            pulled.reached = pulled.reached.max(page.head);
            return Ok(pulled);
        };
        pulled.events.extend(
            page.events
                .iter()
                .filter(|event| !inside(event.position))
                .map(|event| event.to_envelope()),
        );
        pulled.reached = pulled.reached.max(last);
    }
}
