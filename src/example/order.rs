//! The Order aggregate: `CreateOrder` → `OrderCreated`, `AddItem` → `OrderItemAdded`,
//! `PayOrder` → `OrderPaid`, `ShipOrder` → `OrderShipped`.
//!
//! Rules: an order is created once, with at least one item; items are added only while it is
//! pending; it is paid only while pending and only for its total; it is shipped only once paid.
//! Money is in minor units (cents).

use serde::{Deserialize, Serialize};

use crate::core::{Aggregate, DomainError};

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderItem {
    /// The product ordered.
    pub product_id: String,
    /// How many.
    pub quantity: u32,
    /// The price of one, in minor units.
    pub unit_price: i64,
}

/// What can be asked of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all_fields = "camelCase")]
pub enum OrderCommand {
    /// Place a new order.
    CreateOrder {
        /// The customer who orders.
        customer_id: String,
        /// What is ordered.
        items: Vec<OrderItem>,
    },
    /// Add a line to a pending order.
    AddItem {
        /// The line added.
        item: OrderItem,
    },
    /// Pay a pending order in full.
    PayOrder {
        /// How it is paid, such as `card` or `invoice`.
        payment_method: String,
        /// The amount paid, in minor units; must equal the order's total.
        amount: i64,
    },
    /// Ship a paid order.
    ShipOrder {
        /// The carrier's tracking number.
        tracking_number: String,
    },
}

/// What happened to an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all_fields = "camelCase")]
pub enum OrderEvent {
    /// The order was placed.
    OrderCreated {
        /// The customer who ordered.
        customer_id: String,
        /// What was ordered.
        items: Vec<OrderItem>,
        /// The sum of price × quantity, in minor units.
        total: i64,
    },
    /// A line was added to the order.
    OrderItemAdded {
        /// The line added.
        item: OrderItem,
        /// The order's new total, in minor units.
        total: i64,
    },
    /// The order was paid.
    OrderPaid {
        /// How it was paid.
        payment_method: String,
        /// The amount paid, in minor units.
        amount: i64,
    },
    /// The order left the warehouse.
    OrderShipped {
        /// The carrier's tracking number.
        tracking_number: String,
    },
}

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderStatus {
    /// Not created yet.
    #[default]
    None,
    /// Created, waiting for payment.
    Pending,
    /// Paid, waiting to ship.
    Paid,
    /// Shipped.
    Shipped,
}

/// The state of one order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// Where the order is in its life.
    pub status: OrderStatus,
    /// The customer who ordered.
    pub customer_id: String,
    /// What was ordered.
    pub items: Vec<OrderItem>,
    /// The total, in minor units.
    pub total: i64,
    /// The tracking number once shipped.
    pub tracking_number: Option<String>,
}

fn refuse(code: &str, message: impl Into<String>) -> DomainError {
    DomainError::new(code, message)
}

/// `total` plus a checked line's price × quantity.
fn add_line(total: i64, item: &OrderItem) -> Result<i64, DomainError> {
    if item.quantity == 0 || item.unit_price < 0 || item.product_id.is_empty() {
        return Err(refuse(
            "invalid_order",
            format!(
                "item {:?} needs a product, a quantity ≥ 1 and a price ≥ 0",
                item.product_id
            ),
        ));
    }
    item.unit_price
        .checked_mul(i64::from(item.quantity))
        .and_then(|line| total.checked_add(line))
        .ok_or_else(|| refuse("invalid_order", "the order's total is too large"))
}

impl Order {
    fn create(&self, customer_id: &str, items: &[OrderItem]) -> Result<OrderEvent, DomainError> {
        if self.status != OrderStatus::None {
            return Err(refuse("order_exists", "the order already exists"));
        }
        if customer_id.trim().is_empty() {
            return Err(refuse("invalid_order", "an order needs a customer"));
        }
        if items.is_empty() {
            return Err(refuse("invalid_order", "an order needs at least one item"));
        }
        let total = items.iter().try_fold(0, add_line)?;
        Ok(OrderEvent::OrderCreated {
            customer_id: customer_id.to_owned(),
            items: items.to_vec(),
            total,
        })
    }

    fn add_item(&self, item: &OrderItem) -> Result<OrderEvent, DomainError> {
        if self.status != OrderStatus::Pending {
            return Err(refuse(
                "order_not_editable",
                format!(
                    "items are added only to a pending order; this one is {:?}",
                    self.status
                ),
            ));
        }
        Ok(OrderEvent::OrderItemAdded {
            item: item.clone(),
            total: add_line(self.total, item)?,
        })
    }

    fn pay(&self, payment_method: &str, amount: i64) -> Result<OrderEvent, DomainError> {
        if self.status != OrderStatus::Pending {
            return Err(refuse(
                "order_not_payable",
                format!(
                    "only a pending order can be paid; this one is {:?}",
                    self.status
                ),
            ));
        }
        if amount != self.total {
            return Err(refuse(
                "payment_amount_mismatch",
                format!(
                    "the order's total is {}, the payment was {amount}",
                    self.total
                ),
            ));
        }
        Ok(OrderEvent::OrderPaid {
            payment_method: payment_method.to_owned(),
            amount,
        })
    }

    fn ship(&self, tracking_number: &str) -> Result<OrderEvent, DomainError> {
        if self.status != OrderStatus::Paid {
            return Err(refuse(
                "order_not_shippable",
                format!(
                    "only a paid order can be shipped; this one is {:?}",
                    self.status
                ),
            ));
        }
        if tracking_number.trim().is_empty() {
            return Err(refuse(
                "invalid_tracking_number",
                "a shipment needs a tracking number",
            ));
        }
        Ok(OrderEvent::OrderShipped {
            tracking_number: tracking_number.to_owned(),
        })
    }
}

impl Aggregate for Order {
    const TYPE: &'static str = "Order";
    type Command = OrderCommand;
    type Event = OrderEvent;

    fn decide(&self, command: &OrderCommand) -> Result<Vec<OrderEvent>, DomainError> {
        let event = match command {
            OrderCommand::CreateOrder { customer_id, items } => self.create(customer_id, items)?,
            OrderCommand::AddItem { item } => self.add_item(item)?,
            OrderCommand::PayOrder {
                payment_method,
                amount,
            } => self.pay(payment_method, *amount)?,
            OrderCommand::ShipOrder { tracking_number } => self.ship(tracking_number)?,
        };
        Ok(vec![event])
    }

    fn evolve(&mut self, event: &OrderEvent) {
        match event {
            OrderEvent::OrderCreated {
                customer_id,
                items,
                total,
            } => {
                self.status = OrderStatus::Pending;
                self.customer_id.clone_from(customer_id);
                self.items.clone_from(items);
                self.total = *total;
            }
            OrderEvent::OrderItemAdded { item, total } => {
                self.items.push(item.clone());
                self.total = *total;
            }
            OrderEvent::OrderPaid { .. } => self.status = OrderStatus::Paid,
            OrderEvent::OrderShipped { tracking_number } => {
                self.status = OrderStatus::Shipped;
                self.tracking_number = Some(tracking_number.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::given;

    fn item(product: &str, quantity: u32, unit_price: i64) -> OrderItem {
        OrderItem {
            product_id: product.into(),
            quantity,
            unit_price,
        }
    }

    fn created() -> OrderEvent {
        OrderEvent::OrderCreated {
            customer_id: "c-1".into(),
            items: vec![item("p-1", 2, 150), item("p-2", 1, 700)],
            total: 1_000,
        }
    }

    #[test]
    fn create_sums_price_times_quantity() {
        given::<Order>([])
            .when(&OrderCommand::CreateOrder {
                customer_id: "c-1".into(),
                items: vec![item("p-1", 2, 150), item("p-2", 1, 700)],
            })
            .then_expect([created()]);
    }

    #[test]
    fn items_are_added_only_while_pending() {
        let add = OrderCommand::AddItem {
            item: item("p-3", 3, 100),
        };
        given::<Order>([created()])
            .when(&add)
            .then_expect([OrderEvent::OrderItemAdded {
                item: item("p-3", 3, 100),
                total: 1_300,
            }]);
        given::<Order>([created()])
            .when(&OrderCommand::AddItem {
                item: item("p-3", 0, 100),
            })
            .then_refused("invalid_order");
        let paid = OrderEvent::OrderPaid {
            payment_method: "card".into(),
            amount: 1_000,
        };
        given::<Order>([created(), paid])
            .when(&add)
            .then_refused("order_not_editable");
    }

    #[test]
    fn create_refuses_bad_orders() {
        let create = |items| OrderCommand::CreateOrder {
            customer_id: "c-1".into(),
            items,
        };
        given::<Order>([])
            .when(&create(vec![]))
            .then_refused("invalid_order");
        given::<Order>([])
            .when(&create(vec![item("p", 0, 1)]))
            .then_refused("invalid_order");
        given::<Order>([])
            .when(&create(vec![item("p", 2, i64::MAX)]))
            .then_refused("invalid_order");
        given::<Order>([created()])
            .when(&create(vec![item("p", 1, 1)]))
            .then_refused("order_exists");
    }

    #[test]
    fn pay_only_pending_orders_in_full() {
        let pay = |amount| OrderCommand::PayOrder {
            payment_method: "card".into(),
            amount,
        };
        given::<Order>([])
            .when(&pay(0))
            .then_refused("order_not_payable");
        given::<Order>([created()])
            .when(&pay(999))
            .then_refused("payment_amount_mismatch");
        given::<Order>([created()])
            .when(&pay(1_000))
            .then_expect([OrderEvent::OrderPaid {
                payment_method: "card".into(),
                amount: 1_000,
            }]);
        let paid = OrderEvent::OrderPaid {
            payment_method: "card".into(),
            amount: 1_000,
        };
        given::<Order>([created(), paid])
            .when(&pay(1_000))
            .then_refused("order_not_payable");
    }

    #[test]
    fn ship_only_paid_orders() {
        let ship = OrderCommand::ShipOrder {
            tracking_number: "T-1".into(),
        };
        let paid = OrderEvent::OrderPaid {
            payment_method: "card".into(),
            amount: 1_000,
        };
        let shipped = OrderEvent::OrderShipped {
            tracking_number: "T-1".into(),
        };
        given::<Order>([created()])
            .when(&ship)
            .then_refused("order_not_shippable");
        given::<Order>([created(), paid.clone()])
            .when(&ship)
            .then_expect([shipped.clone()]);
        given::<Order>([created(), paid, shipped])
            .when(&ship)
            .then_refused("order_not_shippable");
    }

    #[test]
    fn commands_and_events_use_the_js_shape() {
        let command: OrderCommand = serde_json::from_value(serde_json::json!({
            "type": "PayOrder", "paymentMethod": "card", "amount": 5
        }))
        .unwrap();
        assert_eq!(
            command,
            OrderCommand::PayOrder {
                payment_method: "card".into(),
                amount: 5
            }
        );
        let event = serde_json::to_value(OrderEvent::OrderShipped {
            tracking_number: "T".into(),
        })
        .unwrap();
        assert_eq!(
            event,
            serde_json::json!({"type": "OrderShipped", "data": {"trackingNumber": "T"}})
        );
    }
}
