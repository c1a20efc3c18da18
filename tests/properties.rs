//! Property tests of the engine on the memory store (256 cases each by default; set
//! `PROPTEST_CASES` for more).

#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::collections::HashMap;
use std::rc::Rc;

use common::{Counter, CounterCommand, create_order, engine_on, run};
use fieldstream::core::aggregate::decode_event;
use fieldstream::core::{
    Aggregate, AggregateHandler, Engine, EventEnvelope, EventMetadata, ExecuteOptions,
    ExpectedVersion, NewEvent, Result, State, StreamId, Timestamp, handler_for,
};
use fieldstream::example::{Order, OrderCommand};
use fieldstream::store::{Commit, EventLog, MemoryStore};
use proptest::prelude::*;
use serde_json::{Value, json};

#[derive(Debug, Clone)]
enum Step {
    Create {
        order: u8,
        quantity: u32,
        price: i64,
    },
    Pay {
        order: u8,
        exact: bool,
    },
    Ship {
        order: u8,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0u8..4, 0u32..4, -5i64..500).prop_map(|(order, quantity, price)| Step::Create {
            order,
            quantity,
            price
        }),
        (0u8..4, any::<bool>()).prop_map(|(order, exact)| Step::Pay { order, exact }),
        (0u8..4).prop_map(|order| Step::Ship { order }),
    ]
}

fn fold<A: Aggregate>(events: &[EventEnvelope]) -> A {
    let mut state = A::default();
    for event in events {
        state.evolve(&decode_event::<A>(event).unwrap());
    }
    state
}

proptest! {
    #[test]
    fn loaded_state_equals_the_fold_of_stored_events(steps in prop::collection::vec(step(), 1..40)) {
        run(async {
            let (engine, _) = engine_on(MemoryStore::new(), 1);
            for step in &steps {
                let (order, command) = match step {
                    Step::Create { order, quantity, price } => (order, create_order("c", *quantity, *price)),
                    Step::Pay { order, exact } => {
                        let total = engine.load::<Order>(&order.to_string()).await.unwrap().state.total;
                        let amount = if *exact { total } else { total + 1 };
                        (order, OrderCommand::PayOrder { payment_method: "card".into(), amount })
                    }
                    Step::Ship { order } => (order, OrderCommand::ShipOrder { tracking_number: "T".into() }),
                };
                match engine.execute::<Order>(&order.to_string(), &command, Default::default()).await {
                    Ok(_) => {}
                    Err(error) => assert_eq!(error.code(), "domain"),
                }
            }
            let mut total_events = 0;
            for order in 0u8..4 {
                let history = engine.history("Order", &order.to_string()).await.unwrap();
                let versions: Vec<u64> = history.iter().map(|e| e.version).collect();
                assert_eq!(versions, (1..=history.len() as u64).collect::<Vec<_>>(), "versions are contiguous from 1");
                let loaded = engine.load::<Order>(&order.to_string()).await.unwrap();
                assert_eq!(loaded.state, fold::<Order>(&history));
                assert_eq!(loaded.version, history.len() as u64);
                total_events += history.len();
            }
            let all = engine.store().read_all(0, 10_000).await.unwrap();
            assert_eq!(all.len(), total_events);
            assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=total_events as u64).collect::<Vec<_>>());
        });
    }

    #[test]
    fn a_repeated_idempotency_key_writes_nothing(
        ops in prop::collection::vec((0u8..3, prop::option::of(0u8..6), 1i64..100), 1..40)
    ) {
        run(async {
            let (engine, _) = engine_on(MemoryStore::new(), 1);
            let mut first_use: HashMap<u8, (u8, Vec<EventEnvelope>)> = HashMap::new();
            let mut expected_events = 0;
            for (stream, key, amount) in ops {
                let options = ExecuteOptions { idempotency_key: key.map(|k| format!("key-{k}")), ..Default::default() };
                let outcome = engine.execute::<Counter>(&stream.to_string(), &CounterCommand::Add { amount }, options).await;
                match key.and_then(|k| first_use.get(&k).map(|first| (k, first))) {
                    Some((_, (first_stream, first_events))) if *first_stream == stream => {
                        let result = outcome.unwrap();
                        assert!(result.deduplicated);
                        assert_eq!(&result.events, first_events);
                    }
                    Some(_) => assert_eq!(outcome.unwrap_err().code(), "invalid_input"),
                    None => {
                        let result = outcome.unwrap();
                        assert!(!result.deduplicated);
                        expected_events += 1;
                        if let Some(k) = key {
                            first_use.insert(k, (stream, result.events));
                        }
                    }
                }
            }
            assert_eq!(engine.store().read_all(0, 10_000).await.unwrap().len(), expected_events);
        });
    }

    #[test]
    fn upcast_reads_equal_directly_written_current_events(
        adds in prop::collection::vec((1i64..1_000, 1u32..=3), 1..30)
    ) {
        run(async {
            let store = MemoryStore::new();
            let mut engine = Engine::new(store.clone()).with_upcasters(counter_upcasters());
            engine.register::<Counter>().unwrap();
            let old: Vec<EventEnvelope> = adds.iter().map(|(amount, version)| {
                let data = match version {
                    1 => json!({"n": amount}),
                    2 => json!({"amount": amount}),
                    _ => json!({"amount": amount, "unit": "pcs"}),
                };
                raw_event("Counter-old", *version, data)
            }).collect();
            let current = adds.iter().map(|(amount, _)| raw_event("Counter-new", 3, json!({"amount": amount, "unit": "pcs"}))).collect();
            append(&store, "Counter-old", old).await;
            append(&store, "Counter-new", current).await;
            let payloads = |events: Vec<EventEnvelope>| events.into_iter().map(|e| (e.schema_version, e.data)).collect::<Vec<_>>();
            assert_eq!(
                payloads(engine.history("Counter", "old").await.unwrap()),
                payloads(engine.history("Counter", "new").await.unwrap())
            );
            assert_eq!(engine.load::<Counter>("old").await.unwrap().state, engine.load::<Counter>("new").await.unwrap().state);
        });
    }

    #[test]
    fn snapshot_plus_tail_equals_full_replay(
        every in 1u64..=10,
        commands in prop::collection::vec(prop::option::of(1i64..50), 1..60)
    ) {
        run(async {
            let store = MemoryStore::new();
            let mut engine = Engine::new(store.clone());
            engine.register_handler(Rc::new(SnapshotEvery { every, inner: handler_for::<Counter>() })).unwrap();
            for amount in &commands {
                let command = match amount { Some(amount) => CounterCommand::Add { amount: *amount }, None => CounterCommand::Reset };
                engine.execute::<Counter>("k", &command, Default::default()).await.unwrap();
            }
            let stream = StreamId::parse("Counter-k").unwrap();
            let history = store.read_stream(&stream, 1, 10_000).await.unwrap();
            let snapshot = store.latest_snapshot(&stream).await.unwrap();
            let expected_snapshot = (history.len() as u64 / every) * every;
            assert_eq!(snapshot.map_or(0, |s| s.version), expected_snapshot);
            let loaded = engine.load::<Counter>("k").await.unwrap();
            assert_eq!(loaded.state, fold::<Counter>(&history));
        });
    }
}

fn counter_upcasters() -> fieldstream::core::Upcasters {
    let mut upcasters = fieldstream::core::Upcasters::new();
    upcasters
        .register("Added", 1, |data| Ok(json!({"amount": data["n"]})))
        .unwrap();
    upcasters
        .register("Added", 2, |mut data| {
            data["unit"] = json!("pcs");
            Ok(data)
        })
        .unwrap();
    upcasters
}

fn raw_event(stream: &str, schema_version: u32, data: Value) -> EventEnvelope {
    EventEnvelope {
        id: uuid::Uuid::new_v4(),
        stream: StreamId::parse(stream).unwrap(),
        version: 0,
        position: None,
        event_type: "Added".into(),
        schema_version,
        data,
        metadata: EventMetadata {
            occurred_at: Timestamp(1),
            ..Default::default()
        },
        recorded_at: None,
    }
}

async fn append(store: &MemoryStore, stream: &str, events: Vec<EventEnvelope>) {
    let stream = StreamId::parse(stream).unwrap();
    let commit = Commit {
        stream,
        expected: ExpectedVersion::NoStream,
        events,
        snapshot: None,
        idempotency: None,
        outbox: None,
        projector: None,
    };
    store.commit(commit).await.unwrap();
}

/// The counter with a snapshot interval chosen at run time.
struct SnapshotEvery {
    every: u64,
    inner: Rc<dyn AggregateHandler>,
}

impl AggregateHandler for SnapshotEvery {
    fn aggregate_type(&self) -> &str {
        self.inner.aggregate_type()
    }
    fn snapshot_every(&self) -> u64 {
        self.every
    }
    fn state_version(&self) -> u32 {
        self.inner.state_version()
    }
    fn initial_state(&self) -> Result<State> {
        self.inner.initial_state()
    }
    fn evolve(&self, state: &mut State, events: &[EventEnvelope]) -> Result<()> {
        self.inner.evolve(state, events)
    }
    fn decide(&self, state: &State, command: &Value) -> Result<Vec<NewEvent>> {
        self.inner.decide(state, command)
    }
    fn state_to_json(&self, state: &State) -> Result<Value> {
        self.inner.state_to_json(state)
    }
    fn state_from_json(&self, json: &Value) -> Result<State> {
        self.inner.state_from_json(json)
    }
}
