//! The store conformance suite: what every `EventStore` must do, written once.
//!
//! `run_all` takes a function that makes a fresh, empty store and runs every case on its own
//! store. The native tests run it on `MemoryStore`; the browser tests run it on the IndexedDB
//! store.

#![allow(dead_code)]

mod projections;

use std::future::Future;
use std::pin::Pin;

use fieldstream::core::{
    Error, EventEnvelope, EventMetadata, ExpectedVersion, IdempotencyRecord, OutboxEntry, Snapshot,
    StreamId, Timestamp,
};
use fieldstream::store::{Commit, CommitOutcome, EventStore};
use serde_json::json;
use uuid::Uuid;

type Case<S> = fn(S) -> Pin<Box<dyn Future<Output = ()>>>;

/// Every case of the suite, by name.
pub fn cases<S: EventStore + 'static>() -> Vec<(&'static str, Case<S>)> {
    vec![
        ("empty_stream_is_at_version_zero", |s| {
            Box::pin(empty_stream_is_at_version_zero(s))
        }),
        ("appends_number_versions_from_one", |s| {
            Box::pin(appends_number_versions_from_one(s))
        }),
        ("reads_streams_in_pages", |s| {
            Box::pin(reads_streams_in_pages(s))
        }),
        ("wrong_expected_version_conflicts", |s| {
            Box::pin(wrong_expected_version_conflicts(s))
        }),
        ("expected_version_kinds", |s| {
            Box::pin(expected_version_kinds(s))
        }),
        ("duplicate_event_ids_are_refused", |s| {
            Box::pin(duplicate_event_ids_are_refused(s))
        }),
        ("empty_commits_are_refused", |s| {
            Box::pin(empty_commits_are_refused(s))
        }),
        ("read_all_follows_local_order", |s| {
            Box::pin(read_all_follows_local_order(s))
        }),
        ("snapshots_keep_the_latest", |s| {
            Box::pin(snapshots_keep_the_latest(s))
        }),
        ("mismatched_snapshots_are_refused", |s| {
            Box::pin(mismatched_snapshots_are_refused(s))
        }),
        ("idempotency_records_commit_atomically", |s| {
            Box::pin(idempotency_records_commit_atomically(s))
        }),
        ("expired_idempotency_keys_are_reused", |s| {
            Box::pin(expired_idempotency_keys_are_reused(s))
        }),
        ("envelopes_round_trip_unchanged", |s| {
            Box::pin(envelopes_round_trip_unchanged(s))
        }),
        ("client_id_is_stable", |s| Box::pin(client_id_is_stable(s))),
        ("outbox_entries_commit_with_their_events", |s| {
            Box::pin(outbox_entries_commit_with_their_events(s))
        }),
        ("rejected_commands_wait_in_the_inbox", |s| {
            Box::pin(rejected_commands_wait_in_the_inbox(s))
        }),
    ]
}

/// Runs every case, each on a fresh store from `make`.
pub async fn run_all<S, F, Fut>(make: F)
where
    S: EventStore + Clone + 'static,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    for (name, case) in cases::<S>().into_iter().chain(projections::cases::<S>()) {
        println!("conformance: {name}");
        case(make().await).await;
    }
}

fn stream(name: &str) -> StreamId {
    StreamId::parse(name).unwrap()
}

/// An event for `stream` whose payload records `n`.
pub fn event(stream_name: &str, n: u64) -> EventEnvelope {
    EventEnvelope {
        id: Uuid::new_v4(),
        stream: stream(stream_name),
        version: 0,
        position: None,
        event_type: "Happened".into(),
        schema_version: 1,
        data: json!({ "n": n, "text": "x".repeat(20) }),
        metadata: EventMetadata {
            correlation_id: Some(format!("corr-{n}")),
            causation_id: None,
            command_id: Some(format!("cmd-{n}")),
            client_id: Some("client".into()),
            occurred_at: Timestamp(1_700_000_000_000 + n as i64),
        },
        recorded_at: None,
    }
}

fn commit(stream_name: &str, expected: ExpectedVersion, events: Vec<EventEnvelope>) -> Commit {
    Commit {
        stream: stream(stream_name),
        expected,
        events,
        snapshot: None,
        idempotency: None,
        outbox: None,
        projector: None,
    }
}

async fn append<S: EventStore>(
    store: &S,
    name: &str,
    expected: ExpectedVersion,
    count: u64,
) -> Vec<EventEnvelope> {
    let events = (1..=count).map(|n| event(name, n)).collect();
    match store
        .commit(commit(name, expected, events))
        .await
        .expect("commit")
    {
        CommitOutcome::Committed(events) => events,
        other => panic!("expected a commit, got {other:?}"),
    }
}

fn numbers(events: &[EventEnvelope]) -> Vec<u64> {
    events.iter().map(|event| event.version).collect()
}

async fn empty_stream_is_at_version_zero<S: EventStore>(store: S) {
    assert_eq!(
        store.stream_version(&stream("Order-none")).await.unwrap(),
        0
    );
    assert!(
        store
            .read_stream(&stream("Order-none"), 1, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.read_all(0, 10).await.unwrap().is_empty());
    assert!(
        store
            .latest_snapshot(&stream("Order-none"))
            .await
            .unwrap()
            .is_none()
    );
}

async fn appends_number_versions_from_one<S: EventStore>(store: S) {
    let first = append(&store, "Order-1", ExpectedVersion::NoStream, 3).await;
    assert_eq!(numbers(&first), vec![1, 2, 3]);
    let second = append(&store, "Order-1", ExpectedVersion::Exact(3), 2).await;
    assert_eq!(numbers(&second), vec![4, 5]);
    assert_eq!(store.stream_version(&stream("Order-1")).await.unwrap(), 5);
    let all = store.read_stream(&stream("Order-1"), 1, 100).await.unwrap();
    assert_eq!(numbers(&all), vec![1, 2, 3, 4, 5]);
    assert!(all.iter().all(|event| event.stream == stream("Order-1")));
}

async fn reads_streams_in_pages<S: EventStore>(store: S) {
    append(&store, "Order-p", ExpectedVersion::NoStream, 25).await;
    append(&store, "Order-q", ExpectedVersion::NoStream, 5).await;
    let page = store.read_stream(&stream("Order-p"), 11, 10).await.unwrap();
    assert_eq!(numbers(&page), (11..=20).collect::<Vec<_>>());
    let tail = store.read_stream(&stream("Order-p"), 21, 10).await.unwrap();
    assert_eq!(numbers(&tail), (21..=25).collect::<Vec<_>>());
    assert!(
        store
            .read_stream(&stream("Order-p"), 26, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn wrong_expected_version_conflicts<S: EventStore>(store: S) {
    append(&store, "Order-c", ExpectedVersion::NoStream, 2).await;
    for expected in [
        ExpectedVersion::Exact(1),
        ExpectedVersion::Exact(3),
        ExpectedVersion::NoStream,
    ] {
        let error = store
            .commit(commit("Order-c", expected, vec![event("Order-c", 9)]))
            .await
            .unwrap_err();
        match error {
            Error::Conflict {
                stream: s,
                expected: e,
                actual,
            } => {
                assert_eq!((s.as_str(), e, actual), ("Order-c", expected, 2));
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
    }
    assert_eq!(store.stream_version(&stream("Order-c")).await.unwrap(), 2);
    assert_eq!(store.read_all(0, 100).await.unwrap().len(), 2);
}

async fn expected_version_kinds<S: EventStore>(store: S) {
    let exists = store
        .commit(commit(
            "Order-k",
            ExpectedVersion::StreamExists,
            vec![event("Order-k", 1)],
        ))
        .await;
    assert_eq!(exists.unwrap_err().code(), "conflict");
    assert_eq!(
        numbers(&append(&store, "Order-k", ExpectedVersion::Any, 2).await),
        vec![1, 2]
    );
    assert_eq!(
        numbers(&append(&store, "Order-k", ExpectedVersion::StreamExists, 1).await),
        vec![3]
    );
    assert_eq!(
        numbers(&append(&store, "Order-k", ExpectedVersion::Any, 1).await),
        vec![4]
    );
    assert_eq!(
        numbers(&append(&store, "Order-z", ExpectedVersion::Exact(0), 1).await),
        vec![1]
    );
}

async fn duplicate_event_ids_are_refused<S: EventStore>(store: S) {
    let stored = append(&store, "Order-d", ExpectedVersion::NoStream, 1).await;
    let mut again = event("Order-e", 1);
    again.id = stored[0].id;
    let error = store
        .commit(commit("Order-e", ExpectedVersion::NoStream, vec![again]))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "invalid_input");
    let twin = event("Order-f", 1);
    let error = store
        .commit(commit(
            "Order-f",
            ExpectedVersion::NoStream,
            vec![twin.clone(), twin],
        ))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "invalid_input");
    assert_eq!(store.stream_version(&stream("Order-e")).await.unwrap(), 0);
    assert_eq!(store.stream_version(&stream("Order-f")).await.unwrap(), 0);
    assert_eq!(store.read_all(0, 100).await.unwrap().len(), 1);
}

async fn empty_commits_are_refused<S: EventStore>(store: S) {
    let error = store
        .commit(commit("Order-x", ExpectedVersion::Any, vec![]))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "invalid_input");
}

async fn read_all_follows_local_order<S: EventStore>(store: S) {
    append(&store, "Order-a", ExpectedVersion::NoStream, 2).await;
    append(&store, "Order-b", ExpectedVersion::NoStream, 1).await;
    append(&store, "Order-a", ExpectedVersion::Exact(2), 1).await;
    let all = store.read_all(0, 100).await.unwrap();
    let order: Vec<(u64, String, u64)> = all
        .iter()
        .map(|e| (e.seq, e.event.stream.to_string(), e.event.version))
        .collect();
    assert_eq!(
        order,
        vec![
            (1, "Order-a".into(), 1),
            (2, "Order-a".into(), 2),
            (3, "Order-b".into(), 1),
            (4, "Order-a".into(), 3)
        ]
    );
    let page = store.read_all(1, 2).await.unwrap();
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![2, 3]);
    assert!(store.read_all(4, 10).await.unwrap().is_empty());
}

fn snapshot(stream_name: &str, version: u64) -> Snapshot {
    Snapshot {
        stream: stream(stream_name),
        version,
        state_version: 1,
        state: json!({ "upTo": version }),
        taken_at: Timestamp(1),
    }
}

async fn snapshots_keep_the_latest<S: EventStore>(store: S) {
    let mut first = commit(
        "Order-s",
        ExpectedVersion::NoStream,
        (1..=2).map(|n| event("Order-s", n)).collect(),
    );
    first.snapshot = Some(snapshot("Order-s", 2));
    store.commit(first).await.unwrap();
    assert_eq!(
        store.latest_snapshot(&stream("Order-s")).await.unwrap(),
        Some(snapshot("Order-s", 2))
    );
    let mut second = commit(
        "Order-s",
        ExpectedVersion::Exact(2),
        vec![event("Order-s", 3)],
    );
    second.snapshot = Some(snapshot("Order-s", 3));
    store.commit(second).await.unwrap();
    assert_eq!(
        store.latest_snapshot(&stream("Order-s")).await.unwrap(),
        Some(snapshot("Order-s", 3))
    );
    assert!(
        store
            .latest_snapshot(&stream("Order-t"))
            .await
            .unwrap()
            .is_none()
    );
}

async fn mismatched_snapshots_are_refused<S: EventStore>(store: S) {
    let mut bad = commit(
        "Order-m",
        ExpectedVersion::NoStream,
        vec![event("Order-m", 1)],
    );
    bad.snapshot = Some(snapshot("Order-m", 5));
    assert_eq!(store.commit(bad).await.unwrap_err().code(), "invalid_input");
    assert_eq!(store.stream_version(&stream("Order-m")).await.unwrap(), 0);
    assert!(
        store
            .latest_snapshot(&stream("Order-m"))
            .await
            .unwrap()
            .is_none()
    );
}

fn record(key: &str, created_at: i64) -> IdempotencyRecord {
    IdempotencyRecord {
        key: key.into(),
        stream: stream("Order-i"),
        command_id: format!("cmd-{created_at}"),
        first_version: 0,
        last_version: 0,
        created_at: Timestamp(created_at),
        expires_at: Timestamp(created_at + 1_000),
    }
}

async fn idempotency_records_commit_atomically<S: EventStore>(store: S) {
    append(&store, "Order-i", ExpectedVersion::NoStream, 1).await;
    let mut first = commit(
        "Order-i",
        ExpectedVersion::Exact(1),
        vec![event("Order-i", 2), event("Order-i", 3)],
    );
    first.idempotency = Some(record("key-1", 100));
    store.commit(first).await.unwrap();
    let stored = store
        .idempotency_record("key-1", Timestamp(500))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((stored.first_version, stored.last_version), (2, 3));
    assert_eq!(stored.stream, stream("Order-i"));
    assert!(
        store
            .idempotency_record("key-1", Timestamp(1_100))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .idempotency_record("key-2", Timestamp(500))
            .await
            .unwrap()
            .is_none()
    );

    let mut second = commit(
        "Order-i",
        ExpectedVersion::Exact(3),
        vec![event("Order-i", 4)],
    );
    second.idempotency = Some(record("key-1", 200));
    match store.commit(second).await.unwrap() {
        CommitOutcome::DuplicateIdempotencyKey(existing) => assert_eq!(existing, stored),
        other => panic!("expected the duplicate key to win, got {other:?}"),
    }
    assert_eq!(store.stream_version(&stream("Order-i")).await.unwrap(), 3);

    let mut conflicting = commit(
        "Order-i",
        ExpectedVersion::Exact(1),
        vec![event("Order-i", 5)],
    );
    conflicting.idempotency = Some(record("key-3", 300));
    assert_eq!(
        store.commit(conflicting).await.unwrap_err().code(),
        "conflict"
    );
    assert!(
        store
            .idempotency_record("key-3", Timestamp(400))
            .await
            .unwrap()
            .is_none()
    );
}

async fn expired_idempotency_keys_are_reused<S: EventStore>(store: S) {
    let mut first = commit(
        "Order-i",
        ExpectedVersion::NoStream,
        vec![event("Order-i", 1)],
    );
    first.idempotency = Some(record("key", 100));
    store.commit(first).await.unwrap();
    let mut later = commit(
        "Order-i",
        ExpectedVersion::Exact(1),
        vec![event("Order-i", 2)],
    );
    later.idempotency = Some(record("key", 5_000));
    assert!(matches!(
        store.commit(later).await.unwrap(),
        CommitOutcome::Committed(_)
    ));
    let stored = store
        .idempotency_record("key", Timestamp(5_500))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.first_version, stored.command_id.as_str()),
        (2, "cmd-5000")
    );
}

async fn envelopes_round_trip_unchanged<S: EventStore>(store: S) {
    let mut original = event("Order-r", 7);
    original.data = json!({"nested": {"list": [1, 2.5, "three", null, true]}, "unicode": "ü€😀"});
    original.position = Some(42);
    original.recorded_at = Some(Timestamp(99));
    original.schema_version = 3;
    store
        .commit(commit(
            "Order-r",
            ExpectedVersion::NoStream,
            vec![original.clone()],
        ))
        .await
        .unwrap();
    let read = store.read_stream(&stream("Order-r"), 1, 1).await.unwrap();
    original.version = 1;
    assert_eq!(read, vec![original.clone()]);
    assert_eq!(store.read_all(0, 1).await.unwrap()[0].event, original);
}

async fn client_id_is_stable<S: EventStore>(store: S) {
    let id = store.client_id().to_owned();
    assert!(!id.is_empty());
    append(&store, "Order-1", ExpectedVersion::NoStream, 1).await;
    assert_eq!(store.client_id(), id);
}

fn outbox_entry(
    stream_name: &str,
    command_id: &str,
    expected_version: u64,
    events: &[EventEnvelope],
) -> OutboxEntry {
    OutboxEntry {
        seq: 0,
        command_id: command_id.into(),
        aggregate_type: "Order".into(),
        aggregate_id: stream_name.trim_start_matches("Order-").into(),
        stream: stream(stream_name),
        command: json!({ "type": "Do", "n": expected_version }),
        expected_version,
        event_ids: events.iter().map(|event| event.id).collect(),
        idempotency_key: None,
        correlation_id: None,
        causation_id: None,
        attempt: 0,
        created_at: Timestamp(7),
    }
}

async fn outbox_entries_commit_with_their_events<S: EventStore>(store: S) {
    append(&store, "Order-w", ExpectedVersion::NoStream, 2).await;
    let events = vec![event("Order-o", 1), event("Order-o", 2)];
    let mut first = commit("Order-o", ExpectedVersion::NoStream, events.clone());
    first.outbox = Some(outbox_entry("Order-o", "cmd-a", 0, &events));
    store.commit(first).await.unwrap();
    let later = vec![event("Order-o", 3)];
    let mut second = commit("Order-o", ExpectedVersion::Exact(2), later.clone());
    second.outbox = Some(outbox_entry("Order-o", "cmd-b", 2, &later));
    store.commit(second).await.unwrap();

    let mut lost = commit(
        "Order-o",
        ExpectedVersion::Exact(1),
        vec![event("Order-o", 9)],
    );
    lost.outbox = Some(outbox_entry("Order-o", "cmd-lost", 1, &[]));
    assert_eq!(store.commit(lost).await.unwrap_err().code(), "conflict");
    let mut empty = commit("Order-o", ExpectedVersion::Exact(3), vec![]);
    empty.outbox = Some(outbox_entry("Order-o", "cmd-empty", 3, &[]));
    assert_eq!(
        store.commit(empty).await.unwrap_err().code(),
        "invalid_input"
    );

    let outbox = store.read_outbox(10).await.unwrap();
    let summary: Vec<(u64, &str, u64, usize)> = outbox
        .iter()
        .map(|e| {
            (
                e.seq,
                e.command_id.as_str(),
                e.expected_version,
                e.event_ids.len(),
            )
        })
        .collect();
    assert_eq!(summary, vec![(3, "cmd-a", 0, 2), (5, "cmd-b", 2, 1)]);
    assert_eq!(
        outbox[0].event_ids,
        events.iter().map(|e| e.id).collect::<Vec<_>>()
    );
    assert_eq!(outbox[0].command, json!({ "type": "Do", "n": 0 }));
    assert_eq!(store.read_outbox(1).await.unwrap().len(), 1);
}

fn rejection(command_id: &str, code: &str) -> fieldstream::core::RejectedCommand {
    fieldstream::core::RejectedCommand {
        command_id: command_id.into(),
        aggregate_type: "Order".into(),
        aggregate_id: "r".into(),
        command: json!({ "type": "PayOrder" }),
        reason: fieldstream::core::RejectionReason {
            code: code.into(),
            message: format!("{code} happened"),
        },
        caused_by: vec![],
        at: Timestamp(9),
    }
}

async fn rejected_commands_wait_in_the_inbox<S: EventStore>(store: S) {
    let events = vec![event("Order-r", 1)];
    let mut first = commit("Order-r", ExpectedVersion::NoStream, events.clone());
    first.outbox = Some(outbox_entry("Order-r", "cmd-r", 0, &events));
    store.commit(first).await.unwrap();
    let seq = store.read_outbox(1).await.unwrap()[0].seq;
    let batch = fieldstream::store::SyncBatch {
        drop_pending: vec![(stream("Order-r"), 1)],
        drop_outbox: vec![seq],
        rejected: vec![
            rejection("cmd-r", "forbidden"),
            rejection("cmd-q", "order_not_payable"),
        ],
        ..Default::default()
    };
    store.apply_sync(batch, None).await.unwrap();
    assert_eq!(
        store.stream_version(&stream("Order-r")).await.unwrap(),
        0,
        "its pending events are gone"
    );
    assert!(
        store.read_outbox(10).await.unwrap().is_empty(),
        "so is its outbox entry"
    );
    let inbox = store.rejected().await.unwrap();
    let ids: Vec<&str> = inbox.iter().map(|r| r.command_id.as_str()).collect();
    assert_eq!(ids, vec!["cmd-r", "cmd-q"]);
    assert_eq!(inbox[0].reason.code, "forbidden");
    assert!(store.dismiss_rejected("cmd-r").await.unwrap());
    assert!(!store.dismiss_rejected("cmd-r").await.unwrap());
    let again = fieldstream::store::SyncBatch {
        rejected: vec![rejection("cmd-q", "order_not_shippable")],
        ..Default::default()
    };
    store.apply_sync(again, None).await.unwrap();
    let inbox = store.rejected().await.unwrap();
    assert_eq!(inbox.len(), 1, "a command is in the inbox once");
    assert_eq!(inbox[0].reason.code, "order_not_shippable");
}
