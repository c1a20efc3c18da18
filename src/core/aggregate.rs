//! Aggregates: the write side of the model, command → events → state.
//!
//! Rust code implements [`Aggregate`] on its state type. The engine itself works through the
//! object-safe [`AggregateHandler`], so that aggregates defined elsewhere (in JavaScript, say)
//! run on the same engine; [`handler_for`] adapts an [`Aggregate`] to it.

use std::any::Any;
use std::marker::PhantomData;
use std::rc::Rc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::core::cause::{Cause, Detail};
use crate::core::error::{DomainError, Error, Result};
use crate::core::event::{EventEnvelope, NewEvent};
use crate::core::personal::PersonalData;

/// The default snapshot interval, in events.
pub const DEFAULT_SNAPSHOT_EVERY: u64 = 100;

/// An event-sourced aggregate, implemented on its state.
///
/// `decide` and `evolve` are pure and synchronous, so that a command can be decided and
/// committed inside one storage transaction.
///
/// `Event` must serialize as `{"type": ..., "data": ...}` (serde's
/// `#[serde(tag = "type", content = "data")]`); `Command` is stored in the outbox so that it can
/// be decided again after a sync conflict.
pub trait Aggregate: Default + Serialize + DeserializeOwned + 'static {
    /// The aggregate type: the category of its streams (`{TYPE}-{id}`); holds no `-`.
    const TYPE: &'static str;
    /// Take a snapshot every this many events; 0 turns snapshots off.
    const SNAPSHOT_EVERY: u64 = DEFAULT_SNAPSHOT_EVERY;
    /// The schema version of the state as snapshots store it; raise it when the state's shape
    /// changes, and older snapshots are ignored and rebuilt from events.
    const STATE_VERSION: u32 = 1;

    /// What the aggregate can be asked to do.
    type Command: Serialize + DeserializeOwned;
    /// What it records when it does it.
    type Event: Serialize + DeserializeOwned;

    /// Decides a command on the current state: the events to record, or a refusal.
    fn decide(&self, command: &Self::Command) -> Result<Vec<Self::Event>, DomainError>;

    /// Applies one recorded event to the state.
    fn evolve(&mut self, event: &Self::Event);

    /// The current schema version of events of `event_type` (1 unless upcasters raise it).
    fn schema_version(_event_type: &str) -> u32 {
        1
    }

    /// What to do with a pending command after another device changed this aggregate first.
    fn on_conflict(_command: &Self::Command, _server_events: &[EventEnvelope]) -> ConflictPolicy {
        ConflictPolicy::Rebase
    }

    /// The personal fields of its events, sealed per data subject (none by default).
    fn personal_data() -> Option<PersonalData> {
        None
    }
}

/// An aggregate's state while the engine holds it; its concrete type belongs to the handler.
pub type State = Box<dyn Any>;

/// An aggregate type as the engine runs it: object-safe, with a type-erased state.
pub trait AggregateHandler {
    /// The aggregate type name.
    fn aggregate_type(&self) -> &str;
    /// Take a snapshot every this many events; 0 turns snapshots off.
    fn snapshot_every(&self) -> u64;
    /// The schema version of the state as snapshots store it.
    fn state_version(&self) -> u32;
    /// The state of an aggregate with no events.
    fn initial_state(&self) -> Result<State>;
    /// Applies events, in order, to the state.
    fn evolve(&self, state: &mut State, events: &[EventEnvelope]) -> Result<()>;
    /// Decides a JSON command on the state.
    fn decide(&self, state: &State, command: &Value) -> Result<Vec<NewEvent>>;
    /// The state as JSON, for snapshots and for callers.
    fn state_to_json(&self, state: &State) -> Result<Value>;
    /// The state back from JSON written by [`AggregateHandler::state_to_json`].
    fn state_from_json(&self, json: &Value) -> Result<State>;
    /// What to do with a pending `command` after another device changed the aggregate first
    /// (`server_events`): decide it again (the default) or reject it.
    fn on_conflict(&self, _command: &Value, _server_events: &[EventEnvelope]) -> ConflictPolicy {
        ConflictPolicy::Rebase
    }
    /// The personal fields of its events, sealed per data subject (none by default).
    fn personal_data(&self) -> Option<PersonalData> {
        None
    }
}

/// What happens to a pending command whose aggregate another device changed first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ConflictPolicy {
    /// Decide it again on the new state: it goes on if it still holds, else it is rejected.
    #[default]
    Rebase,
    /// Reject it, with the other device's events as the reason.
    Reject,
}

/// Adapts a Rust [`Aggregate`] to the engine's [`AggregateHandler`].
pub fn handler_for<A: Aggregate>() -> Rc<dyn AggregateHandler> {
    Rc::new(TypedHandler::<A>(PhantomData))
}

struct TypedHandler<A>(PhantomData<A>);

impl<A: Aggregate> TypedHandler<A> {
    fn state<'a>(&self, state: &'a State) -> Result<&'a A> {
        state.downcast_ref::<A>().ok_or_else(|| wrong_state::<A>())
    }
}

fn wrong_state<A: Aggregate>() -> Error {
    Error::InvalidInput(format!(
        "state handed to aggregate {} is not its own",
        A::TYPE
    ))
}

impl<A: Aggregate> AggregateHandler for TypedHandler<A> {
    fn aggregate_type(&self) -> &str {
        A::TYPE
    }

    fn snapshot_every(&self) -> u64 {
        A::SNAPSHOT_EVERY
    }

    fn state_version(&self) -> u32 {
        A::STATE_VERSION
    }

    fn initial_state(&self) -> Result<State> {
        Ok(Box::new(A::default()))
    }

    fn evolve(&self, state: &mut State, events: &[EventEnvelope]) -> Result<()> {
        let state = state.downcast_mut::<A>().ok_or_else(wrong_state::<A>)?;
        for envelope in events {
            state.evolve(&decode_event::<A>(envelope)?);
        }
        Ok(())
    }

    fn decide(&self, state: &State, command: &Value) -> Result<Vec<NewEvent>> {
        let command: A::Command = serde_json::from_value(command.clone()).map_err(|error| {
            Error::InvalidInput(format!("not a command of aggregate {}: {error}", A::TYPE))
        })?;
        let events = self.state(state)?.decide(&command)?;
        events.iter().map(encode_event::<A>).collect()
    }

    fn state_to_json(&self, state: &State) -> Result<Value> {
        Ok(serde_json::to_value(self.state(state)?)?)
    }

    fn state_from_json(&self, json: &Value) -> Result<State> {
        Ok(Box::new(A::deserialize(json)?))
    }

    fn on_conflict(&self, command: &Value, server_events: &[EventEnvelope]) -> ConflictPolicy {
        match serde_json::from_value::<A::Command>(command.clone()) {
            Ok(command) => A::on_conflict(&command, server_events),
            Err(_) => ConflictPolicy::Reject,
        }
    }

    fn personal_data(&self) -> Option<PersonalData> {
        A::personal_data()
    }
}

/// Turns a typed event into the `{type, data}` form the stores keep.
pub fn encode_event<A: Aggregate>(event: &A::Event) -> Result<NewEvent> {
    let Value::Object(mut fields) = serde_json::to_value(event)? else {
        return Err(untagged::<A>());
    };
    let (Some(Value::String(event_type)), data) = (fields.remove("type"), fields.remove("data"))
    else {
        return Err(untagged::<A>());
    };
    let schema_version = A::schema_version(&event_type);
    Ok(NewEvent {
        event_type,
        schema_version,
        data: data.unwrap_or(Value::Null),
    })
}

/// Turns a stored event back into the aggregate's typed event.
pub fn decode_event<A: Aggregate>(envelope: &EventEnvelope) -> Result<A::Event> {
    let tagged = serde_json::json!({ "type": envelope.event_type, "data": envelope.data });
    serde_json::from_value(tagged).map_err(|error| {
        let message = format!(
            "event {} v{} of {} does not decode for {}: {error}",
            envelope.event_type,
            envelope.schema_version,
            envelope.stream,
            A::TYPE
        );
        Error::Codec(Detail::caused(message, Cause::Described(error.to_string())))
    })
}

fn untagged<A: Aggregate>() -> Error {
    Error::Codec(format!(
        "events of {} must serialize as {{\"type\", \"data\"}}: use #[serde(tag = \"type\", content = \"data\")]",
        A::TYPE
    ).into())
}
