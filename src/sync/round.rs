//! Settling what a sync step learnt: this device's commands the server accepted (placed by the
//! push's answers, or come back in a pull), others' events pulled, refusals; the streams whose
//! pending commands collide with the server are resolved by their aggregates' policies. The
//! result is one sync batch.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use super::{SyncClient, Transport};
use crate::core::engine::Redecision;
use crate::core::{
    CommandOutcome, ConflictPolicy, EventEnvelope, ExpectedVersion, IdempotencyUpdate, OutboxEntry,
    RejectedCommand, RejectionReason, Result, StreamId,
};
use crate::protocol::ErrorBody;
use crate::store::{Commit, EventStore, SyncBatch};

/// What a step of sync learnt, to be stored as one sync batch.
#[derive(Debug, Default)]
pub(super) struct Learnt {
    /// This device's events the push answers placed (confirmed without a pull).
    pub own: Vec<EventEnvelope>,
    /// Outbox entries the server accepted: their events are in `own`, or come back in `pulled`.
    pub acked: HashSet<u64>,
    /// Outbox entries refused for good, with the refusal.
    pub refused: BTreeMap<u64, ErrorBody>,
    /// The streams of the refused entries.
    pub refused_streams: BTreeSet<StreamId>,
    /// Events pulled (others', and this device's that came back), in position order.
    pub pulled: Vec<EventEnvelope>,
    /// The new pull checkpoint: every event up to it is in `own`, in `pulled` or stored.
    pub checkpoint: u64,
}

/// The sync batch storing what a step learnt, and how many commands it rejects. Only the
/// outbox entries of the streams that pulled events touch, and of refused entries, are read.
pub(super) async fn settle<S: EventStore, T: Transport>(
    client: &SyncClient<S, T>,
    learnt: Learnt,
) -> Result<(SyncBatch, usize)> {
    let store = client.engine.store();
    let Learnt {
        own,
        mut acked,
        refused,
        refused_streams,
        pulled,
        checkpoint,
    } = learnt;
    client.fetch_keys(&pulled).await?;
    let mut streams = refused_streams;
    streams.extend(pulled.iter().map(|event| event.stream.clone()));
    let streams: Vec<StreamId> = streams.into_iter().collect();
    let outbox = match streams.is_empty() {
        true => Vec::new(),
        false => store.read_outbox_of(&streams).await?,
    };
    let outbox = outbox.as_slice();
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
    let mut confirmed: Vec<EventEnvelope> = pulled.clone();
    confirmed.extend(
        own.into_iter()
            .filter(|event| !pulled_ids.contains(&event.id)),
    );
    confirmed.sort_by_key(|event| event.position);
    let mut batch = SyncBatch {
        confirmed,
        checkpoint: Some(checkpoint),
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
    let rejected = batch.rejected.len();
    Ok((batch, rejected))
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
