//! In-process fan-out of "tenant T's head moved" signals to live subscribers.
//!
//! A signal only says "read again": subscribers always read events from the database, so a lost
//! or coalesced signal delays nothing past the next one or the periodic re-check.

use std::sync::Arc;

use tokio::sync::broadcast;

/// A tenant's head moved to `head`; `tenant: None` means "any tenant may have moved".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadChanged {
    /// The tenant whose head moved, or `None` after a lost notification connection.
    pub tenant: Option<Arc<str>>,
    /// The newest position known for that tenant.
    pub head: u64,
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
        });
    }

    /// A receiver of every signal sent from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<HeadChanged> {
        self.sender.subscribe()
    }
}
