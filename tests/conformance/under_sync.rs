//! Conformance cases of what a sync batch does to the records derived from pending events:
//! snapshots that folded dropped events go, idempotency records follow their commands, and
//! expired idempotency records are purged.

use super::*;
use fieldstream::core::{CommandOutcome, IdempotencyUpdate, RejectionReason};
use fieldstream::store::SyncBatch;

fn snapshot_at(stream_name: &str, events: &[EventEnvelope]) -> Snapshot {
    let last = events.last().expect("a snapshot folds events");
    Snapshot {
        stream: stream(stream_name),
        version: last.version,
        state_version: 1,
        state: json!({ "upTo": last.version }),
        taken_at: Timestamp(1),
        event_id: Some(last.id),
    }
}

/// Pending events 1..=`count` of `name`, with a snapshot at the last one.
async fn pending_with_snapshot<S: EventStore>(store: &S, name: &str, count: u64) {
    let mut events: Vec<EventEnvelope> = (1..=count).map(|n| event(name, n)).collect();
    for (n, event) in events.iter_mut().enumerate() {
        event.version = n as u64 + 1;
    }
    let mut first = commit(name, ExpectedVersion::NoStream, events.clone());
    first.snapshot = Some(snapshot_at(name, &events));
    store.commit(first).await.unwrap();
}

pub(super) async fn a_sync_drops_the_snapshots_of_dropped_events<S: EventStore>(store: S) {
    pending_with_snapshot(&store, "Order-snap", 2).await;
    pending_with_snapshot(&store, "Order-kept", 2).await;
    let batch = SyncBatch {
        drop_pending: vec![(stream("Order-snap"), 2), (stream("Order-kept"), 3)],
        ..Default::default()
    };
    store.apply_sync(batch, None).await.unwrap();
    assert_eq!(
        store.latest_snapshot(&stream("Order-snap")).await.unwrap(),
        None,
        "the snapshot folded event 2, which is gone"
    );
    assert_eq!(
        store.stream_version(&stream("Order-snap")).await.unwrap(),
        1
    );
    assert_eq!(
        store
            .latest_snapshot(&stream("Order-kept"))
            .await
            .unwrap()
            .map(|snapshot| snapshot.version),
        Some(2),
        "a snapshot below the first dropped version stays"
    );
}

fn keyed(key: &str, command_id: &str, created_at: i64) -> IdempotencyRecord {
    IdempotencyRecord {
        key: key.into(),
        stream: stream("Order-k"),
        command_id: command_id.into(),
        first_version: 0,
        last_version: 0,
        created_at: Timestamp(created_at),
        expires_at: Timestamp(created_at + 1_000),
        rejected: None,
    }
}

pub(super) async fn idempotency_records_follow_their_commands<S: EventStore>(store: S) {
    for (key, command_id) in [("key-a", "cmd-a"), ("key-b", "cmd-b")] {
        let version = store.stream_version(&stream("Order-k")).await.unwrap();
        let mut next = commit(
            "Order-k",
            ExpectedVersion::Exact(version),
            vec![event("Order-k", version + 1)],
        );
        next.idempotency = Some(keyed(key, command_id, 100));
        store.commit(next).await.unwrap();
    }
    let now = Timestamp(200);
    let held = |key: &'static str| {
        let store = &store;
        async move { store.idempotency_record(key, now).await.unwrap().unwrap() }
    };
    assert_eq!(
        (
            held("key-a").await.first_version,
            held("key-b").await.first_version
        ),
        (1, 2)
    );
    // Another device's event takes version 1: command a is decided again after it, command b
    // no longer holds.
    let mut theirs = event("Order-k", 1);
    theirs.version = 1;
    theirs.position = Some(1);
    let mut again = event("Order-k", 2);
    again.version = 2;
    let batch = SyncBatch {
        drop_pending: vec![(stream("Order-k"), 1)],
        confirmed: vec![theirs],
        commits: vec![commit("Order-k", ExpectedVersion::Exact(1), vec![again])],
        checkpoint: Some(1),
        idempotency: vec![
            IdempotencyUpdate {
                key: "key-a".into(),
                command_id: "cmd-a".into(),
                outcome: CommandOutcome::Redecided {
                    first_version: 2,
                    last_version: 2,
                },
            },
            IdempotencyUpdate {
                key: "key-b".into(),
                command_id: "cmd-b".into(),
                outcome: CommandOutcome::Rejected(RejectionReason {
                    code: "order_not_payable".into(),
                    message: "already paid".into(),
                }),
            },
            IdempotencyUpdate {
                key: "key-a".into(),
                command_id: "cmd-other".into(),
                outcome: CommandOutcome::Redecided {
                    first_version: 9,
                    last_version: 9,
                },
            },
        ],
        ..Default::default()
    };
    store.apply_sync(batch, None).await.unwrap();
    let a = held("key-a").await;
    assert_eq!(
        (a.first_version, a.last_version, a.rejected.as_ref()),
        (2, 2, None),
        "the record points at the command's new events; another command's update is ignored"
    );
    let b = held("key-b").await;
    assert_eq!((b.first_version, b.last_version), (0, 0));
    assert_eq!(
        b.rejected.map(|reason| reason.code).as_deref(),
        Some("order_not_payable")
    );
}

pub(super) async fn expired_idempotency_records_are_purged<S: EventStore>(store: S) {
    let mut old = commit(
        "Order-k",
        ExpectedVersion::NoStream,
        vec![event("Order-k", 1)],
    );
    old.idempotency = Some(keyed("key-old", "cmd-old", 100));
    store.commit(old).await.unwrap();
    let mut live = commit(
        "Order-k",
        ExpectedVersion::Exact(1),
        vec![event("Order-k", 2)],
    );
    live.idempotency = Some(keyed("key-live", "cmd-live", 900));
    store.commit(live).await.unwrap();
    assert!(
        store
            .idempotency_record("key-old", Timestamp(500))
            .await
            .unwrap()
            .is_some(),
        "still held while live at the time the next record was written"
    );
    let mut later = commit(
        "Order-k",
        ExpectedVersion::Exact(2),
        vec![event("Order-k", 3)],
    );
    later.idempotency = Some(keyed("key-new", "cmd-new", 1_500));
    store.commit(later).await.unwrap();
    assert!(
        store
            .idempotency_record("key-old", Timestamp(500))
            .await
            .unwrap()
            .is_none(),
        "expired at 1,100, purged by the write at 1,500"
    );
    assert!(
        store
            .idempotency_record("key-live", Timestamp(1_500))
            .await
            .unwrap()
            .is_some(),
        "a live record stays"
    );
}
