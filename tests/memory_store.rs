//! The store conformance suite on `MemoryStore`.

#![cfg(not(target_arch = "wasm32"))]

mod conformance;

use fieldstream::store::MemoryStore;

/// The conformance suite on `MemoryStore`, one test per case.
mod suite {
    use super::*;

    conformance::each_case!(conformance::blocking_case_tests; MemoryStore::new());

    #[test]
    fn every_case_has_a_test() {
        conformance::every_case_has_a_test::<MemoryStore>();
    }
}

#[test]
fn clones_share_the_same_data() {
    use fieldstream::core::{ExpectedVersion, StreamId};
    use fieldstream::store::{Commit, EventLog};
    futures::executor::block_on(async {
        let store = MemoryStore::with_client_id("device-1");
        let reopened = store.clone();
        let commit = Commit {
            stream: StreamId::parse("Order-1").unwrap(),
            expected: ExpectedVersion::NoStream,
            events: vec![conformance::event("Order-1", 1)],
            snapshot: None,
            idempotency: None,
            outbox: None,
            projector: None,
        };
        store.commit(commit).await.unwrap();
        assert_eq!(
            reopened
                .stream_version(&StreamId::parse("Order-1").unwrap())
                .await
                .unwrap(),
            1
        );
        assert_eq!(reopened.client_id(), "device-1");
    });
}
