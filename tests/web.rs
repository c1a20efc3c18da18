//! `IndexedDbStore` in headless Chromium: the conformance suite, persistence, races between
//! tabs, aborted commits, durability, upgrades and long replays.

#![cfg(target_arch = "wasm32")]

mod conformance;
#[path = "web/fixtures.rs"]
mod fixtures;
#[path = "web/projection_writes.rs"]
mod projection_writes;
#[path = "web/runs.rs"]
mod runs;
#[path = "web/undo_upgrade.rs"]
mod undo_upgrade;
#[path = "web/upgrade.rs"]
mod upgrade;

use fieldstream::core::{EngineConfig, ExecuteOptions};
use fieldstream::example::{Order, OrderCommand, OrderStatus};
use fieldstream::store::{CommandQueue, Durability, EventLog, IndexedDbOptions, IndexedDbStore};
use fixtures::{create, fresh_name, order_engine, pay};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// The conformance suite on `IndexedDbStore` in a page, one test per case.
mod suite {
    use super::*;

    conformance::each_case!(
        conformance::wasm_case_tests;
        IndexedDbStore::open(&fresh_name("conformance")).await.unwrap()
    );
}

#[wasm_bindgen_test]
async fn everything_survives_closing_and_reopening() {
    let name = fresh_name("persist");
    let store = IndexedDbStore::open(&name).await.unwrap();
    let client_id = store.client_id().to_owned();
    let engine = order_engine(store.clone());
    for n in 0..3 {
        let id = format!("o-{n}");
        engine
            .execute::<Order>(&id, &create(), ExecuteOptions::default())
            .await
            .unwrap();
        engine
            .execute::<Order>(&id, &pay(), ExecuteOptions::default())
            .await
            .unwrap();
    }
    let before: Vec<_> = (0..3).map(|n| format!("o-{n}")).collect();
    let mut histories = Vec::new();
    for id in &before {
        histories.push(engine.history("Order", id).await.unwrap());
    }
    let outbox = store.read_outbox(100).await.unwrap();
    assert_eq!(outbox.len(), 6);
    drop(engine);
    store.close();

    let reopened = IndexedDbStore::open(&name).await.unwrap();
    assert_eq!(
        reopened.client_id(),
        client_id,
        "the client id is made once per database"
    );
    let engine = order_engine(reopened.clone());
    for (id, history) in before.iter().zip(&histories) {
        assert_eq!(&engine.history("Order", id).await.unwrap(), history);
        let loaded = engine.load::<Order>(id).await.unwrap();
        assert_eq!(
            (loaded.version, loaded.state.status),
            (2, OrderStatus::Paid)
        );
    }
    assert_eq!(reopened.read_outbox(100).await.unwrap(), outbox);
    assert_eq!(reopened.read_all(0, 100).await.unwrap().len(), 6);
}

#[wasm_bindgen_test]
async fn snapshots_persist_and_are_used() {
    let name = fresh_name("snapshots");
    let store = IndexedDbStore::open(&name).await.unwrap();
    let engine = fixtures::counter_engine(store.clone(), EngineConfig::default());
    for _ in 0..7 {
        engine
            .execute::<fixtures::Counter>("k", &fixtures::add(3), ExecuteOptions::default())
            .await
            .unwrap();
    }
    store.close();
    let reopened = IndexedDbStore::open(&name).await.unwrap();
    let stream = fieldstream::core::StreamId::parse("Counter-k").unwrap();
    let snapshot = reopened.latest_snapshot(&stream).await.unwrap().unwrap();
    assert_eq!(snapshot.version, 5);
    let engine = fixtures::counter_engine(reopened, EngineConfig::default());
    assert_eq!(
        engine
            .load::<fixtures::Counter>("k")
            .await
            .unwrap()
            .state
            .total,
        21
    );
}

#[wasm_bindgen_test]
async fn two_engines_racing_on_one_aggregate_never_fork_it() {
    let name = fresh_name("race");
    let a = order_engine(IndexedDbStore::open(&name).await.unwrap());
    let b = order_engine(IndexedDbStore::open(&name).await.unwrap());
    a.execute::<Order>("o-1", &create(), ExecuteOptions::default())
        .await
        .unwrap();
    let ship = OrderCommand::ShipOrder {
        tracking_number: "T".into(),
    };
    let payment = pay();
    let (paid_by_a, paid_by_b) = futures::join!(
        a.execute::<Order>("o-1", &payment, ExecuteOptions::default()),
        b.execute::<Order>("o-1", &payment, ExecuteOptions::default()),
    );
    let winners = [&paid_by_a, &paid_by_b]
        .iter()
        .filter(|r| r.is_ok())
        .count();
    assert_eq!(
        winners, 1,
        "exactly one payment holds: {paid_by_a:?} / {paid_by_b:?}"
    );
    let loser = if paid_by_a.is_ok() {
        paid_by_b
    } else {
        paid_by_a
    };
    assert!(
        matches!(loser, Err(fieldstream::core::Error::Domain(ref d)) if d.code == "order_not_payable")
    );
    assert_eq!(
        a.stats().conflict_retries + b.stats().conflict_retries,
        0,
        "each decides inside its own write, after the other's: nothing to retry"
    );

    let one = fixtures::add(1);
    let (x, y) = futures::join!(
        a.execute::<fixtures::Counter>("c", &one, ExecuteOptions::default()),
        b.execute::<fixtures::Counter>("c", &one, ExecuteOptions::default()),
    );
    x.unwrap();
    y.unwrap();
    let history = a.history("Counter", "c").await.unwrap();
    assert_eq!(
        history.iter().map(|e| e.version).collect::<Vec<_>>(),
        vec![1, 2]
    );
    b.execute::<Order>("o-1", &ship, ExecuteOptions::default())
        .await
        .unwrap();
    assert_eq!(
        a.load::<Order>("o-1").await.unwrap().version,
        3,
        "a commit in one is seen by the other"
    );
}

#[wasm_bindgen_test]
async fn an_aborted_commit_leaves_nothing_behind() {
    let store = IndexedDbStore::open(&fresh_name("abort")).await.unwrap();
    let engine = fixtures::counter_engine(store.clone(), EngineConfig::default());
    engine
        .execute::<fixtures::Counter>("k", &fixtures::add(1), ExecuteOptions::default())
        .await
        .unwrap();
    store.abort_next_commit_after(3);
    let error = engine
        .execute::<fixtures::Counter>("k", &fixtures::add_many(10), ExecuteOptions::default())
        .await;
    assert_eq!(error.unwrap_err().code(), "storage");
    assert_eq!(store.read_all(0, 100).await.unwrap().len(), 1);
    assert_eq!(store.read_outbox(100).await.unwrap().len(), 1);
    let after = engine
        .execute::<fixtures::Counter>("k", &fixtures::add_many(10), ExecuteOptions::default())
        .await
        .unwrap();
    assert_eq!((after.events.len(), after.version), (10, 11));
    let seqs: Vec<u64> = store
        .read_all(0, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(
        seqs,
        (1..=11).collect::<Vec<_>>(),
        "local sequence numbers stay gap-free"
    );
}

#[wasm_bindgen_test]
async fn durability_is_what_the_store_asked_for() {
    for (durability, reported) in [
        (Durability::Relaxed, "relaxed"),
        (Durability::Strict, "strict"),
    ] {
        let options = IndexedDbOptions {
            durability,
            ..Default::default()
        };
        let store = IndexedDbStore::open_with(&fresh_name("durability"), options)
            .await
            .unwrap();
        assert_eq!(store.durability(), durability);
        let engine = order_engine(store.clone());
        engine
            .execute::<Order>("o-1", &create(), ExecuteOptions::default())
            .await
            .unwrap();
        assert_eq!(store.last_commit_durability().as_deref(), Some(reported));
        let name = store.name().to_owned();
        store.close();
        let reopened = IndexedDbStore::open(&name).await.unwrap();
        assert_eq!(reopened.read_all(0, 10).await.unwrap().len(), 1);
    }
}

#[wasm_bindgen_test]
async fn other_stores_hear_of_commits_without_polling() {
    let name = fresh_name("notices");
    let writer = IndexedDbStore::open(&name).await.unwrap();
    let listener = IndexedDbStore::open(&name).await.unwrap();
    let (heard, mut receive) = futures::channel::mpsc::unbounded::<u64>();
    let _subscription = listener
        .subscribe(move |seq| heard.unbounded_send(seq).unwrap())
        .unwrap();
    let engine = order_engine(writer);
    engine
        .execute::<Order>("o-1", &create(), ExecuteOptions::default())
        .await
        .unwrap();
    engine
        .execute::<Order>("o-1", &pay(), ExecuteOptions::default())
        .await
        .unwrap();
    use futures::StreamExt;
    assert_eq!(receive.next().await, Some(1));
    assert_eq!(receive.next().await, Some(2));
    assert_eq!(listener.read_all(0, 10).await.unwrap().len(), 2);
}

#[wasm_bindgen_test]
async fn a_long_stream_replays_in_bounded_pages() {
    let store = IndexedDbStore::open(&fresh_name("replay")).await.unwrap();
    let total = fixtures::append_counter_events(&store, "Counter-big", 100_000, 5_000).await;
    assert_eq!(total, 100_000);
    let config = EngineConfig {
        read_page_size: 1_000,
        ..EngineConfig::default()
    };
    let mut engine = fieldstream::core::Engine::new(store.clone()).with_config(config);
    engine.register::<fixtures::Counter>().unwrap();
    let before = store.read_stats();
    let loaded = engine.load::<fixtures::Counter>("big").await.unwrap();
    assert_eq!((loaded.version, loaded.state.total), (100_000, 100_000));
    let reads = store.read_stats();
    assert_eq!(
        reads.largest_page, 1_000,
        "no read returned more than one page"
    );
    assert_eq!(
        reads.stream_pages - before.stream_pages,
        101,
        "100 full pages and the empty one that ends the stream"
    );
}

#[wasm_bindgen_test]
async fn live_queries_follow_commits_made_in_another_tab() {
    use std::rc::Rc;
    let name = fresh_name("live");
    let projection = fieldstream::core::ProjectionOptions::default();
    let tab = |store: IndexedDbStore| {
        let mut engine = order_engine(store);
        engine
            .register_projection(Rc::new(fieldstream::example::OrderProjection), projection)
            .unwrap();
        Rc::new(engine)
    };
    let a = tab(IndexedDbStore::open(&name).await.unwrap());
    let b = tab(IndexedDbStore::open(&name).await.unwrap());
    a.catch_up_projections().await.unwrap();
    b.catch_up_projections().await.unwrap();
    let (changed, mut changes) = futures::channel::mpsc::unbounded::<serde_json::Value>();
    let spec =
        serde_json::from_value(serde_json::json!({"index": "status", "equals": "Paid"})).unwrap();
    let watch = fieldstream::core::engine::Watch::Query(spec);
    b.subscribe(
        "orders",
        watch,
        Rc::new(move |result: &serde_json::Value| changed.unbounded_send(result.clone()).unwrap()),
    )
    .await
    .unwrap();
    let refresher = b.clone();
    let _notices = b.store().subscribe(move |_| {
        let engine = refresher.clone();
        wasm_bindgen_futures::spawn_local(async move { engine.refresh_subscriptions().await });
    });
    use futures::StreamExt;
    assert_eq!(
        changes.next().await.unwrap()["docs"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    a.execute::<Order>("o-1", &create(), ExecuteOptions::default())
        .await
        .unwrap();
    a.execute::<Order>("o-1", &pay(), ExecuteOptions::default())
        .await
        .unwrap();
    let paid = changes.next().await.unwrap();
    assert_eq!(paid["docs"][0]["key"], "o-1", "tab B sees tab A's payment");
}

#[wasm_bindgen_test]
async fn a_warm_aggregate_reads_no_events_and_sees_another_tabs_commit() {
    let name = fresh_name("warm");
    let store = IndexedDbStore::open(&name).await.unwrap();
    let a = order_engine(store.clone());
    let b = order_engine(IndexedDbStore::open(&name).await.unwrap());
    let options = ExecuteOptions::default;
    a.execute::<Order>("o-1", &create(), options())
        .await
        .unwrap();
    let before = store.read_stats();
    a.execute::<Order>("o-1", &pay(), options()).await.unwrap();
    assert_eq!(a.stats().warm_commands, 1, "decided on the warm state");
    assert_eq!(
        store.read_stats().events_read,
        before.events_read,
        "a warm command reads no event"
    );

    // Another tab moves the stream on: the warm state is not used, the new head is folded.
    b.execute::<fixtures::Counter>("c", &fixtures::add(1), options())
        .await
        .unwrap();
    a.execute::<fixtures::Counter>("c", &fixtures::add(2), options())
        .await
        .unwrap();
    b.execute::<fixtures::Counter>("c", &fixtures::add(10), options())
        .await
        .unwrap();
    let warm = a.stats().warm_commands;
    a.execute::<fixtures::Counter>("c", &fixtures::add(100), options())
        .await
        .unwrap();
    assert_eq!(a.stats().warm_commands, warm, "the moved head was folded");
    let counter = a.load::<fixtures::Counter>("c").await.unwrap();
    assert_eq!((counter.version, counter.state.total), (4, 113));
    let ship = OrderCommand::ShipOrder {
        tracking_number: "T".into(),
    };
    b.execute::<Order>("o-1", &ship, options()).await.unwrap();
    let refused = a.execute::<Order>("o-1", &ship, options()).await;
    assert!(
        matches!(refused, Err(fieldstream::core::Error::Domain(_))),
        "shipped twice: {refused:?}"
    );
}
