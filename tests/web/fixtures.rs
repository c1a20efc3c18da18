//! Helpers of the browser tests: fresh databases, engines, events, a long stream.

#![allow(dead_code)]

use fieldstream::core::{
    Engine, EngineConfig, EventEnvelope, EventMetadata, ExpectedVersion, StreamId, Timestamp,
};
use fieldstream::example::{Order, OrderCommand, OrderItem};
use fieldstream::store::{Commit, CommitOutcome, EventLog, EventStore, IndexedDbStore};
use serde_json::json;

#[path = "../common/mod.rs"]
mod common;

pub use common::{Counter, CounterCommand};

/// A database name no other test uses.
pub fn fresh_name(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4())
}

/// An engine with the Order and Counter aggregates.
pub fn order_engine<S: EventStore>(store: S) -> Engine<S> {
    counter_engine(store, EngineConfig::default())
}

/// An engine with the Order and Counter aggregates and the given config.
pub fn counter_engine<S: EventStore>(store: S, config: EngineConfig) -> Engine<S> {
    let mut engine = Engine::new(store).with_config(config);
    engine.register::<Order>().unwrap();
    engine.register::<Counter>().unwrap();
    engine
}

/// A `CreateOrder` totalling 750.
pub fn create() -> OrderCommand {
    let items = vec![OrderItem {
        product_id: "p-1".into(),
        quantity: 3,
        unit_price: 250,
    }];
    OrderCommand::CreateOrder {
        customer_id: "c-1".into(),
        items,
    }
}

/// The `PayOrder` that pays [`create`]'s order in full.
pub fn pay() -> OrderCommand {
    OrderCommand::PayOrder {
        payment_method: "card".into(),
        amount: 750,
    }
}

/// Adds `amount` to a counter.
pub fn add(amount: i64) -> CounterCommand {
    CounterCommand::Add { amount }
}

/// Adds 1 to a counter `count` times, in one command.
pub fn add_many(count: u32) -> CounterCommand {
    CounterCommand::AddMany { count }
}

/// A pending event of `stream` at `version`, with a fresh id.
pub fn envelope(
    stream: &str,
    version: u64,
    event_type: &str,
    data: serde_json::Value,
) -> EventEnvelope {
    EventEnvelope {
        id: uuid::Uuid::new_v4(),
        stream: StreamId::parse(stream).unwrap(),
        version,
        position: None,
        event_type: event_type.into(),
        schema_version: 1,
        data,
        metadata: EventMetadata {
            occurred_at: Timestamp(1_700_000_000_000),
            ..Default::default()
        },
        recorded_at: None,
    }
}

/// Appends `total` counter events to `stream`, `per_commit` at a time, straight to the store.
pub async fn append_counter_events(
    store: &IndexedDbStore,
    stream: &str,
    total: u64,
    per_commit: u64,
) -> u64 {
    let mut written = 0;
    while written < total {
        let events = (1..=per_commit.min(total - written))
            .map(|n| {
                envelope(
                    stream,
                    written + n,
                    "Added",
                    json!({"amount": 1, "unit": "pcs", "note": "x".repeat(200)}),
                )
            })
            .map(|mut event| {
                event.schema_version = 3;
                event
            })
            .collect();
        let commit = Commit::events(
            StreamId::parse(stream).unwrap(),
            ExpectedVersion::Exact(written),
            events,
        );
        match store.commit(commit).await.unwrap() {
            CommitOutcome::Committed(events) => written += events.len() as u64,
            other => panic!("unexpected {other:?}"),
        }
    }
    written
}

/// A connection to database `name` at the current layout, changing nothing.
pub async fn open_as_is(name: &str) -> rexie::Rexie {
    rexie::Rexie::builder(name)
        .version(fieldstream::store::indexeddb::LAYOUT_VERSION)
        .build()
        .await
        .unwrap()
}
