//! Conformance cases of a read model over time: versioned rebuilds, live queries, background
//! catch-up, and index queries over many documents.

use std::cell::RefCell;
use std::rc::Rc;

use fieldstream::core::{
    Engine, Error, EventEnvelope, ExecuteOptions, ExpectedVersion, Projection, ProjectionMode,
    ProjectionOptions, Result, View,
};
use fieldstream::example::{Order, OrderProjection};
use fieldstream::store::{Commit, EventStore, SyncBatch};
use serde_json::{Value, json};

use super::projections::{
    all_docs, all_orders, create, foreign, orders_engine, pay, rebuilt, spec,
};

/// The order projection under another version, with a marker so the versions can be told apart.
struct OrdersV2;

impl Projection for OrdersV2 {
    fn name(&self) -> &str {
        "orders"
    }
    fn version(&self) -> u32 {
        2
    }
    fn indexes(&self) -> Vec<String> {
        OrderProjection.indexes()
    }
    fn apply(&self, event: &EventEnvelope, view: &mut View<'_>) -> Result<()> {
        OrderProjection.apply(event, view)?;
        let id = event.stream.aggregate_id().unwrap_or_default().to_owned();
        if let Some(mut doc) = view.get(&id) {
            doc["v2"] = json!(true);
            view.put(id, doc);
        }
        Ok(())
    }
}

pub(super) async fn a_new_version_is_rebuilt_in_chunks<S: EventStore + Clone>(store: S) {
    let v1 = orders_engine(
        &store,
        Rc::new(OrderProjection),
        ProjectionOptions::default(),
    )
    .await;
    for n in 0..6 {
        v1.execute::<Order>(
            &format!("o-{n}"),
            &create("c", 1),
            ExecuteOptions::default(),
        )
        .await
        .unwrap();
    }
    let mut v2 = Engine::new(store.clone());
    v2.register::<Order>().unwrap();
    v2.register_projection(Rc::new(OrdersV2), ProjectionOptions::default())
        .unwrap();
    let step = v2.run_projections(4).await.unwrap();
    assert_eq!(step[0].1.processed, 4);
    assert!(!step[0].1.finished, "interrupted after the first chunk");
    let status = v2.projection_status("orders").await.unwrap();
    let rebuild = status.rebuild.map(|r| (r.version, r.done, r.total));
    assert_eq!((status.version, rebuild), (1, Some((2, 4, 6))));
    assert!(
        v2.get("orders", "o-0")
            .await
            .unwrap()
            .unwrap()
            .get("v2")
            .is_none(),
        "queries still read version 1"
    );

    // A new engine (a reload) resumes the rebuild where it stopped.
    drop(v2);
    let mut resumed = Engine::new(store.clone());
    resumed.register::<Order>().unwrap();
    resumed
        .register_projection(Rc::new(OrdersV2), ProjectionOptions::default())
        .unwrap();
    resumed.catch_up_projections().await.unwrap();
    let status = resumed.projection_status("orders").await.unwrap();
    assert_eq!((status.version, status.rebuild, status.lag), (2, None, 0));
    let docs = all_orders(&resumed).await;
    assert_eq!(docs.len(), 6);
    assert!(docs.iter().all(|(_, doc)| doc["v2"] == json!(true)));
}

pub(super) async fn live_queries_fire_once_per_change<S: EventStore + Clone>(store: S) {
    let engine = orders_engine(
        &store,
        Rc::new(OrderProjection),
        ProjectionOptions::default(),
    )
    .await;
    engine
        .execute::<Order>("o-1", &create("c", 1), ExecuteOptions::default())
        .await
        .unwrap();
    let calls: Rc<RefCell<Vec<Value>>> = Rc::default();
    let seen = calls.clone();
    let watch = fieldstream::core::engine::Watch::Query(spec(
        "status",
        Some(json!("Paid")),
        None,
        10,
        None,
    ));
    engine
        .subscribe(
            "orders",
            watch,
            Rc::new(move |result: &Value| seen.borrow_mut().push(result.clone())),
        )
        .await
        .unwrap();
    assert_eq!(
        calls.borrow().len(),
        1,
        "called once with the current result"
    );

    engine
        .execute::<Order>("o-2", &create("c", 1), ExecuteOptions::default())
        .await
        .unwrap();
    assert_eq!(
        calls.borrow().len(),
        1,
        "a new pending order does not change the paid list"
    );
    engine
        .execute::<Order>("o-1", &pay(100), ExecuteOptions::default())
        .await
        .unwrap();
    assert_eq!(calls.borrow().len(), 2, "paying o-1 changes it, once");
    assert_eq!(calls.borrow()[1]["docs"][0]["key"], "o-1");
    engine
        .execute::<Order>("o-2", &pay(100), ExecuteOptions::default())
        .await
        .unwrap();
    assert_eq!(calls.borrow().len(), 3);
    assert_eq!(calls.borrow()[2]["docs"].as_array().unwrap().len(), 2);
}

pub(super) async fn background_projections_catch_up_in_batches<S: EventStore + Clone>(store: S) {
    let background = ProjectionOptions {
        mode: ProjectionMode::Background { batch_size: 2 },
        ..Default::default()
    };
    let engine = orders_engine(&store, Rc::new(OrderProjection), background).await;
    for n in 0..5 {
        engine
            .execute::<Order>(
                &format!("o-{n}"),
                &create("c", 1),
                ExecuteOptions::default(),
            )
            .await
            .unwrap();
    }
    assert_eq!(
        engine.projection_status("orders").await.unwrap().lag,
        5,
        "commits do not wait for it"
    );
    assert_eq!(engine.get("orders", "o-0").await.unwrap(), None);
    let mut lags = Vec::new();
    loop {
        let steps = engine.run_projections(100).await.unwrap();
        assert!(steps[0].1.processed <= 2, "one batch per step");
        lags.push(engine.projection_status("orders").await.unwrap().lag);
        if steps[0].1.finished {
            break;
        }
    }
    assert_eq!(lags, vec![3, 1, 0]);
    assert_eq!(all_orders(&engine).await, rebuilt(&store).await);
}

pub(super) async fn index_queries_read_only_matching_documents<S: EventStore + Clone>(store: S) {
    let engine = orders_engine(
        &store,
        Rc::new(OrderProjection),
        ProjectionOptions::default(),
    )
    .await;
    let events: Vec<EventEnvelope> = (1..=10_000u64)
        .map(|n| {
            let customer = if n % 100 == 7 {
                "c-7".to_owned()
            } else {
                format!("c-{}", n % 50 + 100)
            };
            foreign(
                &format!("Order-{n}"),
                1,
                n,
                "OrderCreated",
                json!({"customerId": customer, "items": [], "total": n}),
            )
        })
        .collect();
    engine
        .apply_sync(SyncBatch {
            confirmed: events,
            checkpoint: Some(10_000),
            ..Default::default()
        })
        .await
        .unwrap();
    let before = store.read_stats().docs_read;
    let page = engine
        .query(
            "orders",
            spec("customerId", Some(json!("c-7")), None, 1_000, None),
        )
        .await
        .unwrap();
    assert_eq!(page.docs.len(), 100);
    assert_eq!(
        store.read_stats().docs_read - before,
        100,
        "only the matching documents were read"
    );
    let before = store.read_stats().docs_read;
    let range = engine
        .query(
            "orders",
            spec(
                "total",
                None,
                Some((json!(9_990), Value::Null)),
                1_000,
                None,
            ),
        )
        .await
        .unwrap();
    assert_eq!(range.docs.len(), 11);
    assert_eq!(store.read_stats().docs_read - before, 11);
}

/// A commit whose first version another writer took in the meantime (a pulled event, another
/// tab) is a conflict, also when inline projections run in the same write, and leaves the read
/// model as it was.
pub(super) async fn a_taken_version_is_a_conflict_with_inline_projections<S>(store: S)
where
    S: EventStore + Clone,
{
    let engine = orders_engine(
        &store,
        Rc::new(OrderProjection),
        ProjectionOptions::default(),
    )
    .await;
    let options = ExecuteOptions::default;
    engine
        .execute::<Order>("taken", &create("c-1", 1), options())
        .await
        .unwrap();
    engine
        .execute::<Order>("taken", &pay(100), options())
        .await
        .unwrap();
    let before = all_orders(&engine).await;
    // A payment decided at version 1, by a writer that has not seen version 2.
    let history = engine.history("Order", "taken").await.unwrap();
    let mut late = history[1].clone();
    late.id = uuid::Uuid::new_v4();
    let mut commit = Commit::events(late.stream.clone(), ExpectedVersion::Exact(1), vec![late]);
    commit.projector = Some(engine.projector().clone());
    match store.commit(commit).await {
        Err(Error::Conflict { actual, .. }) => assert_eq!(actual, 2),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(store.stream_version(&history[0].stream).await.unwrap(), 2);
    assert_eq!(
        all_orders(&engine).await,
        before,
        "the read model is unchanged"
    );
}

/// The order projection under another name: a second inline read model of the same events.
struct OrderCopies;

impl Projection for OrderCopies {
    fn name(&self) -> &str {
        "order_copies"
    }
    fn indexes(&self) -> Vec<String> {
        OrderProjection.indexes()
    }
    fn apply(&self, event: &EventEnvelope, view: &mut View<'_>) -> Result<()> {
        OrderProjection.apply(event, view)
    }
}

pub(super) async fn two_inline_projections_follow_every_command<S: EventStore + Clone>(store: S) {
    let mut engine = orders_engine(
        &store,
        Rc::new(OrderProjection),
        ProjectionOptions::default(),
    )
    .await;
    engine
        .register_projection(Rc::new(OrderCopies), ProjectionOptions::default())
        .unwrap();
    engine.catch_up_projections().await.unwrap();
    // A new aggregate, then a command on it (decided on its warm state where the engine keeps
    // one), then another aggregate: each commit runs both projections.
    let options = ExecuteOptions::default;
    engine
        .execute::<Order>("o-1", &create("c", 2), options())
        .await
        .unwrap();
    engine
        .execute::<Order>("o-1", &pay(200), options())
        .await
        .unwrap();
    engine
        .execute::<Order>("o-2", &create("d", 1), options())
        .await
        .unwrap();
    let expected = rebuilt(&store).await;
    assert_eq!(expected.len(), 2);
    assert_eq!(all_orders(&engine).await, expected);
    let copies = all_docs(&engine, "order_copies").await;
    assert_eq!(
        copies, expected,
        "the second read model saw every command too"
    );
}
