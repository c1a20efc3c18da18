//! Local conflicts: another writer commits between load and commit; the engine decides again.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::cell::Cell;
use std::rc::Rc;

use common::{Counter, CounterCommand, RecordingSleeper, foreign_commit, run};
use fieldstream::core::{ConflictRetry, Engine, EngineConfig, StreamId};
use fieldstream::example::{Order, OrderCommand};
use fieldstream::store::{Commit, EventLog, MemoryStore};
use serde_json::json;

fn engine(store: &MemoryStore) -> Engine<MemoryStore> {
    let mut engine = Engine::new(store.clone());
    engine.register::<Counter>().unwrap();
    engine.register::<Order>().unwrap();
    engine
}

#[test]
fn a_lost_race_reloads_and_decides_again() {
    run(async {
        let store = MemoryStore::default();
        let raced = Rc::new(Cell::new(false));
        let flag = raced.clone();
        store.set_commit_hook(Some(Rc::new(
            move |inner: &MemoryStore, commit: &Commit| {
                if !flag.replace(true) {
                    foreign_commit(
                        inner,
                        &commit.stream,
                        json!({"amount": 10, "unit": "pcs"}),
                        "Added",
                    );
                }
            },
        )));
        let engine = engine(&store);
        let result = engine
            .execute::<Counter>("k", &CounterCommand::Add { amount: 1 }, Default::default())
            .await
            .unwrap();
        assert_eq!(
            store.read_stats().commits,
            3,
            "the other writer's commit, then ours twice"
        );
        assert_eq!(engine.stats().conflict_retries, 1);
        assert_eq!(result.version, 2);
        let loaded = engine.load::<Counter>("k").await.unwrap();
        assert_eq!((loaded.version, loaded.state.total), (2, 11));
    });
}

#[test]
fn a_retry_that_no_longer_holds_is_refused_by_the_domain() {
    run(async {
        let store = MemoryStore::default();
        let engine = engine(&store);
        let create = OrderCommand::CreateOrder {
            customer_id: "c".into(),
            items: vec![fieldstream::example::OrderItem {
                product_id: "p".into(),
                quantity: 1,
                unit_price: 5,
            }],
        };
        engine
            .execute::<Order>("o", &create, Default::default())
            .await
            .unwrap();
        let raced = Rc::new(Cell::new(false));
        let flag = raced.clone();
        store.set_commit_hook(Some(Rc::new(
            move |inner: &MemoryStore, commit: &Commit| {
                if !flag.replace(true) {
                    foreign_commit(
                        inner,
                        &commit.stream,
                        json!({"paymentMethod": "cash", "amount": 5}),
                        "OrderPaid",
                    );
                }
            },
        )));
        let pay = OrderCommand::PayOrder {
            payment_method: "card".into(),
            amount: 5,
        };
        let error = engine
            .execute::<Order>("o", &pay, Default::default())
            .await
            .unwrap_err();
        assert!(
            matches!(error, fieldstream::core::Error::Domain(ref d) if d.code == "order_not_payable")
        );
        assert_eq!(
            store
                .stream_version(&StreamId::parse("Order-o").unwrap())
                .await
                .unwrap(),
            2
        );
    });
}

#[test]
fn retries_are_bounded_by_the_attempt_safety_net() {
    run(async {
        let store = MemoryStore::default();
        store.set_commit_hook(Some(Rc::new(|inner: &MemoryStore, commit: &Commit| {
            foreign_commit(
                inner,
                &commit.stream,
                json!({"amount": 1, "unit": "pcs"}),
                "Added",
            );
        })));
        let config = EngineConfig {
            conflict_retry: ConflictRetry {
                max_attempts: 3,
                max_ms: u64::MAX,
                ..ConflictRetry::default()
            },
            ..EngineConfig::default()
        };
        let engine = engine(&store)
            .with_config(config)
            .with_sleeper(Rc::new(RecordingSleeper::default()));
        let error = engine
            .execute::<Counter>("k", &CounterCommand::Add { amount: 1 }, Default::default())
            .await
            .unwrap_err();
        assert_eq!(error.code(), "conflict");
        assert_eq!(
            store.read_stats().commits,
            8,
            "the first try and three retries, each after the other writer's commit"
        );
        assert_eq!(engine.stats().conflict_retries, 3);
        assert_eq!(
            store
                .stream_version(&StreamId::parse("Counter-k").unwrap())
                .await
                .unwrap(),
            4,
            "only foreign events"
        );
    });
}
