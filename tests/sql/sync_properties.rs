//! Random runs of commands and sync batches (confirmations whole and in part, pulls, rebases,
//! entries dropped or left behind, batches refused, event ids taken) on `SqlStore` and on
//! `MemoryStore` side by side, the SQL one now and then reopened on its file: every step must
//! end the same way on both and leave them reading the same.

use fieldstream::core::{
    EventEnvelope, ExpectedVersion, RejectedCommand, RejectionReason, Timestamp,
};
use fieldstream::store::{CommandQueue, EventLog, MemoryStore, SqlStore, SyncBatch};
use proptest::prelude::*;
use serde_json::json;

use super::against_memory::{both, command, confirmed, foreign, stream, view};
use super::{Sqlite, TempFile};

const STREAMS: [&str; 3] = ["Order-a", "Order-b", "Order-c"];

/// The state a step is drawn from, read from the memory store.
struct Seen {
    pending: Vec<EventEnvelope>,
    entries: Vec<fieldstream::core::OutboxEntry>,
    position: u64,
    foreign: u64,
}

async fn seen(store: &MemoryStore) -> Seen {
    let all = store.read_all(0, usize::MAX).await.unwrap();
    let position = all
        .iter()
        .filter_map(|s| s.event.position)
        .max()
        .unwrap_or(0);
    let foreign = all
        .iter()
        .filter(|s| s.event.stream.as_str() == "Order-f")
        .count() as u64;
    Seen {
        pending: all
            .into_iter()
            .filter(|s| s.event.position.is_none())
            .map(|s| s.event)
            .collect(),
        entries: store.read_outbox(usize::MAX).await.unwrap(),
        position: position.max(store.pull_checkpoint().await.unwrap()),
        foreign,
    }
}

fn rejection(command_id: &str) -> RejectedCommand {
    RejectedCommand {
        command_id: command_id.into(),
        aggregate_type: "Order".into(),
        aggregate_id: "a".into(),
        command: json!({ "type": "Do" }),
        reason: RejectionReason {
            code: "no".into(),
            message: "no".into(),
        },
        caused_by: vec![],
        at: Timestamp(9),
    }
}

/// Runs step `(kind, a, b, c)` on both stores.
async fn step(
    memory: &MemoryStore,
    sql: &SqlStore<Sqlite>,
    n: usize,
    (kind, a, b, c): (u8, u8, u8, u8),
) {
    let seen = seen(memory).await;
    let name = STREAMS[a as usize % 3];
    match kind % 4 {
        0 => {
            let version = memory.stream_version(&stream(name)).await.unwrap();
            let expected = if c % 7 == 0 { version + 1 } else { version };
            let mut commit = command(name, expected, 1 + b as u64 % 4, &format!("cmd-{n}"));
            commit.expected = ExpectedVersion::Exact(expected);
            // Now and then an event id already stored, in this stream or another.
            let all = memory.read_all(0, usize::MAX).await.unwrap();
            if let (1, Some(taken)) = (c % 5, all.get(b as usize % all.len().max(1))) {
                commit.events.last_mut().expect("one event at least").id = taken.event.id;
            }
            both(memory, sql, |side| side.commit(commit.clone())).await;
        }
        1 => {
            // The oldest pending events confirmed (a command whole or in part), after pulled ones.
            let mut position = seen.position;
            let mut events: Vec<EventEnvelope> = (0..b % 3)
                .map(|i| {
                    position += 1;
                    foreign("Order-f", seen.foreign + 1 + i as u64, position)
                })
                .collect();
            for event in seen.pending.iter().take(1 + c as usize % 5) {
                position += 1;
                events.push(confirmed(event, position));
            }
            let done: Vec<u64> = seen
                .entries
                .iter()
                .filter(|entry| {
                    entry
                        .event_ids
                        .iter()
                        .all(|id| events.iter().any(|e| e.id == *id))
                })
                .filter(|_| a % 3 != 0)
                .map(|entry| entry.seq)
                .collect();
            let batch = SyncBatch {
                drop_outbox: done,
                confirmed: events,
                checkpoint: Some(position + (b as u64 % 2)),
                ..SyncBatch::default()
            };
            both(memory, sql, |side| side.sync(batch.clone())).await;
        }
        2 => {
            // The pending events of a stream from some version on decided again.
            let ours: Vec<&EventEnvelope> = seen
                .pending
                .iter()
                .filter(|e| e.stream.as_str() == name)
                .collect();
            let Some(from) = ours.get(b as usize % ours.len().max(1)).map(|e| e.version) else {
                return;
            };
            let affected: Vec<&fieldstream::core::OutboxEntry> = seen
                .entries
                .iter()
                .filter(|entry| entry.stream.as_str() == name)
                .filter(|entry| entry.expected_version + entry.event_ids.len() as u64 >= from)
                .collect();
            let mut drop_outbox: Vec<u64> = affected.iter().map(|entry| entry.seq).collect();
            if c % 5 == 0 {
                drop_outbox.pop();
            }
            let commits = match c % 3 {
                0 => vec![],
                _ => vec![command(
                    name,
                    from - 1,
                    1 + c as u64 % 2,
                    &format!("cmd-{n}"),
                )],
            };
            let rejected = affected
                .iter()
                .take(c as usize % 2)
                .map(|e| rejection(&e.command_id))
                .collect();
            let batch = SyncBatch {
                drop_pending: vec![(stream(name), from)],
                drop_outbox,
                commits,
                rejected,
                ..SyncBatch::default()
            };
            both(memory, sql, |side| side.sync(batch.clone())).await;
        }
        _ => {
            let Some(entry) = seen.entries.get(b as usize % seen.entries.len().max(1)) else {
                return;
            };
            let batch = SyncBatch {
                drop_outbox: vec![entry.seq],
                ..SyncBatch::default()
            };
            both(memory, sql, |side| side.sync(batch.clone())).await;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn sync_runs_read_as_in_memory(steps in proptest::collection::vec(any::<(u8, u8, u8, u8)>(), 1..40)) {
        futures::executor::block_on(async {
            let file = TempFile::new("sync-run");
            let memory = MemoryStore::with_client_id("c");
            let mut sql = SqlStore::open_with_client_id(Sqlite::file(&file.0), "c").unwrap();
            for (n, seeds) in steps.into_iter().enumerate() {
                if seeds.0 % 5 == 4 {
                    // The object evicted and started again on its database.
                    sql = SqlStore::open(Sqlite::file(&file.0)).unwrap();
                    assert_eq!(view(&sql).await, view(&memory).await);
                    continue;
                }
                step(&memory, &sql, n, seeds).await;
            }
        });
    }
}
