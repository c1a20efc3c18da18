//! The store conformance suite on `MemoryStore`.

#![cfg(not(target_arch = "wasm32"))]

mod conformance;

use fieldstream::store::MemoryStore;

#[test]
fn memory_store_passes_the_conformance_suite() {
    futures::executor::block_on(conformance::run_all(|| async { MemoryStore::new() }));
}

#[test]
fn clones_share_the_same_data() {
    use fieldstream::core::{ExpectedVersion, StreamId};
    use fieldstream::store::{Commit, EventStore};
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
