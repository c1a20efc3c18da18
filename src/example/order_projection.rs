//! The order read model (the guide's `OrderProjection` → `OrderReadModel`): one document per
//! order, indexed by customer and by status.

use serde_json::{Value, json};

use crate::core::{Error, EventEnvelope, Projection, Result, View};

/// Keeps one document per order: `orderId`, `customerId`, `status`, `total`, `createdAt`,
/// `paidAt`, `shippedAt` (times in Unix milliseconds), indexed by `customerId` and `status`.
#[derive(Debug, Clone, Copy, Default)]
pub struct OrderProjection;

impl Projection for OrderProjection {
    fn name(&self) -> &str {
        "orders"
    }

    fn indexes(&self) -> Vec<String> {
        vec!["customerId".into(), "status".into(), "total".into()]
    }

    fn apply(&self, event: &EventEnvelope, view: &mut View<'_>) -> Result<()> {
        if event.stream.category() != "Order" {
            return Ok(());
        }
        let id = event.stream.aggregate_id().unwrap_or_default().to_owned();
        let at = json!(event.metadata.occurred_at.millis());
        match event.event_type.as_str() {
            "OrderCreated" => view.put(
                id.clone(),
                json!({
                    "orderId": id, "customerId": event.data["customerId"], "status": "Pending",
                    "total": event.data["total"], "createdAt": at, "paidAt": null, "shippedAt": null,
                }),
            ),
            "OrderItemAdded" => {
                let mut doc = view.get(&id).ok_or_else(|| {
                    Error::NotFound(format!("order {id} has no document to add an item to"))
                })?;
                doc["total"] = event.data["total"].clone();
                view.put(id, doc);
            }
            "OrderPaid" | "OrderShipped" => {
                let mut doc = view.get(&id).ok_or_else(|| {
                    Error::NotFound(format!("order {id} has no document to update for {}", event.event_type))
                })?;
                let (status, field) = match event.event_type.as_str() {
                    "OrderPaid" => ("Paid", "paidAt"),
                    _ => ("Shipped", "shippedAt"),
                };
                doc["status"] = Value::from(status);
                doc[field] = at;
                view.put(id, doc);
            }
            _ => {}
        }
        Ok(())
    }
}
