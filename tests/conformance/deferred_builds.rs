//! Conformance cases of a build of a new projection version that keeps its steps in memory
//! until it ends: its progress shows while nothing is stored, a reload goes on from what was
//! stored, and another writer of the same build (another tab's engine) is never undone or
//! counted twice.

use std::rc::Rc;

use fieldstream::core::{
    Engine, EventEnvelope, ExecuteOptions, Projection, ProjectionOptions, Result, View,
};
use fieldstream::example::Order;
use fieldstream::store::EventStore;
use serde_json::json;

use super::Case;
use super::projections::create;

/// The cases of builds kept in memory, by name.
pub fn cases<S: EventStore + Clone + 'static>() -> Vec<(&'static str, Case<S>)> {
    vec![
        ("a_build_stores_its_steps_when_it_ends", |s| {
            Box::pin(a_build_stores_its_steps_when_it_ends(s))
        }),
        ("a_build_in_memory_gives_way_to_another_writer", |s| {
            Box::pin(a_build_in_memory_gives_way_to_another_writer(s))
        }),
        ("a_build_that_loses_its_steps_stores_as_it_goes", |s| {
            Box::pin(a_build_that_loses_its_steps_stores_as_it_goes(s))
        }),
    ]
}

/// Orders per customer, at a version of choice.
struct OrdersPerCustomer(u32);

impl Projection for OrdersPerCustomer {
    fn name(&self) -> &str {
        "orders_per_customer"
    }
    fn version(&self) -> u32 {
        self.0
    }
    fn apply(&self, event: &EventEnvelope, view: &mut View<'_>) -> Result<()> {
        if event.event_type == "OrderCreated" {
            let customer = event.data["customerId"].as_str().unwrap_or_default();
            let orders = view
                .get(customer)
                .map_or(0, |doc| doc["orders"].as_u64().unwrap_or(0));
            view.put(customer.to_owned(), json!({ "orders": orders + 1 }));
        }
        Ok(())
    }
}

/// An engine (a tab) with the Order aggregate and the projection at `version`, not caught up.
fn tab<S: EventStore + Clone>(store: &S, version: u32) -> Engine<S> {
    let mut engine = Engine::new(store.clone());
    engine.register::<Order>().unwrap();
    engine
        .register_projection(
            Rc::new(OrdersPerCustomer(version)),
            ProjectionOptions::default(),
        )
        .unwrap();
    engine
}

/// Makes `count` orders, spread over customers c-0, c-1 and c-2.
async fn orders<S: EventStore + Clone>(engine: &Engine<S>, from: usize, count: usize) {
    for n in from..from + count {
        engine
            .execute::<Order>(
                &format!("o-{n}"),
                &create(&format!("c-{}", n % 3), 1),
                ExecuteOptions::default(),
            )
            .await
            .unwrap();
    }
}

/// The rebuild progress (events done) projection status shows, if building.
async fn built<S: EventStore + Clone>(engine: &Engine<S>) -> Option<u64> {
    let status = engine
        .projection_status("orders_per_customer")
        .await
        .unwrap();
    status.rebuild.map(|rebuild| rebuild.done)
}

/// The order counts of customers c-0, c-1 and c-2.
async fn counts<S: EventStore + Clone>(engine: &Engine<S>) -> Vec<u64> {
    let mut counts = Vec::new();
    for customer in ["c-0", "c-1", "c-2"] {
        let doc = engine.get("orders_per_customer", customer).await.unwrap();
        counts.push(doc.map_or(0, |doc| doc["orders"].as_u64().unwrap_or(0)));
    }
    counts
}

pub(super) async fn a_build_stores_its_steps_when_it_ends<S: EventStore + Clone>(store: S) {
    let v1 = tab(&store, 1);
    v1.catch_up_projections().await.unwrap();
    orders(&v1, 0, 12).await;

    let v2 = tab(&store, 2);
    v2.run_projections(3).await.unwrap();
    v2.run_projections(3).await.unwrap();
    v2.run_projections(3).await.unwrap();
    assert_eq!(
        built(&v2).await,
        Some(9),
        "the building tab shows its progress"
    );
    let reload = tab(&store, 2);
    assert_eq!(
        built(&reload).await,
        Some(0),
        "a reload sees the build's start, the only thing stored"
    );
    assert_eq!(counts(&v2).await, vec![4, 4, 4], "queries read version 1");

    let steps = v2.run_projections(100).await.unwrap();
    assert!(steps[0].1.finished);
    for engine in [&v2, &reload] {
        let status = engine
            .projection_status("orders_per_customer")
            .await
            .unwrap();
        assert_eq!((status.version, status.rebuild, status.lag), (2, None, 0));
        assert_eq!(counts(engine).await, vec![4, 4, 4]);
    }
}

pub(super) async fn a_build_in_memory_gives_way_to_another_writer<S: EventStore + Clone>(store: S) {
    let v1 = tab(&store, 1);
    v1.catch_up_projections().await.unwrap();
    orders(&v1, 0, 12).await;

    // Tab A builds part of version 2, tab B all of it, then a new order lands while A still
    // holds steps in memory that B's build has overtaken.
    let tab_a = tab(&store, 2);
    tab_a.run_projections(4).await.unwrap();
    tab_a.run_projections(4).await.unwrap();
    let tab_b = tab(&store, 2);
    tab_b.catch_up_projections().await.unwrap();
    orders(&tab_b, 12, 3).await;
    tab_a.catch_up_projections().await.unwrap();
    tab_b.catch_up_projections().await.unwrap();
    for engine in [&tab_a, &tab_b] {
        assert_eq!(
            counts(engine).await,
            vec![5, 5, 5],
            "every order counts once"
        );
        assert_eq!(built(engine).await, None);
    }

    // The other way round: B's build is ahead in memory when A's build ends it.
    let tab_c = tab(&store, 3);
    tab_c.run_projections(5).await.unwrap();
    tab_c.run_projections(5).await.unwrap();
    let tab_d = tab(&store, 3);
    tab_d.run_projections(5).await.unwrap();
    tab_d.run_projections(5).await.unwrap();
    tab_c.catch_up_projections().await.unwrap();
    orders(&tab_c, 15, 3).await;
    tab_d.catch_up_projections().await.unwrap();
    for engine in [&tab_c, &tab_d] {
        assert_eq!(
            counts(engine).await,
            vec![6, 6, 6],
            "every order counts once"
        );
    }
}

pub(super) async fn a_build_that_loses_its_steps_stores_as_it_goes<S: EventStore + Clone>(
    store: S,
) {
    let old_code = tab(&store, 1);
    old_code.catch_up_projections().await.unwrap();
    orders(&old_code, 0, 12).await;

    // A tab with the new version builds in memory; a tab still on the old version commits (and
    // stores the projection's state), so the steps kept in memory are lost.
    let new_code = tab(&store, 2);
    new_code.run_projections(3).await.unwrap();
    new_code.run_projections(3).await.unwrap();
    orders(&old_code, 12, 3).await;
    new_code.run_projections(3).await.unwrap();
    assert_eq!(
        built(&tab(&store, 2)).await,
        Some(3),
        "after losing its steps once, the build stores each step"
    );
    new_code.catch_up_projections().await.unwrap();
    assert_eq!(built(&new_code).await, None);
    assert_eq!(
        counts(&new_code).await,
        vec![5, 5, 5],
        "every order counts once"
    );
}
