//! Property test of the read-model invariant: for random commands on this device, events from
//! another device, pushes, pulls and conflict replacements, the incrementally maintained read
//! model (inline, and background once caught up) equals a fresh rebuild from the confirmed
//! events in server order followed by the pending events in local order.
//!
//! The events go through an upcaster chain (`OrderCreated` v1 → v2 → v3) on every path, and two
//! more projections fail transiently (each payment fails the first times it is applied): once
//! their retries are through, they equal the rebuild too, with nothing lost, doubled or moved.

#![cfg(not(target_arch = "wasm32"))]

mod common;
#[path = "projection_properties/models.rs"]
mod models;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

use common::{create_order, run};
use fieldstream::core::projection::QuerySpec;
use fieldstream::core::{
    Engine, EventEnvelope, EventMetadata, ExecuteOptions, ManualClock, Projection, ProjectionMode,
    ProjectionOptions, StreamId, Timestamp, View,
};
use fieldstream::example::{Order, OrderCommand, OrderProjection};
use fieldstream::store::{CommandQueue, EventLog, MemoryStore, ReadModelStore, SyncBatch};
use models::{Background, FAILURES, FlakyTally, Shapes, Tally, upcasters};
use proptest::prelude::*;
use serde_json::{Value, json};

/// The server's log, in position order.
#[derive(Default)]
struct Server {
    log: Vec<EventEnvelope>,
}

impl Server {
    fn head(&self, stream: &StreamId) -> u64 {
        self.log
            .iter()
            .filter(|event| &event.stream == stream)
            .count() as u64
    }

    fn append(&mut self, mut event: EventEnvelope) {
        event.position = Some(self.log.len() as u64 + 1);
        event.recorded_at = Some(Timestamp(1));
        self.log.push(event);
    }

    /// Another device moves order `order` one step on.
    fn foreign_step(&mut self, order: u8) {
        let stream = StreamId::for_aggregate("Order", &order.to_string()).unwrap();
        let version = self.head(&stream);
        let (event_type, data) = match version {
            0 => (
                "OrderCreated",
                json!({"customerId": "other", "items": [], "total": 1}),
            ),
            1 => ("OrderPaid", json!({"paymentMethod": "cash", "amount": 1})),
            2 => ("OrderShipped", json!({"trackingNumber": "X"})),
            _ => return,
        };
        self.append(EventEnvelope {
            id: uuid::Uuid::new_v4(),
            stream,
            version: version + 1,
            position: None,
            event_type: event_type.into(),
            schema_version: 1,
            data,
            metadata: EventMetadata {
                occurred_at: Timestamp(7),
                ..Default::default()
            },
            recorded_at: None,
        });
    }
}

#[derive(Debug, Clone)]
enum Step {
    Execute {
        order: u8,
        kind: u8,
    },
    Foreign {
        order: u8,
    },
    Sync {
        push: bool,
    },
    /// Time passes until the failing projections' retries are through.
    Settle,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0u8..3, 0u8..3).prop_map(|(order, kind)| Step::Execute { order, kind }),
        2 => (0u8..3).prop_map(|order| Step::Foreign { order }),
        2 => any::<bool>().prop_map(|push| Step::Sync { push }),
        1 => Just(Step::Settle),
    ]
}

const FLAKY: [&str; 2] = ["flaky", "flaky_bg"];

/// Moves the clock on and steps the failing projections until none waits for a retry.
async fn settle(engine: &Engine<MemoryStore>, store: &MemoryStore, clock: &ManualClock) {
    for _ in 0..=FAILURES * 40 {
        clock.advance(60_000);
        let mut done = true;
        for name in FLAKY {
            let step = store
                .run_projection(engine.projector(), name, 50)
                .await
                .unwrap();
            done &= step.finished && step.retry_at.is_none();
        }
        if done {
            return;
        }
    }
    panic!("the failing projections never caught up");
}

fn command(kind: u8) -> OrderCommand {
    match kind {
        0 => create_order("me", 1, 100),
        1 => OrderCommand::PayOrder {
            payment_method: "card".into(),
            amount: 100,
        },
        _ => OrderCommand::ShipOrder {
            tracking_number: "T".into(),
        },
    }
}

/// Pushes this device's oldest command (when asked and it still fits), then pulls everything
/// new; pending commands that collide with pulled events are dropped and decided again.
async fn sync(engine: &Engine<MemoryStore>, store: &MemoryStore, server: &mut Server, push: bool) {
    let outbox = store.read_outbox(usize::MAX).await.unwrap();
    let mut drop_outbox = Vec::new();
    if let (true, Some(entry)) = (push, outbox.first()) {
        if server.head(&entry.stream) == entry.expected_version {
            let mine = store
                .read_stream(
                    &entry.stream,
                    entry.expected_version + 1,
                    entry.event_ids.len(),
                )
                .await
                .unwrap();
            assert!(
                mine.iter()
                    .map(|e| e.id)
                    .eq(entry.event_ids.iter().copied())
            );
            mine.into_iter().for_each(|event| server.append(event));
            drop_outbox.push(entry.seq);
        }
    }
    let checkpoint = store.pull_checkpoint().await.unwrap();
    let pulled: Vec<EventEnvelope> = server
        .log
        .iter()
        .filter(|e| e.position.unwrap() > checkpoint)
        .cloned()
        .collect();
    let known: HashSet<uuid::Uuid> = outbox
        .iter()
        .flat_map(|entry| entry.event_ids.iter().copied())
        .collect();
    let mut collide: BTreeMap<StreamId, u64> = BTreeMap::new();
    for entry in outbox
        .iter()
        .filter(|entry| !drop_outbox.contains(&entry.seq))
    {
        let foreign_head = pulled
            .iter()
            .filter(|e| e.stream == entry.stream && !known.contains(&e.id))
            .map(|e| e.version)
            .max();
        if foreign_head.is_some_and(|head| head > entry.expected_version) {
            let from = collide
                .entry(entry.stream.clone())
                .or_insert(entry.expected_version + 1);
            *from = (*from).min(entry.expected_version + 1);
        }
    }
    let replaced: Vec<_> = outbox
        .iter()
        .filter(|entry| {
            collide
                .get(&entry.stream)
                .is_some_and(|from| entry.expected_version + 1 >= *from)
        })
        .cloned()
        .collect();
    drop_outbox.extend(replaced.iter().map(|entry| entry.seq));
    let batch = SyncBatch {
        drop_pending: collide.into_iter().collect(),
        drop_outbox,
        confirmed: pulled,
        commits: Vec::new(),
        checkpoint: Some(server.log.len() as u64),
        ..SyncBatch::default()
    };
    engine.apply_sync(batch).await.unwrap();
    for entry in replaced {
        let outcome = engine
            .execute_json(
                "Order",
                &entry.aggregate_id,
                &entry.command,
                ExecuteOptions::default(),
            )
            .await;
        if let Err(error) = outcome {
            assert_eq!(
                error.code(),
                "domain",
                "a replaced command either holds again or is refused"
            );
        }
    }
}

async fn docs(engine: &Engine<MemoryStore>, name: &str) -> Vec<(String, Value)> {
    let index = if name.starts_with("orders") {
        "status"
    } else {
        "kind"
    };
    let spec: QuerySpec =
        serde_json::from_value(json!({"index": index, "range": [null, null], "limit": 10_000}))
            .unwrap();
    let page = engine.query(name, spec).await.unwrap();
    page.docs
        .into_iter()
        .map(|doc| (doc.key, doc.doc))
        .collect::<BTreeMap<_, _>>()
        .into_iter()
        .collect()
}

/// The read model a fresh rebuild gives: every event upcast, confirmed ones in server order, then
/// pending ones in local order, folded by `projection` directly.
async fn rebuilt(store: &MemoryStore, projection: &dyn Projection) -> Vec<(String, Value)> {
    let upcasters = upcasters();
    let mut events = store.read_all(0, usize::MAX).await.unwrap();
    events.sort_by_key(|stored| {
        stored
            .event
            .position
            .map_or((1, stored.seq), |position| (0, position))
    });
    let mut known = HashMap::new();
    for stored in &events {
        let event = upcasters.upcast(stored.event.clone()).unwrap();
        let mut view = View::new(&known);
        projection.apply(&event, &mut view).unwrap();
        known.extend(view.into_writes());
    }
    known
        .into_iter()
        .filter_map(|(key, doc)| Some((key, doc?)))
        .collect::<BTreeMap<_, _>>()
        .into_iter()
        .collect()
}

proptest! {
    #[test]
    fn the_read_model_always_equals_a_fresh_rebuild(steps in prop::collection::vec(step(), 1..40)) {
        run(async {
            let store = MemoryStore::new();
            let clock = Rc::new(ManualClock::at(1_700_000_000_000));
            let mut engine = Engine::new(store.clone())
                .with_clock(clock.clone())
                .with_upcasters(upcasters());
            engine.register::<Order>().unwrap();
            engine.register_projection(Rc::new(OrderProjection), ProjectionOptions::default()).unwrap();
            engine.register_projection(Rc::new(Tally), ProjectionOptions::default()).unwrap();
            engine.register_projection(Rc::new(Shapes), ProjectionOptions::default()).unwrap();
            let background = ProjectionOptions { mode: ProjectionMode::Background { batch_size: 3 }, ..Default::default() };
            engine.register_projection(Rc::new(Background), background).unwrap();
            let failures = Rc::new(RefCell::new(HashMap::new()));
            let retries = ProjectionOptions { max_retries: FAILURES + 1, backoff_ms: 10, ..Default::default() };
            let flaky = FlakyTally { name: "flaky", failures: failures.clone() };
            engine.register_projection(Rc::new(flaky), retries).unwrap();
            let flaky_bg = FlakyTally { name: "flaky_bg", failures };
            let background_retries = ProjectionOptions { mode: ProjectionMode::Background { batch_size: 2 }, ..retries };
            engine.register_projection(Rc::new(flaky_bg), background_retries).unwrap();
            engine.catch_up_projections().await.unwrap();
            let mut server = Server::default();
            for step in steps {
                match step {
                    Step::Execute { order, kind } => {
                        let _ = engine.execute::<Order>(&order.to_string(), &command(kind), ExecuteOptions::default()).await;
                    }
                    Step::Foreign { order } => server.foreign_step(order),
                    Step::Sync { push } => sync(&engine, &store, &mut server, push).await,
                    Step::Settle => settle(&engine, &store, &clock).await,
                }
                assert_eq!(docs(&engine, "orders").await, rebuilt(&store, &OrderProjection).await, "orders after {step:?}");
                assert_eq!(docs(&engine, "tally").await, rebuilt(&store, &Tally).await, "tally after {step:?}");
                assert_eq!(docs(&engine, "shapes").await, rebuilt(&store, &Shapes).await, "shapes after {step:?}");
                if let Step::Settle = step {
                    for name in FLAKY {
                        assert_eq!(docs(&engine, name).await, rebuilt(&store, &Tally).await, "{name} after {step:?}");
                    }
                }
                engine.run_projections(3).await.unwrap();
            }
            engine.catch_up_projections().await.unwrap();
            settle(&engine, &store, &clock).await;
            assert_eq!(docs(&engine, "orders_bg").await, rebuilt(&store, &OrderProjection).await, "background, caught up");
            for name in FLAKY {
                assert_eq!(docs(&engine, name).await, rebuilt(&store, &Tally).await, "{name}, settled");
                let status = engine.projection_status(name).await.unwrap();
                assert!(status.dead_letters.is_empty() && !status.stopped, "{name}: {status:?}");
            }
            let shapes = docs(&engine, "shapes").await;
            assert!(shapes.iter().all(|(_, shape)| shape["schema"] == 3 && shape["channel"] == "field"), "{shapes:?}");
        });
    }
}
