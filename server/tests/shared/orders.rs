//! The Order commands the sync tests draw from: create, pay or ship one small order.

use fieldstream::example::{OrderCommand, OrderItem};

/// `kind` 0 creates an order of 10, 1 pays it, anything else ships it.
pub fn command(kind: u64) -> OrderCommand {
    match kind {
        0 => OrderCommand::CreateOrder {
            customer_id: "c".into(),
            items: vec![OrderItem {
                product_id: "p".into(),
                quantity: 1,
                unit_price: 10,
            }],
        },
        1 => OrderCommand::PayOrder {
            payment_method: "card".into(),
            amount: 10,
        },
        _ => OrderCommand::ShipOrder {
            tracking_number: "T".into(),
        },
    }
}
