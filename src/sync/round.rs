//! One sync round: push the oldest outbox entries, pull to the server's head, resolve the
//! streams that collided, and apply it all as one sync batch.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use super::push::{GroupResult, choose, group_by_stream, outbox_events, push};
use super::{SyncClient, SyncPhase, SyncReport, Transport};
use crate::core::engine::Redecision;
use crate::core::{
    CommandOutcome, ConflictPolicy, Error, EventEnvelope, ExpectedVersion, IdempotencyUpdate,
    OutboxEntry, RejectedCommand, RejectionReason, Result, StreamId,
};
use crate::protocol::{BatchAppend, ClientEvent, ErrorBody};
use crate::store::{Commit, EventStore, SyncBatch};

pub(super) async fn run<S: EventStore, T: Transport>(
    client: &SyncClient<S, T>,
) -> Result<SyncReport> {
    let store = client.engine.store();
    client.learn_limits().await?;
    client.send_forgets().await?;
    client.learn_forgotten().await?;
    // Every entry holds at least one event, so the batch lies among the oldest `batch_size`
    // entries that are not waiting for their confirmation.
    let unconfirmed = client.unconfirmed.borrow().len();
    let limit = client.config.batch_size.max(1).saturating_add(unconfirmed);
    let outbox = store.read_outbox(limit).await?;
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
        client
            .push_keys(&chosen[group.start].stream, &events)
            .await?;
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
    client.status.update(|status| {
        status.progress.done += acked.len() + refused.len();
        // Commands another tab added while the drain ran count as they are settled.
        status.progress.total = status.progress.total.max(status.progress.done);
    });

    client
        .status
        .update(|status| status.phase = Some(SyncPhase::Pulling));
    let checkpoint = store.pull_checkpoint().await?;
    let (pulled, head) = pull(client, checkpoint).await?;
    report.pulled = pulled.len();
    let refused_streams = chosen
        .iter()
        .filter(|entry| refused.contains_key(&entry.seq))
        .map(|entry| entry.stream.clone())
        .collect();
    settle(
        client,
        refused_streams,
        acked,
        refused,
        pulled,
        head,
        report,
    )
    .await
}

/// Stores what a round or the live feed brought: `pulled` (the server's events after the local
/// checkpoint, up to `head`) confirm the `acked` entries and any pending events they carry, and
/// the streams they overtook, or whose entries were `refused` (in `refused_streams`), are
/// resolved by their policies. Only the outbox entries of those streams are read.
pub(super) async fn settle<S: EventStore, T: Transport>(
    client: &SyncClient<S, T>,
    refused_streams: BTreeSet<StreamId>,
    mut acked: HashSet<u64>,
    refused: BTreeMap<u64, ErrorBody>,
    pulled: Vec<EventEnvelope>,
    head: u64,
    mut report: SyncReport,
) -> Result<SyncReport> {
    let store = client.engine.store();
    client.fetch_keys(&pulled).await?;
    let mut streams = refused_streams;
    streams.extend(pulled.iter().map(|event| event.stream.clone()));
    let streams: Vec<StreamId> = streams.into_iter().collect();
    let outbox = match streams.is_empty() {
        true => Vec::new(),
        false => store.read_outbox_of(&streams).await?,
    };
    let outbox = outbox.as_slice();
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
    // The inbox receives them in the order they were made, whatever their streams.
    let made: BTreeMap<&str, u64> = outbox
        .iter()
        .map(|entry| (entry.command_id.as_str(), entry.seq))
        .collect();
    batch
        .rejected
        .sort_by_key(|rejected| made.get(rejected.command_id.as_str()).copied());
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
            reject(
                batch,
                entry,
                body.error.to_string(),
                body.message.clone(),
                &[],
                now,
            );
            continue;
        }
        match engine.conflict_policy(entry, server_events)? {
            ConflictPolicy::Rebase => to_rebase.push(entry.clone()),
            ConflictPolicy::Reject => {
                let message = format!("another device changed {} first", entry.stream);
                reject(batch, entry, "conflict".into(), message, server_events, now);
            }
        }
    }
    let mut version = history.last().map_or(0, |event| event.version);
    for outcome in engine.redecide(history, &to_rebase)? {
        match outcome {
            Redecision::Holds { entry, events } => {
                let (first_version, last_version) = match (events.first(), events.last()) {
                    (Some(first), Some(last)) => (first.version, last.version),
                    _ => (0, 0),
                };
                follow(
                    batch,
                    &entry,
                    CommandOutcome::Redecided {
                        first_version,
                        last_version,
                    },
                );
                if events.is_empty() {
                    continue;
                }
                let stream = entry.stream.clone();
                let expected = ExpectedVersion::Exact(version);
                version += events.len() as u64;
                batch.commits.push(Commit {
                    outbox: Some(entry),
                    ..Commit::events(stream, expected, events)
                });
            }
            Redecision::Refused { entry, error } => {
                reject(batch, &entry, error.code, error.message, server_events, now);
            }
        }
    }
    Ok(())
}

/// Puts a command into the batch's rejected inbox, and its idempotency record with it.
fn reject(
    batch: &mut SyncBatch,
    entry: &OutboxEntry,
    code: String,
    message: String,
    caused_by: &[EventEnvelope],
    at: crate::core::Timestamp,
) {
    let rejected = rejection(entry, code, message, caused_by, at);
    follow(
        batch,
        entry,
        CommandOutcome::Rejected(rejected.reason.clone()),
    );
    batch.rejected.push(rejected);
}

/// Makes the idempotency record of `entry`'s command, if it has a key, follow `outcome`.
fn follow(batch: &mut SyncBatch, entry: &OutboxEntry, outcome: CommandOutcome) {
    if let Some(key) = &entry.idempotency_key {
        batch.idempotency.push(IdempotencyUpdate {
            key: key.clone(),
            command_id: entry.command_id.clone(),
            outcome,
        });
    }
}
