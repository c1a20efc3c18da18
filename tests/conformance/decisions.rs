//! Commands decided inside a store's write (`EventStore::decide_and_commit`).

use super::*;
use fieldstream::store::{Decided, Decision};

/// A decision that records what the store handed it and appends `append` events (or fails).
struct Probe {
    name: &'static str,
    use_snapshot: bool,
    append: Option<u64>,
    expected: Option<ExpectedVersion>,
    snapshot_seen: Option<u64>,
    pages: Vec<Vec<u64>>,
}

impl Probe {
    fn new(name: &'static str, append: Option<u64>) -> Self {
        Probe {
            name,
            use_snapshot: true,
            append,
            expected: None,
            snapshot_seen: None,
            pages: Vec::new(),
        }
    }

    fn head(&self) -> u64 {
        let folded = self.pages.iter().flatten().last().copied();
        folded
            .or(self.snapshot_seen.filter(|_| self.use_snapshot))
            .unwrap_or(0)
    }
}

impl Decision for Probe {
    fn page_size(&self) -> usize {
        2
    }

    fn start(&mut self, snapshot: Option<Snapshot>) -> fieldstream::core::Result<u64> {
        self.snapshot_seen = snapshot.map(|snapshot| snapshot.version);
        Ok(self
            .snapshot_seen
            .filter(|_| self.use_snapshot)
            .unwrap_or(0))
    }

    fn fold(&mut self, page: Vec<EventEnvelope>) -> fieldstream::core::Result<()> {
        self.pages.push(numbers(&page));
        Ok(())
    }

    fn decide(&mut self) -> fieldstream::core::Result<Option<Commit>> {
        let Some(count) = self.append else {
            return Err(Error::InvalidInput("the probe refuses".into()));
        };
        if count == 0 {
            return Ok(None);
        }
        let head = self.head();
        let events = (1..=count).map(|n| event(self.name, head + n)).collect();
        let expected = self.expected.unwrap_or(ExpectedVersion::Exact(head));
        Ok(Some(commit(self.name, expected, events)))
    }
}

pub(super) async fn commands_are_decided_inside_the_write<S: EventStore>(store: S) {
    let name = "Order-d";
    let mut probe = Probe::new(name, Some(2));
    let decided = store
        .decide_and_commit(&stream(name), &mut probe)
        .await
        .unwrap();
    if decided == Decided::InSteps {
        // This store loads and commits in steps; nothing else to check.
        return;
    }
    let Decided::Done(CommitOutcome::Committed(events)) = decided else {
        panic!("expected a commit, got {decided:?}");
    };
    assert_eq!(numbers(&events), vec![1, 2]);
    assert_eq!((probe.snapshot_seen, probe.pages), (None, vec![vec![]]));

    let mut third = commit(name, ExpectedVersion::Exact(2), vec![event(name, 3)]);
    third.snapshot = Some(Snapshot {
        stream: stream(name),
        version: 3,
        state_version: 1,
        state: json!({ "upTo": 3 }),
        taken_at: Timestamp(1),
        event_id: None,
    });
    store.commit(third).await.unwrap();
    append(&store, name, ExpectedVersion::Exact(3), 2).await;

    let mut after_snapshot = Probe::new(name, Some(1));
    let decided = store
        .decide_and_commit(&stream(name), &mut after_snapshot)
        .await
        .unwrap();
    assert!(
        matches!(decided, Decided::Done(CommitOutcome::Committed(ref e)) if numbers(e) == vec![6])
    );
    assert_eq!(after_snapshot.snapshot_seen, Some(3));
    assert_eq!(
        after_snapshot.pages,
        vec![vec![4, 5], vec![]],
        "the events after the snapshot, until a short page"
    );

    let mut from_the_start = Probe::new(name, Some(0));
    from_the_start.use_snapshot = false;
    let decided = store
        .decide_and_commit(&stream(name), &mut from_the_start)
        .await
        .unwrap();
    assert_eq!(decided, Decided::Nothing);
    assert_eq!(
        from_the_start.pages,
        vec![vec![1, 2], vec![3, 4], vec![5, 6], vec![]],
        "every event, in pages"
    );

    let mut refusing = Probe::new(name, None);
    let error = store
        .decide_and_commit(&stream(name), &mut refusing)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "invalid_input");
    let mut stale = Probe::new(name, Some(1));
    stale.expected = Some(ExpectedVersion::Exact(4));
    let error = store
        .decide_and_commit(&stream(name), &mut stale)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "conflict");
    assert_eq!(
        store.stream_version(&stream(name)).await.unwrap(),
        6,
        "a refused or conflicting decision writes nothing"
    );
}
