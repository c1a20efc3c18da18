//! The projection part of the conformance suite: read-your-writes, index queries, correction
//! when confirmed events arrive, versioned rebuilds and live queries; failures and operations
//! (`projection_failures.rs`) and upcasting (`projection_upcasting.rs`) have files of their own.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use fieldstream::core::projection::QuerySpec;
use fieldstream::core::{
    Engine, EventEnvelope, ExecuteOptions, Projection, ProjectionOptions, View,
};
use fieldstream::example::{Order, OrderCommand, OrderItem, OrderProjection};
use fieldstream::store::{EventStore, SyncBatch};
use serde_json::{Value, json};

type Case<S> = fn(S) -> Pin<Box<dyn Future<Output = ()>>>;

/// The projection cases, by name.
pub fn cases<S: EventStore + Clone + 'static>() -> Vec<(&'static str, Case<S>)> {
    vec![
        ("projections_read_your_writes", |s| {
            Box::pin(read_your_writes(s))
        }),
        ("index_queries_page_in_order", |s| {
            Box::pin(index_queries_page_in_order(s))
        }),
        ("confirmed_events_correct_the_read_model", |s| {
            Box::pin(confirmed_events_correct_the_read_model(s))
        }),
        ("a_new_version_is_rebuilt_in_chunks", |s| {
            Box::pin(super::projection_lifecycle::a_new_version_is_rebuilt_in_chunks(s))
        }),
        ("live_queries_fire_once_per_change", |s| {
            Box::pin(super::projection_lifecycle::live_queries_fire_once_per_change(s))
        }),
        ("background_projections_catch_up_in_batches", |s| {
            Box::pin(super::projection_lifecycle::background_projections_catch_up_in_batches(s))
        }),
        ("index_queries_read_only_matching_documents", |s| {
            Box::pin(super::projection_lifecycle::index_queries_read_only_matching_documents(s))
        }),
        ("two_inline_projections_follow_every_command", |s| {
            Box::pin(super::projection_lifecycle::two_inline_projections_follow_every_command(s))
        }),
        (
            "a_taken_version_is_a_conflict_with_inline_projections",
            |s| {
                Box::pin(super::projection_lifecycle::a_taken_version_is_a_conflict_with_inline_projections(s))
            },
        ),
    ]
}

pub async fn orders_engine<S: EventStore + Clone>(
    store: &S,
    projection: Rc<dyn Projection>,
    options: ProjectionOptions,
) -> Engine<S> {
    let mut engine = Engine::new(store.clone());
    engine.register::<Order>().unwrap();
    engine.register_projection(projection, options).unwrap();
    engine.catch_up_projections().await.unwrap();
    engine
}

pub fn create(customer: &str, quantity: u32) -> OrderCommand {
    let items = vec![OrderItem {
        product_id: "p".into(),
        quantity,
        unit_price: 100,
    }];
    OrderCommand::CreateOrder {
        customer_id: customer.into(),
        items,
    }
}

pub fn pay(amount: i64) -> OrderCommand {
    OrderCommand::PayOrder {
        payment_method: "card".into(),
        amount,
    }
}

pub(super) fn spec(
    index: &str,
    equals: Option<Value>,
    range: Option<(Value, Value)>,
    limit: usize,
    after: Option<String>,
) -> QuerySpec {
    serde_json::from_value(
        json!({ "index": index, "equals": equals, "range": range, "limit": limit, "after": after }),
    )
    .unwrap()
}

/// Every order document of the `orders` read model, by key.
pub async fn all_orders<S: EventStore>(engine: &Engine<S>) -> Vec<(String, Value)> {
    all_docs(engine, "orders").await
}

/// Every document of read model `name` (an order projection, indexed by `status`), by key.
pub(super) async fn all_docs<S: EventStore>(
    engine: &Engine<S>,
    name: &str,
) -> Vec<(String, Value)> {
    let page = engine
        .query(
            name,
            spec(
                "status",
                None,
                Some((Value::Null, Value::Null)),
                10_000,
                None,
            ),
        )
        .await
        .unwrap();
    let mut docs: Vec<(String, Value)> = page
        .docs
        .into_iter()
        .map(|doc| (doc.key, doc.doc))
        .collect();
    docs.sort_by(|a, b| a.0.cmp(&b.0));
    docs
}

/// The read model a fresh rebuild would give: confirmed events by position, then pending ones
/// by local order, folded by the projection directly.
pub async fn rebuilt<S: EventStore>(store: &S) -> Vec<(String, Value)> {
    let mut events = store.read_all(0, 1_000_000).await.unwrap();
    events.sort_by_key(|stored| match stored.event.position {
        Some(position) => (0, position),
        None => (1, stored.seq),
    });
    let mut known = std::collections::HashMap::new();
    for stored in &events {
        let mut view = View::new(&known);
        OrderProjection.apply(&stored.event, &mut view).unwrap();
        let writes = view.into_writes();
        for (key, doc) in writes {
            known.insert(key, doc);
        }
    }
    let mut docs: Vec<(String, Value)> = known
        .into_iter()
        .filter_map(|(key, doc)| Some((key, doc?)))
        .collect();
    docs.sort_by(|a, b| a.0.cmp(&b.0));
    docs
}

async fn read_your_writes<S: EventStore + Clone>(store: S) {
    let engine = orders_engine(
        &store,
        Rc::new(OrderProjection),
        ProjectionOptions::default(),
    )
    .await;
    engine
        .execute::<Order>("o-1", &create("c-1", 2), ExecuteOptions::default())
        .await
        .unwrap();
    let doc = engine
        .get("orders", "o-1")
        .await
        .unwrap()
        .expect("visible right after execute");
    assert_eq!(
        (
            doc["status"].as_str(),
            doc["customerId"].as_str(),
            doc["total"].as_i64()
        ),
        (Some("Pending"), Some("c-1"), Some(200))
    );
    engine
        .execute::<Order>("o-1", &pay(200), ExecuteOptions::default())
        .await
        .unwrap();
    let doc = engine.get("orders", "o-1").await.unwrap().unwrap();
    assert_eq!(doc["status"], "Paid");
    assert!(doc["paidAt"].is_number());
    assert_eq!(engine.get("orders", "nope").await.unwrap(), None);
    assert_eq!(engine.projection_status("orders").await.unwrap().lag, 0);
}

async fn index_queries_page_in_order<S: EventStore + Clone>(store: S) {
    let engine = orders_engine(
        &store,
        Rc::new(OrderProjection),
        ProjectionOptions::default(),
    )
    .await;
    for n in 0..25u32 {
        let customer = format!("c-{}", n % 3);
        engine
            .execute::<Order>(
                &format!("o-{n:02}"),
                &create(&customer, n + 1),
                ExecuteOptions::default(),
            )
            .await
            .unwrap();
    }
    let mut after = None;
    let mut seen = Vec::new();
    loop {
        let page = engine
            .query(
                "orders",
                spec("customerId", Some(json!("c-1")), None, 4, after.clone()),
            )
            .await
            .unwrap();
        assert!(page.docs.len() <= 4);
        seen.extend(page.docs.iter().map(|doc| doc.key.clone()));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let expected: Vec<String> = (0..25u32)
        .filter(|n| n % 3 == 1)
        .map(|n| format!("o-{n:02}"))
        .collect();
    assert_eq!(seen, expected, "every match once, in key order");

    let range = engine
        .query(
            "orders",
            spec("total", None, Some((json!(500), json!(900))), 100, None),
        )
        .await
        .unwrap();
    let totals: Vec<i64> = range
        .docs
        .iter()
        .map(|doc| doc.doc["total"].as_i64().unwrap())
        .collect();
    assert_eq!(
        totals,
        vec![500, 600, 700, 800, 900],
        "ordered by the index value"
    );
    let none = engine
        .query(
            "orders",
            spec("customerId", Some(json!("c-9")), None, 10, None),
        )
        .await
        .unwrap();
    assert!(none.docs.is_empty() && none.next.is_none());
    let undeclared = engine
        .query(
            "orders",
            spec("orderId", Some(json!("o-1")), None, 10, None),
        )
        .await;
    assert_eq!(undeclared.unwrap_err().code(), "invalid_input");
}

pub fn foreign(
    stream: &str,
    version: u64,
    position: u64,
    event_type: &str,
    data: Value,
) -> EventEnvelope {
    EventEnvelope {
        id: uuid::Uuid::new_v4(),
        stream: fieldstream::core::StreamId::parse(stream).unwrap(),
        version,
        position: Some(position),
        event_type: event_type.into(),
        schema_version: 1,
        data,
        metadata: fieldstream::core::EventMetadata {
            occurred_at: fieldstream::core::Timestamp(position as i64),
            ..Default::default()
        },
        recorded_at: Some(fieldstream::core::Timestamp(position as i64)),
    }
}

async fn confirmed_events_correct_the_read_model<S: EventStore + Clone>(store: S) {
    let engine = orders_engine(
        &store,
        Rc::new(OrderProjection),
        ProjectionOptions::default(),
    )
    .await;
    let mine = engine
        .execute::<Order>("o-1", &create("c-1", 1), ExecuteOptions::default())
        .await
        .unwrap();
    engine
        .execute::<Order>("o-1", &pay(100), ExecuteOptions::default())
        .await
        .unwrap();
    assert_eq!(all_orders(&engine).await, rebuilt(&store).await);

    // Another device's order arrives underneath our pending ones.
    let theirs = foreign(
        "Order-o-2",
        1,
        1,
        "OrderCreated",
        json!({"customerId": "c-2", "items": [], "total": 5}),
    );
    engine
        .apply_sync(SyncBatch {
            confirmed: vec![theirs],
            checkpoint: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all_orders(&engine).await.len(), 2);
    assert_eq!(all_orders(&engine).await, rebuilt(&store).await);

    // Our first command is accepted: it becomes confirmed with the next position.
    let outbox = store.read_outbox(10).await.unwrap();
    let mut accepted = mine.events[0].clone();
    accepted.position = Some(2);
    let batch = SyncBatch {
        confirmed: vec![accepted],
        drop_outbox: vec![outbox[0].seq],
        checkpoint: Some(2),
        ..Default::default()
    };
    engine.apply_sync(batch).await.unwrap();
    assert_eq!(all_orders(&engine).await, rebuilt(&store).await);
    assert_eq!(store.read_outbox(10).await.unwrap().len(), 1);

    // Another device paid our order first: our pending payment is dropped (rejected).
    let paid = foreign(
        "Order-o-1",
        2,
        3,
        "OrderPaid",
        json!({"paymentMethod": "cash", "amount": 100}),
    );
    let batch = SyncBatch {
        drop_pending: vec![(fieldstream::core::StreamId::parse("Order-o-1").unwrap(), 2)],
        drop_outbox: vec![outbox[1].seq],
        confirmed: vec![paid],
        checkpoint: Some(3),
        ..Default::default()
    };
    engine.apply_sync(batch).await.unwrap();
    let orders = all_orders(&engine).await;
    assert_eq!(orders, rebuilt(&store).await);
    assert_eq!(
        orders[0].1["paidAt"],
        json!(3),
        "the read model shows the other device's payment"
    );
    assert_eq!(store.pull_checkpoint().await.unwrap(), 3);
    assert!(store.read_outbox(10).await.unwrap().is_empty());
}
