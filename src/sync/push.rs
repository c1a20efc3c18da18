//! The push half of a sync round: which outbox entries go, grouped into one append per run of
//! a stream's consecutive commands, and sending them so that a refusal lands on the entry that
//! caused it.

use std::collections::HashSet;
use std::ops::Range;

use super::{SyncClient, Transport};
use crate::core::{Error, EventEnvelope, ExpectedVersion, OutboxEntry, Result, StreamId};
use crate::protocol::{BatchAppend, BatchRequest, BatchResult, ErrorBody};
use crate::store::EventStore;

/// The oldest entries, up to `batch_size` events (at least one entry).
pub(super) fn choose(outbox: &[OutboxEntry], batch_size: usize) -> &[OutboxEntry] {
    let mut events = 0;
    let count = outbox
        .iter()
        .take_while(|entry| {
            let fits = events == 0 || events + entry.event_ids.len() <= batch_size;
            events += entry.event_ids.len();
            fits
        })
        .count();
    &outbox[..count]
}

/// The chosen entries as appends: consecutive entries of one stream form one append (atomic on
/// the server, at the first entry's expected version), and the batch ends before a stream comes
/// back after another one. A later command's expected version counts on the earlier ones of its
/// stream; sent as appends of their own, the later one could land on another device's events
/// when the earlier one conflicts, undecided on them.
pub(super) fn group_by_stream(chosen: &[OutboxEntry]) -> Vec<Range<usize>> {
    let mut groups: Vec<Range<usize>> = Vec::new();
    let mut seen: HashSet<&StreamId> = HashSet::new();
    for (index, entry) in chosen.iter().enumerate() {
        if let Some(last) = groups.last_mut() {
            let previous = &chosen[index - 1];
            if previous.stream == entry.stream
                && previous.expected_version + previous.event_ids.len() as u64
                    == entry.expected_version
            {
                last.end = index + 1;
                continue;
            }
        }
        if !seen.insert(&entry.stream) {
            break;
        }
        groups.push(index..index + 1);
    }
    groups
}

/// The stored events of an outbox entry, checked against it.
pub(super) async fn outbox_events<S: EventStore>(
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
    if !events
        .iter()
        .map(|event| event.id)
        .eq(entry.event_ids.iter().copied())
    {
        return Err(Error::Storage(format!(
            "the outbox entry of command {} does not match its events",
            entry.command_id
        )));
    }
    Ok(events)
}

/// What became of one group of entries (one stream's consecutive commands).
pub(super) enum GroupResult {
    /// The first `n` entries were accepted (all of them, unless a refusal split the group).
    Ok(usize),
    /// The stream moved on: none was accepted.
    Conflict,
    /// The first `n` entries were accepted and the next one refused; the rest were not sent.
    Refused(usize, ErrorBody),
}

/// Sends the batch; when the server refuses it as a whole, sends its appends one by one, and a
/// refused group of several commands one command at a time up to the one refused, so the
/// refusal lands on the entry that caused it.
pub(super) async fn push<S: EventStore, T: Transport>(
    client: &SyncClient<S, T>,
    chosen: &[OutboxEntry],
    groups: &[Range<usize>],
    appends: Vec<BatchAppend>,
) -> Result<Vec<GroupResult>> {
    if appends.is_empty() {
        return Ok(Vec::new());
    }
    let request = BatchRequest { appends };
    let results = match client.send_batch(&request).await? {
        Ok(response) if response.results.len() == groups.len() => response.results,
        Ok(response) => {
            return Err(Error::Network(format!(
                "the server answered {} results for {} appends",
                response.results.len(),
                groups.len()
            )));
        }
        Err(body) if request.appends.len() == 1 => vec![BatchResult::Error(body)],
        Err(_) => {
            let mut results = Vec::with_capacity(request.appends.len());
            for append in &request.appends {
                results.push(send_one(client, append.clone()).await?);
            }
            results
        }
    };
    let mut outcome = Vec::with_capacity(results.len());
    for ((group, append), result) in groups.iter().zip(&request.appends).zip(results) {
        outcome.push(match result {
            BatchResult::Ok(_) => GroupResult::Ok(group.len()),
            BatchResult::Conflict(_) => GroupResult::Conflict,
            BatchResult::Error(body) if group.len() == 1 => GroupResult::Refused(0, body),
            BatchResult::Error(_) => {
                let sizes: Vec<usize> = chosen[group.clone()]
                    .iter()
                    .map(|entry| entry.event_ids.len())
                    .collect();
                split(client, append, &sizes).await?
            }
        });
    }
    Ok(outcome)
}

/// Sends a refused group's events command by command (`sizes`: each command's event count),
/// stopping at the first that is not accepted.
async fn split<S: EventStore, T: Transport>(
    client: &SyncClient<S, T>,
    append: &BatchAppend,
    sizes: &[usize],
) -> Result<GroupResult> {
    let ExpectedVersion::Exact(mut expected) = append.expected_version else {
        return Err(Error::Storage(
            "an outbox append without an exact version".into(),
        ));
    };
    let mut accepted = 0;
    let mut rest = append.events.as_slice();
    for &count in sizes {
        let single = BatchAppend {
            stream: append.stream.clone(),
            expected_version: ExpectedVersion::Exact(expected),
            events: rest[..count].to_vec(),
        };
        match send_one(client, single).await? {
            BatchResult::Ok(_) => accepted += 1,
            BatchResult::Conflict(_) if accepted == 0 => return Ok(GroupResult::Conflict),
            BatchResult::Conflict(_) => return Ok(GroupResult::Ok(accepted)),
            BatchResult::Error(body) => return Ok(GroupResult::Refused(accepted, body)),
        }
        expected += count as u64;
        rest = &rest[count..];
    }
    Ok(GroupResult::Ok(accepted))
}

/// Sends one append as a batch of its own.
async fn send_one<S: EventStore, T: Transport>(
    client: &SyncClient<S, T>,
    append: BatchAppend,
) -> Result<BatchResult> {
    let single = BatchRequest {
        appends: vec![append],
    };
    match client.send_batch(&single).await? {
        Ok(mut response) if response.results.len() == 1 => Ok(response.results.remove(0)),
        Ok(_) => Err(Error::Network(
            "the server answered a batch of one with another count".into(),
        )),
        Err(body) => Ok(BatchResult::Error(body)),
    }
}
