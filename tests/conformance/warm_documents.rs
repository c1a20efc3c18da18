//! Conformance cases of the documents a projector keeps in memory between steps: a warm read
//! model applies each event once and reads nothing it knows, and never hides what another
//! writer of the same read model (another tab's engine) stored.

use std::cell::Cell;
use std::rc::Rc;

use fieldstream::core::{
    EventEnvelope, ExecuteOptions, Projection, ProjectionOptions, Result, View,
};
use fieldstream::example::Order;
use fieldstream::store::EventStore;
use serde_json::json;

use super::Case;
use super::projections::{create, orders_engine};

/// The cases of warm documents, by name.
pub fn cases<S: EventStore + Clone + 'static>() -> Vec<(&'static str, Case<S>)> {
    vec![
        ("a_warm_read_model_applies_each_event_once", |s| {
            Box::pin(a_warm_read_model_applies_each_event_once(s))
        }),
        ("warm_documents_never_hide_another_writer", |s| {
            Box::pin(warm_documents_never_hide_another_writer(s))
        }),
    ]
}

/// Orders per customer, counting every call of `apply`.
struct OrdersPerCustomer {
    applies: Rc<Cell<usize>>,
}

impl Projection for OrdersPerCustomer {
    fn name(&self) -> &str {
        "orders_per_customer"
    }
    fn apply(&self, event: &EventEnvelope, view: &mut View<'_>) -> Result<()> {
        self.applies.set(self.applies.get() + 1);
        if event.event_type == "OrderCreated" {
            let customer = event.data["customerId"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let orders = view
                .get(&customer)
                .map_or(0, |doc| doc["orders"].as_u64().unwrap_or(0));
            view.put(customer, json!({ "orders": orders + 1 }));
        }
        Ok(())
    }
}

fn counting() -> (Rc<dyn Projection>, Rc<Cell<usize>>) {
    let applies = Rc::new(Cell::new(0));
    let projection = OrdersPerCustomer {
        applies: applies.clone(),
    };
    (Rc::new(projection), applies)
}

pub(super) async fn a_warm_read_model_applies_each_event_once<S: EventStore + Clone>(store: S) {
    let (projection, applies) = counting();
    let builder = orders_engine(&store, projection, ProjectionOptions::default()).await;
    for order in ["o-1", "o-2", "o-3"] {
        let before = applies.get();
        builder
            .execute::<Order>(order, &create("c-1", 1), ExecuteOptions::default())
            .await
            .unwrap();
        // The engine built the read model from nothing, so it knows every document there is.
        assert_eq!(applies.get() - before, 1, "{order} applies its event once");
    }

    // A reload starts cold: the document is not known yet, so `apply` runs, misses it, and
    // runs again; then it is warm.
    let (projection, applies) = counting();
    let reload = orders_engine(&store, projection, ProjectionOptions::default()).await;
    for (n, order) in ["o-4", "o-5", "o-6"].into_iter().enumerate() {
        let before = applies.get();
        reload
            .execute::<Order>(order, &create("c-1", 1), ExecuteOptions::default())
            .await
            .unwrap();
        let calls = applies.get() - before;
        if n == 0 {
            assert_eq!(calls, 2, "the first command applies, misses, applies again");
        } else {
            assert_eq!(calls, 1, "command {} applies its event once", n + 1);
        }
    }
    let doc = reload.get("orders_per_customer", "c-1").await.unwrap();
    assert_eq!(doc, Some(json!({ "orders": 6 })));
}

pub(super) async fn warm_documents_never_hide_another_writer<S: EventStore + Clone>(store: S) {
    let (first, _) = counting();
    let (second, _) = counting();
    let tab_a = orders_engine(&store, first, ProjectionOptions::default()).await;
    let tab_b = orders_engine(&store, second, ProjectionOptions::default()).await;
    let options = ExecuteOptions::default;
    tab_a
        .execute::<Order>("o-1", &create("c-1", 1), options())
        .await
        .unwrap();
    tab_b
        .execute::<Order>("o-2", &create("c-1", 1), options())
        .await
        .unwrap();
    tab_a
        .execute::<Order>("o-3", &create("c-1", 1), options())
        .await
        .unwrap();
    tab_b
        .execute::<Order>("o-4", &create("c-1", 1), options())
        .await
        .unwrap();
    for tab in [&tab_a, &tab_b] {
        let doc = tab.get("orders_per_customer", "c-1").await.unwrap();
        assert_eq!(
            doc,
            Some(json!({ "orders": 4 })),
            "each tab's commands count once"
        );
    }
}
