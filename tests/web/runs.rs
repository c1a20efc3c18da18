//! The `events` store's runs in Chromium: a command's events are one record, reads from inside
//! a run find their events, and a confirmation or a drop that concerns part of a run splits it.

use fieldstream::core::{ExpectedVersion, StreamId, Timestamp};
use fieldstream::store::{
    CommandQueue, Commit, EventLog, IndexedDbStore, ReadModelStore, SyncBatch,
};
use rexie::TransactionMode;
use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

use super::fixtures::{envelope, fresh_name, open_as_is};

/// A pending commit of `count` events to `stream` after `expected`.
fn commit(stream: &str, expected: u64, count: u64) -> Commit {
    Commit {
        stream: StreamId::parse(stream).unwrap(),
        expected: ExpectedVersion::Exact(expected),
        events: (1..=count)
            .map(|offset| envelope(stream, expected + offset, "Added", json!({ "n": offset })))
            .collect(),
        snapshot: None,
        idempotency: None,
        outbox: None,
        projector: None,
    }
}

/// How many records the `events` store holds.
async fn records(name: &str) -> u32 {
    let db = open_as_is(name).await;
    let tx = db
        .transaction(&["events"], TransactionMode::ReadOnly)
        .unwrap();
    let count = tx.store("events").unwrap().count(None).await.unwrap();
    db.close();
    count
}

fn versions(events: &[fieldstream::core::EventEnvelope]) -> Vec<u64> {
    events.iter().map(|event| event.version).collect()
}

#[wasm_bindgen_test]
async fn a_commands_events_are_one_record_and_read_from_anywhere_inside_it() {
    let name = fresh_name("runs");
    let store = IndexedDbStore::open(&name).await.unwrap();
    let stream = StreamId::parse("Bench-1").unwrap();
    store.commit(commit("Bench-1", 0, 100)).await.unwrap();
    store.commit(commit("Bench-1", 100, 3)).await.unwrap();
    assert_eq!(records(&name).await, 2, "one record per command");

    assert_eq!(store.stream_version(&stream).await.unwrap(), 103);
    let middle = store.read_stream(&stream, 50, 10).await.unwrap();
    assert_eq!(versions(&middle), (50..60).collect::<Vec<_>>());
    let across = store.read_stream(&stream, 99, 100).await.unwrap();
    assert_eq!(versions(&across), (99..=103).collect::<Vec<_>>());
    let after = store.read_all(30, 5).await.unwrap();
    let seqs: Vec<u64> = after.iter().map(|stored| stored.seq).collect();
    assert_eq!(seqs, [31, 32, 33, 34, 35]);
    let tail = store.read_all(98, 1_000).await.unwrap();
    assert_eq!(tail.len(), 5, "the rest of one run and the whole next one");

    let taken = store.commit(commit("Bench-1", 50, 1)).await;
    assert!(
        matches!(
            taken,
            Err(fieldstream::core::Error::Conflict { actual: 103, .. })
        ),
        "a version inside a run is taken: {taken:?}"
    );
}

#[wasm_bindgen_test]
async fn a_confirmation_of_part_of_a_run_splits_it() {
    let name = fresh_name("runs-confirm");
    let store = IndexedDbStore::open(&name).await.unwrap();
    store.commit(commit("Bench-2", 0, 4)).await.unwrap();
    let held: Vec<_> = store
        .read_all(0, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|stored| stored.event)
        .collect();
    let confirm = |from: usize, to: usize, first_position: u64| {
        held[from..to]
            .iter()
            .enumerate()
            .map(|(offset, event)| {
                let mut event = event.clone();
                event.position = Some(first_position + offset as u64);
                event.recorded_at = Some(Timestamp(1_000));
                event
            })
            .collect::<Vec<_>>()
    };
    let first = SyncBatch {
        confirmed: confirm(0, 2, 1),
        checkpoint: Some(2),
        ..SyncBatch::default()
    };
    store.apply_sync(first, None).await.unwrap();
    let positions: Vec<_> = store
        .read_all(0, 10)
        .await
        .unwrap()
        .iter()
        .map(|stored| stored.event.position)
        .collect();
    assert_eq!(positions, [Some(1), Some(2), None, None]);
    assert_eq!(
        records(&name).await,
        2,
        "split into a confirmed and a pending run"
    );
    assert_eq!(store.unprocessed(0, 0).await.unwrap(), 4);
    assert_eq!(store.unprocessed(1, 3).await.unwrap(), 2);

    let rest = SyncBatch {
        confirmed: confirm(2, 4, 3),
        checkpoint: Some(4),
        ..SyncBatch::default()
    };
    store.apply_sync(rest, None).await.unwrap();
    let events = store.read_all(0, 10).await.unwrap();
    assert_eq!(
        events
            .iter()
            .map(|stored| stored.event.position)
            .collect::<Vec<_>>(),
        [Some(1), Some(2), Some(3), Some(4)]
    );
    assert!(
        events
            .iter()
            .all(|s| s.event.recorded_at == Some(Timestamp(1_000)))
    );
    assert_eq!(store.unprocessed(2, 0).await.unwrap(), 2);
}

#[wasm_bindgen_test]
async fn a_drop_from_inside_a_run_keeps_the_events_before_it() {
    let name = fresh_name("runs-drop");
    let store = IndexedDbStore::open(&name).await.unwrap();
    let stream = StreamId::parse("Bench-3").unwrap();
    store.commit(commit("Bench-3", 0, 5)).await.unwrap();
    let batch = SyncBatch {
        drop_pending: vec![(stream.clone(), 3)],
        ..SyncBatch::default()
    };
    store.apply_sync(batch, None).await.unwrap();
    assert_eq!(store.stream_version(&stream).await.unwrap(), 2);
    let kept = store.read_stream(&stream, 1, 10).await.unwrap();
    assert_eq!(versions(&kept), [1, 2]);
    store.commit(commit("Bench-3", 2, 2)).await.unwrap();
    let all = store.read_stream(&stream, 1, 10).await.unwrap();
    assert_eq!(versions(&all), [1, 2, 3, 4]);
    assert_eq!(store.queue_sizes().await.unwrap().outbox, 0);
}
