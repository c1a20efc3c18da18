//! One sync round: push the oldest outbox entries, pull to the server's head, resolve the
//! streams that collided, and apply it all as one sync batch.

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;

use super::{SyncClient, SyncPhase, SyncReport, Transport};
use crate::core::engine::Redecision;
use crate::core::{
    ConflictPolicy, Error, EventEnvelope, ExpectedVersion, OutboxEntry, RejectedCommand,
    RejectionReason, Result, StreamId,
};
use crate::protocol::{BatchAppend, BatchRequest, BatchResult, ClientEvent, ErrorBody};
use crate::store::{Commit, EventStore, SyncBatch};

/// The oldest entries, up to `batch_size` events (at least one entry).
fn choose(outbox: &[OutboxEntry], batch_size: usize) -> &[OutboxEntry] {
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

pub(super) async fn run<S: EventStore, T: Transport>(
    client: &SyncClient<S, T>,
) -> Result<SyncReport> {
    let store = client.engine.store();
    client.send_forgets().await?;
    client.learn_forgotten().await?;
    let outbox = store.read_outbox(usize::MAX).await?;
    let pushable: Vec<OutboxEntry> = {
        let unconfirmed = client.unconfirmed.borrow();
        outbox
            .iter()
            .filter(|entry| !unconfirmed.contains(&entry.seq))
            .cloned()
            .collect()
    };
    let chosen = choose(&pushable, client.config.batch_size);
    let groups = group_by_stream(chosen);
    let chosen = &chosen[..groups.last().map_or(0, |group| group.end)];
    if !chosen.is_empty() {
        client
            .status
            .update(|status| status.phase = Some(SyncPhase::Pushing));
    }

    let mut appends = Vec::with_capacity(groups.len());
    for group in &groups {
        let mut events = Vec::new();
        for entry in &chosen[group.clone()] {
            events.extend(outbox_events(store, entry).await?);
        }
        client.push_keys(&events).await?;
        let events = events
            .iter()
            .map(ClientEvent::from_envelope)
            .collect::<Result<Vec<_>>>()?;
        appends.push(BatchAppend {
            stream: chosen[group.start].stream.clone(),
            expected_version: ExpectedVersion::Exact(chosen[group.start].expected_version),
            events,
        });
    }
    let results = push(client, chosen, &groups, appends).await?;

    let mut report = SyncReport::default();
    let mut acked: HashSet<u64> = HashSet::new();
    let mut refused: BTreeMap<u64, ErrorBody> = BTreeMap::new();
    for (group, result) in groups.iter().zip(results) {
        match result {
            GroupResult::Ok(count) => {
                acked.extend(
                    chosen[group.start..group.start + count]
                        .iter()
                        .map(|e| e.seq),
                );
            }
            GroupResult::Conflict => report.conflicts += group.len(),
            GroupResult::Refused(accepted, body) => {
                let entries = &chosen[group.start..group.start + accepted + 1];
                acked.extend(entries[..accepted].iter().map(|e| e.seq));
                refused.insert(entries[accepted].seq, body);
            }
        }
    }
    report.pushed = acked.len();
    client
        .status
        .update(|status| status.progress.done += acked.len() + refused.len());

    client
        .status
        .update(|status| status.phase = Some(SyncPhase::Pulling));
    let checkpoint = store.pull_checkpoint().await?;
    let (pulled, head) = pull(client, checkpoint).await?;
    report.pulled = pulled.len();
    settle(client, &outbox, acked, refused, pulled, head, report).await
}

/// Stores what a round or the live feed brought: `pulled` (the server's events after the local
/// checkpoint, up to `head`) confirm the `acked` entries and any pending events they carry, and
/// the streams they overtook, or whose entries were `refused`, are resolved by their policies.
pub(super) async fn settle<S: EventStore, T: Transport>(
    client: &SyncClient<S, T>,
    outbox: &[OutboxEntry],
    mut acked: HashSet<u64>,
    refused: BTreeMap<u64, ErrorBody>,
    pulled: Vec<EventEnvelope>,
    head: u64,
    mut report: SyncReport,
) -> Result<SyncReport> {
    let store = client.engine.store();
    client.fetch_keys(&pulled).await?;
    acked.extend(client.unconfirmed.borrow().iter().copied());
    let pulled_ids: HashSet<_> = pulled.iter().map(|event| event.id).collect();
    // A command whose events come back from the server was accepted, even if its answer was lost.
    acked.extend(
        outbox
            .iter()
            .filter(|entry| {
                !entry.event_ids.is_empty()
                    && entry.event_ids.iter().all(|id| pulled_ids.contains(id))
            })
            .map(|entry| entry.seq),
    );
    let troubled = troubled_streams(outbox, &acked, &refused, &pulled);
    let mut batch = SyncBatch {
        confirmed: pulled.clone(),
        checkpoint: Some(head),
        ..Default::default()
    };
    batch.drop_outbox.extend(acked.iter().copied());
    for (stream, first) in troubled {
        let affected: Vec<OutboxEntry> = outbox
            .iter()
            .filter(|e| {
                e.stream == stream && e.expected_version >= first && !acked.contains(&e.seq)
            })
            .cloned()
            .collect();
        batch.drop_pending.push((stream.clone(), first + 1));
        batch
            .drop_outbox
            .extend(affected.iter().map(|entry| entry.seq));
        let mut history = store.read_stream(&stream, 1, first as usize).await?;
        let server_events: Vec<EventEnvelope> = pulled
            .iter()
            .filter(|event| event.stream == stream && event.version > first)
            .cloned()
            .collect();
        history.extend(server_events.iter().cloned());
        resolve(
            client,
            &affected,
            &history,
            &server_events,
            &refused,
            &mut batch,
        )?;
    }
    report.rejected = batch.rejected.len();
    match client.engine.apply_sync(batch).await {
        Ok(()) => client.unconfirmed.borrow_mut().clear(),
        Err(error @ Error::StorageFull(_)) => {
            // The server has these commands; they wait in the outbox, not to be pushed again,
            // until their confirmation can be stored.
            client.unconfirmed.borrow_mut().extend(acked);
            return Err(error);
        }
        Err(error) => return Err(error),
    }
    client.status.update(|status| status.lag = 0);
    Ok(report)
}

/// The chosen entries as appends: consecutive entries of one stream form one append (atomic on
/// the server, at the first entry's expected version), and the batch ends before a stream comes
/// back after another one. A later command's expected version counts on the earlier ones of its
/// stream; sent as appends of their own, the later one could land on another device's events
/// when the earlier one conflicts, undecided on them.
fn group_by_stream(chosen: &[OutboxEntry]) -> Vec<Range<usize>> {
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
async fn outbox_events<S: EventStore>(
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
enum GroupResult {
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
async fn push<S: EventStore, T: Transport>(
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

/// Every event after `after` up to the server's head, as envelopes, and that head.
async fn pull<S: EventStore, T: Transport>(
    client: &SyncClient<S, T>,
    mut after: u64,
) -> Result<(Vec<EventEnvelope>, u64)> {
    let mut pulled = Vec::new();
    loop {
        let page = client.pull_page(after).await?;
        let head = page.head;
        client
            .status
            .update(|status| status.lag = head.saturating_sub(after));
        let Some(last) = page.events.last().map(|event| event.position) else {
            return Ok((pulled, head.max(after)));
        };
        pulled.extend(page.events.iter().map(|event| event.to_envelope()));
        after = last;
        if after >= head {
            return Ok((pulled, head));
        }
    }
}

/// The streams whose pending commands collide with the server, each with the expected version
/// of its first affected command: refused entries, and entries the pulled events overtook.
fn troubled_streams(
    outbox: &[OutboxEntry],
    acked: &HashSet<u64>,
    refused: &BTreeMap<u64, ErrorBody>,
    pulled: &[EventEnvelope],
) -> BTreeMap<StreamId, u64> {
    let mut server_head: BTreeMap<&StreamId, u64> = BTreeMap::new();
    for event in pulled {
        let head = server_head.entry(&event.stream).or_default();
        *head = (*head).max(event.version);
    }
    let mut troubled: BTreeMap<StreamId, u64> = BTreeMap::new();
    for entry in outbox.iter().filter(|entry| !acked.contains(&entry.seq)) {
        let overtaken = server_head
            .get(&entry.stream)
            .is_some_and(|head| *head > entry.expected_version);
        if overtaken || refused.contains_key(&entry.seq) {
            let first = troubled
                .entry(entry.stream.clone())
                .or_insert(entry.expected_version);
            *first = (*first).min(entry.expected_version);
        }
    }
    troubled
}

fn rejection(
    entry: &OutboxEntry,
    code: String,
    message: String,
    caused_by: &[EventEnvelope],
    at: crate::core::Timestamp,
) -> RejectedCommand {
    RejectedCommand {
        command_id: entry.command_id.clone(),
        aggregate_type: entry.aggregate_type.clone(),
        aggregate_id: entry.aggregate_id.clone(),
        command: entry.command.clone(),
        reason: RejectionReason { code, message },
        caused_by: caused_by.to_vec(),
        at,
    }
}

/// Decides a troubled stream's commands again (or rejects them) into `batch`.
fn resolve<S: EventStore, T: Transport>(
    client: &SyncClient<S, T>,
    affected: &[OutboxEntry],
    history: &[EventEnvelope],
    server_events: &[EventEnvelope],
    refused: &BTreeMap<u64, ErrorBody>,
    batch: &mut SyncBatch,
) -> Result<()> {
    let engine = &client.engine;
    let now = engine.clock().now();
    let mut to_rebase = Vec::new();
    for entry in affected {
        if let Some(body) = refused.get(&entry.seq) {
            batch.rejected.push(rejection(
                entry,
                body.error.to_string(),
                body.message.clone(),
                &[],
                now,
            ));
            continue;
        }
        match engine.conflict_policy(entry, server_events)? {
            ConflictPolicy::Rebase => to_rebase.push(entry.clone()),
            ConflictPolicy::Reject => {
                let message = format!("another device changed {} first", entry.stream);
                batch.rejected.push(rejection(
                    entry,
                    "conflict".into(),
                    message,
                    server_events,
                    now,
                ));
            }
        }
    }
    let mut version = history.last().map_or(0, |event| event.version);
    for outcome in engine.redecide(history, &to_rebase)? {
        match outcome {
            Redecision::Holds { events, .. } if events.is_empty() => {}
            Redecision::Holds { entry, events } => {
                let stream = entry.stream.clone();
                let expected = ExpectedVersion::Exact(version);
                version += events.len() as u64;
                batch.commits.push(Commit {
                    outbox: Some(entry),
                    ..Commit::events(stream, expected, events)
                });
            }
            Redecision::Refused { entry, error } => {
                batch.rejected.push(rejection(
                    &entry,
                    error.code,
                    error.message,
                    server_events,
                    now,
                ));
            }
        }
    }
    Ok(())
}
