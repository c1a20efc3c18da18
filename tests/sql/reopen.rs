//! A `SqlStore` reopened on the same SQLite file keeps its outbox, read models, idempotency
//! records, keys, pull checkpoint and client id, and goes on numbering where it stopped.

use std::rc::Rc;

use fieldstream::core::personal::{KeyUpdate, SubjectKey};
use fieldstream::core::{Engine, ExecuteOptions, ProjectionOptions, StreamId};
use fieldstream::example::{Order, OrderProjection};
use fieldstream::store::{CommandQueue, EventLog, KeyVault, SqlStore, SyncBatch};

use super::{Sqlite, TempFile};
use crate::conformance::projections::{create, pay};

fn engine(store: &SqlStore<Sqlite>) -> Engine<SqlStore<Sqlite>> {
    let mut engine = Engine::new(store.clone());
    engine.register::<Order>().unwrap();
    engine
        .register_projection(Rc::new(OrderProjection), ProjectionOptions::default())
        .unwrap();
    engine
}

fn keyed(key: &str) -> ExecuteOptions {
    ExecuteOptions {
        idempotency_key: Some(key.into()),
        ..ExecuteOptions::default()
    }
}

#[test]
fn a_reopened_store_keeps_everything() {
    futures::executor::block_on(async {
        let file = TempFile::new("reopen");
        let stream = StreamId::parse("Order-o-1").unwrap();
        let first = {
            let store = SqlStore::open(Sqlite::file(&file.0)).unwrap();
            let engine = engine(&store);
            engine.catch_up_projections().await.unwrap();
            let first = engine
                .execute::<Order>("o-1", &create("c-1", 2), keyed("k-1"))
                .await
                .unwrap();
            engine
                .execute::<Order>("o-1", &pay(200), ExecuteOptions::default())
                .await
                .unwrap();
            let key = SubjectKey {
                subject: "c-1".into(),
                id: "key-1".into(),
                key: "a2V5".into(),
            };
            let update = KeyUpdate {
                put: vec![key],
                ..KeyUpdate::default()
            };
            store.update_keys(&update).await.unwrap();
            let batch = SyncBatch {
                checkpoint: Some(42),
                ..SyncBatch::default()
            };
            store.apply_sync(batch, None).await.unwrap();
            (first, store.client_id().to_owned())
        };
        let store = SqlStore::open(Sqlite::file(&file.0)).unwrap();
        assert_eq!(
            store.client_id(),
            first.1,
            "the client id is the database's"
        );
        let outbox = store.read_outbox(10).await.unwrap();
        assert_eq!(outbox.len(), 2, "both commands wait in the outbox");
        assert_eq!(store.pull_checkpoint().await.unwrap(), 42);
        let keys = store.keys().await.unwrap();
        assert_eq!(keys.keys.len(), 1);
        assert_eq!(keys.keys[0].subject, "c-1");
        let engine = engine(&store);
        engine.catch_up_projections().await.unwrap();
        let doc = engine.get("orders", "o-1").await.unwrap().expect("kept");
        assert_eq!(doc["status"], "Paid");
        let again = engine
            .execute::<Order>("o-1", &create("c-1", 2), keyed("k-1"))
            .await
            .unwrap();
        assert_eq!(again.version, first.0.version, "answered from the record");
        assert_eq!(store.stream_version(&stream).await.unwrap(), 2);
        // A new command numbers its events after the old ones and reuses no event id.
        engine
            .execute::<Order>("o-2", &create("c-2", 1), ExecuteOptions::default())
            .await
            .unwrap();
        let all = store.read_all(0, 10).await.unwrap();
        let seqs: Vec<u64> = all.iter().map(|stored| stored.seq).collect();
        assert_eq!(seqs, vec![1, 2, 3]);
        let mut taken = fieldstream::store::Commit::events(
            StreamId::parse("Order-o-3").unwrap(),
            fieldstream::core::ExpectedVersion::NoStream,
            vec![all[0].event.clone()],
        );
        taken.events[0].stream = StreamId::parse("Order-o-3").unwrap();
        let error = store.commit(taken).await.unwrap_err();
        assert_eq!(
            error.code(),
            "invalid_input",
            "an id stored before the reopen"
        );
    });
}

#[test]
fn a_newer_layout_is_refused() {
    let file = TempFile::new("layout");
    drop(SqlStore::open(Sqlite::file(&file.0)).unwrap());
    let conn = Sqlite::file(&file.0);
    conn.0
        .execute("UPDATE meta SET value = '99' WHERE key = 'layout'", [])
        .unwrap();
    let error = SqlStore::open(conn).err().expect("refused");
    assert_eq!(error.code(), "storage");
    assert!(error.to_string().contains("layout 99"), "{error}");
}

#[test]
fn a_reopened_store_never_reuses_a_sequence_number() {
    use super::against_memory::{command, confirmed};
    use fieldstream::store::{Commit, CommitOutcome};
    futures::executor::block_on(async {
        let file = TempFile::new("seq");
        let committed = |outcome: CommitOutcome| match outcome {
            CommitOutcome::Committed(events) => events,
            other => panic!("{other:?}"),
        };
        {
            let store = SqlStore::open(Sqlite::file(&file.0)).unwrap();
            let a = committed(store.commit(command("Order-a", 0, 2, "a")).await.unwrap());
            store.commit(command("Order-b", 0, 2, "b")).await.unwrap();
            // Command a confirmed, command b dropped: no pending row shows seq 4 any more.
            let batch = SyncBatch {
                drop_pending: vec![(StreamId::parse("Order-b").unwrap(), 1)],
                drop_outbox: vec![1, 3],
                confirmed: vec![confirmed(&a[0], 1), confirmed(&a[1], 2)],
                checkpoint: Some(2),
                ..SyncBatch::default()
            };
            store.apply_sync(batch, None).await.unwrap();
        }
        let store = SqlStore::open(Sqlite::file(&file.0)).unwrap();
        let next: Commit = command("Order-c", 0, 1, "c");
        store.commit(next).await.unwrap();
        let seqs: Vec<u64> = store
            .read_all(0, 10)
            .await
            .unwrap()
            .iter()
            .map(|stored| stored.seq)
            .collect();
        assert_eq!(seqs, vec![1, 2, 5]);
    });
}
