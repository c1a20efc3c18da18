//! Personal data on the memory store: sealed in storage, open through the engine, typed errors
//! for wrong keys and tampering, and forgetting a subject across state, history and read models.

#![cfg(not(target_arch = "wasm32"))]

mod personal;

use std::rc::Rc;

use fieldstream::core::{
    Engine, Error, ExpectedVersion, KeyUpdate, REDACTED, StreamId, SubjectKey,
};
use fieldstream::example::{Order, OrderCommand, OrderItem};
use fieldstream::store::{CommandQueue, Commit, EventLog, KeyVault, MemoryStore};
use personal::{Delivery, DeliveryCommand, DeliveryProjection, book};
use serde_json::{Value, json};

#[path = "shared/plaintext.rs"]
mod plaintext;
use plaintext::holds_plaintext;

fn run<F: std::future::Future>(future: F) -> F::Output {
    futures::executor::block_on(future)
}

fn engine(store: MemoryStore) -> Engine<MemoryStore> {
    let mut engine = Engine::new(store);
    engine.register::<Delivery>().unwrap();
    engine
        .register_projection(Rc::new(DeliveryProjection), Default::default())
        .unwrap();
    engine
}

/// Everything the store holds of events, outbox and snapshots, as JSON text.
async fn raw(store: &MemoryStore) -> String {
    let events: Vec<_> = store
        .read_all(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|stored| stored.event)
        .collect();
    let outbox = store.read_outbox(1000).await.unwrap();
    let mut snapshots = Vec::new();
    for event in &events {
        snapshots.push(store.latest_snapshot(&event.stream).await.unwrap());
    }
    format!(
        "{}{}{:?}",
        serde_json::to_string(&events).unwrap(),
        serde_json::to_string(&outbox).unwrap(),
        snapshots
    )
}

#[test]
fn personal_fields_are_sealed_in_storage_and_open_through_the_engine() {
    run(async {
        let store = MemoryStore::new();
        let engine = engine(store.clone());
        engine.catch_up_projections().await.unwrap();
        let done = engine
            .execute::<Delivery>("d1", &book("c1", "Ada", "555-0101"), Default::default())
            .await
            .unwrap();
        assert_eq!(done.events[0].data["customerName"], "Ada");
        let text = raw(&store).await;
        for secret in ["Ada", "555-0101", "Lyon"] {
            assert!(
                !holds_plaintext(&text, secret),
                "{secret} is stored in clear: {text}"
            );
        }
        assert!(text.contains("\"$enc\":\"v1\"") && text.contains("\"customerId\":\"c1\""));
        assert!(
            !text.contains("snapshot"),
            "no snapshot of a personal aggregate: {text}"
        );

        let state = engine.load::<Delivery>("d1").await.unwrap().state;
        assert_eq!(
            (state.customer_name.as_str(), state.phone.as_str()),
            ("Ada", "555-0101")
        );
        assert_eq!(state.address["city"], "Lyon");
        let history = engine.history("Delivery", "d1").await.unwrap();
        assert_eq!(history[0].data["phone"], "555-0101");
        assert_eq!(
            engine.get("deliveries", "d1").await.unwrap().unwrap()["name"],
            "Ada"
        );

        // A restarted engine on the same store loads the keys it needs.
        let again = self::engine(store.clone());
        assert_eq!(
            again
                .load::<Delivery>("d1")
                .await
                .unwrap()
                .state
                .customer_name,
            "Ada"
        );
    });
}

#[test]
fn an_aggregate_without_personal_data_is_left_alone() {
    run(async {
        let store = MemoryStore::new();
        let mut engine = Engine::new(store.clone());
        engine.register::<Order>().unwrap();
        let command = OrderCommand::CreateOrder {
            customer_id: "Ada".into(),
            items: vec![OrderItem {
                product_id: "p".into(),
                quantity: 1,
                unit_price: 5,
            }],
        };
        engine
            .execute::<Order>("o1", &command, Default::default())
            .await
            .unwrap();
        assert!(!engine.shredder().is_active());
        assert!(raw(&store).await.contains("\"customerId\":\"Ada\""));
        assert_eq!(store.keys().await.unwrap(), Default::default());
    });
}

/// A second store holding a copy of `source`'s events (changed by `edit`) and `keys`.
async fn copy_with(
    source: &MemoryStore,
    keys: Vec<SubjectKey>,
    edit: impl Fn(&mut Value),
) -> Engine<MemoryStore> {
    let copy = MemoryStore::new();
    let stream = StreamId::parse("Delivery-d1").unwrap();
    let mut events = source.read_stream(&stream, 1, 10).await.unwrap();
    edit(&mut events[0].data);
    let commit = Commit::events(stream, ExpectedVersion::NoStream, events);
    copy.commit(commit).await.unwrap();
    copy.update_keys(&KeyUpdate {
        put: keys,
        ..Default::default()
    })
    .await
    .unwrap();
    let mut engine = Engine::new(copy);
    engine.register::<Delivery>().unwrap();
    engine
}

/// A change made to a stored event's data.
type Edit = Box<dyn Fn(&mut Value)>;

#[test]
fn wrong_keys_and_tampered_ciphertext_fail_with_a_crypto_error() {
    run(async {
        let store = MemoryStore::new();
        engine(store.clone())
            .execute::<Delivery>("d1", &book("c1", "Ada", "555-0101"), Default::default())
            .await
            .unwrap();
        let keys = store.keys().await.unwrap().keys;
        let intact = copy_with(&store, keys.clone(), |_| {}).await;
        assert_eq!(
            intact.load::<Delivery>("d1").await.unwrap().state.phone,
            "555-0101"
        );

        let wrong = SubjectKey {
            id: keys[0].id.clone(),
            ..SubjectKey::generate("c1").unwrap()
        };
        let cases: Vec<(&str, Vec<SubjectKey>, Edit)> = vec![
            ("wrong key", vec![wrong], Box::new(|_| {})),
            ("no key", vec![], Box::new(|_| {})),
            (
                "tampered",
                keys.clone(),
                Box::new(|data| {
                    let c = data["phone"]["c"].as_str().unwrap().to_owned();
                    let flipped = if c.starts_with('A') { "B" } else { "A" };
                    data["phone"]["c"] = json!(format!("{flipped}{}", &c[1..]));
                }),
            ),
            (
                "moved between fields",
                keys.clone(),
                Box::new(|data| data["phone"] = data["customerName"].clone()),
            ),
            (
                "malformed",
                keys.clone(),
                Box::new(|data| data["phone"] = json!({"$enc": "v1", "k": "c1"})),
            ),
        ];
        for (name, keys, edit) in cases {
            let engine = copy_with(&store, keys, edit).await;
            let error = engine.load::<Delivery>("d1").await.unwrap_err();
            assert!(matches!(error, Error::Crypto(_)), "{name}: {error:?}");
            assert_eq!(error.code(), "crypto");
            let error = engine.history("Delivery", "d1").await.unwrap_err();
            assert_eq!(error.code(), "crypto", "{name}");
            let reschedule = DeliveryCommand::Reschedule {
                slot: "friday".into(),
            };
            let refused = engine.execute::<Delivery>("d1", &reschedule, Default::default());
            assert_eq!(refused.await.unwrap_err().code(), "crypto", "{name}");
            assert_eq!(
                engine
                    .store()
                    .stream_version(&"Delivery-d1".parse_stream())
                    .await
                    .unwrap(),
                1
            );
        }
    });
}

trait ParseStream {
    fn parse_stream(&self) -> StreamId;
}

impl ParseStream for &str {
    fn parse_stream(&self) -> StreamId {
        StreamId::parse(*self).unwrap()
    }
}

#[test]
fn forgetting_a_subject_redacts_every_read_path_and_nothing_brings_it_back() {
    run(async {
        let store = MemoryStore::new();
        let engine = engine(store.clone());
        engine.catch_up_projections().await.unwrap();
        for (id, customer, name, phone) in [
            ("d1", "c1", "Ada", "555-0101"),
            ("d2", "c2", "Bob", "555-0202"),
        ] {
            engine
                .execute::<Delivery>(id, &book(customer, name, phone), Default::default())
                .await
                .unwrap();
        }
        assert!(
            engine
                .get("deliveries", "name:Ada")
                .await
                .unwrap()
                .is_some()
        );
        engine.forget_subject("c1").await.unwrap();

        let state = engine.load::<Delivery>("d1").await.unwrap().state;
        assert_eq!(
            (state.customer_name.as_str(), state.phone.as_str()),
            (REDACTED, REDACTED)
        );
        assert_eq!(state.address, json!(REDACTED));
        assert_eq!(
            (state.customer_id.as_str(), state.slot.as_str()),
            ("c1", "monday")
        );
        let history = engine.history("Delivery", "d1").await.unwrap();
        assert_eq!(history[0].data["customerName"], REDACTED);
        let doc = engine.get("deliveries", "d1").await.unwrap().unwrap();
        assert_eq!(
            (doc["name"].as_str(), doc["phone"].as_str()),
            (Some(REDACTED), Some(REDACTED))
        );
        assert!(
            engine
                .get("deliveries", "name:Ada")
                .await
                .unwrap()
                .is_none(),
            "stale key"
        );
        let other = engine.load::<Delivery>("d2").await.unwrap().state;
        assert_eq!(other.customer_name, "Bob");
        assert_eq!(
            engine.get("deliveries", "name:Bob").await.unwrap().unwrap()["delivery"],
            "d2"
        );

        // Decisions go on with the other fields.
        let reschedule = DeliveryCommand::Reschedule {
            slot: "friday".into(),
        };
        engine
            .execute::<Delivery>("d1", &reschedule, Default::default())
            .await
            .unwrap();
        assert_eq!(
            engine.get("deliveries", "d1").await.unwrap().unwrap()["slot"],
            "friday"
        );
        let rebook = book("c1", "Ada", "555-0101");
        let again = engine.execute::<Delivery>("d3", &rebook, Default::default());
        assert_eq!(
            again.await.unwrap_err().code(),
            "invalid_input",
            "a forgotten subject stays forgotten"
        );
        assert_eq!(
            engine
                .store()
                .stream_version(&"Delivery-d3".parse_stream())
                .await
                .unwrap(),
            0
        );
        let keys = store.keys().await.unwrap();
        assert!(keys.keys.iter().all(|key| key.subject != "c1"));
        assert_eq!(keys.forgotten, vec!["c1".to_owned()]);
        assert_eq!(keys.unsent, vec!["c1".to_owned()], "queued for the server");

        // Neither a rebuild nor a restarted engine brings the plaintext back.
        engine.projector().force_rebuilds();
        engine.catch_up_projections().await.unwrap();
        let restarted = self::engine(store.clone());
        restarted.catch_up_projections().await.unwrap();
        for engine in [&engine, &restarted] {
            let doc = engine.get("deliveries", "d1").await.unwrap().unwrap();
            assert_eq!(doc["name"], REDACTED);
            assert_eq!(
                engine.load::<Delivery>("d1").await.unwrap().state.phone,
                REDACTED
            );
        }
        let text = raw(&store).await;
        assert!(!holds_plaintext(&text, "Ada") && !holds_plaintext(&text, "Bob"));
    });
}

#[test]
fn the_outbox_keeps_commands_sealed() {
    run(async {
        let store = MemoryStore::new();
        engine(store.clone())
            .execute::<Delivery>("d1", &book("c1", "Ada", "555-0101"), Default::default())
            .await
            .unwrap();
        let outbox = store.read_outbox(10).await.unwrap();
        assert_eq!(outbox[0].command["$enc"], "v1");
        let opened = engine(store.clone())
            .shredder()
            .reveal_command(&outbox[0].command_id, &outbox[0].command);
        assert_eq!(
            opened.unwrap_err().code(),
            "crypto",
            "the ring is not loaded yet"
        );
    });
}

#[test]
fn a_projection_that_cannot_open_an_event_fails_its_catch_up_instead_of_spinning() {
    run(async {
        let store = MemoryStore::new();
        engine(store.clone())
            .execute::<Delivery>("d1", &book("c1", "Ada", "555-0101"), Default::default())
            .await
            .unwrap();
        let mut engine = copy_with(&store, Vec::new(), |_| {}).await;
        engine
            .register_projection(Rc::new(DeliveryProjection), Default::default())
            .unwrap();
        let error = engine.catch_up_projections().await.unwrap_err();
        assert_eq!(error.code(), "crypto", "{error:?}");
        let status = engine.projection_status("deliveries").await.unwrap();
        let retry = status.retry.expect("the step waits for a retry");
        assert_eq!((retry.attempts, retry.event_id), (1, None));
        assert!(retry.last_error.message.contains("key"));
    });
}
