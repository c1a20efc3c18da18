//! A `SqlStore` opened with an at-rest key keeps no readable subject key, document or undo
//! record in its database, reads them back with the key, and refuses to read them without it.

use std::rc::Rc;

use fieldstream::core::personal::{KeyUpdate, SubjectKey};
use fieldstream::core::{Engine, ExecuteOptions, ProjectionOptions};
use fieldstream::example::{Order, OrderProjection};
use fieldstream::store::{EventLog, KeyVault, ReadModelStore, SqlStore, SyncBatch};

use super::{Sqlite, TempFile};
use crate::conformance::projections::{create, pay};

const KEY: [u8; 32] = [7; 32];
const SUBJECT_KEY: &str = "c2VjcmV0LXN1YmplY3Qta2V5";

/// Every body of `table` in the database, as text.
fn bodies(store: &SqlStore<Sqlite>, sql: &str) -> String {
    let conn = &store.connection().0;
    let mut statement = conn.prepare(sql).unwrap();
    let rows = statement
        .query_map([], |row| row.get::<_, Option<String>>(0))
        .unwrap();
    rows.map(|row| row.unwrap().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn sealed_bodies_read_only_with_their_key() {
    futures::executor::block_on(async {
        let file = TempFile::new("at-rest");
        let salt = SqlStore::at_rest_salt(&Sqlite::file(&file.0)).unwrap();
        assert_eq!(salt.len(), 16);
        assert_eq!(
            SqlStore::at_rest_salt(&Sqlite::file(&file.0)).unwrap(),
            salt
        );
        {
            let store = SqlStore::open_sealed(Sqlite::file(&file.0), &KEY).unwrap();
            let mut engine = Engine::new(store.clone());
            engine.register::<Order>().unwrap();
            engine
                .register_projection(Rc::new(OrderProjection), ProjectionOptions::default())
                .unwrap();
            engine.catch_up_projections().await.unwrap();
            let options = ExecuteOptions::default;
            engine
                .execute::<Order>("o-1", &create("customer-4711", 2), options())
                .await
                .unwrap();
            // Confirmed, so that the next command's undo record holds the document before it.
            let created = store.read_all(0, 1).await.unwrap().remove(0).event;
            let batch = SyncBatch {
                drop_outbox: vec![1],
                confirmed: vec![super::against_memory::confirmed(&created, 1)],
                checkpoint: Some(1),
                ..SyncBatch::default()
            };
            engine.apply_sync(batch).await.unwrap();
            engine
                .execute::<Order>("o-1", &pay(200), options())
                .await
                .unwrap();
            let update = KeyUpdate {
                put: vec![SubjectKey {
                    subject: "customer-4711".into(),
                    id: "k-1".into(),
                    key: SUBJECT_KEY.into(),
                }],
                ..KeyUpdate::default()
            };
            store.update_keys(&update).await.unwrap();
            let docs = bodies(&store, "SELECT body FROM docs");
            let undo = bodies(&store, "SELECT before FROM undo");
            let keys = bodies(&store, "SELECT body FROM keys");
            assert!(!docs.is_empty() && !undo.is_empty() && !keys.is_empty());
            for (what, text) in [("documents", &docs), ("undo records", &undo)] {
                assert!(!text.contains("customer-4711"), "{what} in clear: {text}");
            }
            assert!(
                !keys.contains(SUBJECT_KEY),
                "the key store in clear: {keys}"
            );
        }
        let store = SqlStore::open_sealed(Sqlite::file(&file.0), &KEY).unwrap();
        let keys = store.keys().await.unwrap();
        assert_eq!(keys.keys[0].key, SUBJECT_KEY);
        let doc = store.get_doc("orders@1", "o-1").await.unwrap();
        assert_eq!(doc.expect("kept")["customerId"], "customer-4711");
        let plain = SqlStore::open(Sqlite::file(&file.0)).unwrap();
        assert_eq!(plain.keys().await.unwrap_err().code(), "crypto");
        assert_eq!(
            plain.get_doc("orders@1", "o-1").await.unwrap_err().code(),
            "crypto"
        );
        let other = SqlStore::open_sealed(Sqlite::file(&file.0), &[8; 32]).unwrap();
        assert_eq!(other.keys().await.unwrap_err().code(), "crypto");
    });
}
