//! The default of [`CommandQueue::read_queue`](super::CommandQueue::read_queue), built from the
//! store's other reads: the outbox, then its commands' events.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use super::{CommandQueue, QueuedCommand};
use crate::core::{Error, EventEnvelope, OutboxEntry, Result};

/// How many more events than it needs a page of the local log may hold and still be read in
/// one go (other events may lie between the queued commands: pulled ones, confirmed ones).
const SLACK: u64 = 64;

/// The oldest `limit` outbox entries not in `skip`, with their events.
pub(super) async fn read_queue<S: CommandQueue + ?Sized>(
    store: &S,
    limit: usize,
    skip: &HashSet<u64>,
) -> Result<Vec<QueuedCommand>> {
    let mut outbox = store.read_outbox(limit.saturating_add(skip.len())).await?;
    outbox.retain(|entry| !skip.contains(&entry.seq));
    outbox.truncate(limit);
    let mut read: HashMap<Uuid, EventEnvelope> = HashMap::new();
    if let Some((after, count)) = log_page(&outbox) {
        for stored in store.read_all(after, count).await? {
            read.insert(stored.event.id, stored.event);
        }
    }
    let mut queue = Vec::with_capacity(outbox.len());
    for entry in outbox {
        let events = match found(&entry, &mut read) {
            Some(events) => events,
            None => stream_events(store, &entry).await?,
        };
        queue.push(QueuedCommand { entry, events });
    }
    Ok(queue)
}

/// The page of the local log (after which local sequence number, how many events) that holds
/// the events of `outbox`, when it is small enough to read in one go.
pub(crate) fn log_page(outbox: &[OutboxEntry]) -> Option<(u64, usize)> {
    let first = outbox.first()?.seq;
    let end = outbox
        .iter()
        .map(|entry| entry.seq + entry.event_ids.len() as u64)
        .max()?;
    let wanted: u64 = outbox
        .iter()
        .map(|entry| entry.event_ids.len() as u64)
        .sum();
    let span = end.saturating_sub(first);
    (span <= 2 * wanted + SLACK).then(|| (first.saturating_sub(1), span as usize))
}

/// The entry's events taken out of `read`, when all of them are there and are its own.
pub(crate) fn found(
    entry: &OutboxEntry,
    read: &mut HashMap<Uuid, EventEnvelope>,
) -> Option<Vec<EventEnvelope>> {
    let events: Vec<EventEnvelope> = entry
        .event_ids
        .iter()
        .map(|id| read.get(id).cloned())
        .collect::<Option<_>>()?;
    if !matches(entry, &events) {
        return None;
    }
    for id in &entry.event_ids {
        read.remove(id);
    }
    Some(events)
}

/// Whether `events` are the entry's, in its stream, at the versions after its expected one.
fn matches(entry: &OutboxEntry, events: &[EventEnvelope]) -> bool {
    events.iter().zip(1u64..).all(|(event, n)| {
        event.stream == entry.stream && event.version == entry.expected_version + n
    })
}

/// The stored events of an outbox entry, read from its stream and checked against it.
async fn stream_events<S: CommandQueue + ?Sized>(
    store: &S,
    entry: &OutboxEntry,
) -> Result<Vec<EventEnvelope>> {
    let events = store
        .read_stream(
            &entry.stream,
            entry.expected_version + 1,
            entry.event_ids.len(),
        )
        .await?;
    checked(entry, events)
}

/// `events`, read from the entry's stream, when they are the ones it names; `Storage` if not.
pub(crate) fn checked(
    entry: &OutboxEntry,
    events: Vec<EventEnvelope>,
) -> Result<Vec<EventEnvelope>> {
    if !events
        .iter()
        .map(|event| event.id)
        .eq(entry.event_ids.iter().copied())
    {
        return Err(Error::Storage(
            format!(
                "the outbox entry of command {} does not match its events",
                entry.command_id
            )
            .into(),
        ));
    }
    Ok(events)
}
