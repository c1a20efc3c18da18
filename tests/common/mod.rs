//! Shared test helpers: a small counter aggregate and ways to build an engine.

#![allow(dead_code)]

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use fieldstream::core::{
    Aggregate, DomainError, Engine, EventEnvelope, EventMetadata, ExpectedVersion, ManualClock,
    SequentialIds, Sleeper, StreamId,
};
use fieldstream::example::{OrderCommand, OrderItem};
use fieldstream::store::{Commit, EventLog, MemoryStore};
use serde::{Deserialize, Serialize};

/// A counter whose `Added` events changed shape: v1 `{"n"}`, v2 `{"amount"}`, v3 `{"amount", "unit"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counter {
    pub total: i64,
    pub adds: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum CounterCommand {
    Add { amount: i64 },
    AddMany { count: u32 },
    Reset,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum CounterEvent {
    Added { amount: i64, unit: String },
    Reset,
}

impl Aggregate for Counter {
    const TYPE: &'static str = "Counter";
    const SNAPSHOT_EVERY: u64 = 5;
    type Command = CounterCommand;
    type Event = CounterEvent;

    fn decide(&self, command: &CounterCommand) -> Result<Vec<CounterEvent>, DomainError> {
        match command {
            CounterCommand::Add { amount } if *amount <= 0 => Err(DomainError::new(
                "not_positive",
                "only positive amounts can be added",
            )),
            CounterCommand::Add { amount } => Ok(vec![CounterEvent::Added {
                amount: *amount,
                unit: "pcs".into(),
            }]),
            CounterCommand::AddMany { count } => Ok((0..*count)
                .map(|_| CounterEvent::Added {
                    amount: 1,
                    unit: "pcs".into(),
                })
                .collect()),
            CounterCommand::Reset if self.total == 0 => Ok(vec![]),
            CounterCommand::Reset => Ok(vec![CounterEvent::Reset]),
        }
    }

    fn evolve(&mut self, event: &CounterEvent) {
        match event {
            CounterEvent::Added { amount, .. } => {
                self.total += amount;
                self.adds += 1;
            }
            CounterEvent::Reset => self.total = 0,
        }
    }

    fn schema_version(event_type: &str) -> u32 {
        if event_type == "Added" { 3 } else { 1 }
    }
}

/// An engine on `store` with a manual clock and deterministic ids, with Order and Counter registered.
pub fn engine_on(store: MemoryStore, seed: u64) -> (Engine<MemoryStore>, Rc<ManualClock>) {
    let clock = Rc::new(ManualClock::at(1_700_000_000_000));
    let mut engine = Engine::new(store)
        .with_clock(clock.clone())
        .with_ids(Rc::new(SequentialIds::with_seed(seed)));
    engine.register::<fieldstream::example::Order>().unwrap();
    engine.register::<Counter>().unwrap();
    (engine, clock)
}

/// A `CreateOrder` for `customer` with one line of `quantity` × `unit_price`.
pub fn create_order(customer: &str, quantity: u32, unit_price: i64) -> OrderCommand {
    OrderCommand::CreateOrder {
        customer_id: customer.into(),
        items: vec![OrderItem {
            product_id: "p-1".into(),
            quantity,
            unit_price,
        }],
    }
}

/// Runs a future to completion on the current thread.
pub fn run<F: std::future::Future>(future: F) -> F::Output {
    futures::executor::block_on(future)
}

/// Commits one foreign event to `stream` on the inner store, as another tab would.
pub fn foreign_commit(
    store: &MemoryStore,
    stream: &StreamId,
    data: serde_json::Value,
    event_type: &str,
) {
    let event = EventEnvelope {
        id: uuid::Uuid::new_v4(),
        stream: stream.clone(),
        version: 0,
        position: None,
        event_type: event_type.into(),
        schema_version: 3,
        data,
        metadata: EventMetadata::default(),
        recorded_at: None,
    };
    let commit = Commit {
        stream: stream.clone(),
        expected: ExpectedVersion::Any,
        events: vec![event],
        snapshot: None,
        idempotency: None,
        outbox: None,
        projector: None,
    };
    let outcome = futures::FutureExt::now_or_never(store.commit(commit))
        .expect("the memory store never waits");
    outcome.unwrap();
}

/// A timer that returns at once and records every wait asked of it; with a clock, it moves
/// the clock on by each wait, as real time would.
#[derive(Default)]
pub struct RecordingSleeper {
    /// The waits asked for, in milliseconds, in order.
    pub slept: RefCell<Vec<u64>>,
    /// The clock moved on by each wait.
    pub clock: Option<Rc<ManualClock>>,
}

impl Sleeper for RecordingSleeper {
    fn sleep(&self, millis: u64) -> Pin<Box<dyn Future<Output = ()>>> {
        self.slept.borrow_mut().push(millis);
        if let Some(clock) = &self.clock {
            clock.advance(millis as i64);
        }
        Box::pin(std::future::ready(()))
    }
}
