//! Loading aggregates: snapshots, state schema versions, upcaster chains (which read models see
//! too), paged reads.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::rc::Rc;

use common::{Counter, CounterCommand, run};
use fieldstream::core::{
    Aggregate, DomainError, Engine, EngineConfig, EventEnvelope, EventMetadata, ExpectedVersion,
    Projection, ProjectionOptions, StreamId, Timestamp, Upcasters, View,
};
use fieldstream::store::{Commit, EventLog, MemoryStore};
use serde::{Deserialize, Serialize};
use serde_json::json;

fn counter_engine(store: MemoryStore) -> Engine<MemoryStore> {
    let mut engine = Engine::new(store).with_upcasters(counter_upcasters());
    engine.register::<Counter>().unwrap();
    engine
}

fn counter_upcasters() -> Upcasters {
    let mut upcasters = Upcasters::new();
    upcasters
        .register("Added", 1, |data| Ok(json!({ "amount": data["n"] })))
        .unwrap();
    upcasters
        .register("Added", 2, |mut data| {
            data["unit"] = json!("pcs");
            Ok(data)
        })
        .unwrap();
    upcasters
}

#[test]
fn snapshots_are_taken_every_n_events_and_used_on_load() {
    run(async {
        let store = MemoryStore::default();
        let engine = counter_engine(store.clone());
        for _ in 0..12 {
            engine
                .execute::<Counter>("k", &CounterCommand::Add { amount: 2 }, Default::default())
                .await
                .unwrap();
        }
        let snapshot = store
            .latest_snapshot(&StreamId::parse("Counter-k").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!((snapshot.version, snapshot.state_version), (10, 1));
        assert_eq!(snapshot.state, json!({"total": 20, "adds": 10}));

        store.reset_read_stats();
        let loaded = engine.load::<Counter>("k").await.unwrap();
        assert_eq!((loaded.version, loaded.state.total), (12, 24));
        assert_eq!(
            store.read_stats().events_read,
            3,
            "only the snapshot's own event (to check it is still in the log) and those after it are read"
        );
    });
}

/// The counter with a new state shape: snapshots of the old shape must be ignored.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
struct CounterV2 {
    sum: i64,
    count: u32,
}

impl Aggregate for CounterV2 {
    const TYPE: &'static str = "Counter";
    const SNAPSHOT_EVERY: u64 = 0;
    const STATE_VERSION: u32 = 2;
    type Command = CounterCommand;
    type Event = common::CounterEvent;

    fn decide(&self, _: &CounterCommand) -> Result<Vec<common::CounterEvent>, DomainError> {
        Ok(vec![])
    }

    fn evolve(&mut self, event: &common::CounterEvent) {
        if let common::CounterEvent::Added { amount, .. } = event {
            self.sum += amount;
            self.count += 1;
        }
    }
}

#[test]
fn snapshots_of_another_state_version_are_rebuilt_from_events() {
    run(async {
        let store = MemoryStore::default();
        let engine = counter_engine(store.clone());
        for amount in 1..=7 {
            engine
                .execute::<Counter>("k", &CounterCommand::Add { amount }, Default::default())
                .await
                .unwrap();
        }
        let mut upgraded = Engine::new(store.clone());
        upgraded.register::<CounterV2>().unwrap();
        store.reset_read_stats();
        let loaded = upgraded.load::<CounterV2>("k").await.unwrap();
        assert_eq!(loaded.state, CounterV2 { sum: 28, count: 7 });
        assert_eq!(
            store.read_stats().events_read,
            7,
            "the v1 snapshot at 5 is ignored"
        );
    });
}

#[test]
fn snapshots_can_be_turned_off() {
    run(async {
        let store = MemoryStore::default();
        let mut engine = Engine::new(store.clone());
        engine.register::<CounterV2>().unwrap();
        let stream = StreamId::parse("Counter-k").unwrap();
        let events = (0..120)
            .map(|n| added(n, 2, json!({"amount": 1, "unit": "pcs"})))
            .collect();
        commit(&store, &stream, events).await;
        assert!(store.latest_snapshot(&stream).await.unwrap().is_none());
        assert_eq!(
            engine.load::<CounterV2>("k").await.unwrap().state.count,
            120
        );
    });
}

fn added(n: u64, schema_version: u32, data: serde_json::Value) -> EventEnvelope {
    EventEnvelope {
        id: uuid::Uuid::from_u64_pair(7, n),
        stream: StreamId::parse("Counter-k").unwrap(),
        version: 0,
        position: None,
        event_type: "Added".into(),
        schema_version,
        data,
        metadata: EventMetadata {
            occurred_at: Timestamp(n as i64),
            ..Default::default()
        },
        recorded_at: None,
    }
}

async fn commit(store: &MemoryStore, stream: &StreamId, events: Vec<EventEnvelope>) {
    let commit = Commit {
        stream: stream.clone(),
        expected: ExpectedVersion::Any,
        events,
        snapshot: None,
        idempotency: None,
        outbox: None,
        projector: None,
    };
    store.commit(commit).await.unwrap();
}

#[test]
fn upcaster_chains_bring_old_events_to_the_current_shape_without_rewriting_them() {
    run(async {
        let store = MemoryStore::default();
        let engine = counter_engine(store.clone());
        let stream = StreamId::parse("Counter-k").unwrap();
        let old = vec![
            added(1, 1, json!({"n": 3})),
            added(2, 2, json!({"amount": 4})),
            added(3, 3, json!({"amount": 5, "unit": "pcs"})),
        ];
        commit(&store, &stream, old).await;
        assert_eq!(engine.load::<Counter>("k").await.unwrap().state.total, 12);

        let history = engine.history("Counter", "k").await.unwrap();
        assert!(
            history
                .iter()
                .all(|e| e.schema_version == 3 && e.data["unit"] == "pcs")
        );
        assert_eq!(history[0].data, json!({"amount": 3, "unit": "pcs"}));

        let raw = store.read_stream(&stream, 1, 10).await.unwrap();
        assert_eq!((raw[0].schema_version, &raw[0].data), (1, &json!({"n": 3})));

        let new = engine
            .execute::<Counter>("k", &CounterCommand::Add { amount: 1 }, Default::default())
            .await
            .unwrap();
        assert_eq!(new.events[0].schema_version, 3);
    });
}

/// Keeps every event's payload under `{stream}/{version}`, as it was shown.
struct Payloads;

impl Projection for Payloads {
    fn name(&self) -> &str {
        "payloads"
    }
    fn apply(&self, event: &EventEnvelope, view: &mut View<'_>) -> fieldstream::core::Result<()> {
        let key = format!("{}/{}", event.stream, event.version);
        view.put(
            key,
            json!({ "schema": event.schema_version, "data": event.data }),
        );
        Ok(())
    }
}

#[test]
fn read_models_see_the_payloads_history_shows() {
    run(async {
        let store = MemoryStore::default();
        let stream = StreamId::parse("Counter-k").unwrap();
        let old = vec![
            added(1, 1, json!({"n": 3})),
            added(2, 2, json!({"amount": 4})),
        ];
        commit(&store, &stream, old).await;
        let mut engine = counter_engine(store.clone());
        engine
            .register_projection(Rc::new(Payloads), ProjectionOptions::default())
            .unwrap();
        engine.catch_up_projections().await.unwrap(); // a build reads the old events
        engine
            .execute::<Counter>("k", &CounterCommand::Add { amount: 1 }, Default::default())
            .await
            .unwrap(); // inline, in the commit
        let history = engine.history("Counter", "k").await.unwrap();
        assert_eq!(history.len(), 3);
        for event in &history {
            let shown = engine
                .get("payloads", &format!("Counter-k/{}", event.version))
                .await
                .unwrap();
            assert_eq!(
                shown,
                Some(json!({ "schema": event.schema_version, "data": event.data })),
                "version {}",
                event.version
            );
        }
    });
}

#[test]
fn long_streams_are_read_in_pages() {
    run(async {
        let store = MemoryStore::default();
        let config = EngineConfig {
            read_page_size: 7,
            ..Default::default()
        };
        let mut engine = Engine::new(store.clone()).with_config(config);
        engine.register::<CounterV2>().unwrap();
        let stream = StreamId::parse("Counter-k").unwrap();
        commit(
            &store,
            &stream,
            (0..50)
                .map(|n| added(n, 3, json!({"amount": 2, "unit": "x"})))
                .collect(),
        )
        .await;
        assert_eq!(engine.load::<CounterV2>("k").await.unwrap().state.sum, 100);
        assert_eq!(
            store.read_stats().stream_pages,
            8,
            "50 events in pages of 7"
        );
        assert_eq!(engine.history("Counter", "k").await.unwrap().len(), 50);
    });
}
