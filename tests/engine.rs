//! The engine on the memory store: commands, refusals, idempotency, metadata, temporal queries.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{Counter, CounterCommand, create_order, engine_on, run};
use fieldstream::core::{Error, ExecuteOptions, ExpectedVersion, StreamId};
use fieldstream::example::{Order, OrderCommand, OrderStatus};
use fieldstream::store::{CommandQueue, EventLog, MemoryStore};

fn pay(amount: i64) -> OrderCommand {
    OrderCommand::PayOrder {
        payment_method: "card".into(),
        amount,
    }
}

fn ship() -> OrderCommand {
    OrderCommand::ShipOrder {
        tracking_number: "TRK-1".into(),
    }
}

#[test]
fn an_order_is_created_paid_and_shipped() {
    run(async {
        let (engine, _) = engine_on(MemoryStore::with_client_id("tablet-7"), 1);
        let created = engine
            .execute::<Order>("o-1", &create_order("c-1", 3, 250), Default::default())
            .await
            .unwrap();
        assert_eq!(
            (
                created.stream.as_str(),
                created.version,
                created.events.len()
            ),
            ("Order-o-1", 1, 1)
        );
        engine
            .execute::<Order>("o-1", &pay(750), Default::default())
            .await
            .unwrap();
        let shipped = engine
            .execute::<Order>("o-1", &ship(), Default::default())
            .await
            .unwrap();
        assert_eq!(shipped.version, 3);

        let loaded = engine.load::<Order>("o-1").await.unwrap();
        assert_eq!(loaded.version, 3);
        assert_eq!(loaded.state.status, OrderStatus::Shipped);
        assert_eq!(loaded.state.total, 750);
        assert_eq!(loaded.state.tracking_number.as_deref(), Some("TRK-1"));

        let history = engine.history("Order", "o-1").await.unwrap();
        let types: Vec<&str> = history.iter().map(|e| e.event_type.as_str()).collect();
        assert_eq!(types, ["OrderCreated", "OrderPaid", "OrderShipped"]);
        assert_eq!(
            history.iter().map(|e| e.version).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert!(
            history
                .iter()
                .all(|e| e.metadata.client_id.as_deref() == Some("tablet-7"))
        );
        assert!(history.iter().all(|e| !e.is_confirmed()));

        let json = engine.load_json("Order", "o-1").await.unwrap();
        assert_eq!(json.state["status"], "Shipped");
    });
}

#[test]
fn a_refused_command_writes_nothing_and_carries_the_domain_code() {
    run(async {
        let (engine, _) = engine_on(MemoryStore::new(), 1);
        let error = engine
            .execute::<Order>("o-1", &ship(), Default::default())
            .await
            .unwrap_err();
        match &error {
            Error::Domain(domain) => assert_eq!(domain.code, "order_not_shippable"),
            other => panic!("expected a domain error, got {other:?}"),
        }
        assert_eq!(error.code(), "domain");
        engine
            .execute::<Order>("o-1", &create_order("c-1", 1, 100), Default::default())
            .await
            .unwrap();
        let error = engine
            .execute::<Order>("o-1", &pay(99), Default::default())
            .await
            .unwrap_err();
        assert!(matches!(error, Error::Domain(ref d) if d.code == "payment_amount_mismatch"));
        assert_eq!(engine.store().read_all(0, 10).await.unwrap().len(), 1);
    });
}

#[test]
fn bad_input_is_refused_before_anything_is_written() {
    run(async {
        let (engine, _) = engine_on(MemoryStore::new(), 1);
        let unknown = engine
            .execute_json(
                "Invoice",
                "1",
                &serde_json::json!({"type": "X"}),
                Default::default(),
            )
            .await;
        assert_eq!(unknown.unwrap_err().code(), "invalid_input");
        let malformed = engine
            .execute_json(
                "Order",
                "1",
                &serde_json::json!({"type": "PayOrder", "amount": "ten"}),
                Default::default(),
            )
            .await;
        assert_eq!(malformed.unwrap_err().code(), "invalid_input");
        let bad_id = engine
            .execute::<Order>("a/b", &create_order("c", 1, 1), Default::default())
            .await;
        assert_eq!(bad_id.unwrap_err().code(), "invalid_input");
        assert!(engine.store().read_all(0, 10).await.unwrap().is_empty());
    });
}

#[test]
fn metadata_carries_correlation_causation_and_command_ids() {
    run(async {
        let (engine, clock) = engine_on(MemoryStore::new(), 1);
        clock.advance(5);
        let options = ExecuteOptions {
            correlation_id: Some("corr-1".into()),
            causation_id: Some("cause-1".into()),
            command_id: Some("cmd-1".into()),
            ..Default::default()
        };
        let result = engine
            .execute::<Order>("o-1", &create_order("c-1", 1, 10), options)
            .await
            .unwrap();
        let metadata = &result.events[0].metadata;
        assert_eq!(metadata.correlation_id.as_deref(), Some("corr-1"));
        assert_eq!(metadata.causation_id.as_deref(), Some("cause-1"));
        assert_eq!(metadata.command_id.as_deref(), Some("cmd-1"));
        assert_eq!(metadata.occurred_at, clock_now(&engine));
        assert_eq!(result.command_id, "cmd-1");

        let generated = engine
            .execute::<Order>("o-1", &pay(10), Default::default())
            .await
            .unwrap();
        assert!(!generated.command_id.is_empty());
        assert_eq!(
            generated.events[0].metadata.command_id.as_deref(),
            Some(generated.command_id.as_str())
        );
        assert_ne!(generated.command_id, "cmd-1");
    });
}

fn clock_now(engine: &fieldstream::core::Engine<MemoryStore>) -> fieldstream::core::Timestamp {
    engine.clock().now()
}

#[test]
fn an_idempotency_key_returns_the_first_result_until_it_expires() {
    run(async {
        let (engine, clock) = engine_on(MemoryStore::new(), 1);
        let keyed = || ExecuteOptions {
            idempotency_key: Some("add-1".into()),
            ..Default::default()
        };
        let add = CounterCommand::Add { amount: 5 };
        let first = engine.execute::<Counter>("k", &add, keyed()).await.unwrap();
        let second = engine.execute::<Counter>("k", &add, keyed()).await.unwrap();
        assert!(!first.deduplicated);
        assert!(second.deduplicated);
        assert_eq!(second.events, first.events);
        assert_eq!(
            (second.version, second.command_id.as_str()),
            (1, first.command_id.as_str())
        );
        assert_eq!(engine.load::<Counter>("k").await.unwrap().state.total, 5);

        let elsewhere = engine.execute::<Counter>("other", &add, keyed()).await;
        assert_eq!(elsewhere.unwrap_err().code(), "invalid_input");

        clock.advance(61 * 60 * 1000);
        let third = engine.execute::<Counter>("k", &add, keyed()).await.unwrap();
        assert!(!third.deduplicated);
        assert_eq!(engine.load::<Counter>("k").await.unwrap().state.total, 10);
    });
}

#[test]
fn a_command_that_decides_nothing_writes_nothing() {
    run(async {
        let (engine, _) = engine_on(MemoryStore::new(), 1);
        let result = engine
            .execute::<Counter>("k", &CounterCommand::Reset, Default::default())
            .await
            .unwrap();
        assert!(result.events.is_empty());
        assert_eq!(result.version, 0);
        assert!(engine.store().read_all(0, 10).await.unwrap().is_empty());
    });
}

#[test]
fn an_explicit_expected_version_is_checked_without_retry() {
    run(async {
        let (engine, _) = engine_on(MemoryStore::new(), 1);
        let add = CounterCommand::Add { amount: 1 };
        let at = |version| ExecuteOptions {
            expected_version: Some(version),
            ..Default::default()
        };
        engine
            .execute::<Counter>("k", &add, at(ExpectedVersion::NoStream))
            .await
            .unwrap();
        let error = engine
            .execute::<Counter>("k", &add, at(ExpectedVersion::NoStream))
            .await
            .unwrap_err();
        assert_eq!(
            error,
            Error::Conflict {
                stream: "Counter-k".into(),
                expected: ExpectedVersion::NoStream,
                actual: 1
            }
        );
        engine
            .execute::<Counter>("k", &add, at(ExpectedVersion::Exact(1)))
            .await
            .unwrap();
        assert_eq!(
            engine
                .store()
                .stream_version(&StreamId::parse("Counter-k").unwrap())
                .await
                .unwrap(),
            2
        );
    });
}

#[test]
fn state_at_any_version() {
    run(async {
        let (engine, _) = engine_on(MemoryStore::new(), 1);
        engine
            .execute::<Order>("o-1", &create_order("c-1", 2, 50), Default::default())
            .await
            .unwrap();
        engine
            .execute::<Order>("o-1", &pay(100), Default::default())
            .await
            .unwrap();
        engine
            .execute::<Order>("o-1", &ship(), Default::default())
            .await
            .unwrap();
        let statuses = [
            OrderStatus::None,
            OrderStatus::Pending,
            OrderStatus::Paid,
            OrderStatus::Shipped,
        ];
        for (version, status) in statuses.into_iter().enumerate() {
            let at = engine
                .state_at::<Order>("o-1", version as u64)
                .await
                .unwrap();
            assert_eq!((at.version, at.state.status), (version as u64, status));
        }
        let json = engine.state_at_json("Order", "o-1", 2).await.unwrap();
        assert_eq!(json.state["status"], "Paid");
        assert_eq!(
            engine.state_at::<Order>("o-1", 4).await.unwrap_err().code(),
            "not_found"
        );
    });
}

#[test]
fn each_command_leaves_an_outbox_entry_and_is_counted() {
    run(async {
        let (engine, _) = engine_on(MemoryStore::new(), 1);
        let create = create_order("c-1", 2, 50);
        let options = ExecuteOptions {
            idempotency_key: Some("k".into()),
            ..Default::default()
        };
        let first = engine
            .execute::<Order>("o-1", &create, options.clone())
            .await
            .unwrap();
        engine
            .execute::<Order>("o-1", &create, options)
            .await
            .unwrap();
        let paid = engine
            .execute::<Order>("o-1", &pay(100), Default::default())
            .await
            .unwrap();
        engine
            .execute::<Order>("o-1", &pay(100), Default::default())
            .await
            .unwrap_err();

        let outbox = engine.store().read_outbox(10).await.unwrap();
        assert_eq!(
            outbox.len(),
            2,
            "one entry per executed command; none for the duplicate or the refusal"
        );
        assert_eq!(
            (
                outbox[0].aggregate_type.as_str(),
                outbox[0].aggregate_id.as_str()
            ),
            ("Order", "o-1")
        );
        assert_eq!(outbox[0].command, serde_json::to_value(&create).unwrap());
        assert_eq!(outbox[0].expected_version, 0);
        assert_eq!(outbox[0].idempotency_key.as_deref(), Some("k"));
        assert_eq!(outbox[0].event_ids, vec![first.events[0].id]);
        assert_eq!(
            (outbox[1].expected_version, outbox[1].command_id.as_str()),
            (1, paid.command_id.as_str())
        );

        let stats = engine.stats();
        assert_eq!(
            (
                stats.commands,
                stats.events,
                stats.deduplicated,
                stats.failed
            ),
            (2, 2, 1, 1)
        );
    });
}
