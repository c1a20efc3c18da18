//! Conformance cases of the event side: versions, expected versions, pages, local order,
//! duplicate ids, and envelopes that come back unchanged.

use super::*;

pub(super) async fn empty_stream_is_at_version_zero<S: EventStore>(store: S) {
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

pub(super) async fn appends_number_versions_from_one<S: EventStore>(store: S) {
    let first = append(&store, "Order-1", ExpectedVersion::NoStream, 3).await;
    assert_eq!(numbers(&first), vec![1, 2, 3]);
    let second = append(&store, "Order-1", ExpectedVersion::Exact(3), 2).await;
    assert_eq!(numbers(&second), vec![4, 5]);
    assert_eq!(store.stream_version(&stream("Order-1")).await.unwrap(), 5);
    let all = store.read_stream(&stream("Order-1"), 1, 100).await.unwrap();
    assert_eq!(numbers(&all), vec![1, 2, 3, 4, 5]);
    assert!(all.iter().all(|event| event.stream == stream("Order-1")));
}

pub(super) async fn reads_streams_in_pages<S: EventStore>(store: S) {
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

pub(super) async fn wrong_expected_version_conflicts<S: EventStore>(store: S) {
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

pub(super) async fn expected_version_kinds<S: EventStore>(store: S) {
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

pub(super) async fn duplicate_event_ids_are_refused<S: EventStore>(store: S) {
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

pub(super) async fn empty_commits_are_refused<S: EventStore>(store: S) {
    let error = store
        .commit(commit("Order-x", ExpectedVersion::Any, vec![]))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "invalid_input");
}

pub(super) async fn read_all_follows_local_order<S: EventStore>(store: S) {
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

pub(super) async fn envelopes_round_trip_unchanged<S: EventStore>(store: S) {
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

pub(super) async fn client_id_is_stable<S: EventStore>(store: S) {
    let id = store.client_id().to_owned();
    assert!(!id.is_empty());
    append(&store, "Order-1", ExpectedVersion::NoStream, 1).await;
    assert_eq!(store.client_id(), id);
}
