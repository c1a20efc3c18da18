//! The projections and upcasters of the projection property test: the order read model in the
//! background, a tally that shows any event missed, doubled or moved, the shapes of created
//! orders (which must be upcast), and a tally that fails transiently.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use fieldstream::core::{DomainError, Error, EventEnvelope, Projection, Result, Upcasters, View};
use fieldstream::example::OrderProjection;
use serde_json::json;

/// The same read model under another name, caught up in the background.
pub struct Background;

impl Projection for Background {
    fn name(&self) -> &str {
        "orders_bg"
    }
    fn indexes(&self) -> Vec<String> {
        OrderProjection.indexes()
    }
    fn apply(&self, event: &EventEnvelope, view: &mut View<'_>) -> Result<()> {
        OrderProjection.apply(event, view)
    }
}

/// Counts events per stream and in all, and remembers the order they came in: any event
/// applied twice, missed, or applied out of order shows.
pub struct Tally;

impl Projection for Tally {
    fn name(&self) -> &str {
        "tally"
    }
    fn indexes(&self) -> Vec<String> {
        vec!["kind".into()]
    }
    fn apply(&self, event: &EventEnvelope, view: &mut View<'_>) -> Result<()> {
        let mut all = view
            .get("all")
            .unwrap_or_else(|| json!({"kind": "all", "count": 0, "trail": ""}));
        all["count"] = json!(all["count"].as_u64().unwrap_or(0) + 1);
        let trail = format!(
            "{}{}{};",
            all["trail"].as_str().unwrap_or(""),
            event.stream,
            event.version
        );
        all["trail"] = json!(trail);
        view.put("all", all);
        let key = event.stream.to_string();
        let mut one = view
            .get(&key)
            .unwrap_or_else(|| json!({"kind": "stream", "count": 0}));
        one["count"] = json!(one["count"].as_u64().unwrap_or(0) + 1);
        view.put(key, one);
        Ok(())
    }
}

/// `OrderCreated` events changed shape twice: v2 added the currency, v3 the sales channel.
pub fn upcasters() -> Upcasters {
    let mut upcasters = Upcasters::new();
    upcasters
        .register("OrderCreated", 1, |mut data| {
            data["currency"] = json!("EUR");
            Ok(data)
        })
        .unwrap();
    upcasters
        .register("OrderCreated", 2, |mut data| {
            data["channel"] = json!("field");
            Ok(data)
        })
        .unwrap();
    upcasters
}

/// What each order's creation looked like to the projection: it must be the newest shape.
pub struct Shapes;

impl Projection for Shapes {
    fn name(&self) -> &str {
        "shapes"
    }
    fn indexes(&self) -> Vec<String> {
        vec!["kind".into()]
    }
    fn apply(&self, event: &EventEnvelope, view: &mut View<'_>) -> Result<()> {
        if event.event_type == "OrderCreated" {
            let shape = json!({
                "kind": "order",
                "schema": event.schema_version,
                "currency": event.data["currency"],
                "channel": event.data["channel"],
            });
            view.put(event.stream.to_string(), shape);
        }
        Ok(())
    }
}

/// The tally, under another name, failing the first `FAILURES` times it is asked to apply each
/// payment (a service that is briefly down).
pub struct FlakyTally {
    pub name: &'static str,
    pub failures: Rc<RefCell<HashMap<uuid::Uuid, u32>>>,
}

pub const FAILURES: u32 = 2;

impl Projection for FlakyTally {
    fn name(&self) -> &str {
        self.name
    }
    fn indexes(&self) -> Vec<String> {
        Tally.indexes()
    }
    fn apply(&self, event: &EventEnvelope, view: &mut View<'_>) -> Result<()> {
        if event.event_type == "OrderPaid" {
            let mut failures = self.failures.borrow_mut();
            let failed = failures.entry(event.id).or_default();
            if *failed < FAILURES {
                *failed += 1;
                return Err(Error::Domain(DomainError::new("down", "briefly down")));
            }
        }
        Tally.apply(event, view)
    }
}
