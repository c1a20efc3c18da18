//! The backend conformance suite: written once, generic over [`Backend`], run on SQLite and on
//! PostgreSQL.

use fieldstream::core::{ExpectedVersion, StreamId};
use fieldstream::protocol::{AppendResponse, ClientEvent};
use fieldstream_server::backend::{AppendOutcome, Backend, PageSize};
use serde_json::json;
use uuid::Uuid;

/// A page of `limit` events with a budget no test event reaches.
pub fn page(limit: u32) -> PageSize {
    PageSize::new(limit, 64 << 20)
}

/// The conflict page every append test uses.
pub const CONFLICT: PageSize = PageSize {
    limit: 1_000,
    max_bytes: 4 << 20,
};

pub fn stream(name: &str) -> StreamId {
    StreamId::parse(name).unwrap()
}

pub fn events(n: usize) -> Vec<ClientEvent> {
    (0..n)
        .map(|i| ClientEvent {
            id: Uuid::new_v4(),
            event_type: "Happened".into(),
            schema_version: 1,
            data: json!({"i": i}),
            metadata: json!({}),
        })
        .collect()
}

pub async fn appended<B: Backend>(
    b: &B,
    tenant: &str,
    s: &str,
    expected: ExpectedVersion,
    e: &[ClientEvent],
) -> AppendResponse {
    match b
        .append(tenant, &stream(s), expected, e, CONFLICT)
        .await
        .unwrap()
    {
        AppendOutcome::Appended(response) => response,
        other => panic!("expected an append, got {other:?}"),
    }
}

pub async fn append_and_read<B: Backend>(b: B) {
    let first = events(3);
    let r = appended(&b, "t", "Order-1", ExpectedVersion::NoStream, &first).await;
    assert_eq!(
        (
            r.first_version,
            r.last_version,
            r.first_position,
            r.last_position
        ),
        (1, 3, 1, 3)
    );
    let r = appended(&b, "t", "Order-2", ExpectedVersion::Exact(0), &events(1)).await;
    assert_eq!((r.first_version, r.first_position), (1, 4));
    let r = appended(&b, "t", "Order-1", ExpectedVersion::Exact(3), &events(2)).await;
    assert_eq!(
        (
            r.first_version,
            r.last_version,
            r.first_position,
            r.last_position
        ),
        (4, 5, 5, 6)
    );

    let (current, read) = b
        .read_stream("t", &stream("Order-1"), 1, page(1000))
        .await
        .unwrap();
    assert_eq!(current, 5);
    assert_eq!(
        read.iter().map(|e| e.version).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(
        read.iter().map(|e| e.position).collect::<Vec<_>>(),
        [1, 2, 3, 5, 6]
    );
    assert_eq!(read[0].id, first[0].id);
    assert_eq!(read[2].data, json!({"i": 2}));
    let (_, two) = b
        .read_stream("t", &stream("Order-1"), 2, page(2))
        .await
        .unwrap();
    assert_eq!(two.iter().map(|e| e.version).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(
        b.read_stream("t", &stream("Nope"), 1, page(10))
            .await
            .unwrap(),
        (0, vec![])
    );

    let all = b.read_all("t", 0, page(1000), None).await.unwrap().events;
    assert_eq!(
        all.iter().map(|e| e.position).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6]
    );
    let after = b.read_all("t", 4, page(1), None).await.unwrap().events;
    assert_eq!(after.iter().map(|e| e.position).collect::<Vec<_>>(), [5]);
    assert_eq!(b.head("t").await.unwrap(), 6);
    assert_eq!(b.head("other").await.unwrap(), 0);
}

pub async fn expected_version_rules<B: Backend>(b: B) {
    let s = stream("s");
    let conflict = |outcome: AppendOutcome| match outcome {
        AppendOutcome::Conflict(c) => *c,
        other => panic!("expected a conflict, got {other:?}"),
    };
    let c = conflict(
        b.append("t", &s, ExpectedVersion::StreamExists, &events(1), CONFLICT)
            .await
            .unwrap(),
    );
    assert_eq!((c.current_version, c.events.len()), (0, 0));
    appended(&b, "t", "s", ExpectedVersion::Any, &events(2)).await;
    appended(&b, "t", "s", ExpectedVersion::StreamExists, &events(1)).await;
    let c = conflict(
        b.append("t", &s, ExpectedVersion::NoStream, &events(1), CONFLICT)
            .await
            .unwrap(),
    );
    assert_eq!(c.current_version, 3);
    assert_eq!(
        c.events.iter().map(|e| e.version).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let c = conflict(
        b.append("t", &s, ExpectedVersion::Exact(1), &events(1), CONFLICT)
            .await
            .unwrap(),
    );
    assert_eq!(c.expected_version, ExpectedVersion::Exact(1));
    assert_eq!(
        c.events.iter().map(|e| e.version).collect::<Vec<_>>(),
        [2, 3]
    );
    let c = conflict(
        b.append("t", &s, ExpectedVersion::Exact(7), &events(1), CONFLICT)
            .await
            .unwrap(),
    );
    assert!(c.events.is_empty());
    assert_eq!(b.head("t").await.unwrap(), 3, "conflicts write nothing");

    // The rebase payload is capped at 1,000 events.
    let big = stream("big");
    for chunk in 0..3 {
        appended(
            &b,
            "t",
            "big",
            ExpectedVersion::Exact(chunk * 400),
            &events(400),
        )
        .await;
    }
    let c = conflict(
        b.append("t", &big, ExpectedVersion::NoStream, &events(1), CONFLICT)
            .await
            .unwrap(),
    );
    assert_eq!(c.current_version, 1200);
    assert_eq!(c.events.len(), 1000);
    assert_eq!(c.events[999].version, 1000);
}

pub async fn exactly_once<B: Backend>(b: B) {
    let s = stream("s");
    let batch = events(3);
    let first = appended(&b, "t", "s", ExpectedVersion::NoStream, &batch).await;
    appended(&b, "t", "s", ExpectedVersion::Exact(3), &events(1)).await;
    for expected in [
        ExpectedVersion::NoStream,
        ExpectedVersion::Any,
        ExpectedVersion::Exact(99),
    ] {
        let again = b.append("t", &s, expected, &batch, CONFLICT).await.unwrap();
        assert_eq!(again, AppendOutcome::Replayed(first.clone()));
    }
    assert_eq!(b.head("t").await.unwrap(), 4, "replays write nothing");

    let mismatch = |outcome: AppendOutcome| {
        assert!(
            matches!(outcome, AppendOutcome::IdempotencyMismatch(_)),
            "{outcome:?}"
        )
    };
    // The rule is about the request's ids: a run of stored events, in order, is a replay too.
    match b
        .append("t", &s, ExpectedVersion::Any, &batch[1..], CONFLICT)
        .await
        .unwrap()
    {
        AppendOutcome::Replayed(r) => assert_eq!((r.first_version, r.last_version), (2, 3)),
        other => panic!("{other:?}"),
    }
    let mut partial = batch[..1].to_vec();
    partial.extend(events(1));
    mismatch(
        b.append("t", &s, ExpectedVersion::Any, &partial, CONFLICT)
            .await
            .unwrap(),
    );
    let reversed: Vec<_> = batch.iter().rev().cloned().collect();
    mismatch(
        b.append("t", &s, ExpectedVersion::Any, &reversed, CONFLICT)
            .await
            .unwrap(),
    );
    mismatch(
        b.append(
            "t",
            &stream("elsewhere"),
            ExpectedVersion::Any,
            &batch,
            CONFLICT,
        )
        .await
        .unwrap(),
    );
    assert_eq!(b.head("t").await.unwrap(), 4, "mismatches write nothing");

    // Ids are unique per tenant: another tenant may use the same ids.
    let other = appended(&b, "u", "s", ExpectedVersion::NoStream, &batch).await;
    assert_eq!(other.first_position, 1);
}

pub async fn tenants_are_isolated<B: Backend>(b: B) {
    appended(&b, "a", "s", ExpectedVersion::NoStream, &events(2)).await;
    let r = appended(&b, "b", "s", ExpectedVersion::NoStream, &events(1)).await;
    assert_eq!(
        (r.first_version, r.first_position),
        (1, 1),
        "positions and versions are per tenant"
    );
    assert_eq!(
        b.read_all("a", 0, page(100), None)
            .await
            .unwrap()
            .events
            .len(),
        2
    );
    assert_eq!(
        b.read_all("b", 0, page(100), None)
            .await
            .unwrap()
            .events
            .len(),
        1
    );
    assert_eq!(
        b.read_stream("b", &stream("s"), 1, page(100))
            .await
            .unwrap()
            .0,
        1
    );
    assert_eq!(
        (b.head("a").await.unwrap(), b.head("b").await.unwrap()),
        (2, 1)
    );
}

pub async fn notifies_after_commit<B: Backend>(b: B) {
    let mut heads = b.notifier().subscribe();
    appended(&b, "t", "s", ExpectedVersion::NoStream, &events(2)).await;
    let changed = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            let changed = heads.recv().await.unwrap();
            if changed.concerns("t", 0) {
                return changed;
            }
        }
    })
    .await
    .expect("a head signal");
    assert!(changed.head == 2 || changed.tenant.is_none());
    assert_eq!(
        b.read_all("t", 0, page(10), None)
            .await
            .unwrap()
            .events
            .len(),
        2,
        "visible when signalled"
    );
}

macro_rules! conformance {
    ($backend:ident, $make:path, $other:path) => {
        mod $backend {
            #[tokio::test]
            async fn append_and_read() {
                super::append_and_read($make().await).await;
            }
            #[tokio::test]
            async fn expected_version_rules() {
                super::expected_version_rules($make().await).await;
            }
            #[tokio::test]
            async fn exactly_once() {
                super::exactly_once($make().await).await;
            }
            #[tokio::test]
            async fn tenants_are_isolated() {
                super::tenants_are_isolated($make().await).await;
            }
            #[tokio::test]
            async fn grants_filter_reads() {
                crate::conformance_more::grants_filter_reads($make().await).await;
            }
            #[tokio::test]
            async fn stores_events_as_given() {
                crate::conformance_more::stores_events_as_given($make().await).await;
            }
            #[tokio::test]
            async fn export_then_import() {
                crate::conformance_more::export_then_import($make().await, $make().await).await;
            }
            #[tokio::test]
            async fn export_then_import_across_backends() {
                crate::conformance_more::export_then_import($make().await, $other().await).await;
            }
            #[tokio::test]
            async fn reports_durability() {
                crate::conformance_more::reports_durability($make().await).await;
            }
            #[tokio::test]
            async fn notifies_after_commit() {
                super::notifies_after_commit($make().await).await;
            }
        }
    };
}

conformance!(sqlite, crate::support::sqlite, crate::support::postgres);
conformance!(
    sqlite_in_memory,
    crate::support::sqlite_in_memory,
    crate::support::sqlite
);
conformance!(postgres, crate::support::postgres, crate::support::sqlite);
