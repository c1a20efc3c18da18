//! `GET /v1/subscribe`: stored events after a position, then new ones live, as server-sent events.
//!
//! A subscription registers for head signals before it reads, reads the stored events from the
//! database, then goes live. A commit of this process signals its events: every subscription
//! of the tenant filters them by its grants and sends them from memory, with no read. A signal
//! without events (another process's commit, a lost notification connection), one that leaves
//! a gap after what the subscription has seen, or the heartbeat's re-check makes it read the
//! database again: it reads the tenant's head before each read; when a read finds nothing more
//! it may send, it remembers that it has looked at everything up to that head, so a subscriber
//! limited to a few streams reads only the new part of the log, never the whole log again.
//! Each subject and each tenant may hold only so many subscriptions at once.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use fieldstream::protocol::{ErrorCode, ServerEvent};
use futures_util::Stream;
use serde::Deserialize;
use tokio::sync::{broadcast, watch};

use crate::auth::{Caller, rate_limited};
use crate::backend::{Backend, HeadChanged, LiveEvent, PageSize};
use crate::error::AppError;
use crate::extract::{QueryParams, counter};
use crate::state::AppState;
use crate::subscriptions::{CapReached, Slot};

const PAGE: u32 = 500;

/// Query of a subscription (`access_token` is read by the authenticator).
#[derive(Debug, Deserialize)]
pub struct SubscribeQuery {
    after: Option<u64>,
}

/// An event waiting to be sent: its position and its JSON text (shared with every subscriber
/// when it came with a commit's signal).
struct Outgoing {
    position: u64,
    json: Arc<str>,
}

impl Outgoing {
    /// An event read from the database, encoded for this subscriber.
    fn encode(event: ServerEvent) -> Self {
        let json = serde_json::to_string(&event).unwrap_or_else(|_| "null".into());
        Outgoing {
            position: event.position,
            json: json.into(),
        }
    }
}

/// Why a subscription stopped waiting.
enum Woke {
    /// The server shuts down.
    Stop,
    /// There may be something new in the database.
    Read,
    /// A signal brought the new events (the buffer holds those this caller may read).
    Sent,
}

struct Feed {
    state: AppState,
    caller: Caller,
    /// The position of the last event sent.
    cursor: u64,
    /// The log was read up to here and held nothing more to send (at least `cursor`).
    scanned: u64,
    _slot: Slot,
    buffer: VecDeque<Outgoing>,
    /// The buffer holds everything this caller may read up to the head (from a signal's events,
    /// or a read that reached it): no read is needed before the next signal.
    current: bool,
    heads: broadcast::Receiver<HeadChanged>,
    shutdown: watch::Receiver<bool>,
}

impl Feed {
    fn new(state: AppState, caller: Caller, cursor: u64, slot: Slot) -> Self {
        state.metrics.subscribers.inc();
        Feed {
            scanned: cursor,
            _slot: slot,
            heads: state.backend.notifier().subscribe(),
            shutdown: state.shutdown_signal(),
            buffer: VecDeque::new(),
            current: false,
            state,
            caller,
            cursor,
        }
    }

    /// The next event to send; `None` ends the response (shutdown or a database failure).
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.buffer.pop_front() {
                self.cursor = event.position;
                return Some(sse_event(&event));
            }
            if !self.current {
                let after = self.cursor.max(self.scanned);
                match self.read(after).await {
                    Ok(true) => continue,
                    Ok(false) => {}
                    Err(error) => {
                        tracing::error!(%error, "subscription read failed; closing it");
                        return None;
                    }
                }
            }
            self.current = false;
            match self.wait().await {
                Woke::Stop => return None,
                Woke::Read => {}
                Woke::Sent => self.current = true,
            }
        }
    }

    /// Buffers a commit's `events` (consecutive positions up to `head`) that this caller may
    /// read; `false` when they leave a gap after what it has seen (it must read instead).
    fn take(&mut self, events: &[LiveEvent], head: u64) -> bool {
        let seen = self.cursor.max(self.scanned);
        match events.first() {
            Some(first) if first.event.position <= seen + 1 => {}
            _ => return false,
        }
        let grants = &self.caller.grants;
        self.buffer.extend(
            events
                .iter()
                .filter(|live| {
                    live.event.position > seen && grants.allows(live.event.stream.as_str())
                })
                .map(|live| Outgoing {
                    position: live.event.position,
                    json: live.json.clone(),
                }),
        );
        self.scanned = self.scanned.max(head);
        true
    }

    /// Reads one page after `after` into the buffer; whether it found events.
    async fn read(&mut self, after: u64) -> Result<bool, crate::backend::StoreError> {
        let backend = &self.state.backend;
        self.state.metrics.subscription_reads.inc();
        let head = backend.head(&self.caller.tenant).await?;
        self.state
            .metrics
            .subscription_scan
            .inc_by(head.saturating_sub(after));
        let page = PageSize::new(PAGE, self.state.config.limits.max_read_bytes);
        let read = backend
            .read_all(
                &self.caller.tenant,
                after,
                page,
                self.caller.grants.restricted(),
            )
            .await?;
        if read.exhausted {
            // Nothing more this caller may read up to `head`: never look there again.
            self.scanned = self.scanned.max(head);
        }
        let found = !read.events.is_empty();
        // Everything up to the head is in the buffer: the next signal tells what comes after.
        self.current = found && read.exhausted;
        self.buffer
            .extend(read.events.into_iter().map(Outgoing::encode));
        Ok(found)
    }

    /// Waits until there is something new: sent along with a signal, or to read.
    async fn wait(&mut self) -> Woke {
        let recheck = tokio::time::sleep(self.state.config.heartbeat);
        tokio::pin!(recheck);
        loop {
            let signal = tokio::select! {
                _ = self.shutdown.wait_for(|stop| *stop) => return Woke::Stop,
                _ = &mut recheck => return Woke::Read,
                signal = self.heads.recv() => signal,
            };
            let changed = match signal {
                Ok(changed)
                    if changed.concerns(&self.caller.tenant, self.cursor.max(self.scanned)) =>
                {
                    changed
                }
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(_)) => return Woke::Read,
                Err(broadcast::error::RecvError::Closed) => return Woke::Stop,
            };
            return match &changed.events {
                Some(events) if self.take(events, changed.head) => Woke::Sent,
                _ => Woke::Read,
            };
        }
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.state.metrics.subscribers.dec();
    }
}

fn sse_event(event: &Outgoing) -> Event {
    Event::default()
        .id(event.position.to_string())
        .event("event")
        .data(&*event.json)
}

/// `GET /v1/subscribe?after` (or `Last-Event-ID` on reconnect).
pub async fn subscribe(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    QueryParams(query): QueryParams<SubscribeQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    let after = match headers.get("last-event-id") {
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .ok_or_else(|| {
                AppError::new(
                    ErrorCode::InvalidQuery,
                    "Last-Event-ID must be a position (an integer)",
                )
            })?,
        None => query.after.unwrap_or(0),
    };
    let after = counter(after, "after")?;
    let slot = state
        .subscriptions
        .take(&caller.tenant, &caller.limit_key())
        .map_err(|cap| {
            rate_limited(&match cap {
                CapReached::Subject(n) => {
                    format!("this token's subject holds {n} live subscriptions already")
                }
                CapReached::Tenant(n) => {
                    format!("this tenant holds {n} live subscriptions already")
                }
            })
        })?;
    let heartbeat = state.config.heartbeat;
    let feed = Feed::new(state, caller, after, slot);
    let events = futures_util::stream::unfold(feed, |mut feed| async move {
        let event = feed.next().await?;
        Some((Ok(event), feed))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(heartbeat).text("heartbeat")))
}
