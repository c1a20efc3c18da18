//! Aggregates written in JavaScript: `{ initialState, decide, evolve, snapshotEvery,
//! stateVersion, onConflict }` run by the engine through [`AggregateHandler`].
//!
//! The state is the app's own JS value, held inside the engine's [`State`]; it becomes JSON only
//! for snapshots and for callers. Values cross per call, as JSON text: a command and a page of
//! events are each one `JSON.parse`, a decision one `JSON.stringify`.

use std::collections::HashMap;
use std::rc::Rc;

use js_sys::{Array, Function, Object};
use serde_json::Value;
use wasm_bindgen::{JsCast, JsValue};

use super::thrown::from_thrown;
use crate::core::aggregate::{AggregateHandler, ConflictPolicy, DEFAULT_SNAPSHOT_EVERY, State};
use crate::core::{Error, EventEnvelope, NewEvent, PersonalData, Result, check_event_type};
use crate::js::convert::{json_from_js, to_js_json};
use crate::js::fields;

/// The current schema version of each event type that upcasters raised above 1.
pub type SchemaVersions = Rc<HashMap<String, u32>>;

/// What an aggregate does with a pending command after another device changed it first.
enum OnConflict {
    /// Always the same policy.
    Fixed(ConflictPolicy),
    /// The app's `(conflict) => "rebase" | "reject"`.
    Ask(Function),
}

/// An aggregate whose `initialState`, `decide` and `evolve` are JS functions.
pub struct JsAggregate {
    name: String,
    initial_state: Function,
    decide: Function,
    evolve: Function,
    snapshot_every: u64,
    state_version: u32,
    on_conflict: OnConflict,
    schema_versions: SchemaVersions,
    personal_data: Option<PersonalData>,
}

const OPTIONS: &[&str] = &[
    "initialState",
    "decide",
    "evolve",
    "snapshotEvery",
    "stateVersion",
    "onConflict",
    "personalData",
];

impl JsAggregate {
    /// Reads the definition of aggregate `name` (option path `aggregates.{name}`).
    pub fn from_definition(
        name: &str,
        definition: &JsValue,
        schema_versions: SchemaVersions,
    ) -> Result<JsAggregate> {
        let path = format!("aggregates.{name}");
        let object = fields::object(definition, &path)?;
        fields::only(&object, OPTIONS, &path)?;
        let snapshot_every = fields::optional_integer(&object, "snapshotEvery", &path, 0, 1 << 40)?
            .unwrap_or(DEFAULT_SNAPSHOT_EVERY);
        let state_version =
            fields::optional_integer(&object, "stateVersion", &path, 1, u32::MAX as u64)?
                .unwrap_or(1) as u32;
        let on_conflict = match fields::get(&object, "onConflict") {
            None => OnConflict::Fixed(ConflictPolicy::Rebase),
            Some(value) => match (value.as_string().as_deref(), value.is_function()) {
                (Some("rebase"), _) => OnConflict::Fixed(ConflictPolicy::Rebase),
                (Some("reject"), _) => OnConflict::Fixed(ConflictPolicy::Reject),
                (_, true) => OnConflict::Ask(value.into()),
                _ => {
                    return Err(fields::invalid(
                        &format!("{path}.onConflict"),
                        "must be \"rebase\", \"reject\" or a function returning one of them",
                    ));
                }
            },
        };
        let personal_data = match fields::get(&object, "personalData") {
            None => None,
            #[cfg(not(feature = "personal"))]
            Some(_) => {
                let what = format!("{path}.personalData");
                return Err(fields::missing_feature(&what, "personal"));
            }
            #[cfg(feature = "personal")]
            Some(value) => {
                let what = format!("{path}.personalData");
                let json = json_from_js(&value, &what)?;
                let data: PersonalData = serde_json::from_value(json).map_err(|error| {
                    fields::invalid(
                        &what,
                        format!("must be {{ EventType: {{ subject, fields }} }}: {error}"),
                    )
                })?;
                data.check()?;
                Some(data)
            }
        };
        Ok(JsAggregate {
            personal_data,
            name: name.to_owned(),
            initial_state: fields::function(&object, "initialState", &path)?,
            decide: fields::function(&object, "decide", &path)?,
            evolve: fields::function(&object, "evolve", &path)?,
            snapshot_every,
            state_version,
            on_conflict,
            schema_versions,
        })
    }

    fn state<'a>(&self, state: &'a State) -> Result<&'a JsValue> {
        state.downcast_ref::<JsValue>().ok_or_else(|| {
            Error::InvalidInput(format!(
                "state handed to aggregate {} is not its own",
                self.name
            ))
        })
    }

    /// Reads one event of a decision: `{ type, data, schemaVersion? }`.
    fn new_event(&self, index: usize, value: Value) -> Result<NewEvent> {
        let what = format!("{}.decide returned an event at [{index}] that", self.name);
        let Value::Object(mut event) = value else {
            return Err(Error::InvalidInput(format!(
                "{what} is not a {{ type, data }} object"
            )));
        };
        if let Some(key) = event
            .keys()
            .find(|key| !matches!(key.as_str(), "type" | "data" | "schemaVersion"))
        {
            return Err(Error::InvalidInput(format!(
                "{what} has field {key:?}; an event is {{ type, data, schemaVersion? }}"
            )));
        }
        let Some(Value::String(event_type)) = event.remove("type") else {
            return Err(Error::InvalidInput(format!("{what} has no string type")));
        };
        check_event_type(&event_type)
            .map_err(|error| Error::InvalidInput(format!("{what} is refused: {error}")))?;
        let data = event
            .remove("data")
            .ok_or_else(|| Error::InvalidInput(format!("{what} has no data")))?;
        let schema_version = match event.remove("schemaVersion") {
            None => self.schema_versions.get(&event_type).copied().unwrap_or(1),
            Some(version) => version
                .as_u64()
                .filter(|v| (1..=u32::MAX as u64).contains(v))
                .ok_or_else(|| {
                    Error::InvalidInput(format!("{what} has a schemaVersion that is not >= 1"))
                })? as u32,
        };
        Ok(NewEvent {
            event_type,
            schema_version,
            data,
        })
    }
}

impl AggregateHandler for JsAggregate {
    fn aggregate_type(&self) -> &str {
        &self.name
    }

    fn snapshot_every(&self) -> u64 {
        self.snapshot_every
    }

    fn state_version(&self) -> u32 {
        self.state_version
    }

    fn initial_state(&self) -> Result<State> {
        let state = self
            .initial_state
            .call0(&JsValue::UNDEFINED)
            .map_err(|thrown| from_thrown(&format!("{}.initialState", self.name), thrown))?;
        Ok(Box::new(state))
    }

    fn evolve(&self, state: &mut State, events: &[EventEnvelope]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let current = state.downcast_mut::<JsValue>().ok_or_else(|| {
            Error::InvalidInput(format!(
                "state handed to aggregate {} is not its own",
                self.name
            ))
        })?;
        let events = Array::from(&to_js_json(events)?);
        for event in events.iter() {
            let next = self
                .evolve
                .call2(&JsValue::UNDEFINED, current, &event)
                .map_err(|thrown| from_thrown(&format!("{}.evolve", self.name), thrown))?;
            if next.is_undefined() {
                return Err(Error::InvalidInput(format!(
                    "{}.evolve returned undefined; it must return the new state",
                    self.name
                )));
            }
            *current = next;
        }
        Ok(())
    }

    fn decide(&self, state: &State, command: &Value) -> Result<Vec<NewEvent>> {
        let state = self.state(state)?;
        let command = to_js_json(command)?;
        let decided = self
            .decide
            .call2(&JsValue::UNDEFINED, state, &command)
            .map_err(|thrown| from_thrown(&format!("{}.decide", self.name), thrown))?;
        if !Array::is_array(&decided) {
            let hint = if decided.has_type::<js_sys::Promise>() {
                " (decide must be synchronous)"
            } else {
                ""
            };
            return Err(Error::InvalidInput(format!(
                "{}.decide must return an array of {{ type, data }} events{hint}",
                self.name
            )));
        }
        let decided = json_from_js(&decided, &format!("what {}.decide returned", self.name))?;
        let Value::Array(events) = decided else {
            return Err(Error::InvalidInput(format!(
                "{}.decide must return an array",
                self.name
            )));
        };
        events
            .into_iter()
            .enumerate()
            .map(|(index, event)| self.new_event(index, event))
            .collect()
    }

    fn state_to_json(&self, state: &State) -> Result<Value> {
        json_from_js(self.state(state)?, &format!("the state of {}", self.name))
    }

    fn state_from_json(&self, json: &Value) -> Result<State> {
        Ok(Box::new(to_js_json(json)?))
    }

    fn on_conflict(&self, command: &Value, server_events: &[EventEnvelope]) -> ConflictPolicy {
        let ask = match &self.on_conflict {
            OnConflict::Fixed(policy) => return *policy,
            OnConflict::Ask(ask) => ask,
        };
        let conflict = Object::new();
        let answer = (|| {
            let set = |key: &str, value: JsValue| {
                js_sys::Reflect::set(&conflict, &JsValue::from_str(key), &value).ok()
            };
            set("command", to_js_json(command).ok()?)?;
            set("serverEvents", to_js_json(server_events).ok()?)?;
            ask.call1(&JsValue::UNDEFINED, &conflict).ok()?.as_string()
        })();
        match answer.as_deref() {
            Some("rebase") => ConflictPolicy::Rebase,
            // A throwing or undecided policy function rejects: the user then sees the command.
            _ => ConflictPolicy::Reject,
        }
    }

    fn personal_data(&self) -> Option<PersonalData> {
        self.personal_data.clone()
    }
}
