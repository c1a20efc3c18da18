//! Conformance cases of what commits carry besides events: snapshots, idempotency records,
//! outbox entries, and the rejected inbox.

use super::*;

fn snapshot(stream_name: &str, version: u64) -> Snapshot {
    Snapshot {
        stream: stream(stream_name),
        version,
        state_version: 1,
        state: json!({ "upTo": version }),
        taken_at: Timestamp(1),
        event_id: None,
    }
}

pub(super) async fn snapshots_keep_the_latest<S: EventStore>(store: S) {
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

pub(super) async fn mismatched_snapshots_are_refused<S: EventStore>(store: S) {
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
        rejected: None,
    }
}

pub(super) async fn idempotency_records_commit_atomically<S: EventStore>(store: S) {
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

pub(super) async fn expired_idempotency_keys_are_reused<S: EventStore>(store: S) {
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

pub(super) async fn outbox_entries_commit_with_their_events<S: EventStore>(store: S) {
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

pub(super) async fn rejected_commands_wait_in_the_inbox<S: EventStore>(store: S) {
    let events = vec![event("Order-r", 1)];
    let mut first = commit("Order-r", ExpectedVersion::NoStream, events.clone());
    first.outbox = Some(outbox_entry("Order-r", "cmd-r", 0, &events));
    store.commit(first).await.unwrap();
    let sizes = store.queue_sizes().await.unwrap();
    assert_eq!((sizes.outbox, sizes.rejected), (1, 0));
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
    let sizes = store.queue_sizes().await.unwrap();
    assert_eq!((sizes.outbox, sizes.rejected), (0, 2));
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

pub(super) async fn a_sync_never_strands_a_command_made_after_it_read_the_outbox<S: EventStore>(
    store: S,
) {
    let first = vec![event("Order-late", 1)];
    let mut read = commit("Order-late", ExpectedVersion::NoStream, first.clone());
    read.outbox = Some(outbox_entry("Order-late", "cmd-read", 0, &first));
    store.commit(read).await.unwrap();
    let seq = store.read_outbox(1).await.unwrap()[0].seq;
    // Made after the round read the outbox: the round knows nothing of it.
    let second = vec![event("Order-late", 2)];
    let mut late = commit("Order-late", ExpectedVersion::Exact(1), second.clone());
    late.outbox = Some(outbox_entry("Order-late", "cmd-late", 1, &second));
    store.commit(late).await.unwrap();
    let batch = fieldstream::store::SyncBatch {
        drop_pending: vec![(stream("Order-late"), 1)],
        drop_outbox: vec![seq],
        rejected: vec![rejection("cmd-read", "order_not_payable")],
        ..Default::default()
    };
    let refused = store.apply_sync(batch, None).await.unwrap_err();
    assert_eq!(refused.code(), "conflict", "{refused}");
    assert_eq!(
        store.stream_version(&stream("Order-late")).await.unwrap(),
        2
    );
    let outbox = store.read_outbox(10).await.unwrap();
    assert_eq!(outbox.len(), 2, "nothing changed");
    assert!(store.rejected().await.unwrap().is_empty());
}

pub(super) async fn the_outbox_reads_by_stream<S: EventStore>(store: S) {
    let mut versions = std::collections::HashMap::new();
    for (name, command_id) in [
        ("Order-a", "cmd-a1"),
        ("Order-b", "cmd-b1"),
        ("Order-a", "cmd-a2"),
        ("Order-c", "cmd-c1"),
        ("Order-b", "cmd-b2"),
    ] {
        let version: &mut u64 = versions.entry(name).or_default();
        let events = vec![event(name, *version + 1)];
        let mut next = commit(name, ExpectedVersion::Exact(*version), events.clone());
        next.outbox = Some(outbox_entry(name, command_id, *version, &events));
        store.commit(next).await.unwrap();
        *version += 1;
    }
    let commands = |entries: Vec<OutboxEntry>| -> Vec<String> {
        entries.into_iter().map(|entry| entry.command_id).collect()
    };
    let of = |names: &[&str]| names.iter().map(|name| stream(name)).collect::<Vec<_>>();
    assert_eq!(
        commands(store.read_outbox_of(&of(&["Order-a"])).await.unwrap()),
        vec!["cmd-a1", "cmd-a2"]
    );
    assert_eq!(
        commands(
            store
                .read_outbox_of(&of(&["Order-b", "Order-a"]))
                .await
                .unwrap()
        ),
        vec!["cmd-a1", "cmd-b1", "cmd-a2", "cmd-b2"],
        "oldest first across streams"
    );
    assert!(
        store
            .read_outbox_of(&of(&["Order-z"]))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.read_outbox_of(&[]).await.unwrap().is_empty());
    let a1 = store.read_outbox_of(&of(&["Order-a"])).await.unwrap()[0].seq;
    let batch = fieldstream::store::SyncBatch {
        drop_outbox: vec![a1],
        ..Default::default()
    };
    store.apply_sync(batch, None).await.unwrap();
    assert_eq!(
        commands(
            store
                .read_outbox_of(&of(&["Order-a", "Order-c"]))
                .await
                .unwrap()
        ),
        vec!["cmd-a2", "cmd-c1"],
        "a dropped entry is gone"
    );
}
