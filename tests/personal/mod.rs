//! A delivery aggregate with personal data (the customer's name, phone and address), and a
//! read model that copies them, for the personal-data tests.

#![allow(dead_code)]

use fieldstream::core::{
    Aggregate, DomainError, EventEnvelope, PersonalData, Projection, Result, View,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A delivery booked for a customer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub customer_id: String,
    pub customer_name: String,
    pub phone: String,
    pub address: Value,
    pub slot: String,
    pub booked: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all_fields = "camelCase")]
pub enum DeliveryCommand {
    Book {
        customer_id: String,
        customer_name: String,
        phone: String,
        address: Value,
        slot: String,
    },
    Reschedule {
        slot: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all_fields = "camelCase")]
pub enum DeliveryEvent {
    DeliveryBooked {
        customer_id: String,
        customer_name: String,
        phone: String,
        address: Value,
        slot: String,
    },
    DeliveryRescheduled {
        slot: String,
    },
}

impl Aggregate for Delivery {
    const TYPE: &'static str = "Delivery";
    const SNAPSHOT_EVERY: u64 = 1;
    type Command = DeliveryCommand;
    type Event = DeliveryEvent;

    fn decide(&self, command: &DeliveryCommand) -> Result<Vec<DeliveryEvent>, DomainError> {
        match command {
            DeliveryCommand::Book { .. } if self.booked => {
                Err(DomainError::new("booked", "already booked"))
            }
            DeliveryCommand::Book {
                customer_id,
                customer_name,
                phone,
                address,
                slot,
            } => Ok(vec![DeliveryEvent::DeliveryBooked {
                customer_id: customer_id.clone(),
                customer_name: customer_name.clone(),
                phone: phone.clone(),
                address: address.clone(),
                slot: slot.clone(),
            }]),
            DeliveryCommand::Reschedule { .. } if !self.booked => {
                Err(DomainError::new("not_booked", "nothing to reschedule"))
            }
            DeliveryCommand::Reschedule { slot } => Ok(vec![DeliveryEvent::DeliveryRescheduled {
                slot: slot.clone(),
            }]),
        }
    }

    fn evolve(&mut self, event: &DeliveryEvent) {
        match event {
            DeliveryEvent::DeliveryBooked {
                customer_id,
                customer_name,
                phone,
                address,
                slot,
            } => {
                *self = Delivery {
                    customer_id: customer_id.clone(),
                    customer_name: customer_name.clone(),
                    phone: phone.clone(),
                    address: address.clone(),
                    slot: slot.clone(),
                    booked: true,
                }
            }
            DeliveryEvent::DeliveryRescheduled { slot } => self.slot.clone_from(slot),
        }
    }

    fn personal_data() -> Option<PersonalData> {
        Some(PersonalData::new().event(
            "DeliveryBooked",
            "customerId",
            &["customerName", "phone", "address"],
        ))
    }
}

/// A booking command for `customer`.
pub fn book(customer: &str, name: &str, phone: &str) -> DeliveryCommand {
    DeliveryCommand::Book {
        customer_id: customer.into(),
        customer_name: name.into(),
        phone: phone.into(),
        address: json!({"street": format!("{name} Street 1"), "city": "Lyon"}),
        slot: "monday".into(),
    }
}

/// One document per delivery (with the customer's name and phone), and one per customer name
/// (keyed by the personal value itself, so a stale key would show).
#[derive(Debug, Clone, Copy, Default)]
pub struct DeliveryProjection;

impl Projection for DeliveryProjection {
    fn name(&self) -> &str {
        "deliveries"
    }

    fn indexes(&self) -> Vec<String> {
        vec!["customerId".into()]
    }

    fn apply(&self, event: &EventEnvelope, view: &mut View<'_>) -> Result<()> {
        let id = event.stream.aggregate_id().unwrap_or_default().to_owned();
        match event.event_type.as_str() {
            "DeliveryBooked" => {
                let data = &event.data;
                view.put(
                    id.clone(),
                    json!({"customerId": data["customerId"], "name": data["customerName"],
                           "phone": data["phone"], "slot": data["slot"]}),
                );
                let name = data["customerName"].as_str().unwrap_or_default();
                view.put(format!("name:{name}"), json!({"delivery": id}));
            }
            "DeliveryRescheduled" => {
                if let Some(mut doc) = view.get(&id) {
                    doc["slot"] = event.data["slot"].clone();
                    view.put(id, doc);
                }
            }
            _ => {}
        }
        Ok(())
    }
}
