//! Events as projections see them: their personal data opened, then upcast to their newest
//! schema version — the order the engine's own read paths use.

use std::borrow::Cow;

use super::projector::Projector;
use crate::core::error::{Error, Result};
use crate::core::event::{EventEnvelope, StoredEvent};

/// A stored event with the event projections see, or the error that keeps them from seeing it.
pub(super) struct Prepared<'a> {
    /// The event as stored (what dead letters and undo records refer to).
    pub stored: &'a StoredEvent,
    /// The event as projections see it, or the failure of an upcaster: that failure is the
    /// event's own and is retried and dead-lettered like a failing `apply`.
    pub seen: std::result::Result<Cow<'a, EventEnvelope>, Error>,
}

impl Projector {
    /// `page` as projections see it, each event opened and upcast once (the look-ahead and the
    /// real application share it). An event whose personal data cannot be opened fails the
    /// whole step, as on the engine's read paths: its key may simply not be here yet.
    pub(super) fn prepare<'a>(&self, page: &'a [StoredEvent]) -> Result<Vec<Prepared<'a>>> {
        let upcasters = self.upcasters();
        page.iter()
            .map(|stored| {
                let event = match self.reveal(&stored.event)? {
                    Some(revealed) => Cow::Owned(revealed),
                    None => Cow::Borrowed(&stored.event),
                };
                let seen = if upcasters.applies_to(&event) {
                    upcasters.upcast(event.into_owned()).map(Cow::Owned)
                } else {
                    Ok(event)
                };
                Ok(Prepared { stored, seen })
            })
            .collect()
    }
}
