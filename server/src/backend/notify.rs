//! In-process fan-out of "tenant T's head moved" signals to live subscribers.
//!
//! A signal from this process's own commit carries the committed events, encoded as JSON once
//! and shared by every subscriber of the tenant, which filters them by its grants and sends
//! them from memory. A signal without events (from another process, or after a lost notification
//! connection) says "read again": a lost or coalesced signal delays nothing past the next one
//! or the periodic re-check.

use std::sync::Arc;

use fieldstream::protocol::ServerEvent;
use tokio::sync::broadcast;

/// A committed event as live subscribers send it: the event, which each of them filters by its
/// grants, and its JSON text, encoded once for all of them.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveEvent {
    /// The event.
    pub event: ServerEvent,
    /// `event` as JSON text.
    pub json: Arc<str>,
}

impl LiveEvent {
    /// Encodes `event` once; `None` if it cannot be encoded.
    pub fn new(event: ServerEvent) -> Option<Self> {
        let json = serde_json::to_string(&event).ok()?;
        Some(LiveEvent {
            event,
            json: json.into(),
        })
    }
}

/// A tenant's head moved to `head`; `tenant: None` means "any tenant may have moved".
#[derive(Debug, Clone, PartialEq)]
pub struct HeadChanged {
    /// The tenant whose head moved, or `None` after a lost notification connection.
    pub tenant: Option<Arc<str>>,
    /// The newest position known for that tenant.
    pub head: u64,
    /// The events of the commit that moved it, when the signal carries them: exactly the
    /// positions after `head` minus their number, up to `head`.
    pub events: Option<Arc<[LiveEvent]>>,
}

impl HeadChanged {
    /// Whether a subscriber of `tenant` that has seen up to `seen` should read again.
    pub fn concerns(&self, tenant: &str, seen: u64) -> bool {
        match &self.tenant {
            None => true,
            Some(changed) => &**changed == tenant && self.head > seen,
        }
    }
}

/// The broadcast channel of [`HeadChanged`] signals.
#[derive(Debug, Clone)]
pub struct Notifier {
    sender: broadcast::Sender<HeadChanged>,
}

impl Default for Notifier {
    fn default() -> Self {
        Notifier {
            sender: broadcast::channel(1024).0,
        }
    }
}

impl Notifier {
    /// Tells every current subscriber that `tenant`'s head moved to `head`.
    pub fn notify(&self, tenant: Option<&str>, head: u64) {
        // No receivers is fine: nobody is subscribed.
        let _ = self.sender.send(HeadChanged {
            tenant: tenant.map(Arc::from),
            head,
            events: None,
        });
    }

    /// Tells every current subscriber that `tenant` committed `events` (consecutive positions,
    /// the newest last), which they may send without reading or encoding them.
    pub fn committed(&self, tenant: &str, events: Arc<[LiveEvent]>) {
        let Some(head) = events.last().map(|live| live.event.position) else {
            return;
        };
        let _ = self.sender.send(HeadChanged {
            tenant: Some(Arc::from(tenant)),
            head,
            events: Some(events),
        });
    }

    /// Whether anyone listens: a commit builds the events it announces only then.
    pub fn listening(&self) -> bool {
        self.sender.receiver_count() > 0
    }

    /// A receiver of every signal sent from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<HeadChanged> {
        self.sender.subscribe()
    }
}
