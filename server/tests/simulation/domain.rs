//! The domain of the every-feature simulation, small enough to fold by hand:
//!
//! - `Tab`: a customer's tab; `Add` records one `ItemAdded` per item (so commands come near
//!   and over the server's events-per-append limit); `Close` must name the tab's total (so a
//!   rebase can refuse it). `ItemAdded` is at schema version 3; devices running "an older app"
//!   write it as v1 or v2, and an upcaster chain brings it back to v3 on every read.
//! - `Visit`: a booked visit whose customer name is personal data (sealed under the customer's
//!   key, redacted once the customer is forgotten). Aggregates with personal data take no
//!   snapshots, so it has its own type.
//!
//! The `tabs` projection refuses any `ItemAdded` below v3: a read path without upcasters
//! dead-letters instead of silently mixing shapes.

use std::rc::Rc;

use fieldstream::core::aggregate::decode_event;
use fieldstream::core::{
    Aggregate, AggregateHandler, ConflictPolicy, DomainError, Error, EventEnvelope, NewEvent,
    PersonalData, Projection, Result, State, Upcasters, View, handler_for,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A customer's tab.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tab {
    pub opened: bool,
    pub closed: bool,
    pub items: u32,
    pub total: i64,
}

/// What a tab can be asked to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum TabCommand {
    Open,
    Add { count: u32, price: i64 },
    Close { total: i64 },
}

/// What a tab records.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum TabEvent {
    TabOpened {},
    ItemAdded { price_cents: i64, qty: u32 },
    TabClosed { total: i64 },
}

fn refuse(code: &str) -> DomainError {
    DomainError::new(code, format!("refused: {code}"))
}

impl Aggregate for Tab {
    const TYPE: &'static str = "Tab";
    type Command = TabCommand;
    type Event = TabEvent;

    fn decide(&self, command: &TabCommand) -> std::result::Result<Vec<TabEvent>, DomainError> {
        match command {
            TabCommand::Open if self.opened => Err(refuse("tab_open")),
            TabCommand::Open => Ok(vec![TabEvent::TabOpened {}]),
            _ if !self.opened => Err(refuse("tab_not_open")),
            _ if self.closed => Err(refuse("tab_closed")),
            TabCommand::Add { count, price } => Ok((0..*count)
                .map(|_| TabEvent::ItemAdded {
                    price_cents: *price,
                    qty: 1,
                })
                .collect()),
            TabCommand::Close { total } if *total != self.total => Err(refuse("total_mismatch")),
            TabCommand::Close { total } => Ok(vec![TabEvent::TabClosed { total: *total }]),
        }
    }

    fn evolve(&mut self, event: &TabEvent) {
        match event {
            TabEvent::TabOpened {} => self.opened = true,
            TabEvent::ItemAdded { price_cents, qty } => {
                self.items += qty;
                self.total += price_cents * i64::from(*qty);
            }
            TabEvent::TabClosed { .. } => self.closed = true,
        }
    }

    fn schema_version(event_type: &str) -> u32 {
        if event_type == "ItemAdded" { 3 } else { 1 }
    }
}

/// A booked visit; the customer's name is personal.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Visit {
    pub booked: bool,
    pub customer: String,
    pub name: String,
    pub slot: u32,
}

/// What a visit can be asked to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum VisitCommand {
    Book { customer: String, name: String },
    Reschedule { slot: u32 },
}

/// What a visit records.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum VisitEvent {
    VisitBooked { customer: String, name: String },
    VisitRescheduled { slot: u32 },
}

impl Aggregate for Visit {
    const TYPE: &'static str = "Visit";
    type Command = VisitCommand;
    type Event = VisitEvent;

    fn decide(&self, command: &VisitCommand) -> std::result::Result<Vec<VisitEvent>, DomainError> {
        match command {
            VisitCommand::Book { .. } if self.booked => Err(refuse("visit_booked")),
            VisitCommand::Book { customer, name } => Ok(vec![VisitEvent::VisitBooked {
                customer: customer.clone(),
                name: name.clone(),
            }]),
            VisitCommand::Reschedule { .. } if !self.booked => Err(refuse("visit_not_booked")),
            VisitCommand::Reschedule { slot } if *slot == self.slot => Err(refuse("same_slot")),
            VisitCommand::Reschedule { slot } => {
                Ok(vec![VisitEvent::VisitRescheduled { slot: *slot }])
            }
        }
    }

    fn evolve(&mut self, event: &VisitEvent) {
        match event {
            VisitEvent::VisitBooked { customer, name } => {
                self.booked = true;
                self.customer = customer.clone();
                self.name = name.clone();
            }
            VisitEvent::VisitRescheduled { slot } => self.slot = *slot,
        }
    }

    fn personal_data() -> Option<PersonalData> {
        Some(PersonalData::new().event("VisitBooked", "customer", &["name"]))
    }
}

/// The state a run of events folds to, the plain way: what `load` must agree with.
pub fn fold<A: Aggregate>(events: &[EventEnvelope]) -> Result<A> {
    let mut state = A::default();
    for event in events {
        state.evolve(&decode_event::<A>(event)?);
    }
    Ok(state)
}

/// Checks that every event of a tab's history was lawful on the state before it (a tab opens
/// once, takes items and closes only while open, and closes at its total): each was decided
/// on the state its version follows, if every device decided on the right state.
pub fn lawful_tab(events: &[EventEnvelope]) -> std::result::Result<(), String> {
    let mut tab = Tab::default();
    for event in events {
        let decoded = decode_event::<Tab>(event).map_err(|error| error.to_string())?;
        let lawful = match &decoded {
            TabEvent::TabOpened {} => !tab.opened,
            TabEvent::ItemAdded { .. } => tab.opened && !tab.closed,
            TabEvent::TabClosed { total } => tab.opened && !tab.closed && *total == tab.total,
        };
        if !lawful {
            return Err(format!(
                "{}@{}: {decoded:?} on {tab:?}",
                event.stream, event.version
            ));
        }
        tab.evolve(&decoded);
    }
    Ok(())
}

/// How a device's app is set up, drawn from the case's seed.
#[derive(Debug, Clone, Copy)]
pub struct Tuning {
    /// Snapshot every this many events (1-3).
    pub snapshot_every: u64,
    /// The schema version this device's app writes `ItemAdded` at (1-3).
    pub writes_item_version: u32,
    /// Whether the app registers `Visit`, whose personal data makes every command go in
    /// steps; without it, commands are decided inside the store's write, on warm states.
    pub personal: bool,
}

/// `Tab` as a device runs it: its snapshot interval, the `ItemAdded` version its app writes,
/// and a conflict policy per tab (tab 2 rejects, the others rebase).
pub struct TunedTab {
    inner: Rc<dyn AggregateHandler>,
    tuning: Tuning,
}

impl TunedTab {
    pub fn new(tuning: Tuning) -> Self {
        TunedTab {
            inner: handler_for::<Tab>(),
            tuning,
        }
    }
}

/// `ItemAdded` v3 written the way an older app wrote it: v2 `{price, qty}`, or v1 `{price}`
/// when one item is added.
fn downgrade(mut event: NewEvent, version: u32) -> NewEvent {
    if event.event_type != "ItemAdded" || version >= 3 {
        return event;
    }
    let price = event.data["price_cents"].clone();
    let qty = event.data["qty"].clone();
    (event.data, event.schema_version) = match version {
        1 if qty == json!(1) => (json!({ "price": price }), 1),
        _ => (json!({ "price": price, "qty": qty }), 2),
    };
    event
}

impl AggregateHandler for TunedTab {
    fn aggregate_type(&self) -> &str {
        self.inner.aggregate_type()
    }
    fn snapshot_every(&self) -> u64 {
        self.tuning.snapshot_every
    }
    fn state_version(&self) -> u32 {
        self.inner.state_version()
    }
    fn initial_state(&self) -> Result<State> {
        self.inner.initial_state()
    }
    fn evolve(&self, state: &mut State, events: &[EventEnvelope]) -> Result<()> {
        self.inner.evolve(state, events)
    }
    fn decide(&self, state: &State, command: &Value) -> Result<Vec<NewEvent>> {
        let events = self.inner.decide(state, command)?;
        let version = self.tuning.writes_item_version;
        Ok(events.into_iter().map(|e| downgrade(e, version)).collect())
    }
    fn state_to_json(&self, state: &State) -> Result<Value> {
        self.inner.state_to_json(state)
    }
    fn state_from_json(&self, json: &Value) -> Result<State> {
        self.inner.state_from_json(json)
    }
    fn on_conflict(&self, _command: &Value, server_events: &[EventEnvelope]) -> ConflictPolicy {
        CONFLICT_EVENTS.with_borrow_mut(|seen| {
            seen.extend(
                server_events
                    .iter()
                    .map(|event| (event.event_type.clone(), event.schema_version)),
            )
        });
        let rejects = server_events
            .first()
            .is_some_and(|event| event.stream.aggregate_id() == Some("2"));
        if rejects {
            ConflictPolicy::Reject
        } else {
            ConflictPolicy::Rebase
        }
    }
}

thread_local! {
    static CONFLICT_EVENTS: std::cell::RefCell<Vec<(String, u32)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The `(type, schema version)` of every server event `TunedTab::on_conflict` was handed on
/// this thread so far.
pub fn conflict_events_seen() -> Vec<(String, u32)> {
    CONFLICT_EVENTS.with_borrow(Clone::clone)
}

/// The upcaster chain of `ItemAdded`: v1 `{price}` → v2 `{price, qty}` → v3 `{price_cents, qty}`.
pub fn upcasters() -> Upcasters {
    let mut upcasters = Upcasters::new();
    upcasters
        .register("ItemAdded", 1, |data| {
            Ok(json!({ "price": data["price"], "qty": 1 }))
        })
        .unwrap();
    upcasters
        .register("ItemAdded", 2, |data| {
            Ok(json!({ "price_cents": data["price"], "qty": data["qty"] }))
        })
        .unwrap();
    upcasters
}

/// One document per tab (`items`, `total`, `closed`) and per visit (`name`, `slot`).
pub struct Tabs {
    pub name: String,
}

impl Projection for Tabs {
    fn name(&self) -> &str {
        &self.name
    }

    fn apply(&self, event: &EventEnvelope, view: &mut View<'_>) -> Result<()> {
        let key = event.stream.to_string();
        let mut doc = view.get(&key).unwrap_or_else(|| json!({}));
        match event.event_type.as_str() {
            "TabOpened" => doc = json!({ "items": 0, "total": 0, "closed": false }),
            "ItemAdded" => {
                let price = event.data.get("price_cents").and_then(Value::as_i64);
                let (Some(price), 3) = (price, event.schema_version) else {
                    return Err(Error::Codec(
                        format!(
                            "ItemAdded v{} reached the projection unconverted: {}",
                            event.schema_version, event.data
                        )
                        .into(),
                    ));
                };
                let qty = event.data["qty"].as_i64().unwrap_or(0);
                doc["items"] = json!(doc["items"].as_i64().unwrap_or(0) + qty);
                doc["total"] = json!(doc["total"].as_i64().unwrap_or(0) + price * qty);
            }
            "TabClosed" => doc["closed"] = json!(true),
            "VisitBooked" => doc = json!({ "name": event.data["name"], "slot": 0 }),
            "VisitRescheduled" => doc["slot"] = event.data["slot"].clone(),
            _ => return Ok(()),
        }
        view.put(key, doc);
        Ok(())
    }
}
