//! Sync batches that split, confirm in part and drop the rows of commands, run on `SqlStore`
//! and on `MemoryStore` side by side: after every step both must read the same.

use std::collections::HashSet;

use fieldstream::core::{EventEnvelope, ExpectedVersion, OutboxEntry, StreamId, Timestamp};
use fieldstream::store::{
    CommandQueue, Commit, EventLog, EventStore, MemoryStore, SqlStore, SyncBatch,
};
use serde_json::json;

use super::Sqlite;
use crate::conformance::event;

pub(super) fn stream(name: &str) -> StreamId {
    StreamId::parse(name).unwrap()
}

/// A command's commit of `count` new events, with its outbox entry.
pub fn command(name: &str, expected: u64, count: u64, command_id: &str) -> Commit {
    let events: Vec<EventEnvelope> = (1..=count).map(|n| event(name, expected + n)).collect();
    let outbox = OutboxEntry {
        seq: 0,
        command_id: command_id.into(),
        aggregate_type: "Order".into(),
        aggregate_id: name.trim_start_matches("Order-").into(),
        stream: stream(name),
        command: json!({ "type": "Do" }),
        expected_version: expected,
        event_ids: events.iter().map(|event| event.id).collect(),
        idempotency_key: None,
        correlation_id: None,
        causation_id: None,
        attempt: 0,
        created_at: Timestamp(7),
    };
    Commit {
        outbox: Some(outbox),
        ..Commit::events(stream(name), ExpectedVersion::Exact(expected), events)
    }
}

/// `event` as the server confirms it, at `position`.
pub(super) fn confirmed(event: &EventEnvelope, position: u64) -> EventEnvelope {
    EventEnvelope {
        position: Some(position),
        recorded_at: Some(Timestamp(1_000 + position as i64)),
        ..event.clone()
    }
}

/// A foreign event of `name` at `version`, confirmed at `position`.
pub(super) fn foreign(name: &str, version: u64, position: u64) -> EventEnvelope {
    let mut event = event(name, version);
    event.version = version;
    confirmed(&event, position)
}

/// Everything both stores must agree on.
pub(super) async fn view<S: EventStore>(store: &S) -> String {
    let mut out = Vec::new();
    out.push(format!("{:?}", store.read_all(0, 1_000).await.unwrap()));
    for name in ["Order-a", "Order-b", "Order-c"] {
        out.push(format!(
            "{:?}",
            store.read_stream(&stream(name), 1, 1_000).await.unwrap()
        ));
        out.push(format!(
            "{:?}",
            store.read_stream(&stream(name), 2, 2).await.unwrap()
        ));
        out.push(format!(
            "{}",
            store.stream_version(&stream(name)).await.unwrap()
        ));
    }
    out.push(format!("{:?}", store.read_outbox(100).await.unwrap()));
    out.push(format!(
        "{:?}",
        store.read_queue(100, &HashSet::new()).await.unwrap()
    ));
    out.push(format!("{:?}", store.queue_sizes().await.unwrap()));
    out.push(format!("{:?}", store.rejected().await.unwrap()));
    out.push(format!("{}", store.pull_checkpoint().await.unwrap()));
    for checkpoint in [0, 1, 3, 5, 7] {
        for upto in [0, 2, 3, 5, 8, 11] {
            out.push(format!(
                "{}",
                store.unprocessed(checkpoint, upto).await.unwrap()
            ));
        }
    }
    out.join("\n")
}

/// Runs `step` on both stores and compares what they read and whether it failed.
pub(super) async fn both<F, Fut, T>(memory: &MemoryStore, sql: &SqlStore<Sqlite>, step: F)
where
    F: Fn(Side) -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
    T: PartialEq + std::fmt::Debug,
{
    let on_memory = step(Side::Memory(memory.clone())).await;
    let on_sql = step(Side::Sql(sql.clone())).await;
    assert_eq!(on_sql, on_memory, "the step's outcome");
    assert_eq!(view(sql).await, view(memory).await);
}

/// One of the two stores.
pub(super) enum Side {
    Memory(MemoryStore),
    Sql(SqlStore<Sqlite>),
}

impl Side {
    pub(super) async fn commit(self, commit: Commit) -> Result<(), String> {
        let done = match self {
            Side::Memory(store) => store.commit(commit).await,
            Side::Sql(store) => store.commit(commit).await,
        };
        done.map(|_| ()).map_err(|error| error.code().to_owned())
    }

    /// Applies `batch` and reads the next push (what a sync round does), in one write.
    pub(super) async fn sync(self, batch: SyncBatch) -> Result<String, String> {
        let skip = HashSet::from([4]);
        let done = match self {
            Side::Memory(store) => store.apply_sync_and_read_queue(batch, None, 2, &skip).await,
            Side::Sql(store) => store.apply_sync_and_read_queue(batch, None, 2, &skip).await,
        };
        done.map(|queue| format!("{queue:?}"))
            .map_err(|error| error.code().to_owned())
    }
}

#[test]
fn sync_batches_read_as_in_memory() {
    futures::executor::block_on(async {
        let memory = MemoryStore::with_client_id("c");
        let sql = SqlStore::open_with_client_id(Sqlite::memory(), "c").unwrap();
        let a = command("Order-a", 0, 3, "cmd-a");
        let b = command("Order-b", 0, 1, "cmd-b");
        let c = command("Order-a", 3, 2, "cmd-c");
        for commit in [&a, &b, &c] {
            both(&memory, &sql, |side| async move {
                side.commit(commit.clone()).await
            })
            .await;
        }
        // A stream taken twice, and an event id taken in another stream.
        both(&memory, &sql, |side| {
            let again = command("Order-b", 0, 1, "cmd-again");
            async move { side.commit(again).await }
        })
        .await;
        both(&memory, &sql, |side| {
            let mut twin = command("Order-c", 0, 1, "cmd-twin");
            twin.events[0].id = c.events[1].id;
            async move { side.commit(twin).await }
        })
        .await;
        // The first two events of a three-event command confirmed alone.
        let first_two = SyncBatch {
            confirmed: vec![
                confirmed(&stored(&sql, "Order-a", 1).await, 1),
                confirmed(&stored(&sql, "Order-a", 2).await, 2),
            ],
            checkpoint: Some(2),
            ..Default::default()
        };
        both(&memory, &sql, |side| side.sync(first_two.clone())).await;
        // Foreign events, then the command's last event; its entry leaves the outbox.
        let rest = SyncBatch {
            drop_outbox: vec![1],
            confirmed: vec![
                foreign("Order-c", 1, 3),
                foreign("Order-c", 2, 4),
                foreign("Order-b", 2, 5),
                confirmed(&stored(&sql, "Order-a", 3).await, 6),
            ],
            checkpoint: Some(6),
            ..Default::default()
        };
        both(&memory, &sql, |side| side.sync(rest.clone())).await;
        // A confirmed event cannot be dropped, and nothing of the batch is written.
        let wrong = SyncBatch {
            drop_pending: vec![(stream("Order-a"), 3)],
            drop_outbox: vec![6],
            checkpoint: Some(7),
            ..Default::default()
        };
        both(&memory, &sql, |side| side.sync(wrong.clone())).await;
        // Command c is decided again: its events go, a new command takes their place.
        let c_entry_seq = 6;
        let rebased = command("Order-a", 3, 1, "cmd-c");
        let redo = SyncBatch {
            drop_pending: vec![(stream("Order-a"), 4)],
            drop_outbox: vec![c_entry_seq],
            confirmed: vec![confirmed(&stored(&sql, "Order-b", 1).await, 7)],
            commits: vec![rebased],
            checkpoint: Some(7),
            ..Default::default()
        };
        both(&memory, &sql, |side| side.sync(redo.clone())).await;
        // A batch that fails after its first writes leaves nothing of them behind.
        let late = SyncBatch {
            drop_outbox: vec![4],
            commits: vec![command("Order-c", 0, 1, "cmd-late")],
            checkpoint: Some(7),
            ..Default::default()
        };
        both(&memory, &sql, |side| side.sync(late.clone())).await;
        // Dropping the events of a command left in the outbox is refused as a conflict.
        let stranding = SyncBatch {
            drop_pending: vec![(stream("Order-a"), 4)],
            ..Default::default()
        };
        both(&memory, &sql, |side| side.sync(stranding.clone())).await;
        assert!(sql.rows_written() > 0);
    });
}

/// The event of `name` at `version` as the store holds it.
async fn stored(store: &SqlStore<Sqlite>, name: &str, version: u64) -> EventEnvelope {
    store
        .read_stream(&stream(name), version, 1)
        .await
        .unwrap()
        .remove(0)
}
